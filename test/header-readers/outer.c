#include "api.h"
/* reaches: outer_f (struct inner grew; struct outer points to it, and outer_f reads through it) */
long outer_f(struct outer *o) { return o->in->y; }
