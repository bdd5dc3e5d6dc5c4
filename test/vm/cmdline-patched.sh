#!/bin/sh
# Passes when the sample livepatch's replacement of cmdline_proc_show is live.
cat /proc/cmdline
grep -q "this has been live patched" /proc/cmdline
