#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs the Debian packages modelfs needs to build and test, and does
# nothing when they are all there. Called by tools/demo.sh and, with --tests
# (what only the tests use: systemd-nspawn, to run the units under a real
# systemd; procps; attr), by tests/run.sh, so that both work on a fresh
# Debian 12 machine. Never with recommended packages.
set -euo pipefail
. "$(dirname "$0")/progress.sh"

pkgs=(gcc pkg-config meson ninja-build libzstd-dev liblz4-dev libxxhash-dev
	libfuse3-dev fuse3 libcurl4-openssl-dev libssl-dev ca-certificates libcriterion-dev
	python3-zstandard python3-lz4 bash-completion groff-base man-db)
# The test scripts also call pgrep (procps) and getfattr/setfattr (attr); the
# remote-source tests run nginx (nginx-light) with certificates made by openssl,
# and the distribution registry (docker-registry), which curl checks.
[ "${1:-}" = --tests ] && pkgs+=(systemd-container procps attr nginx-light openssl docker-registry curl)

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
		missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null; then
	echo "modelfs: please install: ${missing[*]}" >&2
	exit 1
fi
sudo=()
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null || {
		echo "modelfs: need root (or sudo) to install: ${missing[*]}" >&2
		exit 1
	}
	sudo=(sudo)
fi
echo "modelfs: installing ${missing[*]}" >&2
quietly "modelfs: apt-get update" "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
quietly "modelfs: apt-get install" "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y \
	--no-install-recommends "${missing[@]}"
# nginx and the registry are there for the tests, which start their own on
# loopback: the services their packages start (a web server on port 80, a
# registry on 5000) are stopped and disabled again.
for svc in nginx:nginx-light docker-registry:docker-registry; do
	printf '%s\n' "${missing[@]}" | grep -qx "${svc#*:}" || continue
	if [ -d /run/systemd/system ]; then
		"${sudo[@]}" systemctl disable --now "${svc%:*}" >/dev/null 2>&1 || true
	elif [ -x "/etc/init.d/${svc%:*}" ]; then
		"${sudo[@]}" "/etc/init.d/${svc%:*}" stop >/dev/null 2>&1 || true
		"${sudo[@]}" update-rc.d "${svc%:*}" disable >/dev/null 2>&1 || true
	fi
done
