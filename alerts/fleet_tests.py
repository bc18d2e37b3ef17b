#!/usr/bin/env python3
"""Generate alerts/redline.fleet.test.yml: promtool cases for fleets.

A fleet of 20 replicas has 20 copies of every series, so the cases are
written here as scenarios and expanded into promtool's input format. The
expectations are plain data below, one per scenario. Run

    python3 alerts/fleet_tests.py          # rewrite redline.fleet.test.yml
    python3 alerts/fleet_tests.py --check  # exit 1 if the committed file differs
    promtool test rules alerts/redline.fleet.test.yml

Python 3.11 standard library only.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "redline.fleet.test.yml"
RUNBOOK = "https://github.com/redline-rs/redline/blob/main/docs/RUNBOOK.md"
DUR = "http_server_request_duration_seconds"
REPLICAS = 20
# Requests per minute per replica (10 req/s).
RPM = 600


def labels(**kv) -> str:
    return "{" + ",".join(f'{k}="{v}"' for k, v in kv.items()) + "}"


def replica(i: int) -> str:
    return f"10.0.0.{i + 1}:9464"


def http(where: dict, ok_per_min: int, failed_per_min: int, fast_share: float, minutes: int):
    """The series of one replica's HTTP traffic: requests answering 200 and
    failing with 500, and how many of all finished within 500 ms."""
    ok = labels(**where, http_request_method="GET", http_route="/orders/{id}",
                http_response_status_code="200", url_scheme="http")
    bad = labels(**where, http_request_method="GET", http_route="/orders/{id}",
                 http_response_status_code="500", url_scheme="http", error_type="500")
    yield f"{DUR}_count{ok}", f"0+{ok_per_min}x{minutes}"
    yield f"{DUR}_count{bad}", f"0+{failed_per_min}x{minutes}"
    fast_ok = round(ok_per_min * fast_share)
    fast_bad = round(failed_per_min * fast_share)
    for le, ok_n, bad_n in (("0.5", fast_ok, fast_bad), ("+Inf", ok_per_min, failed_per_min)):
        yield f"{DUR}_bucket{ok[:-1]},le=\"{le}\"}}", f"0+{ok_n}x{minutes}"
        yield f"{DUR}_bucket{bad[:-1]},le=\"{le}\"}}", f"0+{bad_n}x{minutes}"


def target(where: dict, minutes: int, down_from: int | None = None):
    """up and redline_ready of one replica, and its process metrics; down
    (failing scrapes: up 0, the rest stale) from minute `down_from`."""
    if down_from is None:
        yield f"up{labels(**where)}", f"1x{minutes}"
        yield f"redline_ready{labels(**where)}", f"1x{minutes}"
        yield f"process_start_time_seconds{labels(**where)}", f"-86400x{minutes}"
        yield f"process_resident_memory_bytes{labels(**where)}", f"200000000x{minutes}"
        yield f"redline_system_memory_limit_bytes{labels(**where)}", f"1000000000x{minutes}"
        yield f"process_cpu_seconds_total{labels(**where)}", f"0+12x{minutes}"
        yield f"redline_system_cpu_limit_cores{labels(**where)}", f"1x{minutes}"
        return
    yield f"up{labels(**where)}", f"1x{down_from - 1} 0x{minutes - down_from + 1}"
    yield f"redline_ready{labels(**where)}", f"1x{down_from - 1} stale"
    yield f"process_start_time_seconds{labels(**where)}", f"-86400x{down_from - 1} stale"


def fleet(job: str, minutes: int, namespace: str | None = None, down=(), down_from=3,
          failing=(), slow=(), failed_share: float = 0.0005, n: int = REPLICAS):
    """A service of `n` replicas; those in `down` stop answering scrapes,
    those in `failing` fail every request, those in `slow` answer every
    request slower than 500 ms. The rest fail `failed_share` of requests."""
    series = []
    for i in range(n):
        where = {"job": job, "instance": replica(i)}
        if namespace:
            where = {"namespace": namespace, **where}
        if i in down:
            series += target(where, minutes, down_from)
            continue
        series += target(where, minutes)
        if i in failing:
            series += http(where, 0, RPM, 0.98, minutes)
        else:
            # Whole requests per minute: the healthy error rate (0.3 a
            # minute per replica) as one failure a minute on every third.
            failed_per_min = 1 if failed_share and i % max(1, round(1 / (failed_share * RPM))) == 0 else 0
            series += http(where, RPM - failed_per_min, failed_per_min,
                           0.0 if i in slow else 0.998, minutes)
    return series




SCENARIOS = [
    {
        "title": "1 of 20 replicas down: a warning naming it, no page",
        "series": fleet("checkout", 20, down={6}),
        "checks": [
            (9, "RedlineTargetDown", [{"job": "checkout", "instance": replica(6), "severity": "warning",
                                    "description": f"{replica(6)} of job checkout has failed every scrape for 5 minutes (up = 0): the process is down, hung, or its admin listener is unreachable."}]),
            (15, "RedlineReplicasUnavailable", []),
            (15, "RedlineTargetMissing", []),
        ],
    },
    {
        "title": "all 20 replicas down: a page for the service",
        "series": fleet("checkout", 15, down=set(range(REPLICAS))),
        "checks": [
            (10, "RedlineReplicasUnavailable", [{"job": "checkout", "severity": "critical",
                                                "description": "100% of the replicas of job checkout are down or not ready: the rest cannot carry its traffic for long, or nothing serves it at all."}]),
        ],
    },
    {
        "title": "1 of 20 replicas failing every request: an alert naming it",
        "series": fleet("checkout", 20, failing={11}),
        "checks": [
            (12, "RedlineInstanceErrorsOutlier", [{"job": "checkout", "instance": replica(11), "severity": "warning",
                                                  "description": f"{replica(11)} of job checkout failed 100% of its requests over the last 5 minutes, more than 3 times the ratio of the service's other replicas: look at this replica first."}]),
        ],
    },
    {
        "title": "1 of 20 replicas answering every request slowly: an alert naming it",
        "series": fleet("checkout", 20, slow={3}),
        "checks": [
            (12, "RedlineInstanceLatencyOutlier", [{"job": "checkout", "instance": replica(3), "severity": "warning",
                                                   "description": f"100% of the requests to {replica(3)} of job checkout took longer than the service's latency threshold (500ms unless it announces its own) over the last 5 minutes, more than 3 times the share of the service's other replicas: look at this replica first."}]),
            (12, "RedlineInstanceErrorsOutlier", []),
        ],
    },
    {
        "title": "staging failing beside a healthy prod of the same job: alerts carry namespace=staging",
        "series": fleet("checkout", 20, namespace="prod", n=5)
        + fleet("checkout", 20, namespace="staging", n=3, failing={0, 1}),
        "checks": [
            (12, "RedlineHighErrorRate", [
                {"namespace": "staging", "job": "checkout", "severity": "critical",
                 "description": "66.67% of the requests to job checkout in namespace staging failed (5xx, handler error, panic) over the last 5 minutes."},
                {"namespace": "staging", "job": "checkout", "severity": "warning",
                 "description": "66.67% of the requests to job checkout in namespace staging failed (5xx, handler error, panic) over the last 5 minutes."},
            ]),
            (12, "RedlineErrorBudgetBurn", [
                {"namespace": "staging", "job": "checkout", "severity": "critical", "long": "1h", "short": "5m",
                 "description": "Job checkout in namespace staging failed 66.67% of its requests over the last 1h, more than 14.4 times the error budget (2% of a 30-day budget per hour), and is still failing over the last 5m."},
            ]),
        ],
    },
    {
        "title": "a quiet fleet (0.1 req/s in all over 4 replicas) failing everything for two hours: a page",
        "series": [s for i in range(4) for s in (
            (f"up{labels(job='ledger', instance=replica(i))}", "1x130"),
            (f"redline_ready{labels(job='ledger', instance=replica(i))}", "1x130"),
            (f"{DUR}_count{labels(job='ledger', instance=replica(i), http_route='/post', http_response_status_code='500', error_type='500')}",
             "0+1.5x130"),
        )],
        "checks": [
            (120, "RedlineQuietServiceFailing", [{"job": "ledger", "severity": "critical",
                                                 "description": "100% of the requests to job ledger failed over the last hour, at a traffic below the low-traffic guard of the ratio alerts."}]),
            (120, "RedlineHighErrorRate", []),
        ],
    },
]


def healthy_fleet(alertnames: list[str]) -> dict:
    return {
        "title": "a healthy fleet of 20 for four hours (0.05% failing): no warning, no page",
        "series": fleet("checkout", 240),
        "checks": [(240, name, []) for name in alertnames if name != "RedlineWatchdog"],
    }


def quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def render(alertnames: list[str], summaries: dict) -> str:
    out = [
        "# GENERATED by alerts/fleet_tests.py: do not edit; change the scenarios",
        "# there and run `python3 alerts/fleet_tests.py`.",
        "# promtool cases for fleets: replicas of one job (20 by default), two",
        "# namespaces, quiet services, and a job that is not called `redline`.",
        "# Labels are checked here; descriptions by redline.rules.test.yml.",
        "rule_files:",
        "  - redline.rules.yml",
        "evaluation_interval: 1m",
        "tests:",
    ]
    for sc in SCENARIOS + [healthy_fleet(alertnames)]:
        out.append("")
        out.append(f"  # {sc['title']}")
        out.append("  - interval: 1m")
        out.append("    input_series:")
        for name, values in sc["series"]:
            out.append(f"      - series: '{name}'")
            out.append(f"        values: '{values}'")
        out.append("    alert_rule_test:")
        for minute, alertname, alerts in sc["checks"]:
            out.append(f"      - eval_time: {minute}m")
            out.append(f"        alertname: {alertname}")
            if not alerts:
                out.append("        exp_alerts: []")
                continue
            out.append("        exp_alerts:")
            for a in alerts:
                a = dict(a)
                text = a.pop("description")
                out.append("          - exp_labels:")
                for k, v in sorted(a.items()):
                    out.append(f"              {k}: {quote(v)}")
                out.append("            exp_annotations:")
                out.append(f"              summary: {quote(summaries[(alertname, a['severity'])])}")
                out.append(f"              description: {quote(text)}")
                out.append(f"              runbook_url: '{RUNBOOK}#{alertname.lower()}'")
    return "\n".join(out) + "\n"


def read_rules() -> tuple[list[str], dict]:
    """The alert names of redline.rules.yml, and the static summary of each
    (alert, severity): the expectations here state labels and descriptions."""
    rules = (HERE / "redline.rules.yml").read_text(encoding="utf-8")
    summaries = {}
    for block in re.split(r"^\s*- (?=alert: )", rules, flags=re.M)[1:]:
        name = re.match(r"alert: (\w+)", block)[1]
        severity = re.search(r"^\s*severity: (\w+)$", block, re.M)[1]
        summary = re.search(r'^\s*summary: "(.*)"$', block, re.M)[1]
        summaries[(name, severity)] = summary.replace('\\"', '"')
    return sorted({name for name, _ in summaries}), summaries


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="compare instead of writing; exit 1 if the file differs")
    args = parser.parse_args()
    text = render(*read_rules())
    if args.check:
        if not OUT.exists() or OUT.read_text(encoding="utf-8") != text:
            print(f"{OUT} differs from alerts/fleet_tests.py's output: run it", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
