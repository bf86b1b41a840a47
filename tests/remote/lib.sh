# SPDX-License-Identifier: MIT
# The remote-source tests' library: tests/fuse/lib.sh and the servers
# (servers.sh). Sourced, not run.
. "$(dirname "${BASH_SOURCE[0]}")/../fuse/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/servers.sh"
