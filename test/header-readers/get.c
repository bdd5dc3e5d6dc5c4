#include "api.h"
/* reaches: get_f (get() became a macro: the caller's own text changed) */
int get_f(const struct inner *p) { return get(p); }
