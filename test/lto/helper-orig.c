// ThinLTO promotes a static function to a global `helper.llvm.<hash>` when another module imports
// code that calls it: user() in caller.c inlines api(), so caller.c needs helper by name. The hash
// is of the module's bitcode, so any change to this file renames the helper.
#include <kernel-lite.h>

static noinline int helper(int x)
{
	return x * 3 + 1;
}

int api(int x)
{
	return helper(x) + 2;
}
