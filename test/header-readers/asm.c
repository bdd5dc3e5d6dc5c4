#include "asm.h"
/* reaches: asm (a top-level asm statement changed) */
int asm_f(void) { return 5; }
