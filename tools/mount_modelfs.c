/* SPDX-License-Identifier: MIT */
/*
 * mount_modelfs.c - main() of mount.modelfs, the helper mount(8) runs for
 * "mount -t modelfs SRC MNT -o OPTS" and for /etc/fstab lines such as
 *
 *   /srv/models  /mnt/models  modelfs  defaults,allow_other,cache_size=256M  0  0
 *
 * Syntax (mount(8), "External helpers"): mount.modelfs SRC MNT [-sfnvN] [-o OPTS]
 * [-t TYPE]. Options that belong to mount(8) or fstab are dropped; the rest
 * are those of `modelfs mount`. The helper returns once the mount is ready
 * and the daemon runs in the background.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "daemon.h"
#include "mountopt.h"

#include "cmds.h"

static const char usage[] =
	"Usage: mount.modelfs SRC MNT [-o OPT[,OPT...]]\n"
	"The mount(8) helper for modelfs: 'mount -t modelfs SRC MNT -o OPTS' and\n"
	"/etc/fstab lines with type modelfs run it. Options are those of\n"
	"'modelfs mount' (see 'modelfs mount --help'); fstab-only options such as\n"
	"defaults, noauto, nofail, _netdev and x-systemd.* are ignored.\n";

int main(int argc, char **argv)
{
	struct mfs_daemon_opts d;
	char *fuse_opts = NULL;
	bool fake = false;
	int c, r;

	mountopt_defaults(&d);
	if (argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
		fputs(usage, stdout);
		return EXIT_OK;
	}
	if (argc >= 2 && (strcmp(argv[1], "-V") == 0 || strcmp(argv[1], "--version") == 0)) {
		cli_version();
		return EXIT_OK;
	}
	/* mount(8) puts SRC and MNT first, then flags; let getopt see them all. */
	while ((c = getopt(argc, argv, "sfnvNo:t:")) != -1) {
		switch (c) {
		case 'o':
			r = mountopt_parse("mount.modelfs", optarg, true, &d, &fuse_opts);
			if (r) {
				free(fuse_opts);
				return r;
			}
			break;
		case 'f':
			fake = true; /* "fake": do everything but the mount */
			break;
		case 's': case 'n': case 'v': case 'N': case 't':
			break;
		default:
			free(fuse_opts);
			fputs(usage, stderr);
			return EXIT_USAGE;
		}
	}
	if (argc - optind != 2) {
		free(fuse_opts);
		fputs(usage, stderr);
		return EXIT_USAGE;
	}
	if (fake) {
		free(fuse_opts);
		return EXIT_OK;
	}
	d.src = argv[optind];
	d.mnt = argv[optind + 1];
	return mount_run("mount.modelfs", &d, fuse_opts);
}
