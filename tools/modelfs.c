/* SPDX-License-Identifier: MIT */
/*
 * modelfs.c - main() of the modelfs command: dispatch to a subcommand.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "simd.h"
#include "cmds.h"

static const char usage[] =
	"Usage: modelfs COMMAND [OPTION]... [ARG]...\n"
	"Store model files (.gguf, .safetensors) as compressed, tensor-aligned\n"
	"containers and serve the original bytes from them.\n"
	"\n"
	"Commands:\n"
	"  pack      compress model files or directories into FILE.mfs containers\n"
	"  unpack    restore original files from containers\n"
	"  verify    check every checksum in containers\n"
	"  inspect   show a container's header, totals and tensors\n"
	"  mount     serve a directory of containers as the original files (FUSE),\n"
	"            or a remote one (https://HOST/PATH/, oci://REGISTRY/REPO:TAG)\n"
	"            fetched lazily\n"
	"  stats     show the counters of a mounted modelfs\n"
	"  plan      replace a container's prefetch plan (from a mount's trace)\n"
	"  publish   list a directory's containers for mounting over HTTP\n"
	"  push      upload a directory's containers to an OCI registry\n"
	"  fetch     fill the local chunk store from a remote source (offline use)\n"
	"\n"
	"Run 'modelfs COMMAND --help' for a command's options.\n"
	"Options: -h, --help  show this help;  -V, --version  show the version\n"
	"Environment: MODELFS_SCALAR=1 decodes without vector instructions (the\n"
	"same bytes, slower: for comparisons); --version names the paths taken.\n";

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int, char **);
	} cmds[] = {
		{"pack", cmd_pack},
		{"unpack", cmd_unpack},
		{"verify", cmd_verify},
		{"inspect", cmd_inspect},
		{"mount", cmd_mount},
		{"stats", cmd_stats},
		{"plan", cmd_plan},
		{"publish", cmd_publish},
		{"fetch", cmd_fetch},
		{"push", cmd_push},
	};

	if (getenv("MODELFS_SCALAR") && strcmp(getenv("MODELFS_SCALAR"), "1") == 0)
		mfs_codec_force_scalar(true);
	if (argc < 2) {
		fputs(usage, stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		fputs(usage, stdout);
		return EXIT_OK;
	}
	if (strcmp(argv[1], "-V") == 0 || strcmp(argv[1], "--version") == 0) {
		cli_version();
		return EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(argv[1], cmds[i].name) == 0)
			return cmds[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "%s: '%s' is not a command; see 'modelfs --help'\n", CLI_PROG, argv[1]);
	return EXIT_USAGE;
}
