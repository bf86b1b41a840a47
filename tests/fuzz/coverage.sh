#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# What the fuzz corpora reach, in lines of source: builds the replay drivers
# with gcc --coverage (in build-fuzzcov/), replays the committed seeds, the
# crash regressions and the work corpora tests/fuzz/run.sh grew, and prints
# gcov's line coverage of every file that parses or decodes untrusted bytes.
# libFuzzer's "cov" counts edges of the whole binary; this says which parts
# of which parser were run.
#
#   tests/fuzz/coverage.sh [TARGET...]     default every target
#
# Environment: MFS_FUZZ_WORK, as for run.sh (default /var/tmp/modelfs-fuzz).
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
here=$root/tests/fuzz
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(gguf safetensors container block)
work=${MFS_FUZZ_WORK:-/var/tmp/modelfs-fuzz}
build=$root/build-fuzzcov

"$root/tools/install-deps.sh"
if [ ! -f "$build/build.ninja" ]; then
	meson setup "$build" "$root" -Db_coverage=true -Dbuildtype=debug >/dev/null
fi
ninja -C "$build" $(printf 'tests/fuzz/fuzz-replay-%s ' "${targets[@]}") >/dev/null
find "$build" -name '*.gcda' -delete

for t in "${targets[@]}"; do
	dirs=("$here/corpus/$t" "$here/crashes/$t" "$work/$t/corpus")
	[ "$t" = gguf ] && dirs+=("$root/../shared/fixtures/gguf")
	# A corpus being fuzzed loses files while it is read: not an error here.
	out=$("$build/tests/fuzz/fuzz-replay-$t" "${dirs[@]}" 2>/dev/null) || true
	grep -q 'no crash' <<<"$out" || {
		echo "coverage: fuzz-replay-$t did not finish: run it alone to see the input" >&2
		exit 1
	}
	echo "replayed $t: $(grep -o '[0-9]* inputs' <<<"$out")"
done

# One gcov run per object directory; keep the summary of the files that
# take bytes from disk.
files='gguf.c|safetensors.c|json.c|model.c|layout.c|plan.c|archive.c|disk.c|block.c|codec.c|planes.c|rans.c|xform.c'
printf '%-16s %8s %7s\n' file lines covered
for objdir in "$build"/index/libmfs_index_*.a.p "$build/codec/libmfs_codec.a.p"; do
	[ -d "$objdir" ] || continue
	(cd "$objdir" && gcov -n ./*.gcno 2>/dev/null) | awk -v files="$files" '
		/^File / { f = $2; gsub(/\x27/, "", f); n = split(f, p, "/"); f = p[n] }
		/^Lines executed:/ && f ~ "^(" files ")$" {
			split($2, a, ":"); pct = a[2]; sub(/%/, "", pct)
			printf "%-16s %8d %6.1f%%\n", f, $4, pct; f = "" }'
done
