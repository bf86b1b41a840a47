#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Real FUSE mounts of packed models, read with real programs and compared
# with the originals: the directory view, cmp of every file, 10,000 random
# preads, mmap, 8 threads and 8 processes under a cache far smaller than the
# file, stats, EROFS for every kind of write, files appearing while mounted,
# a Hugging Face cache layout, single-file mode, mount.modelfs with fstab
# options, daemon mode, clean unmount on umount, SIGTERM and SIGINT, and
# auto_unmount after SIGKILL.
. "$(dirname "$0")/lib.sh"

src=$WORK/src
orig=$WORK/orig
mkdir -p "$src/sub" "$orig"

# Models: several dtypes and orders, and safetensors shards, packed into src.
"$MODELFS_GEN" -q -p medium -t bf16 -o "$orig/big.gguf"
"$MODELFS_GEN" -q -p small -t q8_0 --order sorted -o "$orig/q8.gguf"
"$MODELFS_GEN" -q -p small -t q4_0 -o "$orig/q4.gguf"
"$MODELFS_GEN" -q -p small -t f16 -o "$orig/f16.gguf"
"$MODELFS_GEN" -q -f safetensors -t bf16 -p small --shards 3 -o "$orig/st"
chmod 640 "$orig/q8.gguf"
touch -d '2023-01-02 03:04:05.5' "$orig/q4.gguf"
for f in big q8 q4 f16; do
	"$MODELFS" pack -q -o "$src" "$orig/$f.gguf"
done
"$MODELFS" pack -q -o "$src/sub" "$orig/f16.gguf"
"$MODELFS" pack -q -o "$src/st" "$orig/st"
cp "$orig/st/model.safetensors.index.json" "$src/st/"
echo '{"architectures":["LlamaForCausalLM"]}' >"$src/config.json"
echo "a plain file" >"$orig/plain.txt"
cp "$orig/plain.txt" "$src/plain.txt"
mkfifo "$src/fifo"
# Both X and X.mfs: the container must win.
echo "not the model" >"$src/f16.gguf"
# Hugging Face cache: snapshots/REV/NAME -> ../../blobs/HASH, blobs packed.
hf=$src/hub/models--org--m
mkdir -p "$hf/blobs" "$hf/snapshots/rev1"
"$MODELFS" pack -q -o "$hf/blobs" "$orig/q4.gguf"
mv "$hf/blobs/q4.gguf.mfs" "$hf/blobs/5f3c9a.mfs"
ln -s ../../blobs/5f3c9a "$hf/snapshots/rev1/model.gguf"

mnt=$WORK/mnt
mount_fg "$src" "$mnt" -o cache_size=4M,workers=2

# ---- the view ------------------------------------------------------------
listing=$(ls -A "$mnt" | tr '\n' ' ')
[ "$listing" = "big.gguf config.json f16.gguf hub plain.txt q4.gguf q8.gguf st sub " ] ||
	fail "unexpected listing: $listing"
pass
[ -z "$(find "$mnt" -name '*.mfs')" ] || fail "a .mfs name is visible"
[ ! -e "$mnt/fifo" ] || fail "the FIFO is visible"
[ ! -e "$mnt/big.gguf.mfs" ] || fail "lookup of a .mfs name succeeded"
pass
for f in big q8 q4 f16; do
	same_file "$orig/$f.gguf" "$mnt/$f.gguf"
	[ "$(stat -c '%s %a %Y' "$orig/$f.gguf")" = "$(stat -c '%s %a %Y' "$mnt/$f.gguf")" ] ||
		fail "$f.gguf: size, mode or mtime differ"
	[ "$(stat -c %b "$mnt/$f.gguf")" = "$(stat -c %b "$src/$f.gguf.mfs")" ] ||
		fail "$f.gguf: st_blocks is not the container's"
	pass
done
[ "$(stat -c %X "$mnt/q4.gguf" | cut -c1-4)" != "" ] || fail "stat"
du_mnt=$(du -k "$mnt/big.gguf" | cut -f1)
[ "$du_mnt" -lt $(($(stat -c %s "$orig/big.gguf") / 1024 * 90 / 100)) ] ||
	fail "du shows $du_mnt KiB: the compressed size should be visible"
pass
same_file "$orig/f16.gguf" "$mnt/sub/f16.gguf"
same_file "$orig/plain.txt" "$mnt/plain.txt"
for s in "$orig"/st/*.safetensors; do
	same_file "$s" "$mnt/st/$(basename "$s")"
done
same_file "$orig/st/model.safetensors.index.json" "$mnt/st/model.safetensors.index.json"
[ -L "$mnt/hub/models--org--m/snapshots/rev1/model.gguf" ] || fail "symlink not kept"
same_file "$orig/q4.gguf" "$mnt/hub/models--org--m/snapshots/rev1/model.gguf"
grep -q "f16.gguf.mfs: shown instead of the plain file" "$DLOG" ||
	fail "no warning for X next to X.mfs: $(cat "$DLOG")"
[ "$(grep -c 'shown instead' "$DLOG")" = 1 ] || fail "warning not logged once"
pass

# ---- reads as programs do them, with a 4 MiB cache under a 68 MB file -------
"$MFS_READCHECK" random "$orig/big.gguf" "$mnt/big.gguf" 10000 1 || fail "random preads"
pass
echo 3 >/proc/sys/vm/drop_caches
"$MFS_READCHECK" mmap "$orig/big.gguf" "$mnt/big.gguf" || fail "mmap"
pass
echo 3 >/proc/sys/vm/drop_caches
"$MFS_READCHECK" threads "$orig/big.gguf" "$mnt/big.gguf" 8 400 || fail "8 threads"
pass
echo 3 >/proc/sys/vm/drop_caches
"$MFS_READCHECK" procs "$orig/big.gguf" "$mnt/big.gguf" 8 400 || fail "8 processes"
pass
[ "$(stat_json "$mnt" cache_budget)" = $((4 << 20)) ] || fail "cache_size not applied"
[ "$(stat_json "$mnt" cache_evictions)" -gt 0 ] || fail "a 4 MiB cache should have evicted"
[ "$(stat_json "$mnt" checksum_failures)" = 0 ] || fail "checksum failures on good data"
[ "$(stat_json "$mnt" workers_active)" = 2 ] || fail "workers=2: $(stat_json "$mnt" workers_active) at once"
pass

# ---- files added while mounted appear; xattrs ------------------------------
"$MODELFS_GEN" -q -p tiny -t q8_0 -o "$orig/late.gguf"
"$MODELFS" pack -q -o "$src" "$orig/late.gguf"
for _ in $(seq 30); do [ -e "$mnt/late.gguf" ] && break; sleep 0.1; done
same_file "$orig/late.gguf" "$mnt/late.gguf"
getfattr -n user.modelfs.stats "$mnt" >/dev/null 2>&1 || command -v getfattr >/dev/null ||
	true
python3 -c "import os,sys; os.getxattr(sys.argv[1], 'user.modelfs.stats')" "$mnt/big.gguf" \
	2>/dev/null && fail "stats xattr on a file, expected only on the root"
pass

# ---- read-only ------------------------------------------------------------------
for cmd in "touch $mnt/new" "sh -c 'echo x >>$mnt/plain.txt'" "mkdir $mnt/d" "rm $mnt/q8.gguf" \
	"mv $mnt/q8.gguf $mnt/q9.gguf" "chmod 600 $mnt/q8.gguf" "truncate -s 0 $mnt/q8.gguf" \
	"ln -s x $mnt/l" "ln $mnt/q8.gguf $mnt/h" "rmdir $mnt/sub" "setfattr -n user.x -v 1 $mnt/q8.gguf"; do
	out=$(eval "$cmd" 2>&1) && fail "'$cmd' succeeded on a read-only mount"
	grep -q "Read-only file system" <<<"$out" ||
		{ [[ $cmd == setfattr* ]] && ! command -v setfattr >/dev/null; } ||
		fail "'$cmd': $out"
	pass
done

# ---- unmount: clean, no daemon left ------------------------------------------
unmount "$mnt"

# ---- the cache: a read served from cached chunks decodes nothing again --------
mount_fg "$src" "$mnt" -o cache_size=128M,readahead=off
cat "$mnt/q8.gguf" >/dev/null
before=$(stat_json "$mnt" chunks_decompressed)
hits=$(stat_json "$mnt" cache_hits)
# Default workers (4 per CPU): between one per CPU and all of them at once.
active=$(stat_json "$mnt" workers_active)
[ "$active" -ge "$(nproc)" ] && [ "$active" -le $((4 * $(nproc))) ] ||
	fail "default workers: $active at once on $(nproc) CPUs"
echo 3 >/proc/sys/vm/drop_caches # the page cache forgets; the chunk cache does not
cat "$mnt/q8.gguf" >/dev/null
[ "$(stat_json "$mnt" chunks_decompressed)" = "$before" ] ||
	fail "re-reading cached chunks decoded again ($before -> $(stat_json "$mnt" chunks_decompressed))"
[ "$(stat_json "$mnt" cache_hits)" -gt "$hits" ] || fail "no cache hits on re-read"
[ "$(stat_json "$mnt" prefetch_chunks)" = 0 ] || fail "readahead=off still prefetched"
pass
"$MODELFS" stats "$mnt" | grep -q "cache hit rate" || fail "modelfs stats output"
pass
# Prometheus text format, written atomically for node_exporter's textfile collector.
"$MODELFS" stats --prometheus -o "$WORK/modelfs.prom" "$mnt" || fail "stats --prometheus -o"
no_temp_files "$WORK"
/usr/bin/python3 - "$WORK/modelfs.prom" "$(realpath "$mnt")" "$(stat_json "$mnt" cache_budget)" \
	"$("$MODELFS" stats --json "$mnt")" <<'PY' ||
import json, re, sys
lines = open(sys.argv[1]).read().splitlines()
mnt, budget, keys = sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
helped, typed, seen = set(), {}, {}
for l in lines:
    m = re.fullmatch(r'# HELP (modelfs_[a-z_]+) \S.*', l)
    if m:
        helped.add(m.group(1)); continue
    m = re.fullmatch(r'# TYPE (modelfs_[a-z_]+) (counter|gauge)', l)
    if m:
        typed[m.group(1)] = m.group(2); continue
    m = re.fullmatch(r'(modelfs_[a-z_]+)\{mountpoint="([^"]*)"\} ([0-9.]+)', l)
    assert m, 'bad line: ' + l
    name = m.group(1)
    assert name in helped and name in typed, 'no HELP/TYPE before ' + name
    assert m.group(2) == mnt, 'mountpoint label ' + m.group(2)
    assert (typed[name] == 'counter') == name.endswith('_total'), name
    seen[name] = float(m.group(3))
assert len(seen) == len(keys) and len(keys) >= 29, (sorted(seen), sorted(keys))
assert seen['modelfs_cache_budget_bytes'] == float(budget)
assert seen['modelfs_read_requests_total'] > 0 and seen['modelfs_decompress_seconds_total'] > 0
PY
	fail "stats --prometheus: bad exposition format"
expect_exit 2 "$MODELFS" stats --json --prometheus "$mnt"
# --watch: a header and a line per interval; what changed in it.
cat "$mnt/big.gguf" >/dev/null &
reader=$!
"$MODELFS" stats --watch 0.2 --count 3 "$mnt" >"$LOG/watch" || fail "stats --watch failed"
wait "$reader"
[ "$(wc -l <"$LOG/watch")" = 4 ] && head -1 "$LOG/watch" | grep -q "served/s" ||
	fail "stats --watch: $(cat "$LOG/watch")"
pass
awk -v m="$mnt" 'NR > 1 && $1 != m { exit 1 }' "$LOG/watch" || fail "stats --watch names: $(cat "$LOG/watch")"
pass
expect_exit 2 "$MODELFS" stats --watch --json "$mnt"
expect_exit 2 "$MODELFS" stats --count 2 "$mnt"
expect_exit 2 "$MODELFS" stats --watch 0.01 "$mnt"
kill -INT "$DPID"
wait_gone "$DPID"
daemon_log_clean
mountpoint -q "$mnt" && fail "SIGINT did not unmount"
pass

# ---- readahead on: sequential readers find chunks decoded ahead ---------------
mount_fg "$src" "$mnt"
cat "$mnt/big.gguf" >/dev/null
[ "$(stat_json "$mnt" prefetch_chunks)" -gt 10 ] || fail "no readahead on a sequential read"
pass
kill -TERM "$DPID"
wait_gone "$DPID"
daemon_log_clean
mountpoint -q "$mnt" && fail "SIGTERM did not unmount"
pass

# ---- every option value reaches the daemon --------------------------------------
# OPTIONS | what the daemon says it runs with (user.modelfs.options)
while IFS='|' read -r opts want; do
	mount_fg "$src" "$mnt" ${opts:+-o "$opts"}
	got=$(python3 -c "import os,sys; print(os.getxattr(sys.argv[1], 'user.modelfs.options').decode())" "$mnt")
	for w in $want; do
		[[ ",$got," == *",$w,"* ]] || fail "-o '$opts': the daemon runs with '$got', expected $w"
	done
	pass
	"$MODELFS" stats "$mnt" | grep -q "^options  *$got\$" || fail "modelfs stats shows no options line"
	unmount "$mnt"
done <<EOF
|cache_size=auto pin_size=auto prefetch=plan drop_behind=auto backing=direct kernel_readahead=1048576
drop_behind=off|drop_behind=off
drop_behind=auto|drop_behind=auto
cache_size=8M,pin_size=0|cache_size=8388608 pin_size=0
cache_size=4M,pin_size=auto|cache_size=4194304 pin_size=auto
workers=3,max_threads=5|workers=3 max_threads=5
prefetch=off|prefetch=off
prefetch=sequential|prefetch=sequential
prefetch=plan|prefetch=plan
readahead=off|prefetch=off
readahead=on|prefetch=plan
backing=cached|backing=cached
backing=dontneed|backing=dontneed
backing=direct|backing=direct
kernel_readahead=0|kernel_readahead=0
kernel_readahead=4M|kernel_readahead=4194304
trace=$WORK/opt.trace|trace=$WORK/opt.trace
EOF

# ---- daemon mode ----------------------------------------------------------------
"$MODELFS" mount "$src" "$mnt" || fail "daemon mode mount failed"
MOUNTS+=("$mnt")
mountpoint -q "$mnt" || fail "not mounted after modelfs mount returned"
DPID=$(pgrep -f "modelfs mount $src $mnt" | head -n1)
[ -n "$DPID" ] || fail "no daemon process"
same_file "$orig/q4.gguf" "$mnt/q4.gguf"
grep -q "fuse.modelfs" <(grep " $mnt " /proc/mounts) || fail "not a modelfs mount in /proc/mounts"
grep -q "modelfs:$src" <(grep " $mnt " /proc/mounts) || fail "fsname"
unmount "$mnt"

# ---- auto_unmount: a daemon killed with SIGKILL takes its mount with it --------
"$MODELFS" mount -o auto_unmount,fsname=mymodels "$src" "$mnt" || fail "auto_unmount mount"
grep -q "^mymodels $mnt fuse.modelfs" /proc/mounts || fail "fsname= not applied"
kill -KILL "$(pgrep -f "modelfs mount -o auto_unmount,fsname=mymodels $src $mnt")"
for _ in $(seq 50); do mountpoint -q "$mnt" || break; sleep 0.1; done
mountpoint -q "$mnt" && fail "auto_unmount left the mount after SIGKILL"
pass

# ---- single file; mount.modelfs with fstab options ------------------------------
DPID=""
"$MODELFS" mount "$src/q8.gguf.mfs" "$mnt" || fail "single-file mount"
[ "$(ls -A "$mnt")" = "q8.gguf" ] || fail "single-file mount shows: $(ls -A "$mnt")"
[ ! -e "$mnt/big.gguf" ] || fail "single-file mount shows other files"
same_file "$orig/q8.gguf" "$mnt/q8.gguf"
umount "$mnt"
"$MOUNT_MODELFS" "$src" "$mnt" -o defaults,nofail,_netdev,x-systemd.automount,noatime,cache_size=8M,readahead=off,allow_other ||
	fail "mount.modelfs with fstab options"
grep " $mnt " /proc/mounts | grep -q allow_other || fail "allow_other not passed to FUSE"
[ "$(stat_json "$mnt" cache_budget)" = $((8 << 20)) ] || fail "cache_size via mount.modelfs"
same_file "$orig/big.gguf" "$mnt/big.gguf"
umount "$mnt"
"$MOUNT_MODELFS" -f "$src" "$mnt" -o defaults || fail "mount.modelfs -f (fake)"
mountpoint -q "$mnt" && fail "fake mount mounted"
pass

# ---- mount -t modelfs and /etc/fstab, through the real mount(8) --------------------
# mount(8) finds helpers only in /sbin: in a private mount namespace, bind a
# directory holding mount.modelfs over it, and a test fstab over /etc/fstab.
mkdir -p "$WORK/ns/sbin"
cp "$MOUNT_MODELFS" "$WORK/ns/sbin/mount.modelfs"
printf '%s %s modelfs defaults,nofail,noauto,cache_size=8M 0 0\n' "$src" "$mnt" >"$WORK/ns/fstab"
unshare -m --propagation private sh -c '
	set -e
	mount --bind "$1/ns/sbin" "$(readlink -f /sbin)"
	mount --bind "$1/ns/fstab" /etc/fstab
	mount -t modelfs -o allow_other "$2" "$3"
	grep " $3 fuse.modelfs " /proc/mounts | grep -q allow_other
	cmp "$4" "$3/q4.gguf"
	umount "$3"
	mount "$3"
	cmp "$4" "$3/q4.gguf"
	umount "$3"' sh "$WORK" "$src" "$mnt" "$orig/q4.gguf" ||
	fail "mount -t modelfs or the fstab entry did not work"
mountpoint -q "$mnt" && fail "the namespace's mount leaked out"
pass

# ---- bad usage --------------------------------------------------------------------
expect_exit 1 "$MODELFS" mount "$WORK/nope" "$mnt"
expect_msg "$WORK/nope: No such file"
expect_exit 1 "$MODELFS" mount "$src" "$src/config.json"
expect_exit 1 "$MODELFS" mount "$src/config.json" "$mnt"
expect_msg "must be a .mfs container"
expect_exit 2 "$MODELFS" mount -o rw "$src" "$mnt"
expect_msg "read-only"
expect_exit 2 "$MODELFS" mount -o cache_size=lots "$src" "$mnt"
expect_exit 2 "$MODELFS" mount "$src"
mountpoint -q "$mnt" && fail "a failed mount left a mount behind"
pass

# ---- surprises are said ---------------------------------------------------------------
# A mount point that holds files: mounted, with a warning that they are hidden.
mkdir -p "$WORK/full"
touch "$WORK/full/mine"
mount_fg "$src" "$WORK/full"
grep -q "$WORK/full: not empty: its 1 entry is hidden while modelfs is mounted over it" "$DLOG" ||
	fail "no warning for a non-empty mount point: $(cat "$DLOG")"
[ ! -e "$WORK/full/mine" ] || fail "the mount did not cover the directory"
unmount "$WORK/full"
[ -e "$WORK/full/mine" ] || fail "the hidden file is gone after umount"
pass
# A user who may not open /dev/fuse (here: a 0600 copy of it bound over it in a
# mount namespace of this test's own) is told what to do, not just "Permission denied".
second_user
mknod "$WORK/fuse0600" c 10 229
chmod 600 "$WORK/fuse0600"
mkdir -p "$WORK/umnt"
chown "$OTHER" "$WORK/umnt"
chmod 755 "$src"
OUT=$(unshare -m sh -c "mount --bind '$WORK/fuse0600' /dev/fuse &&
	setpriv --reuid=$(id -u "$OTHER") --regid=$(id -g "$OTHER") --clear-groups -- \
	'$MODELFS' mount -f '$src' '$WORK/umnt'" 2>&1) && fail "mounted without /dev/fuse"
grep -q "/dev/fuse: Permission denied: this user cannot use FUSE" <<<"$OUT" ||
	fail "no hint for /dev/fuse: $OUT"
grep -q "Troubleshooting" <<<"$OUT" || fail "the hint does not point to Troubleshooting: $OUT"
pass

done_ok
