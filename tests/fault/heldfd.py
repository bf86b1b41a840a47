#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""heldfd.py - what a reader with an open file sees when the container behind
it changes: shrink (truncate it to half) or replace (rename another container
over it) or overwrite (write another container's bytes into the same inode).

    heldfd.py MODE MOUNTED_FILE CONTAINER ORIG [NEW_CONTAINER NEW_ORIG]

Opens MOUNTED_FILE, reads and checks its first 64 KiB, changes CONTAINER, then
reads the whole file through the open descriptor: every read must return
ORIG's bytes or fail with EIO. For replace, the open descriptor keeps serving
ORIG in full (the daemon holds the old file), and a new open serves NEW_ORIG.
Prints what it saw; exit 1 on a wrong byte or an unexpected error.
"""
import errno, os, shutil, sys

STEP = 65536


def fail(msg):
    print("heldfd: FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def read_all(fd, orig, name):
    ok = eio = 0
    for off in range(0, len(orig), STEP):
        try:
            b = os.pread(fd, STEP, off)
        except OSError as e:
            if e.errno != errno.EIO:
                fail(f"{name}: read at {off}: {e}")
            eio += 1
            continue
        if b != orig[off:off + len(b)] or (not b and off < len(orig)):
            fail(f"{name}: wrong bytes at {off}")
        ok += 1
    return ok, eio


def main():
    mode, mfile, cont, orig_path = sys.argv[1:5]
    orig = open(orig_path, 'rb').read()
    fd = os.open(mfile, os.O_RDONLY)
    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_RANDOM)
    if os.pread(fd, STEP, 0) != orig[:STEP]:
        fail("first read differs")
    if mode == 'shrink':
        os.truncate(cont, os.stat(cont).st_size // 2)
    elif mode in ('replace', 'overwrite'):
        new_cont, new_orig_path = sys.argv[5:7]
        if mode == 'replace':
            tmp = cont + '.new'
            shutil.copyfile(new_cont, tmp)
            os.rename(tmp, cont)
        else:
            with open(new_cont, 'rb') as s, open(cont, 'r+b') as d:
                d.write(s.read())
                d.truncate()
    else:
        fail("unknown mode " + mode)
    ok, eio = read_all(fd, orig, "held descriptor")
    if mode == 'replace' and eio:
        fail(f"held descriptor: {eio} reads failed after the container was replaced by rename")
    os.close(fd)
    line = f"{mode}: held descriptor: {ok} reads correct, {eio} EIO"
    if mode == 'replace':
        new_orig = open(new_orig_path, 'rb').read()
        for _ in range(50):  # the kernel may keep the old inode's attributes briefly
            fd = os.open(mfile, os.O_RDONLY)
            size = os.fstat(fd).st_size
            if size == len(new_orig):
                break
            os.close(fd)
            import time
            time.sleep(0.1)
        else:
            fail("a new open still sees the old file")
        ok2, eio2 = read_all(fd, new_orig, "new descriptor")
        if eio2:
            fail(f"new descriptor: {eio2} reads failed")
        os.close(fd)
        line += f"; new open: {ok2} reads of the new file correct"
    print(line)


main()
