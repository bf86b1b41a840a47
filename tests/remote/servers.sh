# SPDX-License-Identifier: MIT
# Servers for tests of remote sources, on loopback only: nginx (Debian's, with
# a configuration made here), faultserve.py and the distribution registry
# (docker-registry); all stopped on exit. Sourced after tests/fuse/lib.sh (or
# a library built on it), not run.

REMOTE_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
command -v nginx >/dev/null || command -v /usr/sbin/nginx >/dev/null ||
	fail "nginx is not installed (tools/install-deps.sh --tests installs it)"
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

SERVER_PIDS=()
stop_servers() {
	for p in "${SERVER_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${SERVER_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	SERVER_PIDS=()
}
trap 'cleanup_mounts; stop_servers; [ -z "$OTHER" ] || userdel "$OTHER"; rm -rf "$WORK" "$LOG"' EXIT

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_nginx ROOT [CERT KEY]: serves ROOT on 127.0.0.1:$NGINX_PORT (https
# with CERT and KEY; $NGINX_EXTRA goes into the server block); the access
# log, one line per request (URI, status, body bytes sent, Host, key=X-Api-Key),
# is $NGINX_LOG.
# NGINX_PID is the master.
start_nginx() {
	local root=$1 cert=${2:-} key=${3:-} conf dir listen
	dir=$(mktemp -d "$LOG/nginx.XXXXXX")
	NGINX_PORT=$(free_port)
	NGINX_LOG=$dir/access.log
	listen="listen 127.0.0.1:$NGINX_PORT;"
	[ -n "$cert" ] && listen="listen 127.0.0.1:$NGINX_PORT ssl; ssl_certificate $cert; ssl_certificate_key $key;"
	conf=$dir/nginx.conf
	cat >"$conf" <<CONF
daemon off;
user root root;
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/error.log;
events { worker_connections 256; }
http {
	log_format bytes '\$request_uri \$status \$body_bytes_sent \$http_host key=\$http_x_api_key';
	access_log $NGINX_LOG bytes;
	client_body_temp_path $dir; proxy_temp_path $dir; fastcgi_temp_path $dir;
	uwsgi_temp_path $dir; scgi_temp_path $dir;
	server { $listen root $root; ${NGINX_EXTRA:-} }
}
CONF
	"$NGINX" -c "$conf" -p "$dir" &
	NGINX_PID=$!
	SERVER_PIDS+=("$NGINX_PID")
	for _ in $(seq 100); do
		python3 -c "import socket; socket.create_connection(('127.0.0.1', $NGINX_PORT), 0.2)" \
			2>/dev/null && return 0
		sleep 0.1
	done
	fail "nginx did not start: $(cat "$dir/error.log" 2>/dev/null)"
}

stop_nginx() {
	kill "$NGINX_PID"
	wait "$NGINX_PID" 2>/dev/null || true
}

# served_bytes PATTERN: body bytes nginx sent for request URIs matching PATTERN
served_bytes() {
	awk -v p="$1" '$1 ~ p { s += $3 } END { print s + 0 }' "$NGINX_LOG"
}

# start_faultserve ROOT: faultserve.py on $FAULT_PORT; its mode is the file
# $FAULT_MODE (fault MODE sets it), its request log $FAULT_LOG.
start_faultserve() {
	local dir
	dir=$(mktemp -d "$LOG/fault.XXXXXX")
	FAULT_MODE=$dir/mode
	FAULT_LOG=$dir/requests.log
	python3 "$REMOTE_DIR/faultserve.py" "$1" "$dir/port" "$FAULT_MODE" "$FAULT_LOG" &
	SERVER_PIDS+=($!)
	for _ in $(seq 100); do
		[ -s "$dir/port" ] && break
		sleep 0.1
	done
	FAULT_PORT=$(cat "$dir/port") || fail "faultserve.py did not start"
}
fault() { echo "$1" >"$FAULT_MODE"; }

# start_registry: the CNCF distribution registry (Debian's docker-registry)
# with filesystem storage under LOG, on 127.0.0.1:$REGISTRY_PORT; its log,
# one line per request, is $REGISTRY_LOG; its storage $REGISTRY_DATA.
start_registry() {
	local dir
	command -v docker-registry >/dev/null ||
		fail "docker-registry is not installed (tools/install-deps.sh --tests installs it)"
	dir=$(mktemp -d "$LOG/registry.XXXXXX")
	REGISTRY_PORT=$(free_port)
	REGISTRY_LOG=$dir/log
	REGISTRY_DATA=$dir/data
	cat >"$dir/config.yml" <<CONF
version: 0.1
log:
  level: info
  accesslog:
    disabled: false
storage:
  filesystem:
    rootdirectory: $dir/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$REGISTRY_PORT
CONF
	docker-registry serve "$dir/config.yml" >"$REGISTRY_LOG" 2>&1 &
	SERVER_PIDS+=($!)
	REGISTRY_PID=$!
	for _ in $(seq 100); do
		curl -fs "http://127.0.0.1:$REGISTRY_PORT/v2/" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	fail "docker-registry did not start: $(cat "$REGISTRY_LOG")"
}
