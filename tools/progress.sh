# SPDX-License-Identifier: MIT
# Sourced by the scripts that install and build (bash).
#
# quietly LABEL CMD...: runs CMD with its output kept in a temporary log, so
# that a long install or build does not flood the terminal, yet is not
# silent either: every 15 s it prints "LABEL: N s: <CMD's last line>" to
# stderr (apt's "Unpacking ...", ninja's "[40/120] Compiling ..."). If CMD
# fails, the log's last 30 lines follow the failure line. Returns CMD's status.
# quietly --log FILE LABEL CMD... keeps the log in FILE instead.
quietly() {
	local label log keep= pid rc=0 ticks=0
	if [ "$1" = --log ]; then
		keep=$2
		shift 2
	fi
	label=$1
	shift
	log=${keep:-$(mktemp "${TMPDIR:-/tmp}/modelfs-log.XXXXXX")}
	: >"$log"
	"$@" </dev/null >"$log" 2>&1 &
	pid=$!
	while kill -0 "$pid" 2>/dev/null; do
		sleep 0.2
		ticks=$((ticks + 1))
		if [ $((ticks % 75)) = 0 ]; then
			printf '%s: %d s: %s\n' "$label" $((ticks / 5)) \
				"$(tail -n 1 "$log" | tr -d '\r' | cut -c 1-100)" >&2
		fi
	done
	wait "$pid" || rc=$?
	if [ "$rc" != 0 ]; then
		echo "$label: failed (exit $rc); its last lines:" >&2
		tail -n 30 "$log" >&2
		[ -z "$keep" ] || echo "$label: the whole log is $keep" >&2
	fi
	[ -n "$keep" ] || rm -f "$log"
	return "$rc"
}
