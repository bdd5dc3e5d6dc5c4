#include "api.h"
/* reaches: table (MODE_MAX grew with the enum) */
int table[MODE_MAX];
