#include "api.h"
/* reaches: flag_f (a new #define it tests for) */
int flag_f(void)
{
#ifdef NEW_FLAG
	return NEW_FLAG;
#else
	return 0;
#endif
}
