// SPDX-License-Identifier: GPL-2.0
/*
 * What test/dwarf.test.ts compares as signatures: one prototype spelled through typedefs and
 * spelled plainly (the same), the same with `long` for `int` (not the same), and the types a
 * canonical name must tell apart (bool, enum, char, short, a function pointer, varargs).
 */
#include <kernel-lite.h>

typedef unsigned long my_size_t;
typedef long long my_loff_t;
struct file;
enum mode { MODE_A, MODE_B };

extern int sink(long);

int spelled_typedefs(struct file *f, int write, void *buffer, my_size_t *lenp, my_loff_t *ppos)
{
	return sink((long)f + write + (long)buffer + (long)lenp + (long)ppos);
}

int spelled_plain(const struct file *f, const int write, void *buffer, unsigned long *lenp,
		  long long *ppos)
{
	return sink((long)f + write + (long)buffer + (long)lenp + (long)ppos);
}

int takes_long(struct file *f, long write, void *buffer, my_size_t *lenp, my_loff_t *ppos)
{
	return sink((long)f + write + (long)buffer + (long)lenp + (long)ppos);
}

void variadic(const char *fmt, ...)
{
	sink((long)fmt);
}

_Bool kinds(enum mode m, unsigned char c, short s, int (*cb)(int, char *))
{
	return sink(m + c + s + (long)cb);
}
