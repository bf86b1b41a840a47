#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# What the mount exposes: nothing writable; nothing outside SRC through the
# daemon (symlinks are shown as links, and a symlinked container outside SRC
# is not opened as a model); no devices, FIFOs or sockets; and without
# allow_other nobody but the mounting user gets in, while with allow_other
# other users read what the file modes allow.
. "$(dirname "$0")/lib.sh"

as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"; }

chmod 755 "$WORK" # so other users can reach the mount point at all
src=$WORK/src outside=$WORK/outside mnt=$WORK/mnt
mkdir -p "$src/sub" "$outside"
"$MODELFS_GEN" -q -o "$WORK/m.gguf"
"$MODELFS" pack -q -o "$src" "$WORK/m.gguf"
"$MODELFS" pack -q -o "$outside" "$WORK/m.gguf"
chmod 644 "$src/m.gguf.mfs"
ln -s "$outside/m.gguf.mfs" "$src/escape.gguf.mfs" # a container outside SRC
ln -s /etc/passwd "$src/passwd"
ln -s ../.. "$src/sub/up"
mkfifo "$src/fifo"
mknod "$src/null" c 1 3
python3 -c 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$src/sock"

"$MODELFS_GEN" -q -o "$WORK/suid.gguf"
chmod 4755 "$WORK/suid.gguf" # packed with its set-uid bit in the header
"$MODELFS" pack -q -o "$src" "$WORK/suid.gguf"
chmod 4755 "$src/suid.gguf.mfs"
mkdir "$WORK/un"
"$MODELFS" unpack -q -o "$WORK/un" "$src/suid.gguf.mfs"
[ "$(stat -c %a "$WORK/un/suid.gguf")" = 755 ] || fail "unpack made a set-uid file"
pass

mount_fg "$src" "$mnt"
opts=$(grep " $mnt " /proc/mounts | cut -d' ' -f4)
for o in ro nosuid nodev; do
	grep -qw "$o" <<<"${opts//,/ }" || fail "mounted without $o: $opts"
done
[ "$(stat -c %a "$mnt/suid.gguf")" = 755 ] || fail "set-uid bit from a header: $(stat -c %a "$mnt/suid.gguf")"
pass

# Read-only, whoever asks.
for op in "touch $mnt/new" "rm $mnt/m.gguf" "mkdir $mnt/d" "chmod 600 $mnt/m.gguf" \
	"truncate -s 0 $mnt/m.gguf" "ln -s x $mnt/l" "mv $mnt/m.gguf $mnt/n.gguf"; do
	out=$($op 2>&1) && fail "'$op' succeeded on the mount"
	grep -q "Read-only file system" <<<"$out" || fail "'$op': $out"
	pass
done
out=$(python3 -c 'import os,sys; os.open(sys.argv[1], os.O_RDWR)' "$mnt/m.gguf" 2>&1) &&
	fail "opened a file for writing"
grep -q "Read-only file system" <<<"$out" || fail "open O_RDWR: $out"
pass

# Symlinks are links: the daemon neither follows nor serves through them.
[ "$(readlink "$mnt/escape.gguf.mfs")" = "$outside/m.gguf.mfs" ] || fail "escape link not shown as a link"
[ -e "$mnt/escape.gguf" ] && fail "a container outside SRC was served as a model"
[ "$(readlink "$mnt/passwd")" = /etc/passwd ] || fail "passwd link"
[ "$(readlink "$mnt/sub/up")" = ../.. ] || fail "relative link"
[ -L "$mnt/passwd" ] && [ -L "$mnt/sub/up" ] || fail "links not shown as links"
pass
# Devices, FIFOs and sockets are not there.
listing=$(ls -A "$mnt")
for n in fifo null sock; do
	grep -qx "$n" <<<"$listing" && fail "$n is visible in the mount"
	[ -e "$mnt/$n" ] && fail "$n can be looked up in the mount"
done
pass
same_file "$WORK/m.gguf" "$mnt/m.gguf"

# Without allow_other: other users (even with the modes allowing it) are kept out.
out=$(as_nobody cat "$mnt/m.gguf" 2>&1 >/dev/null) && fail "another user read the mount"
grep -q "Permission denied" <<<"$out" || fail "other user: $out"
out=$(as_nobody ls "$mnt" 2>&1) && fail "another user listed the mount"
pass
unmount "$mnt"

# With allow_other: other users read what the modes allow, and only that.
mount_fg "$src" "$mnt" -o allow_other
as_nobody cmp -s "$WORK/m.gguf" "$mnt/m.gguf" || fail "allow_other: another user cannot read a 0644 model"
pass
chmod 600 "$src/m.gguf.mfs"
sleep 1.2 # the attribute timeout
[ "$(stat -c %a "$mnt/m.gguf")" = 600 ] || fail "a 0600 container shows as $(stat -c %a "$mnt/m.gguf")"
out=$(as_nobody cat "$mnt/m.gguf" 2>&1 >/dev/null) && fail "allow_other: another user read a 0600 model"
grep -q "Permission denied" <<<"$out" || fail "0600 with allow_other: $out"
pass
unmount "$mnt"
echo "security: read-only, nosuid, nodev (8 writes refused; set-id bits never shown; a container's own mode caps the model's), symlinks shown not followed, no devices/FIFOs/sockets, other users kept out without allow_other and held to file modes with it"
done_ok
