#!/usr/bin/env python3
"""Tables of the peer comparison (issue 17), from the raw results that
wrk.sh and callgrind.sh write, and their section in docs/PERFORMANCE.md.

    python3 benches/peers/report.py table wrk benches/peers/results/wrk.tsv
    python3 benches/peers/report.py table callgrind benches/peers/results/callgrind.tsv
    python3 benches/peers/report.py write     # both into docs/PERFORMANCE.md

`write` replaces what is between `<!-- peers:begin -->` and
`<!-- peers:end -->`; without the markers it adds a section "## Peers
(issue 17)" before the document's second `## ` heading (just after its
summary). Crate versions are read from benches/peers/Cargo.lock, the machine
and the commands from the results' `# key: value` lines.
"""

import pathlib
import re
import statistics
import sys

PEERS = pathlib.Path(__file__).resolve().parent
ROOT = PEERS.parent.parent
RESULTS = PEERS / "results"
DOC = ROOT / "docs" / "PERFORMANCE.md"
BEGIN, END = "<!-- peers:begin -->", "<!-- peers:end -->"

# What each mode is, in the order of the tables (src/modes/).
MODES = {
    "bare": "axum, no layer",
    "redline-metrics": "redline's layer, traces disabled (`config.traces.enabled = false`)",
    "redline-traces100": "redline: metrics + every request traced, exported over OTLP/HTTP",
    "redline-traces10": "redline: metrics + 10% of requests traced (`ParentBasedTraceIdRatio(0.1)`), exported",
    "redline-tail": "redline: errors + slow (100 ms) + 10% of the rest traced, decided at the end of each request, exported",
    "redline-access": "redline: metrics + JSON access log line of every request (stdout, to /dev/null)",
    "axum-prometheus": "axum-prometheus `PrometheusMetricLayer::pair()` (metrics crate, Prometheus recorder)",
    "otel-tower-metrics": "opentelemetry-instrumentation-tower, `.with_tracing(false)`: metrics, OTLP/HTTP every 60 s",
    "otel-tower-spans": "opentelemetry-instrumentation-tower defaults: a span per request + metrics, OTLP/HTTP",
    "tower-http-trace": "tower-http `TraceLayer::new_for_http()` → tracing-opentelemetry, every span exported",
}

# The crates named in the report, as spelled in Cargo.lock.
CRATES = [
    "axum", "tokio", "hyper", "axum-prometheus", "metrics", "metrics-exporter-prometheus",
    "opentelemetry-instrumentation-tower", "tower-http", "tracing", "tracing-subscriber",
    "tracing-opentelemetry", "opentelemetry", "opentelemetry_sdk", "opentelemetry-otlp", "reqwest",
]


def read(path):
    """(facts from `# key: value` lines, the other `#` lines, rows as dicts)."""
    facts, notes, rows, header = {}, [], [], None
    for line in pathlib.Path(path).read_text().splitlines():
        if line.startswith("#"):
            m = re.match(r"# (command|cpu|nproc|kernel|rustc|date|wrk|valgrind|guard_cores): (.*)", line)
            if m:
                facts[m.group(1)] = m.group(2)
            else:
                notes.append(line[2:])
        elif header is None:
            header = line.split("\t")
        elif line.strip():
            rows.append(dict(zip(header, line.split("\t"))))
    return facts, notes, rows


def order(modes):
    known = [m for m in MODES if m in modes]
    return known + sorted(m for m in modes if m not in MODES)


def spread(values, fmt):
    return f"{fmt(statistics.median(values))} ({fmt(min(values))}–{fmt(max(values))})"


def wrk_table(path):
    facts, notes, rows = read(path)
    kept = [r for r in rows if r["status"] in ("kept", "marked")]
    rounds = {}
    for r in kept:
        rounds.setdefault(r["round"], {})[r["mode"]] = r
    ratio, added = {}, {}
    for runs in rounds.values():
        base = float(runs["bare"]["rps"])
        for mode, r in runs.items():
            rps = float(r["rps"])
            ratio.setdefault(mode, []).append(rps / base)
            added.setdefault(mode, []).append((1 / rps - 1 / base) * 1e6)
    bare = [float(runs["bare"]["rps"]) for runs in rounds.values()]
    marked = len({r["round"] for r in kept if r["status"] == "marked"})
    redone = len({(r["round"], r["attempt"]) for r in rows if r["status"] == "redone"})
    out = [
        "| mode | throughput/bare (median, min–max) | added µs/request (median) |",
        "|---|---|---|",
    ]
    for mode in order(ratio):
        if mode == "bare":
            out.append(f"| bare | 1 ({statistics.median(bare):,.0f} requests/s) | — |")
            continue
        out.append(
            f"| {mode} | {spread(ratio[mode], lambda x: f'{x:.3f}')} | "
            f"{statistics.median(added[mode]):+.2f} |"
        )
    guard = facts.get("guard_cores", "?")
    other = statistics.median(float(r["other_cores"]) for r in kept)
    out.append("")
    out.append(
        f"{len(rounds)} rounds; {redone} redone for other CPU activity above {guard} cores"
        + (f"; {marked} kept after the last retry and marked" if marked else "; none marked")
        + f"; other activity during the kept runs: {other:.2f} cores (median)."
    )
    if marked:
        out.append("")
        out.append(
            f"**Disturbed**: {marked} of {len(rounds)} rounds ran while other work used the"
            " machine's CPUs; their ratios measure that contention as much as the layers."
            " Run again on a quiet machine before quoting them."
        )
    return facts, notes, "\n".join(out)


def callgrind_table(path):
    facts, notes, rows = read(path)
    counts = {}
    for r in rows:
        counts.setdefault(r["mode"], {})[int(r["n"])] = int(r["instructions"])
    per = {}
    for mode, by_n in counts.items():
        (n1, i1), (n2, i2) = sorted(by_n.items())[:2]
        per[mode] = (i2 - i1) / (n2 - n1)
    out = ["| mode | instructions/request | added over bare |", "|---|---|---|"]
    for mode in order(per):
        added = "—" if mode == "bare" else f"{per[mode] - per['bare']:+,.0f}"
        out.append(f"| {mode} | {per[mode]:,.0f} | {added} |")
    return facts, notes, "\n".join(out)


def lock_versions():
    text = (PEERS / "Cargo.lock").read_text()
    versions = {}
    for name, version in re.findall(r'name = "([^"]+)"\nversion = "([^"]+)"', text):
        versions.setdefault(name, []).append(version)
    return ", ".join(
        f"{name} {' / '.join(versions[name])}" for name in CRATES if name in versions
    )


def machine(facts):
    return (
        f"{facts.get('cpu', '?')}, {facts.get('nproc', '?')} CPUs, Linux {facts.get('kernel', '?')}, "
        f"{facts.get('rustc', '?')}, measured {facts.get('date', '?')}"
    )


def section():
    cg_facts, cg_notes, cg = callgrind_table(RESULTS / "callgrind.tsv")
    wrk_facts, wrk_notes, wrk = wrk_table(RESULTS / "wrk.tsv")
    modes = "\n".join(f"| {m} | {d} |" for m, d in MODES.items())
    exports = "\n".join(f"- {n}" for n in wrk_notes)
    cg_exports = "\n".join(f"- {n}" for n in cg_notes)
    return f"""{BEGIN}
<!-- Written by `python3 benches/peers/report.py write` from benches/peers/results/; edit that, not this. -->
redline beside the crates a service would otherwise use to instrument an
axum 0.8 server: the same `GET /hello` server (`benches/peers/`, a crate of
its own with its own lock file) on a single-threaded tokio runtime, one
mode per process, each exporting mode sending to an OTLP/HTTP sink of its
own (`examples/otlp_sink.rs`, which discards bodies).

| mode | what it runs |
|---|---|
{modes}

**Crates** (`benches/peers/Cargo.lock`): redline (this repository, features
`otlp-http` only), {lock_versions()}.

### Instructions per request (callgrind)

`{cg_facts.get('command', '?')}`: the whole server process under callgrind
(every thread, the exporters' included, and the flush on SIGTERM; the
counters are zeroed once it listens, since start-up varies by millions of
instructions run to run), `peer_client` sending N sequential requests over
one keep-alive connection; per request = (I(N2) − I(N1)) / (N2 − N1).
{machine(cg_facts)}; {cg_facts.get('valgrind', 'valgrind')}.

{cg}

What the exporting modes exported in these runs:

{cg_exports}

### Throughput (wrk)

`{wrk_facts.get('command', '?')}`: every server pinned to CPU 0 (exporter
threads included), `wrk -t1 -c32` and the sinks on CPU 1; interleaved
rounds, the order rotating each round; each mode paired with bare in its
round: ratio = rps/rps_bare, added = (1/rps − 1/rps_bare)·10⁶ µs; medians
over the rounds. A round is run again while the machine's other CPU
activity (/proc/stat less the server under test, wrk and the sinks)
averages above the guard. {machine(wrk_facts)}; {wrk_facts.get('wrk', 'wrk')}.

{wrk}

What the exporting modes exported over the whole run (warm-up included):

{exports}
{END}"""


def write():
    text = DOC.read_text()
    new = section()
    if BEGIN in text and END in text:
        start, end = text.index(BEGIN), text.index(END) + len(END)
        text = text[:start] + new + text[end:]
    else:
        headings = [m.start() for m in re.finditer(r"^## ", text, re.M)]
        at = headings[1] if len(headings) > 1 else len(text)
        text = text[:at] + "## Peers (issue 17)\n\n" + new + "\n\n" + text[at:]
    DOC.write_text(text)
    print(f"wrote the peers section of {DOC.relative_to(ROOT)}")


def main(argv):
    if argv[:1] == ["table"] and len(argv) == 3 and argv[1] in ("wrk", "callgrind"):
        table = wrk_table if argv[1] == "wrk" else callgrind_table
        _, notes, text = table(argv[2])
        print(text)
        for note in notes:
            print(f"  {note}")
        return 0
    if argv == ["write"]:
        write()
        return 0
    print(__doc__.strip(), file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
