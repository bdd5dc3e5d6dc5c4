#include "api.h"
/* reaches: nothing (a static of its own) */
static int counter;
int counter_f(void) { return ++counter; }
