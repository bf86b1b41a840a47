/* SPDX-License-Identifier: MIT */
/*
 * layout.c - chunk planning (see layout.h).
 */
#include "layout.h"

#include <stdlib.h>
#include <string.h>

#include "dtype.h"
#include "names.h"

/* A piece is at most 1.5 split units over the target, plus target/16 of padding. */
_Static_assert((uint64_t)MFS_CHUNK_TARGET_MAX * 5 / 2 + MFS_CHUNK_TARGET_MAX / 16 <= MFS_CHUNK_MAX,
	       "the layout can cut chunks a reader refuses");

struct vec {
	struct mfs_layout_chunk *v;
	uint64_t n, cap;
};

static int push(struct vec *v, uint64_t off, uint64_t len, uint32_t tensor, uint16_t flags)
{
	if (len == 0)
		return 0;
	if (v->n == v->cap) {
		uint64_t ncap = v->cap ? v->cap * 2 : 256;
		void *p;

		if (ncap > MFS_TENSOR_NONE)
			return -EFBIG;
		p = realloc(v->v, ncap * sizeof(*v->v));
		if (!p)
			return -ENOMEM;
		v->v = p;
		v->cap = ncap;
	}
	v->v[v->n++] = (struct mfs_layout_chunk){
		.offset = off, .length = (uint32_t)len, .tensor = tensor, .flags = flags};
	return 0;
}

/* [off, off+len) in pieces of at most @target bytes, evenly sized. */
static int push_fixed(struct vec *v, uint64_t off, uint64_t len, uint32_t target,
		      uint32_t tensor, uint16_t flags)
{
	uint64_t n = (len + target - 1) / target, piece;
	int r;

	if (len == 0)
		return 0;
	piece = (len + n - 1) / n;
	while (len > 0) {
		uint64_t l = len < piece ? len : piece;

		r = push(v, off, l, tensor, flags);
		if (r)
			return r;
		off += l;
		len -= l;
	}
	return 0;
}

/* Bytes per split unit: a row if it fits the target, else one block. */
static uint64_t split_unit(const struct mfs_tensor *t, uint32_t target)
{
	const struct mfs_dtype_info *dt = mfs_dtype_get(t->dtype);
	uint64_t row;

	if (!dt)
		return 1;
	row = t->ne[0] / dt->block_elems * dt->block_bytes;
	if (row > 0 && row <= target)
		return row;
	return dt->block_bytes;
}

/*
 * Edge cuts: the page that holds the first bytes of a tensor also holds the
 * last bytes of the one before (tensors are 32-byte aligned, pages are 4 KiB),
 * and the kernel reads whole pages. A reader that starts on a tensor - in
 * inference order, not file order - would make the daemon decode the
 * neighbour's whole last chunk for a few bytes of one page. So a tensor whose
 * ends are not page aligned gets a small first chunk up to the first block
 * boundary past its first page boundary, and a small last chunk from the last
 * block boundary before its last page boundary: serving a straddling page
 * then decodes two small chunks. Blocks keep the transforms aligned.
 */
static void edge_cuts(const struct mfs_tensor *t, uint64_t end, uint64_t *head, uint64_t *tail)
{
	const struct mfs_dtype_info *dt = mfs_dtype_get(t->dtype);
	uint64_t block = dt ? dt->block_bytes : 1, o = t->offset, p;

	*head = o;
	*tail = end;
	if (t->size < 4 * MFS_LAYOUT_PAGE)
		return; /* small enough to decode whole */
	if (o % MFS_LAYOUT_PAGE) {
		p = (o / MFS_LAYOUT_PAGE + 1) * MFS_LAYOUT_PAGE;
		*head = o + (p - o + block - 1) / block * block;
	}
	if (end % MFS_LAYOUT_PAGE) {
		p = end / MFS_LAYOUT_PAGE * MFS_LAYOUT_PAGE;
		*tail = p > o ? o + (p - o) / block * block : o;
	}
	if (*head >= *tail || *tail - *head < 2 * MFS_LAYOUT_PAGE) {
		*head = o; /* nothing much in between: no edges */
		*tail = end;
	}
}

/* Tensor data [t->offset, +size) plus @pad bytes of padding glued to the end. */
static int push_tensor(struct vec *v, const struct mfs_tensor *t, uint32_t idx, uint32_t target,
		       uint64_t pad)
{
	uint32_t tgt = target;
	uint64_t unit, nunits, upc, nchunks, off = t->offset, left = t->size;
	uint64_t head, tail, end = t->offset + t->size + pad;
	int r;

	if (t->role == MFS_ROLE_EMBED)
		tgt = target / MFS_EMBED_DIVISOR;
	unit = split_unit(t, tgt);
	nunits = t->size / unit;
	if (nunits <= 1)
		return push(v, off, t->size + pad, idx, 0);
	upc = (tgt + unit / 2) / unit;
	if (upc == 0)
		upc = 1;
	nchunks = (nunits + upc - 1) / upc;
	upc = (nunits + nchunks - 1) / nchunks;
	edge_cuts(t, end, &head, &tail);
	while (left > 0) {
		uint64_t l = upc * unit, stop;

		/* The last piece takes what is left: whole units plus any partial unit. */
		if (l >= left || left - l < unit)
			l = left;
		stop = off + l + (l == left ? pad : 0);
		/* The edge cuts go inside the first and last pieces. */
		if (off < head && head < stop) {
			r = push(v, off, head - off, idx, 0);
			if (r)
				return r;
			r = push(v, head, (tail < stop ? tail : stop) - head, idx, 0);
			if (!r && tail < stop)
				r = push(v, tail, stop - tail, idx, 0);
		} else if (off < tail && tail < stop) {
			r = push(v, off, tail - off, idx, 0);
			if (!r)
				r = push(v, tail, stop - tail, idx, 0);
		} else {
			r = push(v, off, stop - off, idx, 0);
		}
		if (r)
			return r;
		off += l;
		left -= l;
	}
	return 0;
}

int mfs_layout_cut(const struct mfs_model *m, uint32_t target, struct mfs_layout_chunk **out,
		   uint32_t *n, struct mfs_err *err)
{
	struct vec v = {0};
	uint64_t pos;
	int r;

	*out = NULL;
	*n = 0;
	if (target < MFS_CHUNK_TARGET_MIN || target > MFS_CHUNK_TARGET_MAX)
		return mfs_err_set(err, -EINVAL, "chunk size %u outside %u..%u", target,
				   MFS_CHUNK_TARGET_MIN, MFS_CHUNK_TARGET_MAX);
	if (m->meta_end > m->file_size)
		return mfs_err_set(err, -EINVAL, "metadata region beyond end of file");

	r = push_fixed(&v, 0, m->meta_end, target, MFS_TENSOR_NONE, MFS_CHUNK_META);
	pos = m->meta_end;
	for (uint32_t i = 0; !r && i < m->ntensors; i++) {
		const struct mfs_tensor *t = &m->tensors[i];
		uint64_t data_end, next, tail;

		if (t->offset < pos || t->size > m->file_size - t->offset) {
			r = mfs_err_set(err, -EINVAL, "tensor '%s' overlaps its neighbour or the "
					"end of the file", t->name);
			break;
		}
		/* Bytes between the previous tensor and this one (none in valid files). */
		r = push_fixed(&v, pos, t->offset - pos, target, MFS_TENSOR_NONE, 0);
		if (r)
			break;
		data_end = t->offset + t->size;
		next = i + 1 < m->ntensors ? m->tensors[i + 1].offset : m->file_size;
		if (next < data_end) {
			r = mfs_err_set(err, -EINVAL, "tensor '%s' overlaps the next tensor",
					t->name);
			break;
		}
		tail = next - data_end;
		if (tail <= target / 16 && t->size > 0) {
			r = push_tensor(&v, t, i, target, tail);
		} else {
			r = push_tensor(&v, t, i, target, 0);
			if (!r)
				r = push_fixed(&v, data_end, tail, target, MFS_TENSOR_NONE, 0);
		}
		pos = next;
	}
	if (!r && pos < m->file_size)
		r = push_fixed(&v, pos, m->file_size - pos, target, MFS_TENSOR_NONE, 0);
	if (r) {
		free(v.v);
		if (r == -EFBIG)
			return mfs_err_set(err, r, "too many chunks; use a larger --chunk-size");
		return r;
	}
	*out = v.v;
	*n = (uint32_t)v.n;
	return 0;
}
