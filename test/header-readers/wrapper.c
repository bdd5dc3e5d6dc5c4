#include "api.h"
/* reaches: wrapper_f (through wrapper(), whose text is the same, to helper(), whose body changed) */
int wrapper_f(int v) { return wrapper(v); }
