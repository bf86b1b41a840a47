#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Hostile shapes with valid checksums (tests/gen/hostile.c) and odd files:
# every read is answered in bounded time with the original's bytes or an
# error, the daemon's memory stays bounded, and the CLI never blocks.
#   - a read covering 5,000 one-byte chunks (more than IOV_MAX pieces)
#   - a plan of one CYCLE position and 50,000 SPARSE ones (prefetch walks it)
#   - a plan naming more positions than there are chunks (refused at open)
#   - a FIFO swapped in under a container's name during lookups
#   - `modelfs verify` given a FIFO before a good container
#   - a GGUF of 3,000 tiny tensors packed by `modelfs pack` itself
#   - tensor names with a newline, an escape sequence, bytes not UTF-8
#   - containers rewritten in place, replaced by rename, reached by a second
#     hard link after the first went
#   - 2,000 containers listed and read once under a 1,024-descriptor soft
#     limit: the daemon holds no descriptor per file
. "$(dirname "$0")/../fuse/lib.sh"

: "${MODELFS_HOSTILE:?MODELFS_HOSTILE must point to modelfs-hostile}"
py=/usr/bin/python3
[ -x "$py" ] || py=python3

# within SECONDS CMD...: CMD finishes within SECONDS (a hang is a failure)
within() {
	local s=$1 rc=0
	shift
	timeout -k 2 "$s" "$@" || rc=$?
	[ "$rc" != 124 ] && [ "$rc" != 137 ] || fail "'$*' did not finish within $s s"
	return "$rc"
}

# rss_kb PID: resident set of a process
rss_kb() {
	awk '/^VmRSS:/ {print $2}' "/proc/$1/status"
}

mkdir -p "$WORK/src" "$WORK/mnt"
"$MODELFS_HOSTILE" tiny 5000 "$WORK/src/tiny.mfs"
"$MODELFS_HOSTILE" sparse 50000 "$WORK/src/sparse.mfs"
"$MODELFS_HOSTILE" longplan 2000 "$WORK/src/long.mfs"
mv "$WORK"/src/*.orig "$WORK/"

# The CLI calls the first two ok and refuses the third with one line.
expect_exit 0 "$MODELFS" verify -q "$WORK/src/tiny.mfs" "$WORK/src/sparse.mfs"
expect_exit 1 "$MODELFS" verify "$WORK/src/long.mfs"
expect_msg "long.mfs: plan entry 1: the plan names more positions than there are chunks"

mount_fg "$WORK/src" "$WORK/mnt" -o prefetch=plan

# 5,000 chunks in one 128 KiB read, and again with 1 MiB reads.
within 30 cmp "$WORK/tiny.mfs.orig" "$WORK/mnt/tiny" || fail "tiny: wrong bytes"
pass
echo 3 >/proc/sys/vm/drop_caches
within 30 dd if="$WORK/mnt/tiny" of="$WORK/tiny.out" bs=1M status=none || fail "tiny: dd failed"
same_file "$WORK/tiny.mfs.orig" "$WORK/tiny.out"

# Reads along a plan of 50,000 sparse positions: each read must stay cheap.
within 60 cmp "$WORK/sparse.mfs.orig" "$WORK/mnt/sparse" || fail "sparse: wrong bytes"
pass
echo 3 >/proc/sys/vm/drop_caches
within 60 "$py" - "$WORK/mnt/sparse" "$WORK/sparse.mfs.orig" <<'EOF' || fail "sparse: scattered reads"
import os, sys
f = os.open(sys.argv[1], os.O_RDONLY)
want = open(sys.argv[2], "rb").read()
for i in range(40):
    off = (i * 7919 * 4096) % len(want)
    os.posix_fadvise(f, off & ~4095, 4096, os.POSIX_FADV_DONTNEED)
    got = os.pread(f, 4096, off)
    assert got == want[off:off + 4096], off
    os.posix_fadvise(f, 0, 4096, os.POSIX_FADV_DONTNEED)
    got = os.pread(f, 1, 0)  # position 0 of the plan: prefetch walks from there
    assert got == want[:1]
EOF
pass

# More plan positions than chunks: refused at open with EIO, quickly, and the
# daemon did not expand it.
rc=0
within 10 cat "$WORK/mnt/long" >/dev/null 2>"$LOG/long.err" || rc=$?
[ "$rc" != 0 ] || fail "long: a plan longer than the index was served"
grep -q "Input/output error" "$LOG/long.err" || fail "long: expected EIO, got $(cat "$LOG/long.err")"
pass
grep -q "long.mfs: plan entry 1: the plan names more positions" "$DLOG" ||
	fail "long: the daemon did not say why: $(cat "$DLOG")"
pass
rss=$(rss_kb "$DPID")
[ "$rss" -lt $((128 * 1024)) ] || fail "daemon RSS $rss kB after hostile containers"
pass

# A FIFO swapped in under a container's name while lookups run: none blocks.
cp "$WORK/src/tiny.mfs" "$WORK/regular.mfs"
mkfifo "$WORK/fifo.mfs"
(
	end=$((SECONDS + 4))
	while [ $SECONDS -lt $end ]; do
		ln -f "$WORK/fifo.mfs" "$WORK/src/swap.mfs"
		ln -f "$WORK/regular.mfs" "$WORK/src/swap.mfs"
	done
) &
swapper=$!
end=$((SECONDS + 4))
while [ $SECONDS -lt $end ]; do
	within 5 stat "$WORK/mnt/swap" >/dev/null 2>&1 || true
done
wait "$swapper"
within 5 cmp "$WORK/tiny.mfs.orig" "$WORK/mnt/swap" || fail "swap: the mount stopped answering"
pass
rm -f "$WORK/src/swap.mfs"
unmount "$WORK/mnt"

# The CLI: a FIFO argument is refused at once, and the next file is still checked.
mkfifo "$WORK/src/fifo.mfs"
expect_exit 2 within 10 "$MODELFS" verify "$WORK/src/fifo.mfs" "$WORK/src/tiny.mfs"
expect_msg "fifo.mfs: not a regular file"
grep -q "tiny.mfs: ok" <<<"$OUT" || fail "verify did not reach the file after the FIFO: $OUT"
pass
expect_exit 1 within 10 "$MODELFS" inspect "$WORK/src/fifo.mfs"
expect_msg "not a regular file"
rm -f "$WORK/src/fifo.mfs" "$WORK/fifo.mfs"

# Mount options cannot be injected through the source's name.
evil="$WORK/d,suid,dev,allow_other,fsname=y"
mkdir -p "$evil" "$WORK/mnt3"
cp "$WORK/src/tiny.mfs" "$evil/m,allow_other,fsname=x.mfs"
mount_fg "$evil" "$WORK/mnt3"
opts=$(awk -v m="$WORK/mnt3" '$2 == m {print $4}' /proc/mounts)
for want in nosuid nodev; do
	grep -qw "$want" <<<"$opts" || fail "a source named like options removed $want: $opts"
done
grep -qw allow_other <<<"$opts" && fail "a source named like options added allow_other: $opts"
pass
grep -qF "modelfs:$evil" /proc/mounts || fail "fsname does not name the source: $(grep mnt3 /proc/mounts)"
pass
unmount "$WORK/mnt3"
mount_fg "$evil/m,allow_other,fsname=x.mfs" "$WORK/mnt3"
opts=$(awk -v m="$WORK/mnt3" '$2 == m {print $4}' /proc/mounts)
grep -qw allow_other <<<"$opts" && fail "a container named like options added allow_other: $opts"
within 10 cmp "$WORK/tiny.mfs.orig" "$WORK/mnt3/m,allow_other,fsname=x" || fail "single file mount"
pass
unmount "$WORK/mnt3"

# Containers are no more readable than their sources, and keep their owner.
mkdir -p "$WORK/priv" "$WORK/privout"
"$MODELFS_GEN" -q -o "$WORK/priv/p.gguf"
chmod 0600 "$WORK/priv/p.gguf"
chown 12345:23456 "$WORK/priv/p.gguf"
"$MODELFS" pack -q -o "$WORK/privout" "$WORK/priv/p.gguf"
[ "$(stat -c %a:%u:%g "$WORK/privout/p.gguf.mfs")" = 600:12345:23456 ] ||
	fail "pack: container is $(stat -c %a:%u:%g "$WORK/privout/p.gguf.mfs"), source 600:12345:23456"
pass
"$MODELFS" plan -q --from-names "$WORK/privout/p.gguf.mfs"
[ "$(stat -c %a:%u:%g "$WORK/privout/p.gguf.mfs")" = 600:12345:23456 ] ||
	fail "plan: container is $(stat -c %a:%u:%g "$WORK/privout/p.gguf.mfs") after root rewrote it"
pass

# The trace file: never through a symlink, never someone else's file, and
# a container named with a newline writes one line.
echo keep >"$WORK/victim"
ln -s "$WORK/victim" "$WORK/tlink"
expect_exit 1 "$MODELFS" mount -f -o trace="$WORK/tlink" "$WORK/src" "$WORK/mnt"
expect_msg "it is a symlink"
[ "$(cat "$WORK/victim")" = keep ] || fail "the trace went through a symlink"
pass
touch "$WORK/theirs" && chown 12345 "$WORK/theirs"
expect_exit 1 "$MODELFS" mount -f -o trace="$WORK/theirs" "$WORK/src" "$WORK/mnt"
expect_msg "must be a regular file of ours"
mkdir -p "$WORK/nl"
cp "$WORK/src/tiny.mfs" "$WORK/nl/$(printf 'x
00000000000000000000000000000000 0 0 y').mfs"
mount_fg "$WORK/nl" "$WORK/mnt" -o trace="$WORK/trace"
cat "$WORK"/mnt/x* >/dev/null
unmount "$WORK/mnt"
[ -s "$WORK/trace" ] || fail "no trace written"
grep -qv '^[0-9a-f]\{32\} [0-9]* [0-9]* x?0\{32\} 0 0 y\.mfs$' "$WORK/trace" &&
	fail "a forged or malformed trace line: $(cat -A "$WORK/trace" | head -3)"
pass

# A second user, for what follows.
second_user
# Their 0600 model, packed by themselves: no one else can read or unpack it.
mkdir "$WORK/their"
chown "$OTHER:" "$WORK/their"
"$MODELFS_GEN" -q -o "$WORK/their/t.gguf"
chown "$OTHER:" "$WORK/their/t.gguf"
chmod 0600 "$WORK/their/t.gguf"
as_other "$MODELFS" pack -q -o "$WORK/their/out" "$WORK/their/t.gguf" || fail "the user could not pack"
[ "$(stat -c %a:%U "$WORK/their/out/t.gguf.mfs")" = "600:$OTHER" ] ||
	fail "their container is $(stat -c %a:%U "$WORK/their/out/t.gguf.mfs")"
pass
chmod 755 "$WORK/their" "$WORK/their/out"
nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"; }
mkdir -p "$WORK/nob" && chmod 777 "$WORK/nob"
expect_exit 1 nobody "$MODELFS" unpack -o "$WORK/nob" "$WORK/their/out/t.gguf.mfs"
expect_msg "Permission denied"
[ ! -e "$WORK/nob/t.gguf" ] || fail "another user unpacked a 0600 container"
pass
as_other "$MODELFS" unpack -q -o "$WORK/their/un" "$WORK/their/out/t.gguf.mfs" ||
	fail "the owner could not unpack"
cmp -s "$WORK/their/t.gguf" "$WORK/their/un/t.gguf" || fail "the owner's unpack differs"
pass
# Root packing the user's model: the container stays theirs, and private.
"$MODELFS" pack -q -o "$WORK/rootout" "$WORK/their/t.gguf"
[ "$(stat -c %a:%U "$WORK/rootout/t.gguf.mfs")" = "600:$OTHER" ] ||
	fail "root's container of their model is $(stat -c %a:%U "$WORK/rootout/t.gguf.mfs")"
pass
# Root's mount (no allow_other): the user cannot look in.
chmod 755 "$WORK/mnt"
mount_fg "$WORK/rootout" "$WORK/mnt"
out=$(as_other cat "$WORK/mnt/t.gguf" 2>&1 >/dev/null) && fail "another user read root's mount"
grep -q "Permission denied" <<<"$out" || fail "as $OTHER: $out"
pass
unmount "$WORK/mnt"

# pack DIR, run by root, while the user swaps a name in their own directory
# between a model of theirs and a symlink to a root-only model: the root-only
# one is never packed.
mkdir -p "$WORK/race/user" "$WORK/race/out"
chmod 755 "$WORK/race"
"$MODELFS_GEN" -q -p small --seed 7 -o "$WORK/race/secret.gguf"
chmod 0600 "$WORK/race/secret.gguf"
"$MODELFS_GEN" -q -o "$WORK/race/mine.gguf"
chmod 644 "$WORK/race/mine.gguf"
chown "$OTHER:" "$WORK/race/user"
as_other bash -c '
	cd "$1"
	end=$((SECONDS + 6))
	while [ $SECONDS -lt $end ]; do
		cp ../mine.gguf .r.tmp && mv -f .r.tmp a.gguf
		ln -sf ../secret.gguf .l.tmp && mv -fT .l.tmp a.gguf
	done' sh "$WORK/race/user" &
racer=$!
won=0 runs=0
while kill -0 "$racer" 2>/dev/null; do
	rm -f "$WORK/race/out/a.gguf.mfs"
	"$MODELFS" pack -q -f -o "$WORK/race/out" "$WORK/race/user" 2>/dev/null || true
	runs=$((runs + 1))
	if [ -f "$WORK/race/out/a.gguf.mfs" ] &&
		[ "$(stat -c %s "$WORK/race/out/a.gguf.mfs")" -gt $((1 << 20)) ]; then
		won=$((won + 1))
	fi
done
wait "$racer" || true
[ "$won" = 0 ] || fail "pack DIR packed the root-only model through a swapped name in $won of $runs runs"
pass

# A container rewritten in place (same inode) is noticed: new opens see the
# new size and bytes, and the daemon says so.
mkdir -p "$WORK/inplace" "$WORK/mnt4"
cp "$WORK/src/tiny.mfs" "$WORK/inplace/m.mfs"
"$MODELFS_HOSTILE" tiny 3000 "$WORK/other.mfs"
mount_fg "$WORK/inplace" "$WORK/mnt4"
within 10 cmp "$WORK/tiny.mfs.orig" "$WORK/mnt4/m" || fail "in place: first read"
pass
ino=$(stat -c %i "$WORK/inplace/m.mfs")
cp "$WORK/other.mfs" "$WORK/inplace/m.mfs"
[ "$(stat -c %i "$WORK/inplace/m.mfs")" = "$ino" ] || fail "cp did not write in place"
sleep 1.2 # the kernel's attribute cache
[ "$(stat -c %s "$WORK/mnt4/m")" = 3000 ] || fail "in place: size $(stat -c %s "$WORK/mnt4/m"), expected 3000"
pass
within 10 cmp "$WORK/other.mfs.orig" "$WORK/mnt4/m" || fail "in place: the old bytes were served"
pass
grep -q "m.mfs: rewritten in place" "$DLOG" || fail "in place: not logged: $(cat "$DLOG")"
pass
# Replaced by rename (a new inode under the old name): the new bytes, no error.
cp "$WORK/src/tiny.mfs" "$WORK/inplace/new.tmp"
mv "$WORK/inplace/new.tmp" "$WORK/inplace/m.mfs"
within 10 cmp "$WORK/tiny.mfs.orig" "$WORK/mnt4/m" || fail "replaced by rename: wrong bytes"
pass
# Two names for one container; the name it was first found under goes away.
ln "$WORK/inplace/m.mfs" "$WORK/inplace/a.mfs"
cp "$WORK/src/tiny.mfs" "$WORK/inplace/b.mfs"
rm "$WORK/inplace/b.mfs"
ln "$WORK/inplace/m.mfs" "$WORK/inplace/b.mfs"
within 10 cmp "$WORK/tiny.mfs.orig" "$WORK/mnt4/a" || fail "hard link a: wrong bytes"
rm "$WORK/inplace/a.mfs" "$WORK/inplace/m.mfs"
echo 3 >/proc/sys/vm/drop_caches
within 10 cmp "$WORK/tiny.mfs.orig" "$WORK/mnt4/b" || fail "hard link b after a went: wrong bytes"
pass
unmount "$WORK/mnt4"

# 2,000 containers and a soft descriptor limit of 1,024: `ls -l` sees them all
# (the daemon raises its soft limit to the hard one).
mkdir -p "$WORK/many2" "$WORK/mnt5"
"$MODELFS_HOSTILE" tiny 16 "$WORK/small.mfs"
for i in $(seq 2000); do cp "$WORK/small.mfs" "$WORK/many2/m$i.mfs"; done
if [ "$(ulimit -Hn)" != unlimited ] && [ "$(ulimit -Hn)" -gt 4096 ]; then
	DLOG=$(mktemp "$LOG/daemon.XXXXXX")
	(ulimit -Sn 1024 && exec "$MODELFS" mount -f "$WORK/many2" "$WORK/mnt5") 2>"$DLOG" &
	DPID=$!
	MOUNTS+=("$WORK/mnt5")
	wait_mounted "$WORK/mnt5"
	for pass_no in 1 2; do
		n=$(ls -l "$WORK/mnt5" 2>"$LOG/ls.err" | grep -c '^-r') || true
		[ "$n" = 2000 ] && [ ! -s "$LOG/ls.err" ] ||
			fail "ls -l (pass $pass_no) saw $n of 2000 files: $(head -3 "$LOG/ls.err")"
		pass
	done
	# No descriptor per looked-up file, nor per file read once (it was one each).
	fds=$(ls "/proc/$DPID/fd" | wc -l)
	[ "$fds" -le 64 ] || fail "after ls -l the daemon holds $fds descriptors"
	pass
	for f in "$WORK"/mnt5/m*; do cat "$f"; done | cmp - <(for i in $(seq 2000); do
		cat "$WORK/small.mfs.orig"; done) || fail "reading every file once: wrong bytes"
	pass
	fds=$(ls "/proc/$DPID/fd" | wc -l)
	[ "$fds" -le 64 ] || fail "after reading 2,000 files the daemon holds $fds descriptors"
	pass
	unmount "$WORK/mnt5"
fi
rm -rf "$WORK/many2"

# Names from files never reach a terminal or a JSON reader as they are: a
# newline that would forge a "...: ok" line, an escape sequence, bytes that
# are not UTF-8 (0x9b is a one-byte CSI on some terminals).
mkdir -p "$WORK/odd"
"$py" - "$WORK/odd/odd.gguf" <<'EOF'
import struct, sys
names = [b"ok.weight", b"evil\nx.gguf: ok", b"esc\x1b[31mred", b"bad\xff\xfe\x9b\xc2\x9butf8",
         "caf\u00e9".encode()]
out = bytearray(b"GGUF" + struct.pack("<IQQ", 3, len(names), 1))
out += struct.pack("<Q", 20) + b"general.architecture" + struct.pack("<IQ", 8, 4) + b"none"
for i, n in enumerate(names):
    out += struct.pack("<Q", len(n)) + n + struct.pack("<IQIQ", 1, 8, 0, 32 * i)
out += b"\0" * (-len(out) % 32) + bytes(range(32)) * len(names)
open(sys.argv[1], "wb").write(out)
EOF
"$MODELFS" pack -q -o "$WORK/odd" "$WORK/odd/odd.gguf"
"$MODELFS" inspect --chunks --plan "$WORK/odd/odd.gguf.mfs" >"$LOG/odd.txt"
# Every line is UTF-8 without control characters, and no name starts a line.
"$py" - "$LOG/odd.txt" <<'EOF' || fail "inspect printed a name raw: $(cat -A "$LOG/odd.txt" | grep -a "evil\|esc\|bad")"
import sys
text = open(sys.argv[1], "rb").read().decode("utf-8")
bad = [c for c in text if (ord(c) < 0x20 and c != "\n") or 0x7f <= ord(c) < 0xa0]
assert not bad, bad
assert not any(l.startswith("x.gguf: ok") for l in text.splitlines())
assert "café" in text
EOF
pass
"$MODELFS" inspect --json "$WORK/odd/odd.gguf.mfs" >"$LOG/odd.json"
"$py" - "$LOG/odd.json" <<'EOF' || fail "inspect --json: not UTF-8 JSON with the names"
import json, sys
d = json.loads(open(sys.argv[1], "rb").read().decode("utf-8"))
names = [t["name"] for t in d["tensors"]]
assert names[1] == "evil\nx.gguf: ok" and names[4] == "caf\u00e9", names
EOF
pass
# verify on a corrupt chunk of the tensor whose name holds the newline: one
# line per problem, none of them forged.
chunk_at=$(awk '/ evil\?x\.gguf: ok$/ {print $4; exit}' "$LOG/odd.txt")
[ -n "$chunk_at" ] || fail "no chunk of tensor 1 in: $(cat "$LOG/odd.txt")"
printf '\377' | dd of="$WORK/odd/odd.gguf.mfs" bs=1 seek="$chunk_at" conv=notrunc status=none
expect_exit 1 "$MODELFS" verify "$WORK/odd/odd.gguf.mfs"
! grep -q "^x.gguf: ok" <<<"$OUT$ERR" || fail "verify: a tensor name forged a line: $ERR"
pass
grep -q "tensor evil?x.gguf: ok" <<<"$ERR" || fail "verify: $ERR"
pass

# Every value the format holds prints: an mtime no calendar can show.
"$MODELFS_HOSTILE" mtime 16 "$WORK/mtime.mfs"
expect_exit 0 within 10 "$MODELFS" inspect "$WORK/mtime.mfs"
grep -q "mtime @9223372036854775807 UTC" <<<"$OUT" || fail "inspect: $OUT"
pass
expect_exit 0 within 10 "$MODELFS" inspect --json "$WORK/mtime.mfs"

# 3,000 tiny F32 tensors, packed by modelfs itself, default options.
mkdir -p "$WORK/many" "$WORK/manysrc" "$WORK/mnt2"
"$py" - "$WORK/many/many.gguf" <<'EOF'
import struct, sys
n = 3000
def s(x): b = x.encode(); return struct.pack("<Q", len(b)) + b
out = bytearray(b"GGUF" + struct.pack("<IQQ", 3, n, 1))
out += s("general.architecture") + struct.pack("<I", 8) + s("none")
off = 0
for i in range(n):
    out += s("t.%d" % i) + struct.pack("<I", 1) + struct.pack("<Q", 1) + struct.pack("<IQ", 0, off)
    off += 32  # one F32 value, each tensor aligned to 32 bytes
pad = (-len(out)) % 32
out += b"\0" * pad
for i in range(n):
    out += struct.pack("<f", i * 0.5) + b"\0" * 28
open(sys.argv[1], "wb").write(out)
EOF
"$MODELFS" pack -q -o "$WORK/manysrc" "$WORK/many/many.gguf"
mount_fg "$WORK/manysrc" "$WORK/mnt2"
within 30 cmp "$WORK/many/many.gguf" "$WORK/mnt2/many.gguf" || fail "many tensors: wrong bytes"
pass
unmount "$WORK/mnt2"

echo "$CHECKS passed, 0 failed"
