#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A TCP proxy that delays every byte by a fixed time each way, for
tests/bench/remote.sh where the kernel has no netem: with the rate shaped by
tbf, the link then has both a bandwidth and a round trip.

    delayproxy.py LISTEN_HOST LISTEN_PORT TARGET_HOST TARGET_PORT DELAY_MS
"""
import asyncio
import sys

lhost, lport, thost, tport, delay = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), \
    float(sys.argv[5]) / 1000


async def pump(reader, writer):
    loop = asyncio.get_running_loop()
    q = asyncio.Queue()

    async def send():
        while True:
            due, data = await q.get()
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            if data is None:
                writer.close()
                return
            writer.write(data)
            await writer.drain()

    sender = asyncio.create_task(send())
    try:
        while True:
            data = await reader.read(65536)
            await q.put((loop.time() + delay, data or None))
            if not data:
                break
        await sender
    except (ConnectionError, asyncio.CancelledError):
        sender.cancel()
        writer.close()


async def handle(creader, cwriter):
    try:
        sreader, swriter = await asyncio.open_connection(thost, tport)
    except OSError:
        cwriter.close()
        return
    await asyncio.gather(pump(creader, swriter), pump(sreader, cwriter), return_exceptions=True)


async def main():
    server = await asyncio.start_server(handle, lhost, lport)
    async with server:
        await server.serve_forever()


asyncio.run(main())
