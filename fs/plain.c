/* SPDX-License-Identifier: MIT */
/*
 * plain.c - what the daemon reads of fs/remote/ besides chunks: the plain
 * files of a remote source (OCI layers that are a model file as it is), and
 * the remote source's part of the stats. ops.c replies; it includes nothing
 * of the network.
 */
#include "fs_i.h"

#include <errno.h>
#include <stdlib.h>

#include "log.h"
#include "remote.h"
#include "stats.h"

ssize_t mfs_plain_read(struct mfs_fs *fs, struct mfs_node *n, uint64_t ino, uint64_t off,
		       size_t size, void *buf)
{
	struct mfs_err err = {{0}};
	ssize_t got = mfs_remote_plain_read(fs->opts.remote, n->plain, off, size, buf, &err);

	if (got < 0) {
		mfs_stat_add(&fs->stats.read_errors, 1);
		mfs_log(MFS_LOG_ERR, "%s: %s", n->path, mfs_err_msg(&err, (int)got));
		/*
		 * Read whole and found not its digest: what the page cache holds
		 * of it goes too - not from here, inside a read of that inode.
		 */
		if (mfs_remote_plain_bad(n->plain))
			atomic_store(&fs->inval_ino, ino);
		return got == -ENOMEM ? -ENOMEM : -EIO;
	}
	mfs_stat_add(&fs->stats.passthrough_bytes, (uint64_t)got);
	return got;
}

void mfs_fs_gauges(struct mfs_fs *fs, struct mfs_stats_gauges *g)
{
	mfs_cache_usage(fs->cache, &g->cache_bytes, &g->cache_entries);
	g->prefetch_pending = mfs_cache_spec_bytes(fs->cache);
	g->pinned_bytes = atomic_load(&fs->pinned_bytes);
	g->cache_budget = mfs_cache_budget(fs->cache);
	g->pin_budget = atomic_load(&fs->pin_budget);
	g->drop_window = atomic_load(&fs->dropper.window);
	g->keep_budget = atomic_load(&fs->dropper.keep);
	g->kept_bytes = atomic_load(&fs->dropper.kept);
	g->memory_limit = atomic_load(&fs->mem_limit);
	g->memory_others = atomic_load(&fs->mem_others);
	g->workers_active = fs->pool ? mfs_pool_active_limit(fs->pool) : 0;
	if (fs->opts.remote) {
		struct mfs_remote_stats rs;
		uint64_t chunks;

		mfs_remote_stats(fs->opts.remote, &rs);
		g->remote_fetched_chunks = rs.fetched;
		g->remote_fetched_bytes = rs.fetched_bytes;
		g->remote_requests = rs.requests;
		g->remote_store_hits = rs.store_hits;
		g->remote_bad_fetches = rs.bad_fetches;
		g->remote_check_ns = rs.check_ns;
		mfs_store_usage(mfs_remote_store(fs->opts.remote), &g->store_bytes, &chunks,
				&g->store_damaged);
	}
}
