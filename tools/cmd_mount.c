/* SPDX-License-Identifier: MIT */
/*
 * cmd_mount.c - `modelfs mount SRC MNT`: options, then mfs_daemon_run().
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "daemon.h"
#include "mountopt.h"
#include "source.h"

#include "cmds.h"

static const char mount_usage[] =
	"Usage: modelfs mount [OPTION]... SRC MNT\n"
	"Serve the containers in SRC (a directory, or a single .mfs file) read-only at\n"
	"MNT: each X.mfs appears as X, with the original bytes, size, mode and time,\n"
	"so programs such as llama.cpp read (or mmap) the model without knowing it is\n"
	"compressed. Other files, subdirectories and symlinks appear as they are;\n"
	"files added to SRC later appear without a remount.\n"
	"\n"
	"SRC may also be remote: https://HOST/PATH/ (a directory listed by 'modelfs\n"
	"publish', served by any web server or object store that answers range\n"
	"requests) or https://HOST/PATH/X.mfs (one container). Only the chunks read\n"
	"are fetched, each checked against its checksum, and kept in a local chunk\n"
	"store (shared by all remote mounts; chunks two models have in common are\n"
	"fetched and stored once). With the network down, a source mounted before\n"
	"is served from the store. 'modelfs fetch URL' fills the store ahead.\n"
	"oci://REGISTRY/REPOSITORY[:TAG] mounts an artifact 'modelfs push' made\n"
	"(any OCI manifest whose layers are containers titled X.mfs).\n"
	"\n"
	"Options:\n"
	"  -f, --foreground    stay in the foreground and log to stderr (default: run\n"
	"                      in the background once mounted, log to syslog)\n"
	"  -d, --debug         trace every FUSE request (implies -f)\n"
	"  -o OPT[,OPT...]     mount options:\n";
/* After the options' own lines (mountopt_help). */
static const char mount_usage_tail[] =
	"      other options are passed to FUSE (see mount.fuse3(8))\n"
	"  -h, --help          show this help and exit\n"
	"  -V, --version       show the version and exit\n"
	"\n"
	"Unmount with 'umount MNT' or 'fusermount3 -u MNT'; the daemon also unmounts\n"
	"on SIGTERM and SIGINT. A dead modelfs mount left at MNT by a daemon that was\n"
	"killed (reads fail with 'Transport endpoint is not connected') is detached\n"
	"first, with a warning. Counters: 'modelfs stats MNT'.\n";

/*
 * The filesystem type mounted at @mnt per /proc/self/mountinfo ("fuse.modelfs"),
 * into @type; false if nothing is mounted there. @mnt's last component cannot
 * be stat()ed when its daemon is dead (ENOTCONN), so only its parent is
 * resolved.
 */
static bool mounted_type(const char *mnt, char *type, size_t cap)
{
	char copy1[PATH_MAX], copy2[PATH_MAX], parent[PATH_MAX], want[PATH_MAX + NAME_MAX + 2];
	char line[4096];
	bool found = false;
	FILE *f;

	if (strlen(mnt) >= sizeof(copy1))
		return false;
	strcpy(copy1, mnt);
	strcpy(copy2, mnt);
	if (!realpath(dirname(copy1), parent))
		return false;
	snprintf(want, sizeof(want), "%s/%s", strcmp(parent, "/") ? parent : "", basename(copy2));
	f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return false;
	/* ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER */
	while (fgets(line, sizeof(line), f)) {
		char mp[PATH_MAX], *dash, fstype[64], *o, *i;

		if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) != 1 || !(dash = strstr(line, " - ")) ||
		    sscanf(dash + 3, "%63s", fstype) != 1)
			continue;
		/* Unescape the octal escapes mountinfo uses for space, tab, newline, '\\'. */
		for (o = i = mp; *i; o++) {
			if (i[0] == '\\' && i[1] >= '0' && i[1] <= '3' && i[2] && i[3]) {
				*o = (char)((i[1] - '0') * 64 + (i[2] - '0') * 8 + (i[3] - '0'));
				i += 4;
			} else {
				*o = *i++;
			}
		}
		*o = 0;
		if (!strcmp(mp, want)) { /* the last mount on a path is the visible one */
			snprintf(type, cap, "%s", fstype);
			found = true;
		}
	}
	fclose(f);
	return found;
}

/*
 * A mount hides what the directory holds (FUSE 3 dropped the "nonempty"
 * check): said, not refused - fstab setups over a directory holding a
 * placeholder keep working.
 */
static void warn_not_empty(const char *mnt)
{
	DIR *d = opendir(mnt);
	struct dirent *de;
	unsigned int n = 0;

	if (!d)
		return;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	if (n)
		cli_warn(mnt, "not empty: its %u entr%s hidden while modelfs is mounted over it", n,
			 n == 1 ? "y is" : "ies are");
}

/*
 * @mnt is a mount point whose daemon died (stat gives ENOTCONN). If it was a
 * modelfs mount, detach it - root unmounts it lazily, others ask fusermount3 -
 * and say so; anything else is left for the user.
 */
static int recover_stale(const char *mnt)
{
	char type[64];
	int st;
	pid_t pid;

	if (!mounted_type(mnt, type, sizeof(type))) {
		cli_error(mnt, "%s", mfs_strerror(ENOTCONN));
		return -1;
	}
	if (strcmp(type, "fuse.modelfs")) {
		cli_error(mnt, "a dead %s mount is here; unmount it first ('umount -l %s')", type,
			  mnt);
		return -1;
	}
	if (geteuid() == 0) {
		if (umount2(mnt, MNT_DETACH) < 0) {
			cli_error(mnt, "cannot unmount the dead modelfs mount here: %s",
				  mfs_strerror(errno));
			return -1;
		}
	} else {
		pid = fork();
		if (pid == 0) {
			execlp("fusermount3", "fusermount3", "-u", "-z", "--", mnt, (char *)NULL);
			_exit(127);
		}
		if (pid < 0 || waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st)) {
			cli_error(mnt, "cannot unmount the dead modelfs mount here "
				       "(fusermount3 -u -z failed)");
			return -1;
		}
	}
	cli_warn(mnt, "unmounted a dead modelfs mount left by a daemon that was killed");
	return 0;
}

/* Shared by `modelfs mount` and mount.modelfs once options are known. */
int mount_run(const char *cmd, struct mfs_daemon_opts *d, char *fuse_opts)
{
	struct mfs_err err = {{0}};
	char src[PATH_MAX], *skeletons = NULL;
	struct stat st;
	int r;

	if (source_is_url(d->src)) {
		struct source_opts so;

		mountopt_source_opts(&so, d);
		r = source_prepare(d->src, &so, &skeletons, &d->remote, &err);
		if (r) {
			cli_error(d->src, "%s", mfs_err_msg(&err, r));
			free(fuse_opts);
			return EXIT_FAIL;
		}
		snprintf(src, sizeof(src), "%s", skeletons);
		free(skeletons);
		if (*so.listed) {
			static char listed[sizeof(so.listed)];

			memcpy(listed, so.listed, sizeof(listed));
			d->listed = listed;
		}
		d->backing = MFS_BACKING_REMOTE;
		d->src_name = source_shown_url(d->src);
	} else if (!realpath(d->src, src)) {
		cli_error(d->src, "%s", mfs_strerror(errno));
		free(fuse_opts);
		return EXIT_FAIL;
	}
	d->src = src;
	r = stat(d->mnt, &st);
	if (r < 0 && errno == ENOTCONN) {
		if (recover_stale(d->mnt)) {
			free(fuse_opts);
			return EXIT_FAIL;
		}
		r = stat(d->mnt, &st);
	}
	if (r < 0 || !S_ISDIR(st.st_mode)) {
		cli_error(d->mnt, "%s", r < 0 ? mfs_strerror(errno) : "not a directory");
		free(fuse_opts);
		return EXIT_FAIL;
	}
	/* libfuse opens it itself and says only "Permission denied". */
	if (access("/dev/fuse", R_OK | W_OK)) {
		cli_error("/dev/fuse", "%s: this user cannot use FUSE. Mount as root, or have "
			  "the administrator make /dev/fuse readable and writable for you (Debian "
			  "makes it 0666; a container or a udev rule may not): see README.md, "
			  "Troubleshooting", mfs_strerror(errno));
		free(fuse_opts);
		return EXIT_FAIL;
	}
	warn_not_empty(d->mnt);
	d->fuse_opts = fuse_opts;
	r = mfs_daemon_run(d, &err);
	free(fuse_opts);
	if (r) {
		cli_error(NULL, "%s", mfs_err_msg(&err, r));
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

int cmd_mount(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"foreground", no_argument, NULL, 'f'},
		{"debug", no_argument, NULL, 'd'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	struct mfs_daemon_opts d;
	char *fuse_opts = NULL;
	int c, r;

	mountopt_defaults(&d);
	while ((c = getopt_long(argc, argv, "fdo:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			d.foreground = true;
			break;
		case 'd':
			d.debug = true;
			break;
		case 'o':
			r = mountopt_parse("mount", optarg, false, &d, &fuse_opts);
			if (r) {
				free(fuse_opts);
				return r;
			}
			break;
		case 'h':
			fputs(mount_usage, stdout);
			mountopt_help(stdout);
			fputs(mount_usage_tail, stdout);
			free(fuse_opts);
			return EXIT_OK;
		case 'V':
			cli_version();
			free(fuse_opts);
			return EXIT_OK;
		default:
			free(fuse_opts);
			return cli_usage_error("mount", "bad option");
		}
	}
	if (argc - optind != 2) {
		free(fuse_opts);
		return cli_usage_error("mount", "give a source and a mount point");
	}
	d.src = argv[optind];
	d.mnt = argv[optind + 1];
	return mount_run("mount", &d, fuse_opts);
}
