// The target kernel when none is named: the Debian 12 kernel klpkit is built and tested against
// (its linux-source-6.1, headers and image packages; scripts/kernel-tree.sh has the same default).
export const DEFAULT_KERNEL = "6.1.0-56-amd64";
