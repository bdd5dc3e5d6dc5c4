#include "api.h"
/* reaches: nothing (h->get is a member, not the function get) */
int holder_f(struct holder *h) { return h->get + h->other; }
