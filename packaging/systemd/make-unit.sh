#!/bin/sh
# SPDX-License-Identifier: MIT
# make-unit.sh local|remote BINDIR TEMPLATE OUTPUT: modelfs@.service (local)
# or modelfs-remote@.service (remote) from modelfs@.service.in. The build
# and the tests make the units with this, so they test what is installed.
set -eu
kind=$1 bindir=$2 in=$3 out=$4
case $kind in
local)
	unit=modelfs@.service after= wants= families=AF_UNIX ipdeny=IPAddressDeny=any
	note="no network socket" ;;
remote)
	unit=modelfs-remote@.service after=" network-online.target"
	wants=Wants=network-online.target families="AF_UNIX AF_INET AF_INET6"
	ipdeny="# The source is on the network: no IPAddressDeny=."
	note="internet sockets for the source" ;;
*) echo "make-unit.sh: local or remote" >&2; exit 2 ;;
esac
sed -e "s|@bindir@|$bindir|g" -e "s|@unit@|$unit|g" \
	-e "s|@unit_example@|$(echo "$unit" | sed 's/@\./@mnt-models./')|g" \
	-e "s|@after@|$after|g" -e "s|@wants@|$wants|g" -e "s|@families@|$families|g" \
	-e "s|@ipdeny@|$ipdeny|g" -e "s|@network_note@|$note|g" "$in" >"$out.tmp"
mv "$out.tmp" "$out"
