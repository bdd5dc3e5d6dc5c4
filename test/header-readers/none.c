#include "api.h"
/* reaches: nothing (nothing of api.h is used) */
int none_f(int a) { return a * 3; }
