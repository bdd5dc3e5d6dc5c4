#!/bin/sh
# Passes when /proc/cmdline or /proc/meminfo reads "<livepatch>: this has been live patched",
# the line the kernel's lib/livepatch test modules (test_klp_livepatch, test_klp_atomic_replace)
# print from their replacement of cmdline_proc_show or meminfo_proc_show.
grep -h "this has been live patched" /proc/cmdline /proc/meminfo
grep -q "^$KLP_LIVEPATCH: this has been live patched$" /proc/cmdline /proc/meminfo
