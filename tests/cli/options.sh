#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The mount options are one table (fs/options.c): `modelfs mount --help` lists
# it, and the man page and bash completion must name every option it lists.
# Also: each option's value is checked (a bad one is refused, naming the
# option), and the options a mount reports come from the same table.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
root=$(cd "$here/../.." && pwd)
man=$root/packaging/man/modelfs.1
comp=$root/packaging/bash-completion/modelfs

"$MODELFS" mount --help >"$WORK/help"
mapfile -t opts < <(sed -n 's/^      \([a-z_]\+\)\(=\|  \|$\).*/\1/p' "$WORK/help")
[ ${#opts[@]} -ge 20 ] || fail "mount --help lists ${#opts[@]} options: $(tr '\n' ' ' <"$WORK/help" | head -c 300)"
pass
words=$(sed -n '/^_modelfs_mount_opts=/,/"$/p' "$comp" | tr -d '"' | sed 's/^_modelfs_mount_opts=//')
for o in "${opts[@]}"; do
	# an item of its own in the man page: .B name, .BI name= arg, .BR name= ...
	grep -qE "^\.(B|BI|BR) \"?$o(=|\"| |$)" "$man" || fail "modelfs(1) has no item for the mount option $o"
	grep -qE "(^| )$o=?( |$)" <<<"$words" || fail "bash completion does not offer the mount option $o"
	pass
done

# Values are checked against the table: a bad value names the option.
for bad in cache_size=1K workers=0 workers=999 max_threads=x prefetch=maybe drop_behind=on \
	backing=mmap kernel_readahead=1G store=relative store_size=1M timeout=0 requests=65 \
	pin=sha256:00 trace= allow_http=yes; do
	expect_exit 2 "$MODELFS" mount -o "$bad" "$WORK" "$WORK/mnt"
	grep -q "${bad%%=*}" <<<"$ERR" || fail "-o $bad: the error does not name the option: $ERR"
	pass
done
echo "PASS: options ($CHECKS checks, ${#opts[@]} options)"
