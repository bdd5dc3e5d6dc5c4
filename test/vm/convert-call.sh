#!/bin/sh
# Passes when klp_convert_call's replacement of cmdline_proc_show is live and its klp
# relocations reached kallsyms_lookup_name and saved_command_line (whose text holds the
# console= option vm-test boots with).
cat /proc/cmdline
grep -q "^klp-convert call resolved$" /proc/cmdline || exit 1
grep -q "^klp-convert cmdline .*console=ttyS0" /proc/cmdline
