/* SPDX-License-Identifier: MIT */
/*
 * model.c - format-independent model description (see model.h).
 */
#include "model.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dtype.h"
#include "gguf.h"
#include "names.h"
#include "safetensors.h"

static const char *const gguf_media[] = {
    "application/vnd.docker.ai.gguf.v3",	    /* Docker Model Runner */
    "application/vnd.docker.ai.model.file.v1+gguf", /* its newer name */
    NULL,
};
static const char *const safetensors_media[] = {"application/vnd.docker.ai.safetensors", NULL};

const struct mfs_model_kind mfs_model_kinds[] = {
    {MFS_SOURCE_GGUF, "gguf", ".gguf", gguf_media},
    {MFS_SOURCE_SAFETENSORS, "safetensors", ".safetensors", safetensors_media},
    {MFS_SOURCE_NR, NULL, NULL, NULL},
};

const char *mfs_source_name(uint32_t source)
{
	if (source == MFS_SOURCE_RAW)
		return "raw";
	for (const struct mfs_model_kind *k = mfs_model_kinds; k->name; k++)
		if (k->source == source)
			return k->name;
	return "unknown";
}

const struct mfs_model_kind *mfs_model_kind_of_name(const char *name, size_t len)
{
	for (const struct mfs_model_kind *k = mfs_model_kinds; k->name; k++) {
		size_t el = strlen(k->ext);

		if (len > el && strncasecmp(name + len - el, k->ext, el) == 0)
			return k;
	}
	return NULL;
}

const struct mfs_model_kind *mfs_model_kind_of_media(const char *media_type)
{
	for (const struct mfs_model_kind *k = mfs_model_kinds; k->name; k++)
		for (const char *const *m = k->media_types; *m; m++)
			if (strcmp(media_type, *m) == 0)
				return k;
	return NULL;
}

uint32_t mfs_model_sniff(const void *buf, size_t len, uint64_t file_size)
{
	if (len >= 4 && memcmp(buf, MFS_GGUF_MAGIC, 4) == 0)
		return MFS_SOURCE_GGUF;
	if (mfs_st_sniff(buf, len, file_size))
		return MFS_SOURCE_SAFETENSORS;
	return MFS_SOURCE_RAW;
}

/* Allocates the tensor array and a names arena of @names_len bytes. */
static int model_alloc(struct mfs_model *m, uint64_t n, uint64_t names_len)
{
	if (n > MFS_TENSOR_NONE - 1)
		return -EFBIG;
	m->tensors = calloc(n ? n : 1, sizeof(*m->tensors));
	m->names = malloc(names_len ? names_len : 1);
	if (!m->tensors || !m->names)
		return -ENOMEM;
	m->ntensors = (uint32_t)n;
	return 0;
}

static void set_name(struct mfs_model *m, struct mfs_tensor *t, char **cursor, const char *name,
		     size_t len)
{
	memcpy(*cursor, name, len);
	(*cursor)[len] = '\0';
	t->name = *cursor;
	t->name_len = (uint16_t)len;
	*cursor += len + 1;
	mfs_name_classify(t->name, len, &t->layer, &t->role);
}

static int from_gguf(struct mfs_model *m, const void *buf, size_t len, uint64_t file_size,
		     struct mfs_err *err)
{
	struct mfs_gguf g;
	uint64_t names_len = 0;
	char *cursor;
	int r;

	r = mfs_gguf_parse(&g, buf, len, file_size, err);
	if (r)
		return r;
	for (uint64_t i = 0; i < g.n_tensors; i++)
		names_len += g.tensors[i].name_len + 1;
	r = model_alloc(m, g.n_tensors, names_len);
	if (r)
		goto out;
	cursor = m->names;
	for (uint64_t i = 0; i < g.n_tensors; i++) {
		const struct mfs_gguf_tensor *gt = &g.tensors[i];
		struct mfs_tensor *t = &m->tensors[i];

		set_name(m, t, &cursor, gt->name, gt->name_len);
		t->dtype = (uint16_t)gt->type;
		t->ndim = (uint8_t)gt->ndim;
		memcpy(t->ne, gt->ne, sizeof(t->ne));
		t->offset = gt->offset;
		t->size = gt->size;
	}
	/* ggml stores tensors in offset order already (it checks the sequence). */
	m->meta_end = g.data_offset;
out:
	mfs_gguf_release(&g);
	return r;
}

static int from_safetensors(struct mfs_model *m, const void *buf, size_t len,
			    uint64_t file_size, struct mfs_err *err)
{
	struct mfs_st st;
	uint64_t names_len = 0;
	char *cursor;
	int r;

	r = mfs_st_parse(&st, buf, len, file_size, err);
	if (r)
		return r;
	for (uint64_t i = 0; i < st.n_tensors; i++)
		names_len += st.tensors[i].name_len + 1;
	r = model_alloc(m, st.n_tensors, names_len);
	if (r)
		goto out;
	cursor = m->names;
	for (uint64_t i = 0; i < st.n_tensors; i++) {
		const struct mfs_st_tensor *s = &st.tensors[i];
		struct mfs_tensor *t = &m->tensors[i];

		set_name(m, t, &cursor, s->name, s->name_len);
		t->dtype = s->dtype;
		t->ndim = (uint8_t)(s->ndim > 4 ? 4 : s->ndim);
		t->flags = s->ndim > 4 ? MFS_TENSOR_SHAPE_FOLDED : 0;
		memcpy(t->ne, s->ne, sizeof(t->ne));
		t->offset = s->offset;
		t->size = s->size;
	}
	m->meta_end = st.data_offset;
out:
	mfs_st_release(&st);
	return r;
}

int mfs_model_parse(struct mfs_model *m, const void *buf, size_t len, uint64_t file_size,
		    uint32_t source, struct mfs_err *err)
{
	int r;

	memset(m, 0, sizeof(*m));
	if (source == MFS_SOURCE_NR)
		source = mfs_model_sniff(buf, len, file_size);
	m->source = source;
	m->file_size = file_size;
	switch (source) {
	case MFS_SOURCE_GGUF:
		r = from_gguf(m, buf, len, file_size, err);
		break;
	case MFS_SOURCE_SAFETENSORS:
		r = from_safetensors(m, buf, len, file_size, err);
		break;
	case MFS_SOURCE_RAW:
		m->meta_end = 0;
		r = 0;
		break;
	default:
		r = mfs_err_set(err, -EINVAL, "unknown source format %u", source);
		break;
	}
	if (r)
		mfs_model_release(m);
	return r;
}

int mfs_model_load(struct mfs_model *m, const struct mfs_src *src, uint32_t source,
		   struct mfs_err *err)
{
	uint64_t want = src->size < (1u << 20) ? src->size : (1u << 20);
	void *buf = NULL;
	int r;

	for (;;) {
		void *p = realloc(buf, want ? want : 1);

		if (!p) {
			r = -ENOMEM;
			break;
		}
		buf = p;
		r = mfs_src_read(src, buf, want, 0, err);
		if (r)
			break;
		r = mfs_model_parse(m, buf, want, src->size, source, err);
		if (r != -ENOBUFS)
			break;
		if (want >= src->size || want >= MFS_MODEL_META_MAX) {
			r = mfs_err_set(err, -EFBIG, "metadata larger than %llu MiB is not supported",
					MFS_MODEL_META_MAX >> 20);
			break;
		}
		want = want * 4 > src->size ? src->size : want * 4;
		if (want > MFS_MODEL_META_MAX)
			want = MFS_MODEL_META_MAX;
	}
	free(buf);
	return r;
}

void mfs_model_release(struct mfs_model *m)
{
	free(m->tensors);
	free(m->names);
	m->tensors = NULL;
	m->names = NULL;
	m->ntensors = 0;
}
