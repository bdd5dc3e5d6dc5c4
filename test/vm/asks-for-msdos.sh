# Makes the kernel ask modprobe for a module (request_module("fs-msdos") for an unknown file
# system type), then fails as a check does.
mount -t msdos none /tmp 2>/dev/null
exit 1
