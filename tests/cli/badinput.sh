#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Bad input at the command line: usage errors, malformed GGUF and safetensors
# files, truncated and bit-flipped containers. Each must give a one-line
# error naming the file, the documented exit status, no crash, and no output
# file, complete or partial.
. "$(dirname "$0")/lib.sh"

# ---- usage -------------------------------------------------------------------
expect_exit 2 "$MODELFS"
expect_exit 2 "$MODELFS" frobnicate
expect_exit 0 "$MODELFS" --help
expect_exit 0 "$MODELFS" --version
grep -q '^modelfs [0-9]' <<<"$OUT" || fail "version line: $OUT"
for cmd in pack unpack verify inspect; do
	expect_exit 0 "$MODELFS" "$cmd" --help
	grep -q "Usage: modelfs $cmd" <<<"$OUT" || fail "$cmd --help"
	expect_exit 0 "$MODELFS" "$cmd" --version
	grep -q "^modelfs [0-9]" <<<"$OUT" || fail "$cmd --version"
	expect_exit 2 "$MODELFS" "$cmd"
	expect_exit 2 "$MODELFS" "$cmd" --no-such-option x
done
expect_exit 2 "$MODELFS" pack --codec gzip x
expect_msg "unknown codec"
expect_exit 2 "$MODELFS" pack --chunk-size 1K x
expect_exit 2 "$MODELFS" pack --chunk-size 17M x
expect_exit 2 "$MODELFS" pack --chunk-size 12Q x
expect_exit 2 "$MODELFS" pack --level 20 --codec zstd x
expect_exit 2 "$MODELFS" pack --level 3 --codec store x
expect_exit 2 "$MODELFS" pack -j 0 x
expect_exit 1 "$MODELFS" pack "$WORK/does-not-exist.gguf"
expect_msg "$WORK/does-not-exist.gguf: No such file"

# ---- malformed model files -----------------------------------------------------
"$MODELFS_GEN" -q -t q8_0 -o "$WORK/good.gguf"
"$MODELFS_GEN" -q -f safetensors -t f16 -o "$WORK/good.safetensors"

bad_model() { # NAME EXPECTED-MESSAGE : pack must fail cleanly
	local f="$WORK/bad/$1"
	expect_exit 1 "$MODELFS" pack "$f"
	expect_msg "modelfs: $f: "
	expect_msg "$2"
	[ ! -e "$f.mfs" ] || fail "$f.mfs created for a bad input"
	pass
}
mkdir -p "$WORK/bad"
mk() { cp "$WORK/good.$2" "$WORK/bad/$1"; }

mk magic.gguf gguf && patch "$WORK/bad/magic.gguf" 0 47475558
bad_model magic.gguf "not a GGUF file"
mk v1.gguf gguf && patch "$WORK/bad/v1.gguf" 4 01000000
bad_model v1.gguf "GGUF v1"
mk v9.gguf gguf && patch "$WORK/bad/v9.gguf" 4 09000000
bad_model v9.gguf "newer than supported"
mk swapped.gguf gguf && patch "$WORK/bad/swapped.gguf" 4 00000003
bad_model swapped.gguf "byte order"
mk ntensors.gguf gguf && patch "$WORK/bad/ntensors.gguf" 8 ffffffffffff0000
bad_model ntensors.gguf "cannot fit"
head -c 2000 "$WORK/good.gguf" >"$WORK/bad/short.gguf"
bad_model short.gguf "array longer than the file"
head -c "$(($(stat -c %s "$WORK/good.gguf") - 100))" "$WORK/good.gguf" >"$WORK/bad/cut.gguf"
bad_model cut.gguf "not within the file bounds"
: >"$WORK/bad/empty.gguf"
bad_model empty.gguf "truncated magic"
mk hdrlen.safetensors safetensors && patch "$WORK/bad/hdrlen.safetensors" 0 01e1f50500000000
bad_model hdrlen.safetensors "exceeds 100 MB"
mk json.safetensors safetensors && patch "$WORK/bad/json.safetensors" 9 21
bad_model json.safetensors "header JSON"
head -c "$(($(stat -c %s "$WORK/good.safetensors") - 2))" "$WORK/good.safetensors" >"$WORK/bad/cut.safetensors"
bad_model cut.safetensors "data bytes"
cp "$WORK/good.safetensors" "$WORK/bad/long.safetensors" && echo x >>"$WORK/bad/long.safetensors"
bad_model long.safetensors "data bytes"
no_temp_files "$WORK/bad"

# A directory with one bad file still packs the others, and exits 1.
mkdir -p "$WORK/mixed"
cp "$WORK/good.gguf" "$WORK/mixed/ok.gguf"
cp "$WORK/bad/magic.gguf" "$WORK/mixed/broken.gguf"
expect_exit 1 "$MODELFS" pack -q "$WORK/mixed"
[ -f "$WORK/mixed/ok.gguf.mfs" ] && [ ! -e "$WORK/mixed/broken.gguf.mfs" ] || fail "mixed directory"
pass

# ---- damaged containers ------------------------------------------------------
"$MODELFS_GEN" -q -t bf16 -p small -o "$WORK/m.gguf"
"$MODELFS" pack -q "$WORK/m.gguf"
c="$WORK/m.gguf.mfs"
size=$(stat -c %s "$c")

damaged() { # FILE EXIT-FOR-VERIFY MESSAGE EXIT-FOR-INSPECT (it reads the index only)
	expect_exit "$2" "$MODELFS" verify "$1"
	expect_msg "modelfs: $1: "
	expect_msg "$3"
	mkdir -p "$WORK/unpacked"
	expect_exit 1 "$MODELFS" unpack -o "$WORK/unpacked" "$1"
	[ -z "$(ls -A "$WORK/unpacked")" ] || fail "unpack of $1 left $(ls -A "$WORK/unpacked")"
	pass
	expect_exit "$4" "$MODELFS" inspect "$1"
}

for n in 0 10 63 64 1000 $((size / 2)) $((size - 209)) $((size - 208)) $((size - 1)); do
	head -c "$n" "$c" >"$WORK/trunc.mfs"
	# Cut before the header magic's end (no footer either) it is no container at all
	# (2), else a damaged one (1).
	expect_exit $((n < 8 ? 2 : 1)) "$MODELFS" verify "$WORK/trunc.mfs"
	expect_msg "$WORK/trunc.mfs: "
	mkdir -p "$WORK/unpacked"
	expect_exit 1 "$MODELFS" unpack -o "$WORK/unpacked" "$WORK/trunc.mfs"
	[ -z "$(ls -A "$WORK/unpacked")" ] || fail "unpack of a truncated container wrote output"
	pass
done

# Chunk data: verify names the chunk and the tensor, and keeps going to report all.
first_data=$("$MODELFS" inspect --json --chunks "$c" | grep -o '"stored_at":[0-9]*' | sed -n 5p | cut -d: -f2)
cp "$c" "$WORK/flip.mfs"
flip "$WORK/flip.mfs" $((first_data + 20))
flip "$WORK/flip.mfs" $((size / 2))
damaged "$WORK/flip.mfs" 1 "chunk" 0
expect_exit 1 "$MODELFS" verify "$WORK/flip.mfs"
grep -q "tensor " <<<"$ERR" || fail "bad chunk report lacks the tensor: $ERR"
[ "$(grep -c ': chunk [0-9]*' <<<"$ERR")" -ge 2 ] || fail "verify stopped at the first bad chunk: $ERR"
pass

# Header, index and footer bytes.
for off in 0 20 56 $((size - 300)) $((size - 100)) $((size - 12)) $((size - 1)); do
	cp "$c" "$WORK/meta.mfs"
	flip "$WORK/meta.mfs" "$off"
	damaged "$WORK/meta.mfs" 1 "" 1
done

# A file that is no model, named on the command line: packed, and said so -
# and that its container is larger than it.
printf 'some notes\n' >"$WORK/notes.txt"
expect_exit 0 "$MODELFS" pack -q "$WORK/notes.txt"
expect_msg "modelfs: warning: $WORK/notes.txt: neither GGUF nor safetensors: packed as plain bytes"
expect_msg "modelfs: warning: $WORK/notes.txt.mfs: larger than the original"
[ -f "$WORK/notes.txt.mfs" ] || fail "no container for a file named on the command line"
pass

# Not a container at all; a newer format version; a missing file.
head -c 100000 /dev/urandom >"$WORK/random.mfs"
damaged "$WORK/random.mfs" 2 "not a modelfs container" 1 # not a container: 2, as unreadable
cp "$c" "$WORK/v2.mfs"
patch "$WORK/v2.mfs" 8 0200 # format version 2 at both ends: refused before any checksum
patch "$WORK/v2.mfs" $(($(stat -c %s "$c") - 208 + 184)) 0200
expect_exit 2 "$MODELFS" verify "$WORK/v2.mfs"
expect_msg "version 2.2 is not supported"
cp "$c" "$WORK/v2head.mfs" # only the header's: a damaged field, not a newer format
patch "$WORK/v2head.mfs" 8 0200
damaged "$WORK/v2head.mfs" 1 "header: damaged version field 2.2 (the intact footer says 1.2)" 1
expect_exit 2 "$MODELFS" verify "$WORK/nope.mfs"
expect_msg "$WORK/nope.mfs: No such file"

# ---- existing outputs ----------------------------------------------------------
mkdir -p "$WORK/exist"
cp "$WORK/good.gguf" "$WORK/exist/x.gguf"
"$MODELFS" pack -q "$WORK/exist/x.gguf"
mkdir -p "$WORK/exist/o" && echo keep >"$WORK/exist/o/x.gguf"
expect_exit 1 "$MODELFS" unpack -o "$WORK/exist/o" "$WORK/exist/x.gguf.mfs"
expect_msg "exists"
[ "$(cat "$WORK/exist/o/x.gguf")" = keep ] || fail "unpack overwrote without --force"
expect_exit 0 "$MODELFS" unpack -q -f -o "$WORK/exist/o" "$WORK/exist/x.gguf.mfs"
same_file "$WORK/exist/x.gguf" "$WORK/exist/o/x.gguf"
expect_exit 1 "$MODELFS" unpack "$WORK/exist/x.gguf"
expect_msg "does not end in .mfs"
expect_exit 1 "$MODELFS" pack "$WORK/exist/x.gguf.mfs"
expect_msg "already a container"
no_temp_files "$WORK/exist"
# -o DIR that does not exist yet is made, as pack -o makes it; a file is refused.
expect_exit 0 "$MODELFS" unpack -q -o "$WORK/exist/new/sub" "$WORK/exist/x.gguf.mfs"
same_file "$WORK/exist/x.gguf" "$WORK/exist/new/sub/x.gguf"
expect_exit 1 "$MODELFS" unpack -q -o "$WORK/exist/x.gguf" "$WORK/exist/x.gguf.mfs"
expect_msg "$WORK/exist/x.gguf: cannot use as output directory"

done_ok
