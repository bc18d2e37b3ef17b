#!/usr/bin/env python3
"""A webhook receiver for Alertmanager on loopback (deploy/local-stack.sh).

Prints one line per alert of each notification (time, the path it was
posted to -- the receiver's route, such as /pager or /ticket --, status,
alertname, severity, job, instance, namespace and the summary annotation)
and appends each notification's JSON, as received, to a JSON Lines file.
Python 3 standard library only.

    python3 deploy/webhook-receiver.py --listen 127.0.0.1:5001 \\
        --log notifications.jsonl [--port-file port.txt]

Port 0 picks a free port; --port-file then receives the port actually
bound, once the receiver accepts connections. GET answers 200 (a readiness
probe). SIGTERM or SIGINT stops it.
"""

import argparse
import datetime
import http.server
import json
import os
import signal
import sys

# Labels shown for every alert, in this order, when present.
KEY_LABELS = ("severity", "job", "instance", "namespace")


def alert_line(now, path, alert):
    labels = alert.get("labels") or {}
    annotations = alert.get("annotations") or {}
    status = str(alert.get("status", "?")).upper()
    parts = [now, path, status, labels.get("alertname", "?")]
    parts += [f"{k}={labels[k]}" for k in KEY_LABELS if k in labels]
    summary = annotations.get("summary")
    line = " ".join(parts)
    return f"{line} -- {summary}" if summary else line


class Handler(http.server.BaseHTTPRequestHandler):
    server_version = "redline-webhook-receiver"

    def do_GET(self):
        self.reply(200, b"redline webhook receiver: POST Alertmanager notifications here\n")

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        now = datetime.datetime.now().strftime("%H:%M:%S")
        try:
            doc = json.loads(body)
        except ValueError as e:
            print(f"receiver: {now} {self.path}: not JSON ({e})", file=sys.stderr, flush=True)
            self.reply(400, b"not JSON\n")
            return
        raw = body.strip()
        if b"\n" in raw:
            raw = json.dumps(doc, separators=(",", ":")).encode()
        with open(self.server.log_path, "ab") as f:
            f.write(raw + b"\n")
        alerts = (doc.get("alerts") or []) if isinstance(doc, dict) else []
        if not alerts:
            print(f"receiver: {now} {self.path} (no alerts in this notification)", flush=True)
        for alert in alerts:
            print(f"receiver: {alert_line(now, self.path, alert)}", flush=True)
        self.reply(200, b"ok\n")

    def reply(self, code, text):
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(text)))
        self.end_headers()
        self.wfile.write(text)

    def log_message(self, format, *args):  # no access log
        pass


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--listen", required=True, help="HOST:PORT (port 0: any free port)")
    parser.add_argument("--log", required=True, help="JSON Lines file the notifications are appended to")
    parser.add_argument("--port-file", help="written with the bound port once listening")
    args = parser.parse_args()
    host, _, port = args.listen.rpartition(":")
    server = http.server.HTTPServer((host, int(port)), Handler)
    server.log_path = args.log

    def stop(signum, frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    # Started in the background by a script, SIGINT is ignored: Ctrl-C is
    # the script's to handle (it then stops this process with SIGTERM).
    if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
        signal.signal(signal.SIGINT, stop)
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(f"{server.server_address[1]}\n")
        os.replace(tmp, args.port_file)
    try:
        server.serve_forever()
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
