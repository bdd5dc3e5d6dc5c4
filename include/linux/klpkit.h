/* SPDX-License-Identifier: GPL-2.0 */
/*
 * klpkit.h - what a patch for `klp build` may use beyond ordinary kernel code.
 *
 * klp build copies this header into the kernel tree it builds in, so a patch can say
 * `#include <linux/klpkit.h>`.
 *
 * Callbacks (Documentation/livepatch/callbacks.rst): mark a function of the patched file
 * (usually a new static one) and klp build puts it into the klp_object of that file's object
 * (vmlinux or its module):
 *
 *	static int fix_pre_patch(struct klp_object *obj) { ...; return 0; }
 *	KLPKIT_PRE_PATCH(fix_pre_patch);
 *	static void fix_post_unpatch(struct klp_object *obj) { klp_shadow_free_all(ID, NULL); }
 *	KLPKIT_POST_UNPATCH(fix_post_unpatch);
 *
 * Shadow variables (Documentation/livepatch/shadow-vars.rst) need nothing from klpkit: the
 * klp_shadow_*() functions are exported by the kernel, so patched code calls them directly.
 */
#ifndef _LINUX_KLPKIT_H
#define _LINUX_KLPKIT_H

#include <linux/compiler.h>
#include <linux/livepatch.h>

#define __KLPKIT_CALLBACK(kind, fn, type)					\
	static type __klpkit_cb_##kind##_##fn __used				\
	__section(".klpkit.callbacks." #kind) = fn

typedef int (*klpkit_pre_patch_t)(struct klp_object *obj);
typedef void (*klpkit_callback_t)(struct klp_object *obj);

#define KLPKIT_PRE_PATCH(fn)	__KLPKIT_CALLBACK(pre_patch, fn, klpkit_pre_patch_t)
#define KLPKIT_POST_PATCH(fn)	__KLPKIT_CALLBACK(post_patch, fn, klpkit_callback_t)
#define KLPKIT_PRE_UNPATCH(fn)	__KLPKIT_CALLBACK(pre_unpatch, fn, klpkit_callback_t)
#define KLPKIT_POST_UNPATCH(fn)	__KLPKIT_CALLBACK(post_unpatch, fn, klpkit_callback_t)

#endif /* _LINUX_KLPKIT_H */
