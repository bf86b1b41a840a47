#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `meson install` into a staging directory: binaries, the mount helper in
# sbin, the unit, man pages, bash completion, docs and examples, each where it
# belongs. The man pages render without a groff warning, modelfs(1) names every
# subcommand and every option the --help texts list, and the bash completion
# completes subcommands, options and mount options.
. "$(dirname "$0")/../cli/lib.sh"

: "${MESON_BUILD_ROOT:?run under meson test}"
dest=$WORK/dest
DESTDIR=$dest meson install -C "$MESON_BUILD_ROOT" --no-rebuild --quiet >/dev/null ||
	fail "meson install"
prefix=$(meson introspect --buildoptions "$MESON_BUILD_ROOT" |
	/usr/bin/python3 -c 'import json,sys; print([o["value"] for o in json.load(sys.stdin) if o["name"]=="prefix"][0])')
root=$dest$prefix
for f in bin/modelfs sbin/mount.modelfs share/man/man1/modelfs.1 share/man/man8/mount.modelfs.8 \
	share/man/man5/modelfs-format.5 share/bash-completion/completions/modelfs \
	share/doc/modelfs/README.md share/doc/modelfs/FORMAT.md \
	share/doc/modelfs/examples/fstab.example share/doc/modelfs/examples/mnt-models.mount \
	share/doc/modelfs/examples/modelfs.conf.example; do
	[ -f "$root/$f" ] || fail "meson install did not install $prefix/$f"
done
unit=$(find "$dest" -name 'modelfs@.service')
[ -n "$unit" ] || fail "no modelfs@.service installed"
[ -n "$(find "$dest" -name 'modelfs-remote@.service')" ] || fail "no modelfs-remote@.service installed"
grep -q "^ExecStart=$prefix/bin/modelfs mount" "$unit" || fail "unit's ExecStart: $(grep ExecStart "$unit")"
[ -z "$(find "$dest" -name 'test_*' -o -name 'fuzz-*' -o -name 'mfs-*')" ] || fail "test programs installed"
pass

# Man pages: no groff warnings; modelfs(1) covers every command and option.
for p in "$root"/share/man/man*/*; do
	out=$(groff -man -t -ww -z "$p" 2>&1) || fail "groff $p"
	[ -z "$out" ] || fail "groff warnings in $(basename "$p"): $out"
	grep -q '@VERSION@' "$p" && fail "$(basename "$p"): version not filled in"
done
page=$(MANWIDTH=200 man -l "$root/share/man/man1/modelfs.1" 2>/dev/null | col -b)
for cmd in pack unpack verify inspect mount stats plan; do
	grep -q "^   $cmd\$" <<<"$page" || grep -q "^ *$cmd\$" <<<"$page" || fail "modelfs(1) lacks a section for $cmd"
	for opt in $("$MODELFS" "$cmd" --help | grep -oE '^ +(-[a-zA-Z], )?--[a-z-]+' | grep -oE -- '--[a-z-]+'); do
		grep -qF -- "$opt" <<<"$page" || fail "modelfs(1) lacks $cmd $opt"
	done
done
for o in $("$MODELFS" mount --help | grep -oE '^      [a-z_]+(=|  )' | tr -d ' ='); do
	grep -qE "(^| )$o(=| |\$)" <<<"$page" || fail "modelfs(1) lacks the mount option $o"
done
pass

# Bash completion (bash-completion's _init_completion and _filedir).
bc=/usr/share/bash-completion/bash_completion
[ -f "$bc" ] || fail "bash-completion is not installed (tools/install-deps.sh installs it)"
complete_words() { # LINE: what completing the last word of LINE offers
	bash -c '. "$1"; . "$2"; read -ra COMP_WORDS <<<"$3"; [[ $3 == *" " ]] && COMP_WORDS+=("");
		COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); COMP_LINE=$3; COMP_POINT=${#3};
		_modelfs modelfs "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}";
		printf "%s\n" "${COMPREPLY[@]}"' _ "$bc" "$root/share/bash-completion/completions/modelfs" "$1"
}
offers() { # LINE WORD: completing LINE offers WORD (no pipes: pipefail and grep -q)
	local got
	got=$(complete_words "$1")
	grep -qxF -- "$2" <<<"$got" || fail "completing '$1' offers: $(tr '\n' ' ' <<<"$got"), not $2"
}
[ "$(complete_words "modelfs ver")" = verify ] || fail "completing a subcommand"
offers "modelfs pack --ch" --chunk-size
offers "modelfs pack -c " planes
offers "modelfs mount -o cache_size=8M,pre" "cache_size=8M,prefetch="
offers "modelfs mount -o prefetch=s" prefetch=sequential
offers "modelfs stats --pro" --prometheus
pass
done_ok
