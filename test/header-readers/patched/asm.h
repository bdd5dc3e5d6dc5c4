asm(".pushsection .discard.mark; .long 2; .popsection");
static inline int unused_asm_neighbour(void) { return 1; }
