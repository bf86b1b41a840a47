#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs what the end-to-end tests need and prints the node binary to use:
# - Node.js >= 20 (node-llama-cpp requires it). Debian 12 ships 18, so when
#   the system node is older, Node 20 comes from the npm registry
#   (node-linux-<arch>) into tests/e2e/.node/;
# - node-llama-cpp at the version package-lock.json pins, without install
#   scripts (nothing is built or downloaded from GitHub), and of its prebuilt
#   llama.cpp libraries only the CPU one for this machine (the CUDA and Vulkan
#   variants are 600 MB we do not use).
# Idempotent: a second run installs nothing.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
. "$here/../../tools/progress.sh"
node_version=20.20.2

case $(uname -m) in
x86_64) arch=x64 ;;
aarch64) arch=arm64 ;;
*) echo "e2e: no prebuilt llama.cpp for $(uname -m)" >&2; exit 1 ;;
esac

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	sudo=()
	[ "$(id -u)" -ne 0 ] && sudo=(sudo)
	echo "e2e: installing nodejs and npm" >&2
	quietly "e2e: apt-get update" "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
	quietly "e2e: apt-get install" "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y \
		--no-install-recommends nodejs npm
fi

node=$(command -v node)
if [ "$("$node" -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
	node=$here/.node/node_modules/node-linux-$arch/bin/node
	if [ ! -x "$node" ]; then
		echo "e2e: fetching Node.js $node_version from the npm registry" >&2
		quietly "e2e: npm install node-linux-$arch" npm install --prefix "$here/.node" --no-save \
			--ignore-scripts --no-audit --no-fund "node-linux-$arch@$node_version"
	fi
	export PATH="$(dirname "$node"):$PATH"
fi

cd "$here"
export NODE_LLAMA_CPP_SKIP_DOWNLOAD=true
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
	echo "e2e: npm ci (node-llama-cpp, pinned by package-lock.json)" >&2
	quietly "e2e: npm ci" npm ci --omit=optional --ignore-scripts --no-audit --no-fund
fi
version=$("$node" -p 'require("./package-lock.json").packages["node_modules/node-llama-cpp"].version')
if [ ! -d "node_modules/@node-llama-cpp/linux-$arch" ]; then
	echo "e2e: prebuilt llama.cpp for linux-$arch, version $version" >&2
	quietly "e2e: npm install @node-llama-cpp/linux-$arch" npm install --no-save --omit=optional \
		--ignore-scripts --no-audit --no-fund "@node-llama-cpp/linux-$arch@$version"
fi
echo "$node"
