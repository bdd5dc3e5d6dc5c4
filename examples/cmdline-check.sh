# Runs inside the VM (busybox sh) after the livepatch is enabled.
grep -q "(livepatched by klpkit)" /proc/cmdline
