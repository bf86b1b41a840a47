#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Read tensors of a mounted model in a given order, like inference does.

Usage: planread.py MOUNTED ORIGINAL CONTAINER STEP...

Each STEP is a tensor name, "layer:N" (block N's tensors in compute order,
as llama.cpp reads them), "wait" (let the daemon's prefetch finish) or
"mark" (start counting). Reads use POSIX_FADV_RANDOM so the kernel adds no
readahead of its own: what the daemon prefetches is its own doing. Every
byte read is compared with ORIGINAL. Prints the daemon's counters that moved
since the last "mark" as KEY=DELTA lines.
"""
import json
import os
import subprocess
import sys
import time

COMPUTE_ORDER = ["attn_norm", "attn_q", "attn_k", "attn_v", "attn_output",
                 "ffn_norm", "ffn_gate", "ffn_up", "ffn_down"]


def stats(mnt):
    return json.loads(os.getxattr(mnt, "user.modelfs.stats"))


def wait_idle(mnt):
    """Until nothing is being prefetched (at most 5 s)."""
    last = None
    for _ in range(100):
        s = stats(mnt)
        now = (s["chunks_decompressed"], s["prefetch_chunks"])
        if now == last and s["chunks_decompressed"] + s["checksum_failures"] \
                + s["read_errors"] >= s["cache_misses"] + s["prefetch_chunks"]:
            return
        last = now
        time.sleep(0.05)


def main():
    mounted, original, container, steps = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
    modelfs = os.environ["MODELFS"]
    info = json.loads(subprocess.check_output([modelfs, "inspect", "--json", container]))
    tensors = {t["name"]: t for t in info["tensors"]}
    mnt = os.path.dirname(mounted)
    fd = os.open(mounted, os.O_RDONLY)
    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_RANDOM)
    with open(original, "rb") as f:
        orig = f.read()
    base = stats(mnt)
    for step in steps:
        if step == "wait":
            wait_idle(mnt)
            continue
        if step == "mark":
            base = stats(mnt)
            continue
        names = ([f"blk.{step[6:]}.{p}.weight" for p in COMPUTE_ORDER]
                 if step.startswith("layer:") else [step])
        for name in names:
            t = tensors[name]
            got = os.pread(fd, t["size"], t["offset"])
            if got != orig[t["offset"]:t["offset"] + t["size"]]:
                sys.exit(f"planread: {name}: bytes differ from the original")
    os.close(fd)
    end = stats(mnt)
    for k in sorted(end):
        if isinstance(end[k], int) and end[k] != base.get(k):
            print(f"{k}={end[k] - base[k]}")


if __name__ == "__main__":
    main()
