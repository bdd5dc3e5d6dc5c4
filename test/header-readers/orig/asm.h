asm(".pushsection .discard.mark; .long 1; .popsection");
static inline int unused_asm_neighbour(void) { return 1; }
