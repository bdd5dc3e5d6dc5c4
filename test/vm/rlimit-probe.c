// SPDX-License-Identifier: GPL-2.0
/*
 * Asks the kernel for RLIMIT_NOFILE through getrlimit(2) and through prlimit64(2) and prints
 * both results ("getrlimit=0 prlimit64=-1"). In 6.1.0-56-amd64 gcc inlined do_prlimit into
 * getrlimit's entry point but calls it out of line from prlimit64: a livepatch of do_prlimit
 * alone changes one and not the other. Raw system calls, no libc: glibc's getrlimit() is
 * prlimit64, and busybox has no way to make the old call.
 */
#include <asm/unistd.h>

#define RLIMIT_NOFILE 7

struct rlimit64 { unsigned long cur, max; };

static long sys4(long n, long a, long b, long c, long d)
{
	register long r10 asm("r10") = d;
	long ret;

	asm volatile("syscall" : "=a"(ret) : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10) : "rcx", "r11", "memory");
	return ret;
}

/* 0 on success, else -1: what the C library would return, without errno. */
static char *put(char *p, const char *label, long ret)
{
	while (*label)
		*p++ = *label++;
	if (ret < 0)
		*p++ = '-';
	*p++ = ret < 0 ? '1' : '0';
	return p;
}

void _start(void)
{
	struct rlimit64 lim;
	char buf[64], *p = buf;

	p = put(p, "getrlimit=", sys4(__NR_getrlimit, RLIMIT_NOFILE, (long)&lim, 0, 0));
	p = put(p, " prlimit64=", sys4(__NR_prlimit64, 0, RLIMIT_NOFILE, 0, (long)&lim));
	*p++ = '\n';
	sys4(__NR_write, 1, (long)buf, p - buf, 0);
	sys4(__NR_exit, 0, 0, 0, 0);
	for (;;)
		;
}
