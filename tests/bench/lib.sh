# SPDX-License-Identifier: MIT
# Shared by the benchmarks. Sourced, with $root set to the repository.

# bench_setup PKG...: install the project's build dependencies and the Debian
# packages named (the tools a benchmark compares against), build, and set
# $modelfs and $gen.
bench_setup() {
	local p missing=()

	"$root/tools/install-deps.sh"
	for p in "$@"; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
			missing+=("$p")
	done
	if [ ${#missing[@]} -gt 0 ]; then
		echo "$(basename "$0"): installing ${missing[*]}" >&2
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
	fi
	[ -f "$root/build/build.ninja" ] || meson setup "$root/build" "$root" >/dev/null
	ninja -C "$root/build" >/dev/null
	modelfs=$root/build/tools/modelfs
	gen=$root/build/tests/gen/modelfs-gen
}
