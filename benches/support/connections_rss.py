#!/usr/bin/env python3
"""Opens many keep-alive connections to a server, closes them, and reports
the server's RSS at each step (benches/connections_rss.sh runs it).

    python3 benches/support/connections_rss.py PID 127.0.0.1:18350 \
        [CONNECTIONS] [ROUNDS] [IDLE_SECONDS] [TRIM] [SERVER_STDERR]

Each round opens CONNECTIONS connections at once (in steps of 200, so the
listen backlog never overflows), sends one `GET /hello` on each and reads
the answer, holds them all, then closes them all. After the rounds it waits
IDLE_SECONDS, opens and closes one more connection (the server's accept
loop lets go of finished connection tasks when it accepts the next one),
then (TRIM=1) has glibc's `malloc_trim(0)` called in the
server (SIGUSR2 to benches/support/malloc_probe.c, preloaded) and reads RSS
again: what the trim gives back was free memory the allocator kept, not
memory in use. With SERVER_STDERR (where the probe writes), each step also
has glibc's own totals (SIGUSR1: malloc_stats()): bytes taken from the
system and bytes in use. Loopback only; every step bounded by a
timeout. Prints one CSV line a step.
"""

import asyncio
import os
import signal
import sys
import time


def status(pid):
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            fields[key] = value.split()[0] if value.split() else ""
    fds = len(os.listdir(f"/proc/{pid}/fd"))
    return int(fields["VmRSS"]), int(fields["RssAnon"]), fds, int(fields["Threads"])


STATS = None  # the server's stderr, where malloc_probe prints malloc_stats()


def heap(pid):
    """glibc's totals (bytes from the system, bytes in use), in KB, asked of
    the preloaded malloc_probe with SIGUSR1; empty without it."""
    if not STATS:
        return ",,"
    before = os.path.getsize(STATS)
    os.kill(pid, signal.SIGUSR1)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        time.sleep(0.2)
        with open(STATS) as f:
            f.seek(before)
            text = f.read()
        if "max mmap bytes" in text:
            total = text[text.index("Total (incl. mmap):"):].split("\n")
            system = int(total[1].split("=")[1])
            in_use = int(total[2].split("=")[1])
            arenas = text.count("Arena ")
            return f"{system // 1024},{in_use // 1024},{arenas}"
    return ",,"


def report(pid, step):
    rss, anon, fds, threads = status(pid)
    print(f"{step},{rss},{anon},{fds},{threads},{heap(pid)}", flush=True)
    return rss


async def one(host, port):
    reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 10)
    writer.write(b"GET /hello HTTP/1.1\r\nHost: soak\r\nConnection: keep-alive\r\n\r\n")
    await writer.drain()
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    if length:
        await asyncio.wait_for(reader.readexactly(length), 10)
    if not head.startswith(b"HTTP/1.1 200"):
        raise RuntimeError(head.split(b"\r\n")[0].decode())
    return writer


async def round_(host, port, n):
    writers = []
    for start in range(0, n, 200):
        batch = await asyncio.gather(
            *(one(host, port) for _ in range(start, min(n, start + 200))),
            return_exceptions=True,
        )
        failed = [b for b in batch if isinstance(b, BaseException)]
        if failed:
            for w in writers + [b for b in batch if not isinstance(b, BaseException)]:
                w.close()
            raise RuntimeError(f"{len(failed)} connections failed: {failed[0]!r}")
        writers.extend(batch)
    return writers


async def close_all(writers):
    for w in writers:
        w.close()
    await asyncio.gather(*(w.wait_closed() for w in writers), return_exceptions=True)


def main():
    pid = int(sys.argv[1])
    host, port = sys.argv[2].rsplit(":", 1)
    if not host.startswith("127."):
        sys.exit("connections_rss: loopback only")
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 2000
    rounds = int(sys.argv[4]) if len(sys.argv) > 4 else 3
    idle = float(sys.argv[5]) if len(sys.argv) > 5 else 30
    trim = len(sys.argv) > 6 and sys.argv[6] == "1"
    global STATS
    STATS = sys.argv[7] if len(sys.argv) > 7 else None
    loop = asyncio.new_event_loop()
    print("step,rss_kb,rss_anon_kb,fds,threads,malloc_system_kb,malloc_in_use_kb,arenas", flush=True)
    report(pid, "start")
    for r in range(1, rounds + 1):
        writers = loop.run_until_complete(asyncio.wait_for(round_(host, int(port), n), 120))
        time.sleep(1)
        report(pid, f"round{r}_open_{len(writers)}")
        loop.run_until_complete(asyncio.wait_for(close_all(writers), 60))
        time.sleep(2)
        report(pid, f"round{r}_closed")
    time.sleep(idle)
    report(pid, f"idle_{idle:.0f}s")
    # One more connection: the server's accept loop reaps the tasks of
    # finished connections when it accepts the next one.
    writer = loop.run_until_complete(asyncio.wait_for(one(host, int(port)), 20))
    loop.run_until_complete(close_all([writer]))
    time.sleep(1)
    report(pid, "after_one_more_connection")
    if trim:
        # benches/support/malloc_probe.c, preloaded: SIGUSR2 trims.
        os.kill(pid, signal.SIGUSR2)
        time.sleep(2)
        report(pid, "after_malloc_trim")

if __name__ == "__main__":
    main()
