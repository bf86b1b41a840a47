/* SPDX-License-Identifier: MIT */
/*
 * notify.h - telling systemd how the daemon is doing (Type=notify services).
 *
 * The sd_notify protocol without libsystemd: one datagram of "KEY=VALUE"
 * lines to the AF_UNIX socket named by $NOTIFY_SOCKET (a path, or an
 * abstract name when it starts with '@'). Without $NOTIFY_SOCKET, nothing
 * is sent and nothing fails: the same binary runs under systemd and without.
 */
#ifndef MFS_NOTIFY_H
#define MFS_NOTIFY_H

/* Send @state ("READY=1\nSTATUS=..."); 0, or -errno when it could not be sent. */
int mfs_notify(const char *state);

#endif
