// SPDX-License-Identifier: GPL-2.0
/*
 * Safe: the replacement of cmdline_proc_show (fs/proc/cmdline.c) reports whether a file
 * descriptor is a dma-buf, through dma_buf_get and dma_buf_put, which 6.1 exports in the
 * DMA_BUF symbol namespace (EXPORT_SYMBOL_NS_GPL), and imports that namespace. check.test.ts
 * renames the import in a copy of the built module: the loader refuses that copy.
 */
#include "handmade.h"
#include <linux/dma-buf.h>
#include <linux/err.h>
#include <linux/seq_file.h>

MODULE_IMPORT_NS(DMA_BUF);

static int livepatch_cmdline_proc_show(struct seq_file *m, void *v)
{
	struct dma_buf *buf = dma_buf_get(0);

	seq_printf(m, "%s\n", IS_ERR(buf) ? "stdin is not a dma-buf" : "stdin is a dma-buf");
	if (!IS_ERR(buf))
		dma_buf_put(buf);
	return 0;
}

HANDMADE_LIVEPATCH(NULL, { .old_name = "cmdline_proc_show", .new_func = livepatch_cmdline_proc_show, });
