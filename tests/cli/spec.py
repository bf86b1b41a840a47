#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A second reader of index/FORMAT.md, written from the text alone.

Usage: spec.py CONTAINER ORIGINAL [--require CODEC/TRANSFORM | plane:METHOD | digests]...

Parses the header, footer and chunk index, decodes every chunk (rANS,
planes and transforms here in Python; zstd frames and LZ4 blocks with the
python3-zstandard and python3-lz4 bindings) and compares the bytes with the
original file; where the footer's compat bit 0 is set (format 1.2), checks
every chunk's SHA-256 against the digests section. If this script and the C code disagree, one of them or the
specification is wrong. Exits non-zero on any mismatch or when nothing was
decoded with a --require'd codec/transform pair or plane method.
"""
import hashlib
import io
import struct
import sys

import lz4.block
import zstandard

MAGIC = b"\x8dMFS\r\n\x1a\n"
CODECS = {0: "store", 1: "lz4", 2: "zstd", 3: "planes"}
XFORMS = {0: "identity", 1: "bytes", 2: "fields"}

# FORMAT.md, transform 2 on quantized types: (block size, plane widths).
# A scalar field of 2 bytes appears as two planes of width 1.
QUANT = {
    2: (18, [1, 1, 16]),                    # Q4_0
    20: (18, [1, 1, 16]),                   # IQ4_NL
    3: (20, [1, 1, 1, 1, 16]),              # Q4_1
    6: (22, [1, 1, 4, 16]),                 # Q5_0
    7: (24, [1, 1, 1, 1, 4, 16]),           # Q5_1
    8: (34, [1, 1, 32]),                    # Q8_0
    10: (84, [16, 64, 1, 1, 1, 1]),         # Q2_K
    11: (110, [32, 64, 12, 1, 1]),          # Q3_K
    12: (144, [1, 1, 1, 1, 12, 128]),       # Q4_K
    13: (176, [1, 1, 1, 1, 12, 32, 128]),   # Q5_K
    14: (210, [128, 64, 16, 1, 1]),         # Q6_K
    23: (136, [1, 1, 1, 1, 4, 128]),        # IQ4_XS
}


class Corrupt(Exception):
    pass


def u(fmt, b, off):
    return struct.unpack_from("<" + fmt, b, off)[0]


def plane_sizes(xform, param, n):
    """Plane sizes of transform @xform for a chunk of @n bytes."""
    if xform == 0:
        return [n]
    if xform == 1:
        if param not in (2, 4, 8):
            raise Corrupt(f"bytes parameter {param}")
        return [n // param] * param + [n % param]
    if param == 30:  # BF16
        return [n // 2] * 2 + [n % 2]
    if param == 0:  # F32
        return [n // 4] * 4 + [n % 4]
    if param not in QUANT:
        raise Corrupt(f"fields parameter {param}")
    block, widths = QUANT[param]
    return [n // block * w for w in widths] + [n % block]


def inverse(xform, param, planes, n):
    """Rebuild the original chunk from its planes (FORMAT.md, Transforms)."""
    if xform == 0:
        return planes[0]
    out = bytearray(n)
    if xform == 1:
        e = param
        for k in range(e):
            out[k:n - n % e:e] = planes[k]
    elif param == 30:
        ex, sm = planes[0], planes[1]
        for i in range(n // 2):
            v = (sm[i] & 0x80) << 8 | ex[i] << 7 | (sm[i] & 0x7F)
            struct.pack_into("<H", out, 2 * i, v)
    elif param == 0:
        ex, sm, c, d = planes[:4]
        for i in range(n // 4):
            v = (sm[i] & 0x80) << 24 | ex[i] << 23 | (sm[i] & 0x7F) << 16 | c[i] << 8 | d[i]
            struct.pack_into("<I", out, 4 * i, v)
    else:
        block, widths = QUANT[param]
        nb, off = n // block, 0
        for w, p in zip(widths, planes):
            for b in range(nb):
                out[b * block + off:b * block + off + w] = p[b * w:(b + 1) * w]
            off += w
    tail = planes[-1]
    out[n - len(tail):] = tail
    return bytes(out)


def leb128(b, p):
    x = shift = 0
    while True:
        if p >= len(b) or shift > 28:
            raise Corrupt("bad LEB128")
        v = b[p]
        p += 1
        x |= (v & 0x7F) << shift
        shift += 7
        if not v & 0x80:
            return x, p


def rans_table(b):
    """FORMAT.md, rANS frequency table: (slot -> symbol, freq, cum, bytes used)."""
    p = 1
    if b[0] == 0:
        cnt = b[1]
        syms = list(b[2:2 + cnt])
        p = 2 + cnt
        if syms != sorted(set(syms)):
            raise Corrupt("rans symbols not increasing")
    elif b[0] == 1:
        syms = [s for s in range(256) if b[1 + s // 8] >> (s % 8) & 1]
        p = 33
    else:
        raise Corrupt("rans table mode")
    freq, cum, slot_sym, c = {}, {}, [], 0
    for s in syms:
        f = b[p]
        p += 1
        if f & 0x80:
            f = (f & 0x7F) | b[p] << 7
            p += 1
        if not 1 <= f < 4096:
            raise Corrupt("rans frequency")
        freq[s], cum[s] = f, c
        slot_sym += [s] * f
        c += f
    if c != 4096 or len(syms) < 2:
        raise Corrupt("rans table")
    return slot_sym, freq, cum, p


def rans(b, n):
    """FORMAT.md, rANS stream."""
    slot_sym, freq, cum, p = rans_table(b)
    lens = struct.unpack_from("<4I", b, p)
    p += 16
    pos, end, x = [], [], []
    for ln in lens:
        if ln < 4 or (ln - 4) % 2:
            raise Corrupt("rans stream length")
        x.append(u("I", b, p))
        pos.append(p + 4)
        end.append(p + ln)
        p += ln
    if p != len(b):
        raise Corrupt("rans trailing bytes")
    out = bytearray(n)
    for i in range(n):
        k = i & 3
        slot = x[k] & 4095
        s = slot_sym[slot]
        out[i] = s
        x[k] = freq[s] * (x[k] >> 12) + slot - cum[s]
        if x[k] < 1 << 16:
            if pos[k] + 2 > end[k]:
                raise Corrupt("rans truncated")
            x[k] = x[k] << 16 | u("H", b, pos[k])
            pos[k] += 2
    if pos != end or any(v != 1 << 16 for v in x):
        raise Corrupt("rans does not decode")
    return bytes(out)


def rans32(b, n):
    """FORMAT.md, rANS32 stream (plane method 4)."""
    slot_sym, freq, cum, p = rans_table(b)
    if len(b) - p < 128 or (len(b) - p - 128) % 2:
        raise Corrupt("rans32 stream length")
    x = list(struct.unpack_from("<32I", b, p))
    if any(v < 1 << 16 for v in x):
        raise Corrupt("rans32 initial state")
    p += 128
    out = bytearray(n)
    for i in range(n):
        k = i & 31
        slot = x[k] & 4095
        s = slot_sym[slot]
        out[i] = s
        x[k] = freq[s] * (x[k] >> 12) + slot - cum[s]
        if x[k] < 1 << 16:
            if p + 2 > len(b):
                raise Corrupt("rans32 truncated")
            x[k] = x[k] << 16 | u("H", b, p)
            p += 2
    if p != len(b) or any(v != 1 << 16 for v in x):
        raise Corrupt("rans32 does not decode")
    return bytes(out)


def zstd(b, n):
    """One or more zstd frames that must decode to exactly @n bytes."""
    try:
        r = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(b), read_across_frames=True)
        out = r.read(n + 1)
    except zstandard.ZstdError as e:
        raise Corrupt(f"zstd: {e}")
    if len(out) != n:
        raise Corrupt("zstd: wrong length")
    return out


PLANE_METHODS = {0: "raw", 1: "const", 2: "rans", 3: "zstd", 4: "rans32"}


def planes_codec(b, sizes, tally):
    """FORMAT.md, codec 3; counts the plane methods seen in @tally."""
    if b[0] != len(sizes):
        raise Corrupt("plane count")
    p, heads = 1, []
    for _ in sizes:
        m = b[p]
        ln, p = leb128(b, p + 1)
        heads.append((m, ln))
    if sum(ln for _, ln in heads) != len(b) - p:
        raise Corrupt("plane lengths")
    out = []
    for (m, ln), size in zip(heads, sizes):
        data = b[p:p + ln]
        p += ln
        key = "plane:" + PLANE_METHODS.get(m, str(m))
        tally[key] = tally.get(key, 0) + 1
        if m == 0 and ln == size:
            out.append(data)
        elif m == 1 and ln == 1 and size > 0:
            out.append(data * size)
        elif m == 2:
            out.append(rans(data, size))
        elif m == 3:
            out.append(zstd(data, size))
        elif m == 4:
            out.append(rans32(data, size))
        else:
            raise Corrupt(f"plane method {m} with {ln} bytes")
    return out


def main():
    args = sys.argv[1:]
    require = []
    while "--require" in args:
        i = args.index("--require")
        require.append(args[i + 1])
        del args[i:i + 2]
    cont, orig = (open(a, "rb").read() for a in args)

    if cont[:8] != MAGIC or u("H", cont, 8) != 1:
        raise Corrupt("header")
    size = u("Q", cont, 16)
    f = cont[-208:]
    if f[200:] != MAGIC[::-1] or u("Q", f, 0) != size or size != len(orig):
        raise Corrupt("footer")
    data_off, data_end = u("Q", f, 24), u("Q", f, 32)
    sec = [struct.unpack_from("<QQQII", f, 56 + 32 * i) for i in range(4)]
    off, length, _, esize, count = sec[3]
    if esize != 48 or length != 48 * count:
        raise Corrupt("chunk index section")

    digests = None
    if u("I", f, 40) & 1:
        t = len(cont) - 208 - 40
        doff, dlen, _, desize, dcount = struct.unpack_from("<QQQII", cont, t)
        if desize != 32 or dcount != count or dlen != 32 * count or \
                not data_end <= doff <= doff + dlen <= t:
            raise Corrupt("digests trailer")
        digests = cont[doff:doff + dlen]

    decoded, at = {}, 0
    for i in range(count):
        r = off + 48 * i
        loff, poff, llen, plen = struct.unpack_from("<QQII", cont, r)
        codec, xform, param = cont[r + 36], cont[r + 37], u("I", cont, r + 40)
        if loff != at or not data_off <= poff <= poff + plen <= data_end:
            raise Corrupt(f"chunk {i} position")
        at += llen
        stored = cont[poff:poff + plen]
        if digests is not None:
            if hashlib.sha256(stored).digest() != digests[32 * i:32 * i + 32]:
                print(f"spec.py: chunk {i}: its stored bytes do not have its SHA-256")
                return 1
            decoded["digests"] = decoded.get("digests", 0) + 1
        sizes = plane_sizes(xform, param, llen)
        if codec == 0:
            if xform != 0 or plen != llen:
                raise Corrupt(f"chunk {i}: store")
            planes = [stored]
        elif codec == 3:
            planes = planes_codec(stored, sizes, decoded)
        elif codec in (1, 2):
            n = sum(sizes)
            if codec == 2:
                enc = zstd(stored, n)
            else:
                try:
                    enc = lz4.block.decompress(stored, uncompressed_size=n)
                except lz4.block.LZ4BlockError as e:
                    raise Corrupt(f"lz4: {e}")
            planes, at2 = [], 0
            for sz in sizes:
                planes.append(enc[at2:at2 + sz])
                at2 += sz
        else:
            raise Corrupt(f"chunk {i}: codec {codec}")
        key = f"{CODECS[codec]}/{XFORMS.get(xform, xform)}"
        if [len(p) for p in planes] != sizes:
            raise Corrupt(f"chunk {i}: plane sizes")
        if inverse(xform, param, planes, llen) != orig[loff:loff + llen]:
            print(f"spec.py: chunk {i} ({key}, param {param}) decodes to other bytes")
            return 1
        decoded[key] = decoded.get(key, 0) + 1
    if at != size:
        raise Corrupt("chunks do not tile the original")
    print(f"spec.py: {args[0]}: {at} bytes decoded as specified: {decoded}")
    missing = [k for k in require if not decoded.get(k)]
    if missing:
        print(f"spec.py: no chunk decoded for {missing}")
        return 1
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (Corrupt, IndexError, struct.error) as e:
        print(f"spec.py: {sys.argv[1]}: not a valid container per FORMAT.md: {e}")
        sys.exit(1)
