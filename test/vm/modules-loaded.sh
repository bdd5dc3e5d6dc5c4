#!/bin/sh
# Passes when the preloaded, livepatch and postloaded modules (and their dependencies) all
# show up in /proc/modules.
for m in cdrom isofs livepatch_binfmt binfmt_misc fat vfat; do
  grep -q "^$m " /proc/modules || { echo "$m is not in /proc/modules"; cat /proc/modules; exit 1; }
done
echo "all modules loaded"
