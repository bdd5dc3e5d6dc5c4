/* SPDX-License-Identifier: GPL-2.0 */
/*
 * klpkit.h - what a patch for `klp build` may use beyond ordinary kernel code.
 *
 * klp build copies this header into the kernel tree it builds in, so a patch can say
 * `#include <linux/klpkit.h>`. Every macro leaves a marker in a `.klpkit.*` section of the
 * patched object; `klp build` reads the markers and never carries them into the module.
 *
 * Callbacks (Documentation/livepatch/callbacks.rst): mark a function of the patched file
 * (usually a new static one) and klp build puts it into the klp_object of that file's object
 * (vmlinux or its module):
 *
 *	static void fix_post_unpatch(struct klp_object *obj) { klp_shadow_free_all(ID, NULL); }
 *	KLPKIT_POST_UNPATCH(fix_post_unpatch);
 *
 * Ignoring on purpose: KLPKIT_IGNORE_FUNCTION(fn) leaves a changed function out of the
 * livepatch (and out of refusals), e.g. an __init function changed only so the source stays
 * consistent for the next boot; KLPKIT_IGNORE_SECTION(".text.unlikely.foo") does the same for
 * everything in a section. The running kernel keeps its old code there.
 *
 * Shadow variables (Documentation/livepatch/shadow-vars.rst) need nothing from klpkit: the
 * klp_shadow_*() functions are exported by the kernel, so patched code calls them directly.
 *
 * Hand-made livepatches for `klp convert`: a livepatch module written by hand may call or read
 * symbols the kernel does not export (kallsyms_lookup_name, a static function); klp convert
 * turns those references into klp relocations. When the target has several symbols of that
 * name (6.1's vmlinux has two static `load_elf_binary`, fs/binfmt_elf.c and
 * fs/compat_binfmt_elf.c), say which one, by its position among them in kallsyms order:
 *
 *	KLPKIT_SYMPOS(load_elf_binary, vmlinux, 2);
 *
 * A module's same-named statics (fat.ko's two init_once) count in the order of the module's
 * symbol table: KLPKIT_SYMPOS(init_once, fat, 2). klp convert lists the candidates with their
 * positions when it refuses a name. (Not by source file: Debian's .ko files carry no STT_FILE
 * symbols and kallsyms none for vmlinux, so a file name could not be checked.)
 *
 * Each records one string "symbol object pos:N" in `.klpkit.sympos`; klp convert reads them
 * and leaves the section out of the module it writes. It does not refer to the symbol itself,
 * so it adds no relocation the converter would have to resolve.
 */
#ifndef _LINUX_KLPKIT_H
#define _LINUX_KLPKIT_H

#ifdef __KERNEL__
#include <linux/livepatch.h>
#endif

struct klp_object;
typedef int (*klpkit_pre_patch_t)(struct klp_object *obj);
typedef void (*klpkit_callback_t)(struct klp_object *obj);

#define __klpkit_marker(sec) __attribute__((__used__, __section__(sec)))
#define __klpkit_paste(a, b) a##b
#define __klpkit_id(prefix, n) __klpkit_paste(prefix, n)

#define __KLPKIT_CALLBACK(kind, fn, type)					\
	static type __klpkit_cb_##kind##_##fn					\
	__klpkit_marker(".klpkit.callbacks." #kind) = fn

#define KLPKIT_PRE_PATCH(fn)	__KLPKIT_CALLBACK(pre_patch, fn, klpkit_pre_patch_t)
#define KLPKIT_POST_PATCH(fn)	__KLPKIT_CALLBACK(post_patch, fn, klpkit_callback_t)
#define KLPKIT_PRE_UNPATCH(fn)	__KLPKIT_CALLBACK(pre_unpatch, fn, klpkit_callback_t)
#define KLPKIT_POST_UNPATCH(fn)	__KLPKIT_CALLBACK(post_unpatch, fn, klpkit_callback_t)

#define KLPKIT_IGNORE_FUNCTION(fn)						\
	static void *__klpkit_ignore_fn_##fn					\
	__klpkit_marker(".klpkit.ignore.functions") = (void *)&(fn)

#define KLPKIT_IGNORE_SECTION(name)						\
	static const char __klpkit_id(__klpkit_ignore_sec_, __COUNTER__)[]	\
	__klpkit_marker(".klpkit.ignore.sections") = name

#define KLPKIT_SYMPOS(sym, object, pos)						\
	static const char __klpkit_id(__klpkit_sympos_, __COUNTER__)[]		\
	__klpkit_marker(".klpkit.sympos") = #sym " " #object " pos:" #pos

#endif /* _LINUX_KLPKIT_H */
