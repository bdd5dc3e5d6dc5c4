// Calls api(), which ThinLTO imports and inlines here: the reason helper is promoted.
#include <kernel-lite.h>

int api(int x);

int user(int x)
{
	return api(x) + 5;
}
