#!/bin/busybox sh
# SPDX-License-Identifier: MIT
# PID 1 of the test VM (tests/vm/run.sh): mounts what a system has, loads
# the fuse module from the kernel package, says what it booted into, runs
# the guest checks and powers off. Its last line is "VM: PASS" or "VM: FAIL".
/bin/busybox --install -s /bin
export PATH=/bin:/usr/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs dev /dev
mkdir -p /sys/fs/cgroup /tmp /run
mount -t cgroup2 cgroup2 /sys/fs/cgroup
mount -t tmpfs tmp /tmp
echo # the firmware leaves its escape sequences on the console's current line
uname -m
# busybox's stat knows no name for cgroup2's magic: the number says it.
t=$(stat -fc %t /sys/fs/cgroup)
[ "$t" = 63677270 ] && t=cgroup2fs
echo "cgroup: $t"
ln -sf /proc/self/mounts /etc/mtab
insmod /lib/fuse.ko || echo "init: insmod fuse.ko failed"
if sh /guest.sh; then
	echo "VM: PASS"
else
	echo "VM: FAIL"
fi
sync
poweroff -f
