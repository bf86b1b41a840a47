# SPDX-License-Identifier: MIT
# Shared by the shell tests: strict mode, a scratch directory removed on exit,
# and assertions that print what went wrong. Sourced, not run.
set -euo pipefail

: "${MODELFS:?MODELFS must point to the modelfs binary}"
: "${MODELFS_GEN:?MODELFS_GEN must point to the modelfs-gen binary}"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/modelfs-test.XXXXXX")
LOG=$(mktemp -d "${TMPDIR:-/tmp}/modelfs-log.XXXXXX") # outside WORK: WORK is checked for litter
trap 'rm -rf "$WORK" "$LOG"' EXIT
CHECKS=0

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

pass() {
	CHECKS=$((CHECKS + 1))
}

# expect_exit CODE CMD... : run CMD, require exit status CODE; output in $OUT/$ERR
expect_exit() {
	local want=$1 got=0
	shift
	"$@" >"$LOG/out" 2>"$LOG/err" || got=$?
	OUT=$(cat "$LOG/out")
	ERR=$(cat "$LOG/err")
	[ "$got" = "$want" ] || fail "'$*' exited $got, expected $want; stderr: $ERR"
	pass
}

# expect_msg TEXT : the last command's stderr contains TEXT, and every line is a
# "modelfs..." message (usage errors may add one "Try 'modelfs CMD --help'" line)
expect_msg() {
	grep -qF -- "$1" <<<"$ERR" || fail "stderr lacks '$1': $ERR"
	grep -v -e '^modelfs' -e "^Try 'modelfs" <<<"$ERR" | grep -q . &&
		fail "stderr has lines that are not modelfs messages: $ERR"
	pass
}

same_file() {
	cmp -s "$1" "$2" || fail "$1 and $2 differ"
	pass
}

# no leftovers: nothing in DIR but what is listed
no_temp_files() {
	local junk
	junk=$(find "$1" -name '.*' -o -name '*.tmp*' | grep -v "^$1\$" || true)
	[ -z "$junk" ] || fail "temporary files left behind: $junk"
	pass
}

# patch FILE OFFSET HEXBYTES: overwrite bytes in place
patch() {
	printf "$(sed 's/\(..\)/\\x\1/g' <<<"$3")" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

# flip FILE OFFSET: invert the low bit of one byte, so the file surely changes
flip() {
	local b
	b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
	patch "$1" "$2" "$(printf %02x $((b ^ 1)))"
}

done_ok() {
	echo "ok: $CHECKS checks"
}
