/* SPDX-License-Identifier: MIT */
/*
 * test_disk.c - on-disk record encode/decode: every record round-trips, and
 * each field-level rule (magic, versions, checksums, reserved fields, ids,
 * flags, length caps) rejects a record that breaks it.
 */
#include <criterion/criterion.h>

#include <xxhash.h>

#include "codec.h"
#include "disk.h"
#include "dtype.h"
#include "helpers.h"
#include "xform.h"

static struct mfs_header_info sample_header(void)
{
	return (struct mfs_header_info){.version_major = 1, .original_size = 123456789,
					.mtime_sec = 1700000000, .mtime_nsec = 999,
					.mode = 0644, .source = MFS_SOURCE_GGUF};
}

Test(disk, header_roundtrip)
{
	struct mfs_header_info h = sample_header(), d;
	uint8_t buf[MFS_HEADER_SIZE];

	mfs_disk_header_encode(buf, &h);
	cr_assert_eq(memcmp(buf, MFS_HEAD_MAGIC, 8), 0);
	cr_assert_eq(mfs_disk_header_decode(&d, buf, NULL), 0);
	cr_assert_eq(d.original_size, h.original_size);
	cr_assert_eq(d.mtime_sec, h.mtime_sec);
	cr_assert_eq(d.mtime_nsec, h.mtime_nsec);
	cr_assert_eq(d.mode, h.mode);
	cr_assert_eq(d.source, h.source);
}

/* Re-seal a header after editing so the checksum does not hide the rule tested. */
static void reseal_header(uint8_t *buf)
{
	put_le64(buf + 56, XXH3_64bits(buf, 56));
}

Test(disk, header_rejects)
{
	struct mfs_header_info h = sample_header(), d;
	struct mfs_err err = {{0}};
	uint8_t buf[MFS_HEADER_SIZE];

	mfs_disk_header_encode(buf, &h);
	buf[0] ^= 1;
	cr_assert_eq(mfs_disk_header_decode(&d, buf, &err), -EFSCORRUPTED);
	cr_assert(strstr(err.msg, "magic"));

	mfs_disk_header_encode(buf, &h);
	buf[20] ^= 1; /* inside original_size, checksum not updated */
	cr_assert_eq(mfs_disk_header_decode(&d, buf, &err), -EFSCORRUPTED);
	cr_assert(strstr(err.msg, "checksum"));

	mfs_disk_header_encode(buf, &h);
	put_le16(buf + 8, 2);
	reseal_header(buf);
	cr_assert_eq(mfs_disk_header_decode(&d, buf, &err), -EOPNOTSUPP);
	cr_assert(strstr(err.msg, "version 2"));

	mfs_disk_header_encode(buf, &h);
	put_le32(buf + 44, 1); /* reserved0 */
	reseal_header(buf);
	cr_assert_eq(mfs_disk_header_decode(&d, buf, &err), -EFSCORRUPTED);

	mfs_disk_header_encode(buf, &h);
	put_le32(buf + 40, MFS_SOURCE_NR); /* unknown source */
	reseal_header(buf);
	cr_assert_eq(mfs_disk_header_decode(&d, buf, &err), -EFSCORRUPTED);

	mfs_disk_header_encode(buf, &h);
	put_le32(buf + 36, 0100644); /* file type bits are not permission bits */
	reseal_header(buf);
	cr_assert_eq(mfs_disk_header_decode(&d, buf, &err), -EFSCORRUPTED);

	mfs_disk_header_encode(buf, &h);
	put_le32(buf + 12, 65);
	reseal_header(buf);
	cr_assert_eq(mfs_disk_header_decode(&d, buf, &err), -EFSCORRUPTED);
}

static struct mfs_footer_info sample_footer(void)
{
	struct mfs_footer_info f = {.original_size = 1000, .hash_lo = 1, .hash_hi = 2,
				    .data_offset = 64, .data_end = 900, .chunk_target = 262144,
				    .version_major = 1};

	for (unsigned int i = 0; i < MFS_SEC_NR; i++) {
		f.sections[i].entry_size = mfs_disk_entry_size(i);
		f.sections[i].count = i + 1;
		f.sections[i].length = (uint64_t)(i + 1) * mfs_disk_entry_size(i);
		f.sections[i].offset = 900 + 100 * i;
		f.sections[i].checksum = 77 + i;
	}
	return f;
}

static void reseal_footer(uint8_t *buf)
{
	put_le64(buf + 192, XXH3_64bits(buf, 192));
}

Test(disk, footer_roundtrip)
{
	struct mfs_footer_info f = sample_footer(), d;
	uint8_t buf[MFS_FOOTER_SIZE];

	mfs_disk_footer_encode(buf, &f);
	cr_assert_eq(memcmp(buf + MFS_FOOTER_SIZE - 8, MFS_TAIL_MAGIC, 8), 0);
	cr_assert_eq(mfs_disk_footer_decode(&d, buf, NULL), 0);
	cr_assert_eq(d.hash_hi, 2);
	cr_assert_eq(d.data_end, 900);
	for (unsigned int i = 0; i < MFS_SEC_NR; i++) {
		cr_assert_eq(d.sections[i].offset, f.sections[i].offset);
		cr_assert_eq(d.sections[i].checksum, f.sections[i].checksum);
		cr_assert_eq(d.sections[i].count, f.sections[i].count);
	}
}

Test(disk, footer_rejects)
{
	struct mfs_footer_info f = sample_footer(), d;
	struct mfs_err err = {{0}};
	uint8_t buf[MFS_FOOTER_SIZE];

	mfs_disk_footer_encode(buf, &f);
	buf[MFS_FOOTER_SIZE - 1] ^= 1;
	cr_assert_eq(mfs_disk_footer_decode(&d, buf, &err), -EFSCORRUPTED);

	mfs_disk_footer_encode(buf, &f);
	buf[3] ^= 1;
	cr_assert_eq(mfs_disk_footer_decode(&d, buf, &err), -EFSCORRUPTED);
	cr_assert(strstr(err.msg, "checksum"));

	mfs_disk_footer_encode(buf, &f);
	put_le32(buf + 44, 2); /* an incompat feature we do not know */
	reseal_footer(buf);
	cr_assert_eq(mfs_disk_footer_decode(&d, buf, &err), -EOPNOTSUPP);

	mfs_disk_footer_encode(buf, &f);
	put_le32(buf + 44, MFS_INCOMPAT_RANS32); /* one we know: rans32 planes */
	reseal_footer(buf);
	cr_assert_eq(mfs_disk_footer_decode(&d, buf, &err), 0);
	cr_assert_eq(d.incompat, MFS_INCOMPAT_RANS32);

	mfs_disk_footer_encode(buf, &f);
	put_le32(buf + 40, 0x80); /* unknown compat features are fine */
	reseal_footer(buf);
	cr_assert_eq(mfs_disk_footer_decode(&d, buf, &err), 0);

	mfs_disk_footer_encode(buf, &f);
	put_le32(buf + 56 + 3 * 32 + 28, 5); /* chunk count no longer matches length */
	reseal_footer(buf);
	cr_assert_eq(mfs_disk_footer_decode(&d, buf, &err), -EFSCORRUPTED);

	mfs_disk_footer_encode(buf, &f);
	put_le32(buf + 56 + 24, 65); /* tensor record size */
	reseal_footer(buf);
	cr_assert_eq(mfs_disk_footer_decode(&d, buf, &err), -EFSCORRUPTED);

	mfs_disk_footer_encode(buf, &f);
	put_le16(buf + 184, 7);
	reseal_footer(buf);
	cr_assert_eq(mfs_disk_footer_decode(&d, buf, &err), -EOPNOTSUPP);

	mfs_disk_footer_encode(buf, &f);
	put_le32(buf + 52, 1);
	reseal_footer(buf);
	cr_assert_eq(mfs_disk_footer_decode(&d, buf, &err), -EFSCORRUPTED);
}

static struct mfs_chunk sample_chunk(void)
{
	return (struct mfs_chunk){.loff = 1 << 20, .poff = 4096, .llen = 262144, .plen = 200000,
				  .checksum = 0x1234567890abcdefull, .tensor = 3,
				  .codec = MFS_CODEC_ZSTD, .flags = 0};
}

Test(disk, chunk_roundtrip_and_rejects)
{
	struct mfs_chunk c = sample_chunk(), d;
	uint8_t buf[MFS_CHUNK_REC_SIZE];
	struct mfs_err err = {{0}};

	mfs_disk_chunk_encode(buf, &c);
	cr_assert_eq(mfs_disk_chunk_decode(&d, buf, &err), 0, "%s", err.msg);
	/* Field by field: memcmp would compare the structs' padding too. */
	cr_assert(c.loff == d.loff && c.poff == d.poff && c.llen == d.llen && c.plen == d.plen &&
		  c.checksum == d.checksum && c.tensor == d.tensor && c.codec == d.codec &&
		  c.xform == d.xform && c.flags == d.flags && c.xparam == d.xparam);

#define REJECT(field, value)                                                                       \
	do {                                                                                       \
		struct mfs_chunk x = sample_chunk();                                               \
		x.field = value;                                                                   \
		mfs_disk_chunk_encode(buf, &x);                                                    \
		cr_assert_eq(mfs_disk_chunk_decode(&d, buf, &err), -EFSCORRUPTED,                  \
			     #field " = " #value " accepted");                                     \
	} while (0)
	REJECT(llen, 0);
	REJECT(llen, MFS_CHUNK_MAX + 1);
	REJECT(plen, 0);
	REJECT(plen, 262144 * 2); /* more than zstd's bound */
	REJECT(codec, MFS_CODEC_NR);
	REJECT(xform, MFS_XFORM_NR);
	REJECT(xparam, 1);
	REJECT(flags, 0x8000);
#undef REJECT
	{
		struct mfs_chunk x = sample_chunk();

		x.codec = MFS_CODEC_STORE;
		x.plen = x.llen + 1; /* store cannot expand */
		mfs_disk_chunk_encode(buf, &x);
		cr_assert_eq(mfs_disk_chunk_decode(&d, buf, &err), -EFSCORRUPTED);
	}
	mfs_disk_chunk_encode(buf, &c);
	put_le32(buf + 44, 1); /* reserved */
	cr_assert_eq(mfs_disk_chunk_decode(&d, buf, &err), -EFSCORRUPTED);
}

Test(disk, tensor_roundtrip_and_rejects)
{
	struct mfs_tensor t = {.name = "blk.0.attn_q.weight", .name_len = 19,
			       .dtype = MFS_DT_BF16, .layer = 0, .ndim = 2, .role = 3,
			       .ne = {64, 32, 1, 1}, .offset = 4096, .size = 4096};
	struct mfs_tensor d;
	uint8_t buf[MFS_TENSOR_REC_SIZE];
	uint32_t name_off;

	mfs_disk_tensor_encode(buf, &t, 77);
	cr_assert_eq(mfs_disk_tensor_decode(&d, &name_off, buf, NULL), 0);
	cr_assert_eq(name_off, 77);
	cr_assert_eq(d.ne[1], 32);
	cr_assert_eq(d.dtype, MFS_DT_BF16);
	cr_assert_eq(d.name_len, 19);

	t.ndim = 5;
	mfs_disk_tensor_encode(buf, &t, 0);
	cr_assert_eq(mfs_disk_tensor_decode(&d, &name_off, buf, NULL), -EFSCORRUPTED);
	t.ndim = 1; /* ne[1] = 32 in an unused dim */
	mfs_disk_tensor_encode(buf, &t, 0);
	cr_assert_eq(mfs_disk_tensor_decode(&d, &name_off, buf, NULL), -EFSCORRUPTED);
	t.ndim = 2;
	t.dtype = 4; /* removed ggml type Q4_2 */
	mfs_disk_tensor_encode(buf, &t, 0);
	cr_assert_eq(mfs_disk_tensor_decode(&d, &name_off, buf, NULL), -EFSCORRUPTED);
	t.dtype = MFS_DT_BF16;
	t.flags = 0x10;
	mfs_disk_tensor_encode(buf, &t, 0);
	cr_assert_eq(mfs_disk_tensor_decode(&d, &name_off, buf, NULL), -EFSCORRUPTED);
}

Test(disk, plan_roundtrip_and_rejects)
{
	struct mfs_plan_entry p = {.first = 5, .count = 7, .flags = MFS_PLAN_CYCLE}, d;
	uint8_t buf[MFS_PLAN_REC_SIZE];

	mfs_disk_plan_encode(buf, &p);
	cr_assert_eq(mfs_disk_plan_decode(&d, buf, NULL), 0);
	cr_assert_eq(d.first, 5);
	cr_assert_eq(d.count, 7);
	cr_assert_eq(d.flags, MFS_PLAN_CYCLE);
	p.flags = MFS_PLAN_SPARSE;
	mfs_disk_plan_encode(buf, &p);
	cr_assert_eq(mfs_disk_plan_decode(&d, buf, NULL), 0);
	cr_assert_eq(d.flags, MFS_PLAN_SPARSE);
	p.flags = 4;
	mfs_disk_plan_encode(buf, &p);
	cr_assert_eq(mfs_disk_plan_decode(&d, buf, NULL), -EFSCORRUPTED);
	p.flags = 0;
	p.count = 0;
	mfs_disk_plan_encode(buf, &p);
	cr_assert_eq(mfs_disk_plan_decode(&d, buf, NULL), -EFSCORRUPTED);
}
