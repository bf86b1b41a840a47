#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""notify.py - the daemon's side of Type=notify, checked without systemd.

    notify.py MODELFS SRC MNT

Listens on a datagram socket as systemd does, runs `MODELFS mount -f SRC MNT`
with NOTIFY_SOCKET pointing at it, and requires: READY=1 arrives, and by then
the mount answers (MNT is a mount point and a file in it can be read);
after `umount MNT`, STOPPING=1 arrives and the daemon exits 0.
"""
import atexit, os, shutil, socket, subprocess, sys, tempfile, time

modelfs, src, mnt = sys.argv[1:4]
tmp = tempfile.mkdtemp()
atexit.register(shutil.rmtree, tmp, True)  # runs on sys.exit() too
path = os.path.join(tmp, 'notify')
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.bind(path)
sock.settimeout(30)
env = dict(os.environ, NOTIFY_SOCKET=path)
d = subprocess.Popen([modelfs, 'mount', '-f', src, mnt], env=env, stderr=subprocess.PIPE)


def fail(msg):
    d.kill()
    subprocess.run(['umount', '-l', mnt], stderr=subprocess.DEVNULL)
    print('notify: FAIL: ' + msg, file=sys.stderr)
    sys.exit(1)


try:
    msg = sock.recv(4096).decode()
except socket.timeout:
    fail('no READY=1 within 30 s')
lines = msg.split('\n')
if 'READY=1' not in lines:
    fail('first message is not READY=1: ' + repr(msg))
if not os.path.ismount(mnt):
    fail('READY=1 before the mount existed')
names = os.listdir(mnt)
if not names:
    fail('READY=1 but the mount lists nothing')
with open(os.path.join(mnt, sorted(names)[0]), 'rb') as f:
    f.read(4096)
status = [l for l in lines if l.startswith('STATUS=')]
subprocess.run(['umount', mnt], check=True)
try:
    msg2 = sock.recv(4096).decode()
except socket.timeout:
    fail('no STOPPING=1 after umount')
if 'STOPPING=1' not in msg2.split('\n'):
    fail('expected STOPPING=1, got ' + repr(msg2))
rc = d.wait(timeout=30)
err = d.stderr.read().decode()
if rc != 0:
    fail(f'daemon exited {rc}: {err}')
print(f"notify: READY=1 once the mount answered ({status[0] if status else 'no STATUS'}), STOPPING=1 at unmount, exit 0")
