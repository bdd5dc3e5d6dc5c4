#!/bin/sh
# Fails on purpose: /proc/cmdline never reads this.
grep -q "text that is not in /proc/cmdline" /proc/cmdline
