#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The edge benchmark: unmodified llama.cpp (llama-completion) on a device
# whose RAM is smaller than the model, reading from slow storage.
#
#   tests/bench/edge.sh [OPTION]... [WORKDIR]
#
#   --mem SIZE      memory cap for llama.cpp and the filesystem daemon together
#                   (default 160M; one memory cgroup, both charged)
#   --bw BYTES      read bandwidth of the disk holding WORKDIR, bytes/s
#                   (default 50000000; blkio throttle, or io.max on cgroup v2)
#   --tokens N      tokens generated and timed (default 16)
#   --types LIST    models, of "bf16 f16 q8_0 q4_0 q4_k_m q6_k moe" (default
#                   "bf16 q8_0"); the K-quants are made from the BF16 one by
#                   llama.cpp's own llama-quantize; moe is a Q8_0 mixture of
#                   experts (8 a layer, 2 used, with a router)
#   --runs LIST     of "raw squashfuse auto off sequential plan" (default:
#                   raw squashfuse auto plan); auto is modelfs with no
#                   options at all (what a user gets), off/sequential/plan
#                   are modelfs with that -o prefetch= and --cache/--pin
#   --ctx N         llama.cpp context (default: none given, llama.cpp's own
#                   default, as a user runs it)
#   --cache SIZE    modelfs cache_size for off/sequential/plan (default 8M)
#   --pin SIZE      modelfs pin_size for off/sequential/plan (default 0)
#   --backing B     modelfs backing= (default: the daemon's default)
#   --rounds N      repeat the whole set N times, report medians (default 1)
#   --preset NAME   modelfs-gen's preset for the models (default bench; tiny,
#                   small and medium make quick runs, as tests/vm/run.sh --edge)
#   --report        run nothing: the table again from WORKDIR's last results
#
# Besides the table, each summary row is appended to WORKDIR/edge.csv
# (mem,bw,ctx,tokens,type,run,load_s,s_per_token,x_raw,x_squashfuse,disk_mb,
# peak_mb,daemon_mb,same,killed,limit_s,x_limit,llama_anon_mb,w_mb,
# gov_others_mb,cg_others_mb), so runs at several --mem values build one
# file; tests/bench/plot.sh draws s/token against the memory cap from it.
# Each cell's physical limit is computed (below, before the table) from what
# a probe run and each run measure.
#
# Models: modelfs-gen's bench preset (134M parameters; BF16 269 MB, Q8_0
# 143 MB, Q4_K_M 86 MB) with tensors in name order, as convert_hf_to_gguf
# writes them.
# squashfuse reads a SquashFS image (zstd, 1 MiB blocks) of the same file;
# its daemon is in the same cgroups. Kernel SquashFS is not in the table:
# its reads come from the loop device's kernel thread, which no cgroup limit
# of ours throttles.
#
# Each run: drop caches, run llama-completion (-t 2, greedy, fixed prompt)
# inside the cgroups, read its own timings (load; eval = seconds per
# generated token), the bytes the cgroup read from the disk (its own I/O
# counters: other jobs on the machine read the same disk), the cgroup's peak
# memory, the daemon's peak RSS (VmHWM) and the cgroup's OOM kills; every
# 0.5 s, llama.cpp's anonymous memory and own file pages, the daemon's, and
# what the governor believes (modelfs stats) beside what the cgroup charges. A run whose llama.cpp or daemon was killed is reported as such (and
# the set goes on). Every run must produce the same tokens as the raw file.
# Not a test: it prints numbers.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
mem=160M bw=50000000 tokens=16 types="bf16 q8_0" runs="raw squashfuse auto plan"
cache=8M pin=0 backing= rounds=1 ctx= report=0 preset=bench
while [ $# -gt 0 ]; do
	case $1 in
	--mem) mem=$2; shift 2 ;;
	--bw) bw=$2; shift 2 ;;
	--tokens) tokens=$2; shift 2 ;;
	--types) types=$2; shift 2 ;;
	--runs) runs=$2; shift 2 ;;
	--cache) cache=$2; shift 2 ;;
	--ctx) ctx=$2; shift 2 ;;
	--pin) pin=$2; shift 2 ;;
	--backing) backing=$2; shift 2 ;;
	--rounds) rounds=$2; shift 2 ;;
	--preset) preset=$2; shift 2 ;;
	--report) report=1; shift ;;
	-h | --help) sed -n '3,42p' "$0"; exit 0 ;;
	-*) echo "edge.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
	*) break ;;
	esac
done
work=${1:-/var/tmp/modelfs-bench-edge}
mkdir -p "$work"
work=$(cd "$work" && pwd)
[ "$(id -u)" = 0 ] || { echo "edge.sh: needs root (cgroups, drop_caches, mounts)" >&2; exit 1; }

. "$root/tests/bench/lib.sh"
bench_setup squashfuse squashfs-tools
# LLAMA_TOOLS_DIR: llama-completion and llama-quantize built elsewhere (the VM)
llama=${LLAMA_TOOLS_DIR:-$("$root/tests/bench/llama-tools.sh")}/llama-completion

bytes() { numfmt --from=iec "$1"; }
mem_b=$(bytes "$mem")

# --- the disk under WORKDIR, and cgroups around everything that reads it ---
src=$(findmnt -no SOURCE -T "$work")
disk=$(lsblk -no PKNAME "$src" 2>/dev/null | head -1)
[ -n "$disk" ] || disk=$(basename "$src")
majmin=$(lsblk -dno MAJ:MIN "/dev/$disk" | tr -d ' ')
cg=modelfs-edge-$$
if [ -d /sys/fs/cgroup/memory ] && [ -d /sys/fs/cgroup/blkio ]; then
	cgv=1
	cgm=/sys/fs/cgroup/memory/$cg
	cgb=/sys/fs/cgroup/blkio/$cg
	mkdir -p "$cgm" "$cgb"
	echo "$mem_b" >"$cgm/memory.limit_in_bytes"
	echo "$majmin $bw" >"$cgb/blkio.throttle.read_bps_device"
	procs=("$cgm/cgroup.procs" "$cgb/cgroup.procs")
else
	cgv=2
	cgm=/sys/fs/cgroup/$cg
	cgb=$cgm
	echo "+memory +io" >/sys/fs/cgroup/cgroup.subtree_control 2>/dev/null || true
	mkdir -p "$cgm"
	echo "$mem_b" >"$cgm/memory.max"
	echo "$majmin rbps=$bw" >"$cgm/io.max"
	procs=("$cgm/cgroup.procs")
fi
MOUNTS=()
cleanup() {
	for m in "${MOUNTS[@]}"; do
		mountpoint -q "$m" 2>/dev/null && { umount "$m" 2>/dev/null || umount -l "$m"; }
	done
	sleep 0.5
	rmdir "$cgm" 2>/dev/null || true
	[ "$cgb" = "$cgm" ] || rmdir "$cgb" 2>/dev/null || true
}
trap cleanup EXIT

# in_cg CMD...: become CMD inside the cgroups (call it in a subshell or with &:
# it execs, so $! is CMD's pid)
in_cg() {
	exec sh -c 'for f; do [ "$f" = -- ] && break; echo $$ >"$f"; done
	       while [ "$1" != -- ]; do shift; done; shift; exec "$@"' \
		sh "${procs[@]}" -- "$@"
}
peak_reset() {
	if [ $cgv = 1 ]; then echo 0 >"$cgm/memory.max_usage_in_bytes"; fi
}
peak_read() {
	if [ $cgv = 1 ]; then cat "$cgm/memory.max_usage_in_bytes"
	elif [ -f "$cgm/memory.peak" ]; then cat "$cgm/memory.peak"
	else echo 0; fi
}
# Bytes read from the disk by the cgroup's own processes (its I/O counters,
# not the device's: other jobs on the machine read the same disk).
disk_read() {
	if [ $cgv = 1 ]; then
		awk -v d="$majmin" '$1 == d && $2 == "Read" { n = $3 } END { printf "%.0f\n", n }' \
			"$cgb/blkio.throttle.io_service_bytes"
	else
		awk -v d="$majmin" '$1 == d { for (i = 2; i <= NF; i++) if ($i ~ /^rbytes=/) n = substr($i, 8) }
			END { printf "%.0f\n", n }' "$cgb/io.stat"
	fi
}
oom_kills() {
	if [ $cgv = 1 ]; then awk '/^oom_kill /{print $2}' "$cgm/memory.oom_control"
	else awk '/^oom_kill /{print $2}' "$cgm/memory.events"; fi
}

# --- models ---
mkdir -p "$work/raw" "$work/mfs" "$work/mnt"
for t in $types; do
	if [ ! -f "$work/raw/$t.gguf" ]; then
		case $t in
		q4_k_m | q6_k | q4_k_s | q5_k_m)
			# K-quants as users get them: llama-quantize of the BF16 model
			if [ ! -f "$work/raw/bf16.gguf" ]; then
				echo "generating bf16 ..." >&2
				"$gen" -q -p "$preset" -t bf16 --order sorted -o "$work/raw/bf16.gguf"
			fi
			echo "llama-quantize $t ..." >&2
			"$(dirname "$llama")/llama-quantize" "$work/raw/bf16.gguf" "$work/raw/$t.tmp" \
				"${t^^}" 1 >"$work/quantize.log" 2>&1 ||
				{ echo "edge.sh: llama-quantize $t failed, see $work/quantize.log" >&2; exit 1; }
			mv "$work/raw/$t.tmp" "$work/raw/$t.gguf" ;;
		moe)
			# a mixture of experts: 8 experts a layer (ff 512 each), 2 used
			echo "generating $t ..." >&2
			"$gen" -q -p "$preset" -t q8_0 --experts 8 --ff 512 --order sorted \
				-o "$work/raw/$t.gguf" ;;
		*)
			echo "generating $t ..." >&2
			"$gen" -q -p "$preset" -t "$t" --order sorted -o "$work/raw/$t.gguf" ;;
		esac
	fi
	if [ ! -f "$work/mfs/$t.gguf.mfs" ] || [ "$modelfs" -nt "$work/mfs/$t.gguf.mfs" ]; then
		echo "packing $t ..." >&2
		"$modelfs" pack -q -f -o "$work/mfs" "$work/raw/$t.gguf"
	fi
	if [[ " $runs " == *" squashfuse "* ]] && [ ! -f "$work/$t.sqfs" ]; then
		echo "mksquashfs $t ..." >&2
		mksquashfs "$work/raw/$t.gguf" "$work/$t.sqfs" -comp zstd -b 1M -noappend -quiet \
			-no-progress >/dev/null
	fi
done

prompt="Once upon a time"

# sample LLAMA_PID DAEMON_PID MNT: while llama.cpp runs, every 0.5 s, what the
# cell's limit is computed from and what the governor believes beside what the
# cgroup reports. Prints the peak of llama.cpp's anonymous memory and the last
# sample of the rest taken during generation, as "key=value" words (bytes).
sample() (
	# a sample that fails (a process gone, the mount busy) is only missing
	set +e +o pipefail
	local lp=$1 dp=$2 mnt=$3 anon=0 a f m st use rss cache dr
	local last=""
	while kill -0 "$lp" 2>/dev/null; do
		a=$(awk '/^RssAnon/ { print $2 * 1024 }' "/proc/$lp/status" 2>/dev/null)
		a=${a:-0}
		[ "$a" -gt "$anon" ] && anon=$a
		# llama.cpp's own file pages (binary, libraries) beside the model's
		f=$(awk -v m="$(basename "$model")" '/^[0-9a-f]+-[0-9a-f]+ / {
				kind = $6 == "" ? 0 : index($6, m) ? 2 : substr($6, 1, 1) == "/" ? 1 : 0 }
			/^Rss:/ { if (kind == 2) mod += $2; else if (kind == 1) file += $2 }
			END { printf "%d %d", file * 1024, mod * 1024 }' "/proc/$lp/smaps" 2>/dev/null ||
			echo "0 0")
		m=${f#* }
		f=${f% *}
		if [ $cgv = 1 ]; then
			use=$(cat "$cgm/memory.usage_in_bytes")
			rss=$(awk '/^total_rss /{print $2}' "$cgm/memory.stat")
			cache=$(awk '/^total_cache /{print $2}' "$cgm/memory.stat")
		else
			use=$(cat "$cgm/memory.current")
			rss=$(awk '/^anon /{print $2}' "$cgm/memory.stat")
			cache=$(awk '/^file /{print $2}' "$cgm/memory.stat")
		fi
		dr=0
		[ "$dp" = 0 ] || dr=$(awk '/^RssAnon/ { print $2 * 1024 }' "/proc/$dp/status" 2>/dev/null || echo 0)
		st=
		if [ "$dp" != 0 ] && [ "$label" != squashfuse ]; then
			st=$(getfattr --only-values -n user.modelfs.stats "$mnt" 2>/dev/null |
				grep -o '"memory_others":[0-9]*\|"keep_budget":[0-9]*\|"kept_bytes":[0-9]*\|"pin_budget":[0-9]*\|"pinned_bytes":[0-9]*\|"cache_bytes":[0-9]*' |
				tr -d '"' | tr ':' '=' | tr '\n' ' ')
		fi
		# loaded: llama.cpp has allocated its buffers (a run shorter than a
		# sample has no such line, and the table says "-")
		[ "$a" -gt $((16 << 20)) ] && last="llama_file=$f llama_model_rss=$m cg_usage=$use cg_anon=$rss cg_file=$cache daemon_anon=$dr $st"
		sleep 0.5
	done
	echo "llama_anon=$anon $last"
)
# run LABEL TYPE: one llama-completion run; appends a result line to $work/results
run() {
	local label=$1 t=$2 model dpid= mnt=$work/mnt/$1 rss=0 stats= opts
	mkdir -p "$mnt"
	case $label in
	raw) model=$work/raw/$t.gguf ;;
	squashfuse)
		in_cg squashfuse -f "$work/$t.sqfs" "$mnt" &
		dpid=$!
		model=$mnt/$t.gguf ;;
	auto)
		in_cg "$modelfs" mount -f "$work/mfs" "$mnt" 2>"$work/daemon.log" &
		dpid=$!
		model=$mnt/$t.gguf ;;
	*)
		opts=cache_size=$cache,pin_size=$pin,prefetch=$label${backing:+,backing=$backing}
		in_cg "$modelfs" mount -f -o "$opts" "$work/mfs" "$mnt" 2>"$work/daemon.log" &
		dpid=$!
		model=$mnt/$t.gguf ;;
	esac
	if [ -n "$dpid" ]; then
		MOUNTS+=("$mnt")
		for _ in $(seq 100); do mountpoint -q "$mnt" && break; sleep 0.1; done
		mountpoint -q "$mnt" || { echo "edge.sh: $label did not mount" >&2; exit 1; }
	fi
	sync
	echo 3 >/proc/sys/vm/drop_caches
	peak_reset
	local d0 t0 t1 d1 oom0 killed=
	d0=$(disk_read)
	oom0=$(oom_kills)
	t0=$(date +%s.%N)
	in_cg "$llama" -m "$model" -p "$prompt" -n $((tokens + 1)) -t 2 --temp 0 -s 1 ${ctx:+-c $ctx} \
		-no-cnv --no-warmup --simple-io --no-display-prompt >"$work/out.$label.$t" \
		2>"$work/err.$label.$t" &
	local lpid=$!
	sample "$lpid" "${dpid:-0}" "$mnt" >"$work/sample.$label.$t"
	wait "$lpid" || killed=llama
	t1=$(date +%s.%N)
	[ -z "$dpid" ] || kill -0 "$dpid" 2>/dev/null || killed="${killed:+$killed+}daemon"
	local ooms=$(($(oom_kills) - oom0))
	if [ -n "$killed" ]; then
		echo "  $t $label: $killed died ($ooms OOM kills): $(tail -2 "$work/err.$label.$t" | tr '\n' ' ')" >&2
		echo "$t $label 0 0 1 0 0 0 KILLED 0 oom=$ooms" >>"$work/results"
		[ -z "$dpid" ] || { umount -l "$mnt" 2>/dev/null; kill -9 "$dpid" 2>/dev/null; wait "$dpid" 2>/dev/null; }
		return 0
	fi
	d1=$(disk_read)
	local peak
	peak=$(peak_read)
	if [ -n "$dpid" ]; then
		rss=$(awk '/^VmHWM/ { print $2 * 1024 }' "/proc/$dpid/status" 2>/dev/null || echo 0)
		[ "$label" = raw ] || [ "$label" = squashfuse ] ||
			stats=$("$modelfs" stats --json "$mnt" 2>/dev/null || true)
		umount "$mnt"
		wait "$dpid" 2>/dev/null || true
	fi
	local load evalms runs_n
	load=$(sed -n 's/.*load time = *\([0-9.]*\) ms.*/\1/p' "$work/err.$label.$t" | head -1)
	evalms=$(sed -n 's/.* eval time = *\([0-9.]*\) ms \/ *\([0-9]*\) runs.*/\1 \2/p' \
		"$work/err.$label.$t" | grep -v prompt | tail -1)
	runs_n=${evalms#* }
	evalms=${evalms% *}
	local pf=
	if [ -n "$stats" ]; then
		pf=$(grep -o '"prefetch_[a-z]*":[0-9]*\|"cache_misses":[0-9]*\|"chunks_decompressed":[0-9]*\|"backing_bytes_read":[0-9]*\|"cache_waits":[0-9]*\|"pinned_[a-z]*":[0-9]*\|"pin_reclaimed":[0-9]*\|"drop[a-z_]*":[0-9]*\|"pressure_events":[0-9]*\|"reread_bytes":[0-9]*\|"kept_bytes":[0-9]*\|"keep_budget":[0-9]*\|"refault_bytes":[0-9]*\|"memory_[a-z]*":[0-9]*' \
			<<<"$stats" | tr -d '"' | tr '\n' ' ')
	fi
	local same=yes
	cmp -s "$work/out.$label.$t" "$work/out.raw.$t" || same=NO
	pf="oom=$ooms $pf"
	pf="$pf $(cat "$work/sample.$label.$t")"
	echo "$t $label $load $evalms $runs_n $((d1 - d0)) $peak $rss $same $(awk -v a="$t0" -v b="$t1" 'BEGIN{print b-a}') $pf" \
		>>"$work/results"
	printf '  %-5s %-11s load %6.1f s  %6.3f s/token  disk %5.0f MB  peak %4.0f MB  daemon %4.0f MB  same=%s %s\n' \
		"$t" "$label" "$(awk -v v="$load" 'BEGIN{print v/1000}')" \
		"$(awk -v v="$evalms" -v n="$runs_n" 'BEGIN{print v/n/1000}')" \
		"$(awk -v v=$((d1 - d0)) 'BEGIN{print v/1e6}')" "$(awk -v v="$peak" 'BEGIN{print v/1e6}')" \
		"$(awk -v v="$rss" 'BEGIN{print v/1e6}')" "$same" "$pf" >&2
}

# probe TYPE: llama.cpp once with no memory cap and the model in the page
# cache, verbose: the seconds per token when nothing is read, and which
# tensors it repacks into its own memory (those it never maps again). With
# the container's tensor table: W, the original bytes each token touches in
# the mapping (every tensor not repacked, less the token embeddings, read a
# row at a time; of a mixture of experts' expert tensors, the share a token
# uses), and Ws, their stored bytes. One line to $work/limits:
# "type t_fit W Ws". (llama.cpp's own memory is sampled in each run.)
probe() {
	local t=$1
	cat "$work/raw/$t.gguf" >/dev/null
	"$llama" -m "$work/raw/$t.gguf" -p "$prompt" -n $((tokens + 1)) -t 2 --temp 0 -s 1 \
		${ctx:+-c $ctx} -no-cnv --no-warmup --simple-io --no-display-prompt -v \
		>/dev/null 2>"$work/probe.$t" ||
		{ echo "edge.sh: probe of $t failed, see $work/probe.$t" >&2; exit 1; }
	"$modelfs" inspect --json "$work/mfs/$t.gguf.mfs" >"$work/inspect.$t.json"
	command -v python3 >/dev/null || {
		echo "edge.sh: no python3: $t's limit not computed" >&2
		return 0
	}
	python3 - "$t" "$work/probe.$t" "$work/inspect.$t.json" >>"$work/limits" <<'PY'
import json, re, sys
t, log, insp = sys.argv[1:4]
text = open(log, errors="replace").read()
repacked = set(re.findall(r"repack tensor (\S+) with", text))
ms, runs = re.findall(r" eval time = +([0-9.]+) ms / +([0-9]+) runs", text)[-1]
tens = [x for x in json.load(open(insp))["tensors"]
        if x["name"] not in repacked and not x["name"].startswith("token_embd")]
# a mixture of experts touches n_expert_used of n_expert experts a token
ne = re.findall(r"n_expert += (\d+)", text)
nu = re.findall(r"n_expert_used += (\d+)", text)
share = int(nu[0]) / int(ne[0]) if ne and nu and int(ne[0]) else 1
part = lambda x: share if "_exps" in x["name"] else 1
print(t, float(ms) / int(runs) / 1000, int(sum(x["size"] * part(x) for x in tens)),
      int(sum(x["stored"] * part(x) for x in tens)))
PY
}

echo "machine: $(nproc) CPUs, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1), kernel $(uname -r)"
echo "limits: memory $mem (cgroup v$cgv, llama.cpp and daemon together), reads $(awk -v b="$bw" 'BEGIN{print b/1e6}') MB/s on /dev/$disk ($majmin)"
echo "llama-completion -t 2 --temp 0 ${ctx:+-c $ctx }(context: ${ctx:-the llama.cpp default}), prompt '$prompt', $tokens generated tokens timed; auto: modelfs defaults; off/sequential/plan: cache_size=$cache pin_size=$pin${backing:+ backing=$backing}"
[ "$report" = 1 ] || {
: >"$work/results"
: >"$work/limits"
for t in $types; do probe "$t"; done
for r in $(seq "$rounds"); do
	for t in $types; do
		echo "round $r, $t:" >&2
		# raw first: every other run must produce its tokens
		if [[ " $runs " == *" raw "* ]] || [ ! -s "$work/out.raw.$t" ]; then
			run raw "$t"
		fi
		for l in $runs; do
			[ "$l" = raw ] || run "$l" "$t"
		done
	done
done
}

# Medians per (type, run); ratios against raw and squashfuse of the same type,
# and against the cell's physical limit:
#   room  = cap - llama.cpp's anonymous memory - its own file pages
#           (binary, libraries) - the daemon's anonymous memory less its
#           pins (0 for raw; sampled during generation)
#   limit = t_fit + max(0, B - room) / bw
# where t_fit is llama.cpp's s/token with the whole model in memory and B
# the bytes each token touches in the mapping (W, every tensor it does not
# repack, less the token embeddings) as they lie on the disk: W for raw
# (pages), Ws, their stored bytes, for modelfs (the densest resident set:
# stored bytes pinned, the rest read and decoded). It is a bound: the page
# cache the reader works from and the kernel's own memory are not in it.
# *gov others* is what the governor believed llama.cpp and the rest hold
# (memory_others, last sample during generation), beside what the cgroup
# charged as anonymous memory less the daemon's own (*cg others*).
echo
printf '%-6s %-10s %7s %8s %6s %6s %8s %6s %7s %7s %7s %7s %7s %5s\n' type run "load s" "s/token" \
	"x raw" "x sqf" "limit" "x lim" "disk MB" "peak MB" "dmn MB" "gov oth" "cg oth" same
csv=$work/edge.csv
[ "$report" = 0 ] || csv=/dev/null
[ -s "$csv" ] || echo "mem,bw,ctx,tokens,type,run,load_s,s_per_token,x_raw,x_squashfuse,disk_mb,peak_mb,daemon_mb,same,killed,limit_s,x_limit,llama_anon_mb,w_mb,gov_others_mb,cg_others_mb" >"$csv"
awk -v csv="$csv" -v pre="$mem,$bw,${ctx:-default},$tokens" -v cap="$mem_b" -v bw="$bw" '
function median(list,   n, a, i, j, t) {
	n = split(list, a, " ")
	for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
function val(key,   i) {
	for (i = 11; i <= NF; i++) if (index($i, key "=") == 1) return substr($i, length(key) + 2)
	return ""
}
FILENAME == ARGV[1] { tfit[$1] = $2; W[$1] = $3; Ws[$1] = $4; next } # (FNR == NR is wrong when limits is empty)
{
	k = $1 " " $2
	if (!(k in seen)) { seen[k] = 1; order[++n] = k }
	if ($9 == "KILLED") { killed[k]++; next }
	load[k] = load[k] " " $3 / 1000
	spt[k] = spt[k] " " $4 / $5 / 1000
	disk[k] = disk[k] " " $6 / 1e6
	peak[k] = peak[k] " " $7 / 1e6
	rss[k] = rss[k] " " $8 / 1e6
	# llama.cpp is the same program on the same model in every run of a type
	if ((a = val("llama_anon")) + 0 > anonT[$1]) anonT[$1] = a + 0
	if ((f = val("llama_file")) != "") fileT[$1] = fileT[$1] " " f
	if ((a = val("daemon_anon")) != "") base[k] = base[k] " " (a - val("pinned_bytes"))
	if ((g = val("memory_others")) != "") gov[k] = gov[k] " " g / 1e6
	if ((c = val("cg_anon")) != "") cgo[k] = cgo[k] " " (c - val("daemon_anon")) / 1e6
	if ($9 != "yes") same[k] = "NO"; else if (!(k in same)) same[k] = "yes"
}
END {
	for (i = 1; i <= n; i++) {
		k = order[i]; split(k, p, " ")
		if (!(k in spt)) {
			printf "%-6s %-10s   killed in %d run(s)\n", p[1], p[2], killed[k]
			printf "%s,%s,%s,,,,,,,,,,%d,,,,,,\n", pre, p[1], p[2], killed[k] >>csv
			continue
		}
		s = median(spt[k]); r = ((p[1] " raw") in seen) ? median(spt[p[1] " raw"]) : 0
		q = ((p[1] " squashfuse") in seen) ? median(spt[p[1] " squashfuse"]) : 0
		t = p[1]; lim = 0
		if (t in W) {
			d = (p[2] == "raw" || !(k in base)) ? 0 : median(base[k])
			B = (p[2] == "raw" || p[2] == "squashfuse") ? W[t] : Ws[t]
			room = cap - anonT[t] - median(fileT[t]) - d
			lim = tfit[t] + (B > room ? (B - room) / bw : 0)
		}
		go = (k in gov) ? median(gov[k]) : -1; co = (k in cgo) ? median(cgo[k]) : -1
		printf "%-6s %-10s %7.1f %8.3f %6s %6s %8s %6s %7.0f %7.0f %7.0f %7s %7s %5s\n", p[1], p[2],
			median(load[k]), s, r ? sprintf("%.2f", s / r) : "-", q ? sprintf("%.2f", s / q) : "-",
			lim ? sprintf("%.3f", lim) : "-", lim ? sprintf("%.2f", s / lim) : "-",
			median(disk[k]), median(peak[k]), median(rss[k]),
			(go >= 0) ? sprintf("%.0f", go) : "-", (co >= 0) ? sprintf("%.0f", co) : "-", same[k]
		printf "%s,%s,%s,%.2f,%.4f,%s,%s,%.0f,%.0f,%.0f,%s,%d,%s,%s,%.0f,%.0f,%s,%s\n", pre, p[1], p[2],
			median(load[k]), s, r ? sprintf("%.3f", s / r) : "", q ? sprintf("%.3f", s / q) : "",
			median(disk[k]), median(peak[k]), median(rss[k]), same[k], killed[k],
			lim ? sprintf("%.4f", lim) : "", lim ? sprintf("%.3f", s / lim) : "",
			anonT[t] / 1e6, W[t] / 1e6, (go >= 0) ? sprintf("%.0f", go) : "",
			(co >= 0) ? sprintf("%.0f", co) : "" >>csv
	}
}' "$work/limits" "$work/results"
if [ -s "$work/limits" ]; then
	echo
	echo "per type (no cap, model in memory): s/token, W MB touched per token, Ws MB stored:"
	awk '{ printf "  %-6s %7.4f %6.1f %6.1f\n", $1, $2, $3 / 1e6, $4 / 1e6 }' "$work/limits"
fi
echo
echo "per-run lines (type run load_ms eval_ms runs disk_bytes peak_bytes daemon_rss same wall_s counters): $work/results"
[ "$report" = 1 ] || echo "summary rows appended to $csv (tests/bench/plot.sh draws them)"
