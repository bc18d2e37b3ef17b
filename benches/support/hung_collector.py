#!/usr/bin/env python3
"""A collector that accepts TCP connections and never answers.

What an OTLP exporter meets when its collector hangs (a stuck process, a
black-holed proxy): the connection is accepted, nothing is ever read or
written, so every export request waits for its timeout. Used by
benches/soak.sh. Bounded: at most MAX_CONNS sockets are held (beyond that
the oldest is closed), it listens on loopback only, and it exits by itself
after SECONDS.

    python3 benches/support/hung_collector.py 127.0.0.1:18302 [SECONDS] [MAX_CONNS]

Prints one line per accepted connection count change to stdout, and a last
line with the totals.
"""

import collections
import signal
import socket
import sys
import time


def main() -> int:
    addr = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:18302"
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 3600.0
    max_conns = int(sys.argv[3]) if len(sys.argv) > 3 else 64
    host, port = addr.rsplit(":", 1)
    if not host.startswith("127.") and host not in ("localhost", "::1"):
        print(f"hung_collector: loopback only, not {host}", file=sys.stderr)
        return 2
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, int(port)))
    listener.listen(128)
    listener.settimeout(1.0)
    held = collections.deque()
    accepted = closed = 0
    stop = False

    def on_signal(*_):
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    deadline = time.monotonic() + seconds
    print(f"hung collector on {addr}: accepts, never answers "
          f"(at most {max_conns} sockets, {seconds:.0f} s)", flush=True)
    while not stop and time.monotonic() < deadline:
        try:
            conn, _ = listener.accept()
        except socket.timeout:
            continue
        except OSError:
            continue
        accepted += 1
        held.append(conn)
        while len(held) > max_conns:
            held.popleft().close()
            closed += 1
        print(f"{time.strftime('%H:%M:%S')} accepted={accepted} held={len(held)} "
              f"closed={closed}", flush=True)
    for conn in held:
        conn.close()
    listener.close()
    print(f"hung collector done: accepted={accepted} closed_over_limit={closed}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
