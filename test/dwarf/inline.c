// SPDX-License-Identifier: GPL-2.0
/*
 * What test/dwarf.test.ts reads: scale() is kept out of line (its address is taken) and
 * inlined into two callers, one of them through twice(); keep() is never inlined.
 */
#include <kernel-lite.h>

extern int sink(int);

/* Calls out, so no compiler folds an inlined copy into plain arithmetic without a DIE. */
static int scale(int x)
{
	return sink(x) * 3 + 1;
}

static noinline int keep(int x)
{
	return x ^ 5;
}

static inline int twice(int x)
{
	return scale(x) + scale(x + 1);
}

int (*scale_ptr)(int) = scale;

int direct(int y)
{
	return scale(y) + keep(y);
}

int nested(int y)
{
	return twice(y * 2);
}
