#!/bin/sh
# Passes when binfmt_misc, loaded after the livepatch, runs the patched bm_status_read.
mkdir -p /proc/sys/fs/binfmt_misc 2>/dev/null
mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc || exit 1
status=$(cat /proc/sys/fs/binfmt_misc/status)
echo "binfmt_misc status: $status"
[ "$status" = "live patched binfmt_misc" ]
