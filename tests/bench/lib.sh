# SPDX-License-Identifier: MIT
# Shared by the benchmarks. Sourced, with $root set to the repository.
. "$root/tools/progress.sh"

# bench_setup PKG...: install the project's build dependencies and the Debian
# packages named (the tools a benchmark compares against), build, and set
# $modelfs and $gen. With MFS_BENCH_PREBUILT=1 (a machine that has them but
# no package manager or compiler: the VM), nothing is installed or built:
# $MODELFS and $MODELFS_GEN name the binaries.
bench_setup() {
	local p missing=()

	if [ "${MFS_BENCH_PREBUILT:-}" = 1 ]; then
		modelfs=${MODELFS:?MFS_BENCH_PREBUILT=1 needs MODELFS} gen=${MODELFS_GEN:?and MODELFS_GEN}
		return 0
	fi

	"$root/tools/install-deps.sh"
	for p in "$@"; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
			missing+=("$p")
	done
	if [ ${#missing[@]} -gt 0 ]; then
		echo "$(basename "$0"): installing ${missing[*]}" >&2
		quietly "$(basename "$0"): apt-get install" env DEBIAN_FRONTEND=noninteractive \
			apt-get install -y "${missing[@]}"
	fi
	[ -f "$root/build/build.ninja" ] || quietly "meson setup" meson setup "$root/build" "$root"
	quietly "ninja build" ninja -C "$root/build"
	modelfs=$root/build/tools/modelfs
	gen=$root/build/tests/gen/modelfs-gen
	decbench=$root/build/tests/bench/modelfs-decbench
}
