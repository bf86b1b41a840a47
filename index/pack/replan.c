/* SPDX-License-Identifier: MIT */
/*
 * replan.c - rewrite a container with a new plan (see replan.h).
 */
#include "replan.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io.h"
#include "outfile.h"
#include "plan.h"
#include "writer.h"

int mfs_replan_names(const struct mfs_archive *ar, struct mfs_plan_entry **out, uint32_t *n)
{
	uint32_t nc = mfs_archive_nchunks(ar);
	uint32_t *ct = malloc((nc ? nc : 1) * sizeof(*ct));
	int r;

	if (!ct)
		return -ENOMEM;
	for (uint32_t i = 0; i < nc; i++)
		ct[i] = mfs_archive_chunk(ar, i)->tensor;
	r = mfs_plan_from_names(mfs_archive_tensors(ar), mfs_archive_ntensors(ar), ct, nc, out, n);
	free(ct);
	return r;
}

/* Copy every chunk's stored bytes from @src into @w. */
static int copy_chunks(const struct mfs_archive *ar, const struct mfs_src *src,
		       struct mfs_writer *w, struct mfs_err *err)
{
	uint32_t n = mfs_archive_nchunks(ar);
	size_t cap = 0;
	uint8_t *buf = NULL;
	int r = 0;

	for (uint32_t i = 0; i < n && !r; i++) {
		const struct mfs_chunk *c = mfs_archive_chunk(ar, i);

		if (c->plen > cap) {
			uint8_t *nb = realloc(buf, c->plen);

			if (!nb) {
				r = -ENOMEM;
				break;
			}
			buf = nb;
			cap = c->plen;
		}
		r = mfs_src_read(src, buf, c->plen, c->poff, err);
		if (r)
			r = mfs_err_prefix(err, r, "chunk %u", i);
		else
			r = mfs_writer_add(w, c, buf, c->plen, err);
	}
	free(buf);
	return r;
}

int mfs_replan_file(const char *path, const struct mfs_plan_entry *plan, uint32_t nplan,
		    struct mfs_err *err)
{
	struct mfs_outfile out = {.fd = -1, .dirfd = -1};
	struct mfs_archive *ar = NULL;
	struct mfs_writer *w = NULL;
	const struct mfs_archive_info *in;
	struct mfs_src src;
	struct stat st;
	int fd, r;

	fd = mfs_open_regular(AT_FDCWD, path, 0, err);
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0) {
		r = mfs_err_set(err, -errno, "cannot stat: %s", mfs_strerror(errno));
		goto out;
	}
	r = mfs_src_init_fd(&src, fd, err);
	if (!r)
		r = mfs_archive_open(&ar, &src, err);
	if (r)
		goto out;
	in = mfs_archive_info(ar);
	for (uint32_t i = 0; i < nplan; i++)
		if (!plan[i].count || plan[i].first >= mfs_archive_nchunks(ar) ||
		    plan[i].count > mfs_archive_nchunks(ar) - plan[i].first) {
			r = mfs_err_set(err, -EINVAL, "plan run %u names chunks beyond the index", i);
			goto out;
		}
	r = mfs_outfile_open(&out, path, st.st_mode & 0777, err);
	if (!r)
		r = mfs_outfile_like(&out, &st, err);
	if (r) {
		mfs_outfile_abort(&out);
		goto out;
	}
	r = mfs_writer_new(&w, out.fd, path, &in->header, err);
	if (!r)
		r = copy_chunks(ar, &src, w, err);
	if (!r)
		r = mfs_writer_finish(w, mfs_archive_tensors(ar), mfs_archive_ntensors(ar), plan, nplan, in->footer.hash_lo,
				      in->footer.hash_hi, in->footer.chunk_target, err);
	if (!r)
		r = mfs_outfile_commit(&out, true, err);
	else
		mfs_outfile_abort(&out);
out:
	mfs_writer_free(w);
	mfs_archive_close(ar);
	close(fd);
	return r;
}
