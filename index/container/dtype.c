/* SPDX-License-Identifier: MIT */
/*
 * dtype.c - the dtype table (see dtype.h). Block sizes follow ggml's
 * ggml-common.h block structs; a wrong entry here would mis-size tensors,
 * which only the real files of tests/cli/fixtures.sh (../shared/fixtures)
 * and llama.cpp in tests/e2e/ would show: no unit test pins the sizes.
 */
#include "dtype.h"

#include <string.h>
#include <strings.h>

#define T(id_, name_, elems, bytes, st)                                                            \
	[id_] = {.name = name_, .id = id_, .block_elems = elems, .block_bytes = bytes,             \
		 .in_safetensors = st}

static const struct mfs_dtype_info dtypes[MFS_DT_NR] = {
	T(MFS_DT_F32, "F32", 1, 4, true),
	T(MFS_DT_F16, "F16", 1, 2, true),
	T(MFS_DT_Q4_0, "Q4_0", 32, 18, false),
	T(MFS_DT_Q4_1, "Q4_1", 32, 20, false),
	T(MFS_DT_Q5_0, "Q5_0", 32, 22, false),
	T(MFS_DT_Q5_1, "Q5_1", 32, 24, false),
	T(MFS_DT_Q8_0, "Q8_0", 32, 34, false),
	T(MFS_DT_Q8_1, "Q8_1", 32, 36, false),
	T(MFS_DT_Q2_K, "Q2_K", 256, 84, false),
	T(MFS_DT_Q3_K, "Q3_K", 256, 110, false),
	T(MFS_DT_Q4_K, "Q4_K", 256, 144, false),
	T(MFS_DT_Q5_K, "Q5_K", 256, 176, false),
	T(MFS_DT_Q6_K, "Q6_K", 256, 210, false),
	T(MFS_DT_Q8_K, "Q8_K", 256, 292, false),
	T(MFS_DT_IQ2_XXS, "IQ2_XXS", 256, 66, false),
	T(MFS_DT_IQ2_XS, "IQ2_XS", 256, 74, false),
	T(MFS_DT_IQ3_XXS, "IQ3_XXS", 256, 98, false),
	T(MFS_DT_IQ1_S, "IQ1_S", 256, 50, false),
	T(MFS_DT_IQ4_NL, "IQ4_NL", 32, 18, false),
	T(MFS_DT_IQ3_S, "IQ3_S", 256, 110, false),
	T(MFS_DT_IQ2_S, "IQ2_S", 256, 82, false),
	T(MFS_DT_IQ4_XS, "IQ4_XS", 256, 136, false),
	T(MFS_DT_I8, "I8", 1, 1, true),
	T(MFS_DT_I16, "I16", 1, 2, true),
	T(MFS_DT_I32, "I32", 1, 4, true),
	T(MFS_DT_I64, "I64", 1, 8, true),
	T(MFS_DT_F64, "F64", 1, 8, true),
	T(MFS_DT_IQ1_M, "IQ1_M", 256, 56, false),
	T(MFS_DT_BF16, "BF16", 1, 2, true),
	T(MFS_DT_TQ1_0, "TQ1_0", 256, 54, false),
	T(MFS_DT_TQ2_0, "TQ2_0", 256, 66, false),
	T(MFS_DT_MXFP4, "MXFP4", 32, 17, false),
	T(MFS_DT_BOOL, "BOOL", 1, 1, true),
	T(MFS_DT_U8, "U8", 1, 1, true),
	T(MFS_DT_U16, "U16", 1, 2, true),
	T(MFS_DT_U32, "U32", 1, 4, true),
	T(MFS_DT_U64, "U64", 1, 8, true),
	T(MFS_DT_F8_E4M3, "F8_E4M3", 1, 1, true),
	T(MFS_DT_F8_E5M2, "F8_E5M2", 1, 1, true),
};

const struct mfs_dtype_info *mfs_dtype_get(unsigned int id)
{
	if (id >= MFS_DT_NR || !dtypes[id].name)
		return NULL;
	return &dtypes[id];
}

const struct mfs_dtype_info *mfs_dtype_from_ggml(uint32_t ggml_type)
{
	return ggml_type < MFS_DT_GGML_NR ? mfs_dtype_get(ggml_type) : NULL;
}

const struct mfs_dtype_info *mfs_dtype_from_safetensors(const char *name, size_t len)
{
	for (unsigned int i = 0; i < MFS_DT_NR; i++) {
		const struct mfs_dtype_info *d = &dtypes[i];

		if (d->name && d->in_safetensors && strlen(d->name) == len &&
		    memcmp(d->name, name, len) == 0)
			return d;
	}
	return NULL;
}

const struct mfs_dtype_info *mfs_dtype_find(const char *name)
{
	for (unsigned int i = 0; i < MFS_DT_NR; i++)
		if (dtypes[i].name && strcasecmp(dtypes[i].name, name) == 0)
			return &dtypes[i];
	return NULL;
}
