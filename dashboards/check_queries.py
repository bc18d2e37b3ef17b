#!/usr/bin/env python3
"""Run every dashboard query against a live Prometheus and report what comes back.

Loads dashboards/*.json, substitutes the template variables ($cluster,
$namespace, $job, $instance, $__rate_interval, $__range, $__interval),
sends each target's expression to Prometheus' /api/v1/query (instant, now)
and prints the dashboard, panel title, refId and the number of series
returned. Targets with `"exemplar": true` also get their exemplar count
from /api/v1/query_exemplars (over the last --range), printed for
information (required with --require-exemplars).

The annotation queries (deploy markers) run too: they must be valid
PromQL, but may return nothing (no deploy in the last $__rate_interval).
The query variables' `label_values(selector, label)` run as
`count by (label) (selector)`: `job` and `instance` must list a value;
`cluster` and `namespace` may list none (series without those labels,
matched by the All value `.*`).

Exits 1 when any target returns no series (or an error), 0 otherwise.

    python3 dashboards/check_queries.py --prometheus http://127.0.0.1:19090 \\
        --job redline --instance '.*' --rate-interval 1m

--cluster and --namespace default to `.*` (Grafana's All for them), which
also matches series without those labels.

Python 3.11 standard library only.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
VAR = re.compile(r"\$(?:\{(\w+)(?::\w+)?\}|(\w+))")
DURATION = re.compile(r"^(\d+)(ms|s|m|h|d|w|y)$")
SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}


def seconds(text: str) -> float:
    m = DURATION.match(text)
    if not m:
        raise argparse.ArgumentTypeError(f"not a Prometheus duration: {text!r} (e.g. 30s, 1m, 1h)")
    return int(m.group(1)) * SECONDS[m.group(2)]


def duration(text: str) -> str:
    seconds(text)
    return text


def substitute(expr: str, values: dict[str, str]) -> str:
    def repl(m: re.Match) -> str:
        name = m.group(1) or m.group(2)
        if name not in values:
            raise KeyError(f"unknown template variable ${name}")
        return values[name]

    return VAR.sub(repl, expr)


def panels(dashboard: dict):
    """Every panel, including those nested in collapsed rows."""
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panel.get("panels", [])


def api(base: str, path: str, params: dict, timeout: float) -> dict:
    data = urllib.parse.urlencode(params).encode()
    req = urllib.request.Request(base.rstrip("/") + path, data=data, method="POST")
    req.add_header("content-type", "application/x-www-form-urlencoded")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            body = json.load(resp)
    except urllib.error.HTTPError as err:  # Prometheus answers 400/422 with a JSON error
        try:
            body = json.load(err)
        except ValueError:
            return {"status": "error", "error": f"HTTP {err.code}"}
    if body.get("status") != "success":
        return {"status": "error", "error": body.get("error", "unknown error")}
    return body


def count(result: dict) -> tuple[int, int]:
    """(series, series whose value is NaN) of an instant query result."""
    kind = result["data"]["resultType"]
    data = result["data"]["result"]
    if kind in ("scalar", "string"):
        return 1, int(kind == "scalar" and math.isnan(float(data[1])))
    nan = sum(1 for s in data if "value" in s and math.isnan(float(s["value"][1])))
    return len(data), nan


LABEL_VALUES = re.compile(r"^\s*label_values\((.*),\s*(\w+)\s*\)\s*$", re.S)
# Variables that must list at least one value; the others may list none.
REQUIRED_VARIABLES = ("job", "instance")


def annotation_expr(annotation: dict) -> str:
    """A Prometheus annotation's expression: in its target (Grafana 10 and
    later) or, in the older form, at the top level."""
    return (annotation.get("target") or {}).get("expr") or annotation.get("expr") or ""


def run(prometheus: str, expr: str, values: dict[str, str], now: float,
        timeout: float) -> tuple[dict, str]:
    """(Prometheus' answer, the query sent); raises KeyError for an unknown variable."""
    query = substitute(expr, values)
    return api(prometheus, "/api/v1/query", {"query": query, "time": f"{now:.3f}"}, timeout), query


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--prometheus", default="http://127.0.0.1:9090", help="Prometheus base URL")
    ap.add_argument("--cluster", default=".*",
                    help="value for $cluster (a regex; .* also matches series without the label)")
    ap.add_argument("--namespace", default=".*",
                    help="value for $namespace (a regex; .* also matches series without the label)")
    ap.add_argument("--job", default="redline", help="value for $job (a regex, as Grafana sends it)")
    ap.add_argument("--instance", default=".*", help="value for $instance (a regex)")
    ap.add_argument("--rate-interval", type=duration, default="1m", help="value for $__rate_interval")
    ap.add_argument("--range", dest="range_", type=duration, default="1h", help="value for $__range")
    ap.add_argument("--interval", type=duration, default="15s", help="value for $__interval")
    ap.add_argument("--dashboards", type=Path, default=HERE, help="directory holding the *.json dashboards")
    ap.add_argument("--require-exemplars", action="store_true",
                    help="also fail when a target with exemplars on has no exemplar")
    ap.add_argument("--timeout", type=float, default=10.0, help="seconds per request")
    args = ap.parse_args()

    range_s = seconds(args.range_)
    values = {
        "cluster": args.cluster,
        "namespace": args.namespace,
        "job": args.job,
        "instance": args.instance,
        "__rate_interval": args.rate_interval,
        "__range": args.range_,
        "__range_s": str(int(range_s)),
        "__range_ms": str(int(range_s * 1000)),
        "__interval": args.interval,
        "__interval_ms": str(int(seconds(args.interval) * 1000)),
        "datasource": "prometheus",
    }

    files = sorted(args.dashboards.glob("*.json"))
    if not files:
        print(f"no dashboards in {args.dashboards}", file=sys.stderr)
        return 1
    failures = []
    total = 0
    now = time.time()
    seen_variables = set()

    def checked(expr: str, what: str, label: str) -> tuple[dict, str] | None:
        """(Prometheus' answer, the query sent), or None after printing and
        recording why the query failed (unknown variable, Prometheus error)."""
        try:
            res, query = run(args.prometheus, expr, values, now, args.timeout)
        except KeyError as err:
            print(f"  FAIL {what}: {err}")
            failures.append(label)
            return None
        if res["status"] != "success":
            print(f"  FAIL {what}: {res['error']}")
            failures.append(label)
            return None
        return res, query

    for path in files:
        dash = json.loads(path.read_text(encoding="utf-8"))
        print(f"== {path.name}: {dash.get('title', '?')}")
        # The query variables (the same in every dashboard: run once each).
        for var in dash.get("templating", {}).get("list", []):
            if var.get("type") != "query":
                continue
            definition = var.get("query")
            if isinstance(definition, dict):
                definition = definition.get("query", "")
            m = LABEL_VALUES.match(definition or "")
            name = var.get("name", "?")
            if (name, definition) in seen_variables:
                continue
            seen_variables.add((name, definition))
            label = f"{path.name} / variable ${name}"
            if not m:
                print(f"  FAIL variable ${name}: not label_values(selector, label): {definition!r}")
                failures.append(label)
                continue
            answer = checked(f"count by ({m.group(2)}) ({m.group(1)})", f"variable ${name}", label)
            if answer is None:
                continue
            res, _ = answer
            found = sorted({s["metric"].get(m.group(2), "") for s in res["data"]["result"]} - {""})
            if found or name not in REQUIRED_VARIABLES:
                shown = ", ".join(found) if found else "none (All: .*)"
                print(f"  ok   variable ${name}: {shown}")
            else:
                print(f"  FAIL variable ${name}: no value")
                failures.append(label)
        # The annotation queries: valid, possibly empty.
        for anno in dash.get("annotations", {}).get("list", []):
            expr = annotation_expr(anno)
            if not expr:
                continue
            total += 1
            label = f"{path.name} / annotation {anno.get('name', '?')}"
            answer = checked(expr, f"annotation {anno.get('name')}", label)
            if answer is None:
                continue
            n, _ = count(answer[0])
            print(f"  ok   annotation {anno.get('name')}: {n} series (may be 0: none without a deploy)")
        for panel in panels(dash):
            for t in panel.get("targets", []):
                expr = t.get("expr")
                if not expr:
                    continue
                total += 1
                label = f"{path.name} / {panel.get('title', '?')} [{t.get('refId', '?')}]"
                answer = checked(expr, f"{panel.get('title')} [{t.get('refId')}]", label)
                if answer is None:
                    continue
                res, query = answer
                n, nan = count(res)
                note = f" ({nan} NaN)" if nan else ""
                if t.get("exemplar"):
                    ex = api(args.prometheus, "/api/v1/query_exemplars",
                             {"query": query, "start": f"{now - range_s:.3f}", "end": f"{now:.3f}"},
                             args.timeout)
                    if ex["status"] == "success":
                        exemplars = sum(len(s.get("exemplars", [])) for s in ex["data"])
                        note += f", {exemplars} exemplars"
                        if args.require_exemplars and exemplars == 0:
                            failures.append(label + " (no exemplar)")
                            note += " FAIL"
                    else:
                        note += f", exemplars: {ex['error']}"
                        if args.require_exemplars:
                            failures.append(label + " (exemplar query failed)")
                status = "ok  " if n else "FAIL"
                print(f"  {status} {panel.get('title')} [{t.get('refId')}]: {n} series{note}")
                if not n:
                    failures.append(label)
    print(f"{total} queries, {len(failures)} without data")
    for f in failures:
        print(f"  no data: {f}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
