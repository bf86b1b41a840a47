# SPDX-License-Identifier: MIT
# Shared by the llama.cpp tests, on top of tests/fuse/lib.sh: sets $here and
# $node (tests/e2e/setup.sh's Node.js, with node-llama-cpp installed). Without
# the npm registry there is no llama.cpp: a loud skip, and a failure under
# CI=true. Sourced, not run.
. "$(dirname "${BASH_SOURCE[0]}")/../fuse/lib.sh"

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
node=$("$here/setup.sh" 2>"$LOG/setup.err") || {
	[ "${CI:-}" != true ] || fail "cannot install llama.cpp (CI=true): $(tail -3 "$LOG/setup.err")"
	echo "SKIP: cannot install llama.cpp from the npm registry:" \
		"$(grep -m1 -E "ECONN|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|error code" "$LOG/setup.err" ||
			tail -1 "$LOG/setup.err")"
	exit 77
}
