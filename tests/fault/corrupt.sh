#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Corruption sweep: packed BF16 and Q8_0 GGUF models and an F16 safetensors
# model, each damaged at 170 positions spread over every part of the
# container - header, chunk data, tensor table, strings, plan, chunk index,
# footer - one damaged byte per copy (510 copies). For each copy,
# `modelfs verify` must report it (exit 1, one line naming the file) or the
# byte was provably irrelevant: verify passes and unpack reproduces the
# original exactly. Then all copies are mounted at once, and every read of
# every copy (a sequential pass and random reads) must return the original's
# bytes or fail with EIO: a single wrong byte served fails the test.
. "$(dirname "$0")/../fuse/lib.sh"

py=/usr/bin/python3
[ -x "$py" ] || py=python3
per_model=${MFS_SWEEP_PER_MODEL:-170}

mkdir -p "$WORK/orig" "$WORK/packed" "$WORK/src"
dims=(--layers 2 --embd 64 --ff 128 --heads 2 --kv-heads 1 --vocab-size 64)
"$MODELFS_GEN" -q "${dims[@]}" -t bf16 -o "$WORK/orig/bf16.gguf"
"$MODELFS_GEN" -q "${dims[@]}" -t q8_0 -o "$WORK/orig/q8.gguf"
"$MODELFS_GEN" -q "${dims[@]}" -f safetensors -t f16 -o "$WORK/orig/f16.safetensors"
"$MODELFS" pack -q --chunk-size 4K -o "$WORK/packed" "$WORK"/orig/*

# Damage copies: positions drawn per region (the footer says where the
# sections are; FORMAT.md), one XOR with a random non-zero byte each.
"$py" - "$WORK/packed" "$WORK/src" "$per_model" <<'PY'
import os, random, struct, sys
packed, out, per = sys.argv[1], sys.argv[2], int(sys.argv[3])
rng = random.Random(20261123)
for name in sorted(os.listdir(packed)):
    data = open(os.path.join(packed, name), 'rb').read()
    size = len(data)
    foot = size - 208
    secs = []
    for s, sname in enumerate(['tensors', 'strings', 'plan', 'index']):
        off, length = struct.unpack_from('<QQ', data, foot + 56 + 32 * s)
        if length:
            secs.append((sname, off, off + length))
    data_end = struct.unpack_from('<Q', data, foot + 32)[0]
    regions = [('header', 0, 64), ('footer', foot, size)] + secs
    picks = []
    for rname, lo, hi in regions:
        k = min(hi - lo, 16 if rname in ('header', 'footer') else 12)
        picks += [(rname, p) for p in rng.sample(range(lo, hi), k)]
    rest = per - len(picks)
    picks += [('data', p) for p in rng.sample(range(64, data_end), rest)]
    stem = name[:-len('.mfs')]
    base, ext = os.path.splitext(stem)
    for rname, p in picks:
        b = bytearray(data)
        b[p] ^= rng.randrange(1, 256)
        with open(os.path.join(out, f'{base}-{rname}-{p}{ext}.mfs'), 'wb') as f:
            f.write(b)
PY
total=$(ls "$WORK/src" | wc -l)
[ "$total" -ge $((3 * per_model)) ] || fail "made only $total damaged copies"

# verify: reported, or irrelevant as unpack proves
reported=0 irrelevant=0
mkdir "$WORK/un"
for f in "$WORK"/src/*.mfs; do
	b=$(basename "$f")
	case $b in
	bf16-*) orig=$WORK/orig/bf16.gguf ;;
	q8-*) orig=$WORK/orig/q8.gguf ;;
	*) orig=$WORK/orig/f16.safetensors ;;
	esac
	rc=0
	"$MODELFS" verify -q "$f" 2>"$LOG/err" || rc=$?
	case $rc in
	1)
		[ -s "$LOG/err" ] || fail "verify $b: exit 1 without a message"
		grep -vq "^modelfs: $f: " "$LOG/err" &&
			fail "verify $b: a message does not name the file: $(cat "$LOG/err")"
		reported=$((reported + 1))
		;;
	0)
		"$MODELFS" unpack -q -o "$WORK/un" "$f" || fail "verify passed $b but unpack failed"
		cmp -s "$WORK/un/$(basename "${b%.mfs}")" "$orig" ||
			fail "verify passed $b, whose unpacked bytes differ from the original"
		rm -f "$WORK"/un/*
		irrelevant=$((irrelevant + 1))
		;;
	*) fail "verify $b exited $rc: $(cat "$LOG/err")" ;;
	esac
done
[ $((reported + irrelevant)) = "$total" ] || fail "counted $reported + $irrelevant of $total"
pass

# through a mount: the original's bytes or EIO, never anything else
mnt=$WORK/mnt
mount_fg "$WORK/src" "$mnt" -o cache_size=8M
summary=()
for m in bf16.gguf q8.gguf f16.safetensors; do
	base=${m%.*} ext=${m##*.}
	out=$("$MFS_READCHECK" tolerant "$WORK/orig/$m" 40 "$mnt/$base"-*."$ext") ||
		fail "wrong bytes through the mount: $out"
	summary+=("$m: ${out#tolerant: }")
	pass
done
kill -0 "$DPID" || fail "the daemon died"
unmount "$mnt"
echo "corruption sweep: $total damaged copies: $reported reported by verify, $irrelevant provably irrelevant (verify passes, unpack identical)"
printf '  mount, %s\n' "${summary[@]}"
done_ok
