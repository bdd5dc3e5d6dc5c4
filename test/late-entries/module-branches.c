/*
 * Carried code of a module that branches on two of that module's static keys: a tracepoint's
 * (as trace_smb3_overflow_credits() in Debian 6.1's cifs smb2_add_credits) and a plain static
 * key's. Both keys are undefined here: the livepatch reaches them through klp relocations.
 */
#include "kernel-lite.h"

/* The static_key inside struct tracepoint (include/linux/tracepoint-defs.h: after the name). */
struct tracepoint {
	const char *name;
	struct static_key key;
};
extern struct tracepoint __tracepoint_demo_event;
extern void __traceiter_demo_event(void *data, int x);
extern struct static_key_false demo_feature;
extern void demo_feature_on(int x);

int demo_patched(int x)
{
	if (unlikely(arch_static_branch(&__tracepoint_demo_event.key, false)))
		__traceiter_demo_event(0, x);
	if (static_branch_unlikely(&demo_feature))
		demo_feature_on(x);
	return x * 3 + 1;
}
