#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Benchmark: a model over a slow link. nginx runs in a network namespace
# behind a veth pair, the rate shaped by tc tbf on both ends (default 100
# Mbit/s), the round trip by delayproxy.py in front of nginx (default 20 ms:
# half each way; this kernel has no netem); on this side, unmodified llama.cpp (llama-completion, the
# default context, -t 2, greedy) runs the BF16 bench model (269 MB) four ways,
# caches dropped before each:
#   download-run   curl the raw .gguf, then run it
#   download-mount curl the container, mount it locally, run
#   remote-cold    modelfs mount http://... with an empty chunk store, run
#   fetch          modelfs fetch of the source into an empty store (time and
#                  bytes only, against the container's download)
#   remote-warm    the same with the store filled by that run and the server
#                  gone, against the local mount of download-mount
# Times to the first generated token (process start to exit of a run that
# generates one token, downloads and mounts included) and bytes received on
# the link (the veth's counter); then s/token over TOKENS tokens, warm store
# against local mount. Not a test: it asserts nothing.
#
#   tests/bench/remote.sh [--rate RATE] [--rtt MS] [--tokens N] [--opts OPTS] [WORKDIR]
# --opts adds mount options to the remote mounts (tuned runs, e.g. workers=16).
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
rate=100mbit
rtt=20
tokens=8
opts=
while [ $# -gt 0 ]; do
	case $1 in
	--rate) rate=$2; shift 2 ;;
	--rtt) rtt=$2; shift 2 ;;
	--tokens) tokens=$2; shift 2 ;;
	--opts) opts=,$2; shift 2 ;;
	-h | --help) sed -n '3,23p' "$0"; exit 0 ;;
	*) break ;;
	esac
done
[ "$(id -u)" = 0 ] || { echo "remote.sh: needs root (network namespaces, mounts)" >&2; exit 1; }
work=${1:-$(mktemp -d "${TMPDIR:-/tmp}/modelfs-bench.XXXXXX")}
mkdir -p "$work"

. "$root/tests/bench/lib.sh"
bench_setup nginx-light curl iproute2
llama=$("$root/tests/bench/llama-tools.sh")/llama-completion

www=$work/www
mkdir -p "$www/raw" "$www/mfs" "$work/dl"
[ -f "$www/raw/bf16.gguf" ] || "$gen" -q -p bench -t bf16 -o "$www/raw/bf16.gguf"
if [ ! -f "$www/mfs/bf16.gguf.mfs" ] || [ "$modelfs" -nt "$www/mfs/bf16.gguf.mfs" ]; then
	"$modelfs" pack -q -f -o "$www/mfs" "$www/raw/bf16.gguf"
	"$modelfs" publish -q "$www/mfs"
fi

ns=mfsbench$$
hostif=mfsh$$
host_ip=10.231.7.1
ns_ip=10.231.7.2
nginx_pid=
proxy_pid=
mounts=()
cleanup() {
	for m in "${mounts[@]}"; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; done
	[ -z "$nginx_pid" ] || kill "$nginx_pid" "$proxy_pid" 2>/dev/null || true
	ip netns del "$ns" 2>/dev/null || true
	ip link del "$hostif" 2>/dev/null || true
}
trap cleanup EXIT

ip netns add "$ns"
ip link add "$hostif" type veth peer name mfsn$$
ip link set mfsn$$ netns "$ns"
ip addr add $host_ip/30 dev "$hostif"
ip link set "$hostif" up
ip netns exec "$ns" ip addr add $ns_ip/30 dev mfsn$$
ip netns exec "$ns" ip link set mfsn$$ up
ip netns exec "$ns" ip link set lo up
# The rate on both ends (tbf); the delay in the proxy below.
tc qdisc add dev "$hostif" root tbf rate "$rate" burst 64kb latency 200ms
ip netns exec "$ns" tc qdisc add dev mfsn$$ root tbf rate "$rate" burst 64kb latency 200ms

mkdir -p "$work/nginx"
cat >"$work/nginx/nginx.conf" <<CONF
daemon off;
user root root;
worker_processes 2;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log;
events { worker_connections 256; }
http {
	log_format ranges '\$status \$body_bytes_sent \$http_range';
	access_log $work/nginx/access.log ranges;
	sendfile on;
	client_body_temp_path $work/nginx; proxy_temp_path $work/nginx; fastcgi_temp_path $work/nginx;
	uwsgi_temp_path $work/nginx; scgi_temp_path $work/nginx;
	server { listen 127.0.0.1:8081; root $www; }
}
CONF
ip netns exec "$ns" nginx -c "$work/nginx/nginx.conf" -p "$work/nginx" &
nginx_pid=$!
ip netns exec "$ns" python3 "$root/tests/bench/delayproxy.py" $ns_ip 8080 127.0.0.1 8081 \
	$((rtt / 2)) &
proxy_pid=$!
for _ in $(seq 50); do curl -fs -o /dev/null "http://$ns_ip:8080/mfs/modelfs.json" && break; sleep 0.1; done
url=http://$ns_ip:8080/mfs/

now() { date +%s.%N; }
rx() { cat "/sys/class/net/$hostif/statistics/rx_bytes"; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
prompt="Once upon a time"
# llm MODEL N LOG: llama-completion generating N tokens
llm() {
	"$llama" -m "$1" -p "$prompt" -n "$2" -t 2 --temp 0 -s 1 -no-cnv --no-warmup --simple-io \
		--no-display-prompt >"$3.out" 2>"$3.err"
}
s_per_token() {
	sed -n 's/.* eval time = *\([0-9.]*\) ms \/ *\([0-9]*\) runs.*/\1 \2/p' "$1.err" | grep -v prompt |
		tail -1 | awk '{ printf "%.3f", $1 / $2 / 1000 }'
}
mount_at() { # SRC MNT OPTS
	mkdir -p "$2"
	"$modelfs" mount -o "$3" "$1" "$2"
	mounts+=("$2")
}
fresh() { sync; echo 3 >/proc/sys/vm/drop_caches; }

echo "machine: $(nproc) CPUs; link $rate (tbf), ${rtt} ms round trip (delayproxy.py)"
[ -z "$opts" ] || echo "remote mounts with${opts/,/ }"
echo "model: $(stat -c %s "$www/raw/bf16.gguf") bytes BF16, container $(stat -c %s "$www/mfs/bf16.gguf.mfs") bytes"
echo

# 1. download the raw file, then run it
fresh
b0=$(rx); t0=$(now)
curl -fs -o "$work/dl/bf16.gguf" "http://$ns_ip:8080/raw/bf16.gguf"
dl_raw=$(since "$t0")
fresh
llm "$work/dl/bf16.gguf" 1 "$work/raw"
t_raw=$(since "$t0"); b_raw=$(($(rx) - b0))

# 2. download the container, mount it here, run
rm -rf "$work/dl/mfs" && mkdir -p "$work/dl/mfs"
fresh
b0=$(rx); t0=$(now)
curl -fs -o "$work/dl/mfs/bf16.gguf.mfs" "${url}bf16.gguf.mfs"
dl_mfs=$(since "$t0")
fresh
mount_at "$work/dl/mfs" "$work/local" ""
llm "$work/local/bf16.gguf" 1 "$work/local"
t_local=$(since "$t0"); b_local=$(($(rx) - b0))

# 3. mount the remote source with an empty store, run
rm -rf "$work/store"
fresh
b0=$(rx); t0=$(now)
log0=$(wc -l <"$work/nginx/access.log")
mount_at "$url" "$work/remote" "store=$work/store,allow_http$opts"
llm "$work/remote/bf16.gguf" 1 "$work/cold"
t_cold=$(since "$t0"); b_cold=$(($(rx) - b0))
# range requests of the cold run, and their median size
reqs=$(tail -n +$((log0 + 1)) "$work/nginx/access.log" | awk '$3 != "-" { print $2 }' | sort -n |
	awk '{ v[NR] = $1 } END { printf "%d requests, median %d KB", NR, NR ? v[int((NR + 1) / 2)] / 1000 : 0 }')
umount "$work/remote"
cmp -s "$work/cold.out" "$work/raw.out" && same_cold=yes || same_cold=NO

# 3b. modelfs fetch into an empty store (a device that must work offline)
rm -rf "$work/store-fetch"
b0=$(rx); t0=$(now)
"$modelfs" fetch -q -o "store=$work/store-fetch,allow_http$opts" "$url"
t_fetch=$(since "$t0"); b_fetch=$(($(rx) - b0))
rm -rf "$work/store-fetch"

# 4. the server gone (the proxy stopped: connections refused; a link set down
# would send the requests to the default route): the warm store against the
# local mount, TOKENS tokens
kill "$proxy_pid"
wait "$proxy_pid" 2>/dev/null || true
fresh
mount_at "$url" "$work/remote" "store=$work/store,allow_http$opts"
llm "$work/remote/bf16.gguf" $((tokens + 1)) "$work/warm"
fresh
llm "$work/local/bf16.gguf" $((tokens + 1)) "$work/local-n"
umount "$work/remote"
umount "$work/local"
cmp -s "$work/warm.out" "$work/local-n.out" && same_warm=yes || same_warm=NO

fmt='%-15s %9s %12s %10s  %s\n'
printf "$fmt" run "first tok" "received MB" "vs raw" "notes"
printf "$fmt" download-run "$t_raw s" "$(awk -v b=$b_raw 'BEGIN { printf "%.1f", b / 1e6 }')" 1.00 \
	"download $dl_raw s"
printf "$fmt" download-mount "$t_local s" "$(awk -v b=$b_local 'BEGIN { printf "%.1f", b / 1e6 }')" \
	"$(awk -v a=$t_local -v b=$t_raw 'BEGIN { printf "%.2f", a / b }')" "download $dl_mfs s"
printf "$fmt" remote-cold "$t_cold s" "$(awk -v b=$b_cold 'BEGIN { printf "%.1f", b / 1e6 }')" \
	"$(awk -v a=$t_cold -v b=$t_raw 'BEGIN { printf "%.2f", a / b }')" \
	"raw/received $(awk -v a=$b_raw -v b=$b_cold 'BEGIN { printf "%.2f", a / b }'); same tokens: $same_cold; $reqs"
printf "$fmt" fetch "$t_fetch s" "$(awk -v b=$b_fetch 'BEGIN { printf "%.1f", b / 1e6 }')" "" \
	"modelfs fetch into an empty store: $(awk -v a=$t_fetch -v b=$dl_mfs 'BEGIN { printf "%.2f", a / b }')x the container's download"
echo
echo "s/token over $tokens tokens: remote, warm store, server gone $(s_per_token "$work/warm");" \
	"local mount $(s_per_token "$work/local-n"); same tokens: $same_warm"
echo "files kept in $work"
