/* SPDX-License-Identifier: MIT */
/*
 * cmds.h - the subcommands of the modelfs command; each takes argv from its
 * own name on and returns an exit status (cli.h).
 */
#ifndef MFS_CMDS_H
#define MFS_CMDS_H

int cmd_pack(int argc, char **argv);
int cmd_unpack(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_mount(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_plan(int argc, char **argv);
int cmd_publish(int argc, char **argv);
int cmd_fetch(int argc, char **argv);
int cmd_push(int argc, char **argv);

struct mfs_daemon_opts;
/* Mount with options already parsed; takes ownership of @fuse_opts. */
int mount_run(const char *cmd, struct mfs_daemon_opts *d, char *fuse_opts);

#endif
