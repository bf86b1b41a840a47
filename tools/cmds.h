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

#endif
