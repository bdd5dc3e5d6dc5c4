#include "pack.h"
/* reaches: #pragma (a pragma in force changes the layout of what follows it) */
int packed_f(struct packed_s *p) { return p->b; }
