#include "api.h"
/* reaches: nothing (struct mv is the same, in another header) */
long moved_f(struct mv *m) { return m->a + m->b; }
