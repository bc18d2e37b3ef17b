#!/usr/bin/env python3
"""Generate redline's Prometheus rules (alerts/redline.rules.yml).

The YAML file is committed; this script is its source. Edit it, then run

    python3 alerts/generate.py          # rewrite alerts/redline.rules.yml
    python3 alerts/generate.py --check  # exit 1 if the committed file differs

The rules serve any service and any fleet unedited: they select every job
that exports redline's metrics (no job name), aggregate by `cluster`,
`namespace` and `job` (harmless where those labels are absent), and keep
`instance` (and `pod`) where an alert is about one replica. To adapt them,
write your own copy with options instead of editing the YAML:

    python3 alerts/generate.py --out my.rules.yml \\
        --selector 'namespace=~"prod|staging"' \\
        --by 'cluster, namespace, job' \\
        --runbook-url https://wiki.example.com/redline-runbook

`--selector` narrows every selector of redline's metrics (and `up`) with
more matchers; `--by` sets the labels a service is identified by (a job is
always one of them); `--runbook-url` is the page whose `#alertname`
sections the alerts link to. The objectives (`--availability-objective`,
`--latency-objective`, `--latency-threshold`) are the defaults for services
that do not announce their own (REDLINE_SLO_* settings, exported as the
`redline_slo_*` gauges).

Python 3.11 standard library only.
"""

from __future__ import annotations

import argparse
import difflib
import sys
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
RUNBOOK = "https://github.com/redline-rs/redline/blob/main/docs/RUNBOOK.md"

# Windows of the SLO burn rates (SRE workbook, multi-window multi-burn-rate).
SHORT_WINDOWS = ["5m", "30m", "1h", "2h", "6h"]
LONG_WINDOWS = ["1d", "3d"]  # from the recorded 5m rates
# (long, short, burn factor, for, severity, what the budget spend means)
BURNS = [
    ("1h", "5m", "14.4", "2m", "critical", "2% of a 30-day budget per hour"),
    ("6h", "30m", "6", "15m", "critical", "5% of a 30-day budget in 6 hours"),
    ("1d", "2h", "3", "1h", "warning", "10% of a 30-day budget in a day"),
    ("3d", "6h", "1", "3h", "warning", "10% of a 30-day budget in 3 days"),
]
DUR = "http_server_request_duration_seconds"
# A failed request: one with `error_type`, except a client that went away.
FAILED = 'error_type!="", error_type!="client_disconnected"'


@dataclass
class Options:
    selector: str = ""
    by: str = "cluster, namespace, job"
    runbook: str = RUNBOOK
    availability: str = "0.999"
    latency_objective: str = "0.99"
    threshold: str = "0.5"

    @property
    def replica(self) -> str:
        """The labels of one replica: the service's, its instance and pod."""
        return f"{self.by}, instance, pod"

    def sel(self, metric: str, extra: str = "") -> str:
        """`metric{selector[, extra]}` (no braces when both are empty)."""
        matchers = ", ".join(m for m in (self.selector, extra) if m)
        return f"{metric}{{{matchers}}}" if matchers else metric

    def le(self) -> str:
        """The threshold bucket's matcher. Prometheus 2 keeps `1.0` from
        OpenMetrics and `1` from the text format: match both."""
        t = self.threshold
        if "." not in t and "e" not in t.lower():
            return f'le=~"{t}(\\\\.0)?"'
        return f'le="{t}"'


@dataclass
class Rule:
    name: str
    expr: str
    alert: bool = False
    comment: str = ""
    for_: str = ""
    keep_firing_for: str = ""
    labels: dict = field(default_factory=dict)
    summary: str = ""
    description: str = ""


@dataclass
class Group:
    name: str
    comment: str
    rules: list
    interval: str = ""


# ----------------------------------------------------------------- text

# Where a service or replica is, for descriptions: the job, then its
# namespace and cluster when the series carry them.
WHERE = (
    "{{ $labels.job }}{{ with $labels.namespace }} in namespace {{ . }}{{ end }}"
    "{{ with $labels.cluster }} (cluster {{ . }}){{ end }}"
)


KNOWN = "job:redline_service:known"


def gated(expr: str, o: "Options") -> str:
    """`expr`, only for services known to export redline's metrics: other
    jobs may export the same OpenTelemetry HTTP metric or `process_*`
    series without being redline services."""
    return f"{expr}\nand on ({o.by})\n{KNOWN}"


def of_job() -> str:
    return f"job {WHERE}"


def of_instance() -> str:
    return f"{{{{ $labels.instance }}}} of job {WHERE}"


def alert(name, expr, severity, summary, description, comment="", for_="",
          keep="", labels=None) -> Rule:
    all_labels = {"severity": severity}
    all_labels.update(labels or {})
    return Rule(name, expr, alert=True, comment=comment, for_=for_,
                keep_firing_for=keep, labels=all_labels, summary=summary,
                description=description)


def record(name, expr, comment="", labels=None) -> Rule:
    return Rule(name, expr, comment=comment, labels=labels or {})


# ----------------------------------------------------------------- rules


def config_group(o: Options) -> Group:
    by = o.by
    ready = o.sel("redline_ready")
    return Group("redline.config", """\
Configuration: which jobs are redline services, their SLO objectives and
the low-traffic guard. A service announces its objectives with the
redline_slo_* gauges (REDLINE_SLO_* settings); one that does not gets the
defaults (alerts/generate.py --availability-objective, --latency-objective,
--latency-threshold). The burn rates join on them per service.""", [
        record("job:redline_ready:present", f"group by ({by}) ({ready})",
               "One series per service (cluster, namespace, job) that exports redline's\n"
               "metrics now. Alerts about targets read it over a day\n"
               "(max_over_time), so a service whose every target is down, or gone from\n"
               "service discovery, is still known for a day."),
        record(KNOWN, "max_over_time(job:redline_ready:present[1d])",
               "The services that exported redline's metrics within the last day: the\n"
               "alerts about a service are for these only (another job may export the\n"
               "OpenTelemetry HTTP metric or process_* series too)."),
        record("job:redline_slo_availability_objective:max",
               objective(o, AVAILABILITY_GAUGE, o.availability),
               "Availability objective per service: the fraction of requests that must\n"
               "not fail (5xx, handler error, panic, body error) over 30 days; the\n"
               "service's own (REDLINE_SLO_AVAILABILITY), else the default."),
        record("job:redline_slo_latency_objective:max",
               objective(o, LATENCY_GAUGE, o.latency_objective),
               f"Latency objective per service: the fraction of requests that must\n"
               f"finish within its threshold bucket; the service's own\n"
               f"(REDLINE_SLO_LATENCY_TARGET, _THRESHOLD), else the default\n"
               f"(le=\"{o.threshold}\")."),
        record("redline:alert_min_request_rate", "vector(0.5)",
               "Low-traffic guard, in requests per second over the alert's short\n"
               "window: ratio-based alerts (error ratio, burn rates, per-route\n"
               "latency) stay silent below it, so a handful of requests cannot page.\n"
               "RedlineQuietServiceFailing covers the services below it."),
    ])


def http_requests(o: Options, window: str, by: str) -> str:
    return f"sum by ({by}) (rate({o.sel(DUR + '_count')}[{window}]))"


def http_errors_ratio(o: Options, window: str, by: str) -> str:
    total = http_requests(o, window, by)
    failed = f"sum by ({by}) (rate({o.sel(DUR + '_count', FAILED)}[{window}]))"
    return f"""\
(
  {failed}
  or 0 * {total}
)
/ {total}"""


LATENCY_GAUGE = "redline_slo_latency_objective"
AVAILABILITY_GAUGE = "redline_slo_availability_objective"


def within_threshold(o: Options, window: str, by: str) -> str:
    """Requests per second within the latency threshold: the bucket a
    service announces (redline_slo_latency_objective{le}, matched in both
    spellings of a whole number, `1` and `1.0`), else the default bucket.
    Joined per service, not per replica: the rate over a long window still
    holds replicas gone in a rollout, whose gauges are gone."""
    gauge = o.sel(LATENCY_GAUGE)
    return f"""\
(
  sum by ({by}) (
    rate({o.sel(DUR + '_bucket')}[{window}])
    and on ({o.by}, le)
    group by ({o.by}, le) ({gauge} or label_replace({gauge}, "le", "$1.0", "le", "([0-9]+)"))
  )
  or on ({by})
  (
    sum by ({by}) (rate({o.sel(DUR + '_bucket', o.le())}[{window}]))
    unless on ({o.by})
    group by ({o.by}) ({gauge})
  )
)"""


def objective(o: Options, gauge: str, default: str) -> str:
    """A service's objective: the gauge it exports, else the default."""
    return f"""\
max by ({o.by}) ({o.sel(gauge)})
or on ({o.by})
(0 * group by ({o.by}) ({o.sel(DUR + "_count")}) + {default})"""


def http_slow_ratio(o: Options, window: str, by: str) -> str:
    inner = within_threshold(o, window, by).replace("\n", "\n  ")
    return f"""\
1 - (
  {inner}
  / {http_requests(o, window, by)}
)"""


def http_window_rules(o: Options, windows: list[str]) -> list[Rule]:
    rules = []
    for w in windows:
        rules.append(record(f"job:redline_http_requests:rate{w}", http_requests(o, w, o.by)))
    for w in windows:
        rules.append(record(f"job:redline_http_errors:ratio_rate{w}", http_errors_ratio(o, w, o.by),
                            "Error ratio; 0 (not missing) while no request has failed."
                            if w == windows[0] else ""))
    for w in windows:
        rules.append(record(f"job:redline_http_slow_requests:ratio_rate{w}", http_slow_ratio(o, w, o.by),
                            f"Slow ratio: requests above the service's latency threshold bucket\n"
                            f"(REDLINE_SLO_LATENCY_THRESHOLD, else le=\"{o.threshold}\")."
                            if w == windows[0] else ""))
    return rules


def http_group(o: Options) -> Group:
    r = o.replica
    rules = http_window_rules(o, SHORT_WINDOWS)
    rules += [
        record("job:redline_http_errors:rate5m", f"""\
sum by ({o.by}) (rate({o.sel(DUR + '_count', FAILED)}[5m]))
or 0 * job:redline_http_requests:rate5m""",
               "Failed and slow requests per second (the long windows sum them)."),
        record("job:redline_http_slow_requests:rate5m",
               "job:redline_http_slow_requests:ratio_rate5m * job:redline_http_requests:rate5m"),
    ]
    rules += long_window_rules(o)
    rules += [
        # Per replica: the culprit of an outlier, the dashboards' breakdown.
        record("instance:redline_http_requests:rate5m", http_requests(o, "5m", r),
               "Per replica: requests, failed requests and slow requests per second,\n"
               "and their ratios, for the outlier alerts and the dashboards' breakdown."),
        record("instance:redline_http_errors:rate5m", f"""\
sum by ({r}) (rate({o.sel(DUR + '_count', FAILED)}[5m]))
or 0 * instance:redline_http_requests:rate5m"""),
        record("instance:redline_http_slow_requests:rate5m", f"""\
instance:redline_http_requests:rate5m
- {within_threshold(o, "5m", r)}"""),
        record("instance:redline_http_errors:ratio_rate5m",
               "instance:redline_http_errors:rate5m / instance:redline_http_requests:rate5m"),
        record("instance:redline_http_slow_requests:ratio_rate5m",
               "instance:redline_http_slow_requests:rate5m / instance:redline_http_requests:rate5m"),
        record("instance:redline_http_errors:others_ratio_rate5m", f"""\
(instance:redline_http_errors:rate5m - on ({o.by}) group_left () sum by ({o.by}) (instance:redline_http_errors:rate5m))
/
(instance:redline_http_requests:rate5m - on ({o.by}) group_left () sum by ({o.by}) (instance:redline_http_requests:rate5m))""",
               "The error ratio of the other replicas of the same service, per replica\n"
               "((job - replica) / (job - replica)); NaN for a service of one replica."),
        record("instance:redline_http_slow_requests:others_ratio_rate5m", f"""\
(instance:redline_http_slow_requests:rate5m - on ({o.by}) group_left () sum by ({o.by}) (instance:redline_http_slow_requests:rate5m))
/
(instance:redline_http_requests:rate5m - on ({o.by}) group_left () sum by ({o.by}) (instance:redline_http_requests:rate5m))"""),
        # Per route.
        record("job_route:redline_http_requests:rate5m",
               http_requests(o, "5m", f"{o.by}, http_route"),
               "Per route: request rate, bucket rates and p95/p99."),
        record("job_route_le:redline_http_request_duration_seconds_bucket:rate5m",
               f"sum by ({o.by}, http_route, le) (rate({o.sel(DUR + '_bucket')}[5m]))"),
    ]
    for q in ("0.95", "0.99"):
        rules.append(record("job_route:redline_http_request_duration_seconds:histogram_quantile",
                            f"histogram_quantile({q}, job_route_le:redline_http_request_duration_seconds_bucket:rate5m)",
                            labels={"quantile": q}))
    return Group("redline.http.rules", f"""\
HTTP recording rules, one per SLO window, per service ({o.by}).
An error is a request with `error_type` (5xx status, handler_error, panic,
body_error) except `client_disconnected` (the client went away: not a
failure of the service). A slow request is one above the latency threshold
bucket (le="{o.threshold}").""", rules)


def long_window_rules(o: Options) -> list[Rule]:
    """1d and 3d from the recorded 5-minute rates (`sum_over_time`): a day
    of one sample a minute per service, instead of days of raw samples of
    every series and bucket."""
    rules = []
    for w in LONG_WINDOWS:
        rules.append(record(f"job:redline_http_requests:rate{w}",
                            f"avg_over_time(job:redline_http_requests:rate5m[{w}])",
                            "The long windows from the recorded 5-minute rates."
                            if w == LONG_WINDOWS[0] else ""))
    for w in LONG_WINDOWS:
        rules.append(record(f"job:redline_http_errors:ratio_rate{w}", f"""\
sum_over_time(job:redline_http_errors:rate5m[{w}])
/ sum_over_time(job:redline_http_requests:rate5m[{w}])"""))
    for w in LONG_WINDOWS:
        rules.append(record(f"job:redline_http_slow_requests:ratio_rate{w}", f"""\
sum_over_time(job:redline_http_slow_requests:rate5m[{w}])
/ sum_over_time(job:redline_http_requests:rate5m[{w}])"""))
    return rules


def http_long_group(o: Options) -> Group:
    rules = [
        record("job:redline_http_errors:ratio_rate30d", """\
sum_over_time(job:redline_http_errors:rate5m[30d])
/ sum_over_time(job:redline_http_requests:rate5m[30d])""",
               "The SLO period's error ratio, from the 5-minute rates (the dashboards'\n"
               "error budget: 1 - ratio / (1 - objective))."),
        record("job:redline_http_error_budget:remaining_ratio30d", """\
1 - job:redline_http_errors:ratio_rate30d
  / on (%s) (1 - job:redline_slo_availability_objective:max)""" % o.by,
               "Share of the 30-day error budget left (1 = untouched, 0 = spent,\n"
               "negative = overspent)."),
    ]
    return Group("redline.http.long", """\
The SLO period (30 days), for the dashboards, evaluated every 4 minutes: a
month's ratio moves little in a minute. Less than the 5-minute lookback,
so a query never falls between two evaluations.""",
                 rules, interval="4m")


def availability_group(o: Options) -> Group:
    by, r = o.by, o.replica
    known = KNOWN
    return Group("redline.availability", """\
Replicas down or not ready: a warning naming the replica; a page only when
half or more of the service's replicas are unavailable, or it is gone.""", [
        record("instance:redline_replica_unavailable:bool", f"""\
(
  max by ({r}) (1 - {o.sel("redline_ready")})
  or
  max by ({r}) ({o.sel("up")} == bool 0)
)
and on ({by})
{known}""",
               "1 for a replica that is down (up == 0) or not ready (redline_ready == 0),\n"
               "0 for a ready one; only services known to export redline's metrics."),
        record("job:redline_replicas_unavailable:ratio",
               f"avg by ({by}) (instance:redline_replica_unavailable:bool)"),
        alert("RedlineReplicasUnavailable", """\
job:redline_replicas_unavailable:ratio >= 0.5""", "critical",
              "Half or more of a redline service's replicas are down or not ready.",
              f"{{{{ $value | humanizePercentage }}}} of the replicas of {of_job()} "
              "are down or not ready: the rest cannot carry its traffic for long, "
              "or nothing serves it at all.",
              comment="THRESHOLD: half the replicas or more (all of a single-replica\n"
                      "service) for 3m. One replica of many is a warning below.",
              for_="3m"),
        alert("RedlineTargetDown", f"""\
{o.sel("up")} == 0
and on ({by})
{known}""", "warning",
              "Prometheus cannot scrape a replica of a redline service.",
              f"{of_instance()} has failed every scrape for 5 minutes "
              "(up = {{ $value }}): the process is down, hung, or its admin "
              "listener is unreachable.",
              comment="THRESHOLD: one replica unreachable for 5m: a ticket naming it.\n"
                      "Many down at once page as RedlineReplicasUnavailable.",
              for_="5m"),
        alert("RedlineTargetMissing", f"""\
max_over_time(job:redline_ready:present[1h])
unless on ({by})
group by ({by}) ({o.sel("up")})""", "warning",
              "A redline service has no target left to scrape.",
              f"No target of {of_job()} has been discovered for 5 minutes, "
              "although it exported redline's metrics within the last hour: service "
              "discovery or the scrape configuration lost the service, or it was "
              "removed or scaled to zero (this alert then stops within the hour).",
              comment="Monitoring lost (a cause, not a symptom users see): a ticket. A\n"
                      "service deleted or scaled to zero on purpose stops it within the hour.",
              for_="5m"),
        alert("RedlineNotReady", f"""\
{o.sel("redline_ready")} == 0""", "warning",
              "A replica of a redline service has reported not ready for 10 minutes.",
              f"{of_instance()} answers 503 on /ready (redline_ready = {{{{ $value }}}}): "
              "load balancers send it no traffic. It is stuck starting, draining, "
              "or a critical readiness check fails.",
              for_="10m"),
        alert("RedlineFrequentRestarts", gated(f"""\
sum by ({by}) (clamp_min(changes({o.sel("process_start_time_seconds")}[1h]) - 1, 0)) > 2""", o),
              "warning",
              "A redline service keeps restarting.",
              f"The replicas of {of_job()} restarted in place about {{{{ $value | humanize }}}} "
              "times in the last hour beyond one restart each (a rollout).",
              comment="Restarts in place per service, beyond each replica's first (a\n"
                      "rollout on hosts restarts each once): a crash loop counts (on\n"
                      "Kubernetes a crashing container restarts in its pod). Pods replaced\n"
                      "by new ones (rollouts, scaling, evictions) do not: new pods are new\n"
                      "series, and they are how a service normally changes.\n"
                      "THRESHOLD: more than 2 in 1h.",
              keep="15m"),
    ])


def errors_group(o: Options) -> Group:
    by = o.by
    guard = "on () group_left () redline:alert_min_request_rate"
    rules = []
    for severity, threshold in (("critical", "0.2"), ("warning", "0.05")):
        rules.append(alert("RedlineHighErrorRate", gated(f"""\
job:redline_http_errors:ratio_rate5m > {threshold}
and on ({by})
job:redline_http_requests:rate5m >= {guard}""", o), severity,
            "A large share of redline's HTTP requests fail.",
            f"{{{{ $value | humanizePercentage }}}} of the requests to {of_job()} "
            "failed (5xx, handler error, panic) over the last 5 minutes.",
            comment=f"THRESHOLD: {float(threshold):.0%} of requests failing for 5m "
                    f"{'pages' if severity == 'critical' else 'opens a ticket'}.",
            for_="5m", keep="10m" if severity == "warning" else ""))
    failed_1h = f"sum by ({by}) (increase({o.sel(DUR + '_count', FAILED)}[1h]))"
    rules.append(alert("RedlineQuietServiceFailing", gated(f"""\
job:redline_http_errors:ratio_rate1h > 0.5
and on ({by})
{failed_1h} >= 10
and on ({by})
job:redline_http_requests:rate5m < {guard}""", o), "critical",
        "A quiet redline service fails most of its requests.",
        f"{{{{ $value | humanizePercentage }}}} of the requests to {of_job()} failed "
        "over the last hour, at a traffic below the low-traffic guard of the ratio alerts.",
        comment="The ratio alerts stay silent below the low-traffic guard, so a\n"
                "quiet service failing everything would never page. Below the\n"
                "guard only: more than half of the last hour's requests failed, and\n"
                "at least 10 of them (a handful of requests cannot page).\n"
                "THRESHOLD: 50% and 10 failed requests in 1h, for 15m.",
        for_="15m"))
    rules.append(alert("RedlineInstanceErrorsOutlier", gated(f"""\
instance:redline_http_errors:ratio_rate5m > 0.1
and
instance:redline_http_errors:ratio_rate5m > 3 * instance:redline_http_errors:others_ratio_rate5m
and
sum by ({o.replica}) (increase({o.sel(DUR + '_count', FAILED)}[5m])) >= 10""", o), "warning",
        "One replica of a redline service fails far more requests than the others.",
        f"{of_instance()} failed {{{{ $value | humanizePercentage }}}} of its requests "
        "over the last 5 minutes, more than 3 times the ratio of the service's other "
        "replicas: look at this replica first.",
        comment="The culprit among replicas. THRESHOLD: over 10% failing, more than 3\n"
                "times the other replicas' ratio, and at least 10 failed requests in\n"
                "5m, for 5m. Never fires for a service of one replica (no others).",
        for_="5m", keep="10m"))
    r = o.replica
    rules.append(alert("RedlineQuietServiceSlow", gated(f"""\
job:redline_http_slow_requests:ratio_rate1h > 0.5
and on ({by})
sum by ({by}) (increase({o.sel(DUR + '_count')}[1h])) * on ({by}) job:redline_http_slow_requests:ratio_rate1h >= 10
and on ({by})
job:redline_http_requests:rate5m < {guard}""", o), "critical",
        "A quiet redline service answers most of its requests too slowly.",
        f"{{{{ $value | humanizePercentage }}}} of the requests to {of_job()} took "
        "longer than its latency threshold over the last hour, at a traffic below the "
        "low-traffic guard of the ratio alerts: requests hang or time out.",
        comment="As RedlineQuietServiceFailing, for latency: a quiet service whose\n"
                "requests hang (clients give up: `client_disconnected`, not an error)\n"
                "would otherwise alert nowhere.\n"
                "THRESHOLD: 50% and 10 slow requests in 1h, for 15m.",
        for_="15m"))
    rules.append(alert("RedlineHttpMetricsMissing", gated(f"""\
group by ({r}) (max_over_time({o.sel(DUR + "_count")}[1h]))
unless on ({r})
group by ({r}) ({o.sel(DUR + "_count")})
and on ({r})
group by ({r}) ({o.sel("up")} == 1)
unless on ({r})
group by ({r}) (changes({o.sel("process_start_time_seconds")}[1h]) > 0)""", o), "warning",
        "A replica of a redline service stopped exporting its HTTP metrics.",
        f"{of_instance()} exported {DUR} within the last hour and has not restarted "
        "since, but exports it no more while its target is up: relabelling drops it, or "
        "the metric was unregistered; every HTTP alert of the replica is blind.",
        comment="Per replica, without a restart: a restarted replica that has served\n"
                "no request yet has no series either, and is not this.",
        for_="15m"))
    for long, short, factor, for_, severity, spend in BURNS:
        budget = f"({factor} * (1 - job:redline_slo_availability_objective:max))"
        more = (f"more than {factor} times the error budget ({spend})" if factor != "1"
                else f"more than the error budget allows ({spend})")
        rules.append(alert("RedlineErrorBudgetBurn", gated(f"""\
job:redline_http_errors:ratio_rate{long} > on ({by}) {budget}
and on ({by})
job:redline_http_errors:ratio_rate{short} > on ({by}) {budget}
and on ({by})
job:redline_http_requests:rate{short} >= {guard}""", o), severity,
            f"redline is burning its availability error budget{' fast' if severity == 'critical' else ''}.",
            f"Job {WHERE} failed {{{{ $value | humanizePercentage }}}} of its requests "
            f"over the last {long}, {more}, and is still failing over the last {short}.",
            comment=("Burn rate b over a window = error ratio / (1 - objective). Each rule\n"
                     "needs both its long and its short window above b x budget: the long\n"
                     "one proves the budget spend is significant, the short one that it is\n"
                     "still going on (the alert resolves quickly once fixed).")
            if long == "1h" else "",
            for_=for_, labels={"long": long, "short": short}))
    return Group("redline.errors", """\
Errors: plain ratio thresholds, the availability SLO burn rates (SRE
workbook, multi-window multi-burn-rate), quiet services, and the replica
that fails more than the rest.""", rules)


def latency_group(o: Options) -> Group:
    by = o.by
    guard = "on () group_left () redline:alert_min_request_rate"
    ms = f"{float(o.threshold) * 1000:g}ms"
    rules = []
    for q, threshold, shown in (("0.95", "0.5", "500ms"), ("0.99", "1", "1s")):
        pct = q[2:]
        rules.append(alert(f"RedlineRouteLatencyP{pct}High", gated(f"""\
job_route:redline_http_request_duration_seconds:histogram_quantile{{quantile="{q}"}} > {threshold}
and on ({by}, http_route)
job_route:redline_http_requests:rate5m >= {guard}""", o), "warning",
            f"A redline route answers slowly (p{pct}).",
            f"{pct}% of the requests to {{{{ $labels.http_route }}}} on job {WHERE} took "
            f"up to {{{{ $value | humanizeDuration }}}} over the last 5 minutes "
            f"(threshold {shown}).",
            comment=f"THRESHOLD: p{pct} above {shown} for 10m.", for_="10m", keep="10m"))
    rules.append(alert("RedlineInstanceLatencyOutlier", gated(f"""\
instance:redline_http_slow_requests:ratio_rate5m > 0.1
and
instance:redline_http_slow_requests:ratio_rate5m > 3 * instance:redline_http_slow_requests:others_ratio_rate5m
and
instance:redline_http_slow_requests:ratio_rate5m
  * on ({o.replica}) sum by ({o.replica}) (increase({o.sel(DUR + '_count')}[5m])) >= 10""", o), "warning",
        "One replica of a redline service is far slower than the others.",
        f"{{{{ $value | humanizePercentage }}}} of the requests to {of_instance()} took "
        f"longer than the service's latency threshold ({ms} unless it announces its own) over the last 5 minutes, more than 3 times the share of the "
        "service's other replicas: look at this replica first.",
        comment="THRESHOLD: over 10% of requests above the latency threshold, more\n"
                "than 3 times the other replicas' share, at least 10 of them in 5m,\n"
                "for 5m. Never fires for a service of one replica.",
        for_="5m", keep="10m"))
    for long, short, factor, for_, severity, _spend in BURNS:
        budget = f"({factor} * (1 - job:redline_slo_latency_objective:max))"
        more = (f"more than {factor} times the latency budget" if factor != "1"
                else "more than the latency budget allows")
        rules.append(alert("RedlineLatencyBudgetBurn", gated(f"""\
job:redline_http_slow_requests:ratio_rate{long} > on ({by}) {budget}
and on ({by})
job:redline_http_slow_requests:ratio_rate{short} > on ({by}) {budget}
and on ({by})
job:redline_http_requests:rate{short} >= {guard}""", o), severity,
            f"redline is burning its latency error budget{' fast' if severity == 'critical' else ''}.",
            f"{{{{ $value | humanizePercentage }}}} of the requests to job {WHERE} took "
            f"longer than the service's latency threshold ({ms} unless it announces its own) over the last {long}, {more}, and they are still slow "
            f"over the last {short}.",
            for_=for_, labels={"long": long, "short": short}))
    return Group("redline.latency", """\
Latency: per-route percentiles, the slow replica, and the latency SLO burn
rates.""", rules)


def resources_group(o: Options) -> Group:
    s = o.sel
    return Group("redline.resources", """\
Resource exhaustion, per replica (each process has its own limits).""", [
        alert("RedlineMemoryNearLimit", f"""\
{s("process_resident_memory_bytes")}
/
({s("redline_system_memory_limit_bytes")} or {s("redline_system_memory_total_bytes")})
> 0.9""", "warning",
              "A redline process is close to its memory limit.",
              f"{of_instance()} uses {{{{ $value | humanizePercentage }}}} of its memory "
              "limit (the cgroup limit, else total memory). The kernel kills it at 100%.",
              comment="THRESHOLD: resident memory above 90% of the cgroup limit (or of\n"
                      "total memory when no limit is set) for 10m.",
              for_="10m", keep="10m"),
        alert("RedlineMemoryGrowthToLimit", f"""\
predict_linear({s("process_resident_memory_bytes")}[1h], 14400)
>
({s("redline_system_memory_limit_bytes")} or {s("redline_system_memory_total_bytes")})""",
              "warning",
              "A redline process's memory grows towards its limit.",
              f"At the rate of the last hour, {of_instance()} will use "
              "{{ $value | humanize1024 }}B of memory within 4 hours, beyond its limit "
              "(the cgroup limit, else total memory).",
              comment="Linear fit over the last 1h, projected 4h ahead.\n"
                      "SCALE: 14400 is 4h in seconds (scale it with the windows).",
              for_="30m"),
        alert("RedlineCpuSaturation", f"""\
rate({s("process_cpu_seconds_total")}[5m])
/
(
  {s("redline_system_cpu_limit_cores")}
  or
  {s("redline_system_logical_cpus")}
)
> 0.9""", "warning",
              "A redline process uses nearly all the CPU it may use.",
              f"{of_instance()} has used {{{{ $value | humanizePercentage }}}} of its CPU "
              "limit (or of the machine's logical CPUs, without a limit) over the last "
              "5 minutes.",
              comment="THRESHOLD: the process uses more than 90% of the CPU it may use\n"
                      "for 15m: its container's CPU limit when one is set\n"
                      "(redline_system_cpu_limit_cores), else all logical CPUs.",
              for_="15m", keep="10m"),
        alert("RedlineHostCpuSaturation", f"""\
{s("redline_system_cpu_utilization_ratio")} > 0.95""", "info",
              "The machine running redline is out of CPU.",
              f"The system running {of_instance()} is at "
              "{{ $value | humanizePercentage }} CPU utilization; its latency suffers "
              "whoever uses the CPU.",
              comment="THRESHOLD: the whole system above 95% CPU for 15m (context only).",
              for_="15m"),
        alert("RedlineFileDescriptorsNearLimit", f"""\
{s("process_open_fds")}
/
{s("process_max_fds")}
> 0.8
and on ({o.by}, instance)
{s("redline_ready")}""", "warning",
              "A redline process is running out of file descriptors.",
              f"{of_instance()} has {{{{ $value | humanizePercentage }}}} of its file "
              "descriptors open; at the limit it can accept no connection and open no file.",
              comment="THRESHOLD: more than 80% of the file descriptor limit for 10m.",
              for_="10m"),
        alert("RedlineDiskSpaceLow", f"""\
{s("redline_health_check_status", 'check=~"disk.*"')} < 1""", "warning",
              "A redline disk health check reports little free space.",
              f"Health check {{{{ $labels.check }}}} on {of_instance()} reads "
              "{{ $value }} (1 pass, 0.5 warn, 0 fail): the file system it watches is "
              "filling up.",
              comment="No disk metric in the catalogue: this reads the disk health checks\n"
                      "(`disk:*`, e.g. checks::disk_free, not registered by default).\n"
                      "THRESHOLD: status below 1 (0.5 = warn, 0 = fail) for 10m.",
              for_="10m"),
    ])


def caches_group(o: Options) -> Group:
    by = f"{o.by}, cache"
    lookups = o.sel("redline_cache_requests_total")
    hits = o.sel("redline_cache_requests_total", 'result="hit"')

    def ratio(window: str) -> str:
        return (f"sum by ({by}) (rate({hits}[{window}]))\n"
                f"/ sum by ({by}) (rate({lookups}[{window}]))")

    return Group("redline.caches", """\
The service's own caches (redline::metrics::Cache), per service and cache.""", [
        alert("RedlineCacheHitRatioCollapse", gated(f"""\
(
{ratio("10m")}
)
< 0.5 * (
{ratio("1d")}
)
and on ({by})
(
{ratio("1d")}
) >= 0.2
and on ({by})
sum by ({by}) (rate({lookups}[10m])) >= 1""", o), "warning",
              "A cache of a redline service stopped working.",
              f"Cache {{{{ $labels.cache }}}} of {of_job()} finds "
              "{{ $value | humanizePercentage }} of its values over the last 10 minutes, "
              "less than half its hit ratio of the last day: its work falls through to what "
              "it protects.",
              comment="THRESHOLD: the 10m hit ratio below half the 1d one, for a cache that\n"
                      "used to hit at least 20% of lookups, at 1 lookup per second or more,\n"
                      "for 15m.",
              for_="15m", keep="10m"),
    ])


def telemetry_group(o: Options) -> Group:
    s, r = o.sel, o.replica
    return Group("redline.telemetry", "The telemetry pipeline itself, per replica.", [
        alert("RedlineTraceSpansDropped", f"""\
sum by ({r}, reason) (
  rate({s("redline_trace_spans_dropped_total", 'reason!="shutdown"')}[5m])
) > 0""", "warning",
              "redline is losing trace spans.",
              f"{of_instance()} drops {{{{ printf \"%.3g\" $value }}}} spans per second "
              "(reason {{ $labels.reason }}): traces are incomplete.",
              comment="THRESHOLD: any drop (except at shutdown), sustained for 10m.",
              for_="10m", keep="10m"),
        alert("RedlineTraceExportErrors", f"""\
sum by ({r}) (
  rate({s("redline_trace_export_errors_total")}[5m])
) > 0""", "warning",
              "redline cannot export traces to the collector.",
              f"{of_instance()} has {{{{ printf \"%.3g\" $value }}}} failed OTLP export "
              "requests per second; each one loses a batch of spans.",
              comment="THRESHOLD: any failed export request, sustained for 10m.",
              for_="10m", keep="10m"),
        alert("RedlineLogLinesDropped", f"""\
sum by ({r}) (
  increase({s("redline_log_lines_dropped_total")}[10m])
) > 0""", "warning",
              "redline drops log lines.",
              f"{of_instance()} dropped about {{{{ $value | humanize }}}} log lines in the "
              "last 10 minutes because an output could not keep up (security and access "
              "lines included).",
              comment="THRESHOLD: any dropped line in the last 10m."),
        alert("RedlineLogLinesLost", f"""\
sum by ({r}, output, reason) (
  increase({s("redline_log_lines_lost_total", 'reason!="queue_full"')}[10m])
) > 0""", "warning",
              "redline loses log lines it could not write.",
              f"{of_instance()} lost about {{{{ $value | humanize }}}} log lines on its "
              "{{ $labels.output }} output in the last 10 minutes ({{ $labels.reason }}); "
              "security and access lines included.",
              comment="THRESHOLD: any line lost to a full disk or a failed write in the "
                      "last 10m (a full queue is RedlineLogLinesDropped)."),
        alert("RedlineLogWriteErrors", f"""\
sum by ({r}, output) (
  increase({s("redline_log_write_errors_total")}[10m])
) > 0""", "warning",
              "redline cannot write its logs.",
              f"{of_instance()} had about {{{{ $value | humanize }}}} failed writes to its "
              "{{ $labels.output }} log output in the last 10 minutes.",
              comment="THRESHOLD: any failed write in the last 10m."),
        alert("RedlineMetricOverflow", f"""\
sum by ({r}, metric) (
  increase({s("redline_metric_overflow_total")}[10m])
) > 0""", "warning",
              "A redline metric family hit its series limit.",
              f"{{{{ $labels.metric }}}} on {of_instance()} folded about "
              "{{ $value | humanize }} observations into its overflow series in the last "
              "10 minutes: one of its labels is unbounded.",
              comment="THRESHOLD: any observation folded into an overflow series in 10m."),
    ])


def security_group(o: Options) -> Group:
    s, by, r = o.sel, o.by, o.replica
    left = f'{s("redline_tls_certificate_expiry_timestamp_seconds")} - time()'
    return Group("redline.security", """\
Security incidents (redline_security_events_total, OWASP vocabulary),
summed over the service's replicas: an attacker spreads over them. And the
certificates of TLS listeners, per replica (each reads its own files).""", [
        alert("RedlineTlsCertificateExpiringSoon", f"""\
{left} < 14 * 86400
and
{left} >= 3 * 86400""", "warning",
              "A redline TLS certificate expires within two weeks.",
              f"The certificate of the {{{{ $labels.listener }}}} listener of {of_instance()} "
              "expires in {{ $value | humanizeDuration }}: renew it (the files are reloaded "
              "when they change).",
              comment="THRESHOLD: 14 days left (cert-manager renews at 30 days, certbot at\n"
                      "30: a renewal that has not happened by 14 is stuck). Below 3 days\n"
                      "RedlineTlsCertificateExpiryImminent takes over."),
        alert("RedlineTlsCertificateExpiryImminent", f"""\
{left} < 3 * 86400""", "critical",
              "A redline TLS certificate expires within three days, or has expired.",
              f"The certificate of the {{{{ $labels.listener }}}} listener of {of_instance()} "
              "expires in {{ $value | humanizeDuration }} (negative: expired; clients refuse "
              "it): renew it now.",
              comment="THRESHOLD: 3 days left, or past expiry."),
        alert("RedlineTlsCertificateReloadFailing", f"""\
sum by ({r}, listener) (
  increase({s("redline_tls_certificate_reloads_total", 'result="error"')}[15m])
) > 0
unless
sum by ({r}, listener) (
  increase({s("redline_tls_certificate_reloads_total", 'result="ok"')}[15m])
) > 0""", "warning",
              "A redline TLS listener cannot load its new certificate files.",
              f"The {{{{ $labels.listener }}}} listener of {of_instance()} failed to reload "
              "its certificate files {{ $value | humanize }} times in the last 15 minutes and "
              "keeps serving the old certificate; its stderr says why (unreadable, expired, "
              "key mismatch).",
              comment="THRESHOLD: a failed reload in the last 15m not followed by a\n"
                      "successful one (files written one after the other can fail once)."),
        alert("RedlineAuthFailureSpike", f"""\
sum by ({by}) (
  increase({s("redline_security_events_total", 'event=~"authn_login_fail|authn_token_invalid"')}[5m])
) > 10""", "warning",
              "Many failed authentications against redline.",
              f"Job {WHERE} refused about {{{{ $value | humanize }}}} credentials "
              "(missing or wrong admin token, invalid token) across its replicas in the "
              "last 5 minutes.",
              comment="THRESHOLD: more than 10 failed authentications in 5m across the\n"
                      "service's replicas (1 on each of 20 replicas is 20)."),
        alert("RedlineRateLimitSpike", f"""\
sum by ({by}, http_route) (
  rate({s("redline_rate_limited_total")}[5m])
) > 1""", "warning",
              "redline's rate limiter refuses many requests.",
              f"The replicas of {of_job()} answer 429 to {{{{ $value | humanize }}}} "
              "requests per second on {{ $labels.http_route }}.",
              comment="THRESHOLD: more than 1 refused request per second across the\n"
                      "service's replicas, for 5m.",
              for_="5m", keep="10m"),
        alert("RedlineInputValidationFailureSpike", f"""\
sum by ({by}) (
  increase({s("redline_security_events_total", 'event="input_validation_fail"')}[5m])
) > 20""", "warning",
              "Many requests to a redline service fail input validation.",
              f"The replicas of {of_job()} recorded about {{{{ $value | humanize }}}} "
              "input_validation_fail events in the last 5 minutes.",
              comment="THRESHOLD: more than 20 validation failures in 5m across the\n"
                      "service's replicas."),
        alert("RedlineAdminAuthorizationFailure", f"""\
sum by ({by}) (
  increase({s("redline_security_events_total", 'event="authz_fail"')}[5m])
) > 0""", "warning",
              "A caller was refused access to a redline admin endpoint.",
              f"The replicas of {of_job()} recorded about {{{{ $value | humanize }}}} "
              "authz_fail events in the last 5 minutes (a protected endpoint called while "
              "no admin token is configured, or an authorization refusal recorded by the "
              "service).",
              comment="THRESHOLD: any authz_fail in 5m."),
    ])


def health_group(o: Options) -> Group:
    s, r = o.sel, o.replica
    errors = s("redline_log_events_total", 'level="error"')
    return Group("redline.health", "Health checks and errors, per replica.", [
        alert("RedlineHealthCheckFailing", f"""\
{s("redline_health_check_status")} == 0""", "warning",
              "A redline health check fails.",
              f"Health check {{{{ $labels.check }}}} on {of_instance()} has failed for "
              "5 minutes (status {{ $value }}).",
              for_="5m"),
        alert("RedlineNewErrorGroup", f"""\
increase({s("redline_error_groups_new_total")}[10m]) > 0
unless
changes({s("process_start_time_seconds")}[30m]) > 0""", "info",
              "redline captured a new kind of error.",
              f"{of_instance()} created about {{{{ $value | humanize }}}} new error groups "
              "in the last 10 minutes: see /errors/report (top_by_impact).",
              comment="Error groups created in the last 10m (counted even when the tracker\n"
                      "is full and evicts); quiet for 30m after a restart, when the tracker\n"
                      "fills up again with known errors."),
        alert("RedlineErrorAffectingManyUsers", f"""\
max by ({o.by}) ({s("redline_error_group_users_affected_max")}) >= 100""", "warning",
              "One kind of error reaches many users.",
              f"On a replica of {of_job()}, one error group active in the last 5 minutes "
              "has reached about {{ $value | humanize }} distinct users: see "
              "/errors/report (top_by_impact) for its cause and hints.",
              comment="Users per group come from the user key the service gives the tracker\n"
                      "(ErrorContext::user, or a UserKey on a 5xx response); estimated, per\n"
                      "replica (the same user on two replicas counts on each).\n"
                      "THRESHOLD: 100 users (the severity map's `many_users`), for 5m.",
              for_="5m", keep="10m"),
        alert("RedlineErrorLogSpike", f"""\
sum by ({r}) (rate({errors}[5m])) > 0.2
and
sum by ({r}) (rate({errors}[5m]))
  > 3 * sum by ({r}) (rate({errors}[1h]))""", "warning",
              "redline logs many more errors than usual.",
              f"{of_instance()} logs {{{{ $value | humanize }}}} error lines per second, "
              "more than 3 times its rate of the last hour.",
              comment="THRESHOLD: more than 0.2 error lines/s over 5m, and 3 times the\n"
                      "rate of the last hour, for 5m.",
              for_="5m"),
        alert("RedlinePanics", f"""\
sum by ({r}) (
  increase({s("redline_errors_total", 'category="panic"')}[10m])
) > 0""", "warning",
              "A redline handler panicked.",
              f"{of_instance()} captured about {{{{ $value | humanize }}}} panics in the "
              "last 10 minutes (the layer answered 500).",
              comment="THRESHOLD: any panic captured in 10m."),
    ])


def meta_group(o: Options) -> Group:
    return Group("redline.meta", """\
The alerting path itself. A Watchdog that always fires, for a dead-man's
switch outside this stack, and the failures that would otherwise make
alerts or traces disappear without a word: rule evaluation, notification
delivery, the collector refusing or failing to export spans. These read
the metrics of Prometheus, Alertmanager and the OpenTelemetry Collector
(their own scrape jobs in deploy/prometheus.yml), whatever their job name.""", [
        alert("RedlineWatchdog", "vector(1)", "none",
              "The alerting pipeline works (this alert always fires).",
              "Prometheus evaluates rules and Alertmanager delivers notifications. "
              "A dead-man's switch that stops receiving this alert means the alerting "
              "path itself is broken.",
              comment="Always firing. alerts/alertmanager.yml routes it to the `deadman`\n"
                      "receiver every 5 minutes; point that receiver at a dead-man's\n"
                      "switch (a heartbeat check that pages when the pings stop)."),
        alert("RedlineRuleEvaluationFailures", """\
sum by (job, instance, rule_group) (
  increase(prometheus_rule_evaluation_failures_total[10m])
) > 0""", "warning",
              "Prometheus fails to evaluate alerting or recording rules.",
              "{{ $labels.instance }} (job {{ $labels.job }}) failed to evaluate rule "
              "group {{ $labels.rule_group }} in the last 10 minutes: alerts of that "
              "group may never fire.",
              comment="THRESHOLD: any failed rule evaluation in 10m: an alert that cannot\n"
                      "be evaluated cannot fire.",
              for_="5m"),
        alert("RedlineAlertNotificationsFailing", """\
sum by (job, instance, integration) (
  rate(alertmanager_notifications_failed_total[5m])
) > 0""", "warning",
              "Alertmanager fails to deliver notifications.",
              "{{ $labels.instance }} (job {{ $labels.job }}) fails "
              "{{ printf \"%.3g\" $value }} {{ $labels.integration }} notifications per "
              "second: pages and tickets are being lost.",
              comment="THRESHOLD: any failed notification, sustained for 10m.",
              for_="10m", keep="10m"),
        alert("RedlineCollectorRefusingSpans", """\
sum by (job, instance, receiver) (
  rate(otelcol_receiver_refused_spans_total[5m])
) > 0""", "warning",
              "The OpenTelemetry Collector refuses spans.",
              "{{ $labels.instance }} (job {{ $labels.job }}) refuses "
              "{{ printf \"%.3g\" $value }} spans per second on receiver "
              "{{ $labels.receiver }}: the services' exporters retry, then drop them.",
              comment="THRESHOLD: any refused span, sustained for 10m (the collector's\n"
                      "memory_limiter refusing, or a receiver rejecting malformed data).",
              for_="10m", keep="10m"),
        alert("RedlineCollectorExportFailing", """\
sum by (job, instance, exporter) (
  rate(otelcol_exporter_send_failed_spans_total[5m])
) > 0""", "warning",
              "The OpenTelemetry Collector fails to export spans.",
              "{{ $labels.instance }} (job {{ $labels.job }}) fails to send "
              "{{ printf \"%.3g\" $value }} spans per second through exporter "
              "{{ $labels.exporter }}: traces are lost between the collector and the "
              "tracing backend.",
              comment="THRESHOLD: any span the collector failed to send on, for 10m.",
              for_="10m", keep="10m"),
    ])


GROUPS = [config_group, http_group, http_long_group, availability_group, errors_group,
          latency_group, resources_group, caches_group, telemetry_group, security_group,
          health_group,
          meta_group]


# ----------------------------------------------------------------- YAML


def quote(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def comment_lines(text: str, indent: str) -> list[str]:
    return [f"{indent}# {line}".rstrip() for line in text.splitlines()]


def wrap(text: str, width: int, indent: str) -> list[str]:
    """Folded-scalar lines: words joined up to `width` columns."""
    lines, line = [], ""
    for word in text.split(" "):
        if line and len(indent) + len(line) + 1 + len(word) > width:
            lines.append(indent + line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    if line:
        lines.append(indent + line)
    return lines


def render_rule(rule: Rule, o: Options) -> list[str]:
    out = []
    key = "alert" if rule.alert else "record"
    out.append(f"      - {key}: {rule.name}")
    if rule.comment:
        out += comment_lines(rule.comment, "        ")
    if "\n" in rule.expr:
        out.append("        expr: |")
        out += [f"          {line}".rstrip() for line in rule.expr.splitlines()]
    else:
        out.append(f"        expr: {rule.expr}")
    if rule.for_:
        out.append(f"        for: {rule.for_}")
    if rule.keep_firing_for:
        out.append(f"        keep_firing_for: {rule.keep_firing_for}")
    if rule.labels:
        out.append("        labels:")
        for k, v in rule.labels.items():
            out.append(f"          {k}: {quote(v) if not rule.alert or k == 'quantile' else v}")
    if rule.alert:
        out.append("        annotations:")
        out.append(f"          summary: {quote(rule.summary)}")
        out.append("          description: >-")
        out += wrap(rule.description, 78, "            ")
        out.append(f"          runbook_url: {o.runbook}#{rule.name.lower()}")
    return out


def render(o: Options) -> str:
    out = [
        "# GENERATED by alerts/generate.py: do not edit; change the generator and",
        "# run `python3 alerts/generate.py` (alerts/check.sh fails when this file",
        "# is out of date). A copy for your fleet: see `alerts/generate.py --help`.",
        "#",
        "# Prometheus rules for services instrumented with redline. They select",
        "# every job that exports redline's metrics (no job name)"
        + (f", narrowed by {{{o.selector}}}" if o.selector else "") + ",",
        f"# aggregate per service by ({o.by}), and keep `instance`",
        "# (and `pod`) where an alert is about one replica.",
        "#",
        "# Conventions (monitoring-mixins): CamelCase alert names prefixed `Redline`;",
        "# `severity` is `critical` (pages), `warning` (ticket), `info` (context",
        "# only, routed nowhere) or `none` (the Watchdog); annotations `summary`",
        "# (static), `description` (templated, with the observed value) and",
        "# `runbook_url` (a section of the runbook named after the alert). Metric",
        "# names come only from docs/METRICS.md, plus Prometheus's own `up`.",
        "# Thresholds are marked `# THRESHOLD`.",
        "#",
        "# Durations are plain literals (`[5m]`, `for: 2m`, `interval: 5m`; no offset)",
        "# so a test copy can scale them mechanically. The durations that are numbers",
        "# are marked `# SCALE`. Validate with alerts/check.sh.",
        "",
        "groups:",
    ]
    for make in GROUPS:
        g = make(o)
        out.append("  # " + "-" * 75)
        out += comment_lines(g.comment, "  ")
        out.append("  # " + "-" * 75)
        out.append(f"  - name: {g.name}")
        if g.interval:
            out.append(f"    interval: {g.interval}")
        out.append("    rules:")
        for i, rule in enumerate(g.rules):
            if i and rule.alert:
                out.append("")
            out += render_rule(rule, o)
        out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true",
                        help="compare instead of writing; exit 1 if the file differs")
    parser.add_argument("--out", type=Path, default=HERE / "redline.rules.yml",
                        help="the rule file to write (default: alerts/redline.rules.yml)")
    parser.add_argument("--selector", default="",
                        help='extra matchers for every selector, e.g. namespace="prod"')
    parser.add_argument("--by", default=Options.by,
                        help="labels that identify a service (default: %(default)s)")
    parser.add_argument("--runbook-url", default=RUNBOOK,
                        help="runbook page; alerts link to its #alertname sections")
    parser.add_argument("--availability-objective", default=Options.availability,
                        help="default availability objective (default: %(default)s)")
    parser.add_argument("--latency-objective", default=Options.latency_objective,
                        help="default latency objective (default: %(default)s)")
    parser.add_argument("--latency-threshold", default=Options.threshold,
                        help="latency threshold in seconds, a bucket bound (default: %(default)s)")
    a = parser.parse_args()
    if "job" not in [l.strip() for l in a.by.split(",")]:
        parser.error("--by must include job")
    for name, value in (("--availability-objective", a.availability_objective),
                        ("--latency-objective", a.latency_objective),
                        ("--latency-threshold", a.latency_threshold)):
        try:
            number = float(value)
        except ValueError:
            parser.error(f"{name} is not a number: {value!r}")
        if not (0 < number < (float("inf") if name == "--latency-threshold" else 1)):
            parser.error(f"{name} out of range: {value}")
    o = Options(selector=a.selector.strip().strip("{}"), by=a.by,
                runbook=a.runbook_url.rstrip("#"),
                availability=a.availability_objective,
                latency_objective=a.latency_objective, threshold=a.latency_threshold)
    text = render(o)
    if a.check:
        current = a.out.read_text(encoding="utf-8") if a.out.exists() else ""
        if current != text:
            sys.stdout.writelines(difflib.unified_diff(
                current.splitlines(True), text.splitlines(True),
                str(a.out), "generated", n=1))
            print(f"{a.out} differs from alerts/generate.py's output: run it", file=sys.stderr)
            return 1
        return 0
    a.out.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
