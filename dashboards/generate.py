#!/usr/bin/env python3
"""Generate redline's Grafana dashboards (dashboards/*.json).

The JSON files are committed; this script is their source. Edit it, then run

    python3 dashboards/generate.py          # rewrite the JSON files
    python3 dashboards/generate.py --check  # exit 1 if a committed file differs

Python 3.11 standard library only. Conventions (enforced later by a test):
Grafana 12 schema (schemaVersion 41, the Grafana pinned in docker-compose.yml);
a `datasource` variable and the chained `cluster`, `namespace`, `job` and
`instance` variables, all read from `redline_ready` (which every redline
service exports), so `job` lists only redline services; every panel on
`${datasource}`; every metric selector scoped with all four
(`cluster=~"$cluster", namespace=~"$namespace", job=~"$job",
instance=~"$instance"`), except the per-service recording rules (`job:…`),
which have no `instance` and carry the other three; every rate over
`$__rate_interval`; a unit and a description on every panel; stat panels
with a sparkline on range queries. A failed request is counted as the alert
rules count it (FAILED below, the same matchers as alerts/generate.py), and
the SLO error budget comes from the rules' 30-day recording rules and the
service's own objective. Metric names come only from docs/METRICS.md, plus
Prometheus' own `up` and `scrape_duration_seconds`, and recording rules
defined in alerts/redline.rules.yml.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
RULES = HERE.parent / "alerts" / "redline.rules.yml"

SCHEMA_VERSION = 41
DS = {"type": "prometheus", "uid": "${datasource}"}
# The variables that scope every selector, in the order they chain.
SCOPE_VARS = ("cluster", "namespace", "job", "instance")
# Every metric selector carries this scope.
SCOPE = ", ".join(f'{v}=~"${v}"' for v in SCOPE_VARS)
# A per-service recording rule (`job:…`) has no `instance`: its scope.
SERVICE_SCOPE = ", ".join(f'{v}=~"${v}"' for v in SCOPE_VARS[:3])
# The labels of a service and of one replica, for `by` and `on`.
SERVICE = "cluster, namespace, job"
REPLICA = "cluster, namespace, job, instance"
RI = "[$__rate_interval]"

# Request duration histogram and its series.
DUR = "http_server_request_duration_seconds"
# A failed request, exactly as the alert rules count it (alerts/generate.py
# FAILED): one with `error_type` (5xx, handler error, panic, body error),
# except a client that went away (`client_disconnected`). 4xx responses
# carry no `error_type`. main() checks the rules still say the same.
FAILED = 'error_type!="", error_type!="client_disconnected"'


def recorded() -> set[str]:
    """The recording rules alerts/redline.rules.yml defines."""
    return set(re.findall(r"(?m)^\s*- record: (\S+)\s*$", RULES.read_text(encoding="utf-8")))


RECORDED = recorded()


def sel(metric: str, extra: str = "") -> str:
    """`metric{cluster=~"$cluster", …, instance=~"$instance"[, extra]}`."""
    return f"{metric}{{{SCOPE}{', ' + extra if extra else ''}}}"


def rule(name: str) -> str:
    """A recording rule of alerts/redline.rules.yml, scoped: per service
    (`job:…`, no instance label) by cluster, namespace and job; per replica
    (`instance:…`) by all four."""
    if name not in RECORDED:
        raise SystemExit(f"{name} is not a recording rule of {RULES}")
    scope = SERVICE_SCOPE if name.split(":")[0].startswith("job") else SCOPE
    return f"{name}{{{scope}}}"


def rate(metric: str, extra: str = "") -> str:
    return f"rate({sel(metric, extra)}{RI})"


def sum_rate(metric: str, extra: str = "", by: str = "") -> str:
    """`sum [by (by)] (rate(metric{scope[, extra]}[$__rate_interval]))`."""
    if by:
        return f"sum by ({by}) ({rate(metric, extra)})"
    return f"sum({rate(metric, extra)})"


# ---------------------------------------------------------------- panels


class Layout:
    """Places panels left to right on Grafana's 24-column grid."""

    def __init__(self) -> None:
        self.x = 0
        self.y = 0
        self.row_h = 0
        self.next_id = 1

    def place(self, w: int, h: int) -> dict:
        if self.x + w > 24:
            self.x = 0
            self.y += self.row_h
            self.row_h = 0
        pos = {"h": h, "w": w, "x": self.x, "y": self.y}
        self.x += w
        self.row_h = max(self.row_h, h)
        return pos

    def new_id(self) -> int:
        i = self.next_id
        self.next_id += 1
        return i


def target(expr: str, legend: str = "", ref: str = "A", **extra) -> dict:
    """A range query: what time series panels and stat sparklines need."""
    t = {
        "datasource": DS,
        "editorMode": "code",
        "expr": expr,
        "instant": False,
        "legendFormat": legend or "__auto",
        "range": True,
        "refId": ref,
    }
    t.update(extra)
    return t


def instant(expr: str, legend: str = "", ref: str = "A", **extra) -> dict:
    """An instant query (the value now): stats without a sparkline, tables."""
    t = target(expr, legend, ref, **extra)
    t["range"] = False
    t["instant"] = True
    return t


def table_query(expr: str) -> dict:
    """An instant query in table format: one row per series, a column per label."""
    return instant(expr, format="table")


def with_refs(targets: list[dict]) -> list[dict]:
    for i, t in enumerate(targets):
        t["refId"] = chr(ord("A") + i)
    return targets


def timeseries(lay, title, desc, unit, targets, w=12, h=8, *, min_=None,
               max_=None, stack=False, decimals=None, overrides=None,
               thresholds=None) -> dict:
    defaults = {
        "unit": unit,
        "color": {"mode": "palette-classic"},
        "custom": {
            "drawStyle": "line",
            "lineWidth": 1,
            "fillOpacity": 10,
            "showPoints": "never",
            "spanNulls": False,
            "stacking": {"group": "A", "mode": "normal" if stack else "none"},
            "axisSoftMin": 0,
        },
    }
    if min_ is not None:
        defaults["min"] = min_
    if max_ is not None:
        defaults["max"] = max_
    if decimals is not None:
        defaults["decimals"] = decimals
    if thresholds is not None:
        defaults["thresholds"] = thresholds
        defaults["custom"]["thresholdsStyle"] = {"mode": "dashed"}
    return {
        "id": lay.new_id(),
        "type": "timeseries",
        "title": title,
        "description": desc,
        "datasource": DS,
        "gridPos": lay.place(w, h),
        "fieldConfig": {"defaults": defaults, "overrides": overrides or []},
        "options": {
            "legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
            "tooltip": {"mode": "multi", "sort": "desc"},
        },
        "targets": with_refs(targets),
    }


def steps(*pairs) -> dict:
    """Absolute thresholds: steps(("green", None), ("red", 0.05))."""
    return {
        "mode": "absolute",
        "steps": [{"color": c, "value": v} for c, v in pairs],
    }


def stat(lay, title, desc, unit, targets, w=4, h=5, *, thresholds=None,
         mappings=None, decimals=None, color_mode="value", graph=True) -> dict:
    """A stat panel. With `graph` (a sparkline) its targets must be range
    queries: an instant query has one point, and the sparkline stays empty."""
    if graph and any(t.get("instant") or not t.get("range") for t in targets):
        raise ValueError(f"stat {title!r}: a sparkline needs range queries (target(), not instant())")
    defaults = {
        "unit": unit,
        "color": {"mode": "thresholds"},
        "thresholds": thresholds or steps(("green", None)),
        "mappings": mappings or [],
    }
    if decimals is not None:
        defaults["decimals"] = decimals
    return {
        "id": lay.new_id(),
        "type": "stat",
        "title": title,
        "description": desc,
        "datasource": DS,
        "gridPos": lay.place(w, h),
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "options": {
            "colorMode": color_mode,
            "graphMode": "area" if graph else "none",
            "justifyMode": "auto",
            "orientation": "auto",
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "textMode": "auto",
            "showPercentChange": False,
            "wideLayout": True,
        },
        "targets": with_refs(targets),
    }


# Value mappings for the health gauges (1 pass, 0.5 warn, 0 fail).
HEALTH_MAPPINGS = [
    {
        "type": "value",
        "options": {
            "1": {"text": "pass", "color": "green", "index": 0},
            "0.5": {"text": "warn", "color": "yellow", "index": 1},
            "0": {"text": "fail", "color": "red", "index": 2},
        },
    }
]
HEALTH_THRESHOLDS = steps(("red", None), ("yellow", 0.5), ("green", 1))
READY_MAPPINGS = [
    {
        "type": "value",
        "options": {
            "1": {"text": "ready", "color": "green", "index": 0},
            "0": {"text": "not ready", "color": "red", "index": 1},
        },
    }
]
UP_MAPPINGS = [
    {
        "type": "value",
        "options": {
            "1": {"text": "up", "color": "green", "index": 0},
            "0": {"text": "down", "color": "red", "index": 1},
        },
    }
]


def state_timeline(lay, title, desc, unit, targets, mappings, thresholds,
                   w=12, h=8) -> dict:
    return {
        "id": lay.new_id(),
        "type": "state-timeline",
        "title": title,
        "description": desc,
        "datasource": DS,
        "gridPos": lay.place(w, h),
        "fieldConfig": {
            "defaults": {
                "unit": unit,
                "color": {"mode": "thresholds"},
                "thresholds": thresholds,
                "mappings": mappings,
                "custom": {"fillOpacity": 80, "lineWidth": 0},
            },
            "overrides": [],
        },
        "options": {
            "showValue": "auto",
            "mergeValues": True,
            "alignValue": "left",
            "rowHeight": 0.9,
            "legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
            "tooltip": {"mode": "single", "sort": "none"},
        },
        "targets": with_refs(targets),
    }


def heatmap(lay, title, desc, targets, w=24, h=9) -> dict:
    return {
        "id": lay.new_id(),
        "type": "heatmap",
        "title": title,
        "description": desc,
        "datasource": DS,
        "gridPos": lay.place(w, h),
        "fieldConfig": {
            "defaults": {
                "unit": "reqps",
                "custom": {
                    "hideFrom": {"legend": False, "tooltip": False, "viz": False},
                    "scaleDistribution": {"type": "linear"},
                },
            },
            "overrides": [],
        },
        "options": {
            "calculate": False,
            "cellGap": 1,
            "cellValues": {"unit": "reqps"},
            "color": {
                "mode": "scheme",
                "scheme": "Oranges",
                "scale": "exponential",
                "exponent": 0.5,
                "fill": "dark-orange",
                "reverse": False,
                "steps": 64,
            },
            "exemplars": {"color": "rgba(255,0,255,0.7)"},
            "filterValues": {"le": 1e-9},
            "legend": {"show": True},
            "rowsFrame": {"layout": "auto"},
            "tooltip": {"mode": "single", "yHistogram": True, "showColorScale": False},
            "yAxis": {"axisPlacement": "left", "reverse": False, "unit": "s"},
            "showValue": "never",
        },
        "targets": with_refs(targets),
    }


def table(lay, title, desc, unit, targets, columns, w=8, h=8, *, sort_by=None,
          thresholds=None, overrides=None, merge=False, gauges=None, descending=True) -> dict:
    """A table of instant queries (`table_query`), one row per series and a
    column per label. `columns` renames the value columns ("Value" for one
    query, "Value #A", "Value #B"… for several, joined row by row on their
    labels with `merge`); the time and metric name columns are hidden, and
    the value columns (or those named in `gauges`) drawn as gauges."""
    transformations = []
    if merge:
        transformations.append({"id": "merge", "options": {}})
    transformations.append({
        "id": "organize",
        "options": {
            "excludeByName": {"Time": True, "__name__": True},
            "indexByName": {},
            "renameByName": columns,
        },
    })
    gauge = [{
        "matcher": {"id": "byName", "options": name},
        "properties": [{"id": "custom.cellOptions",
                        "value": {"type": "gauge", "mode": "basic", "valueDisplayMode": "text"}}],
    } for name in (gauges or columns.values())]
    return {
        "id": lay.new_id(),
        "type": "table",
        "title": title,
        "description": desc,
        "datasource": DS,
        "gridPos": lay.place(w, h),
        "fieldConfig": {
            "defaults": {
                "unit": unit,
                "min": 0,
                "color": {"mode": "thresholds"},
                "thresholds": thresholds or steps(("green", None)),
                "custom": {"align": "auto", "cellOptions": {"type": "auto"}, "inspect": False},
            },
            "overrides": gauge + (overrides or []),
        },
        "options": {
            "cellHeight": "sm",
            "showHeader": True,
            "footer": {"show": False, "countRows": False, "fields": "", "reducer": ["sum"]},
            "sortBy": [{"displayName": sort_by or next(iter(columns.values())), "desc": descending}],
        },
        "transformations": transformations,
        "targets": with_refs(targets),
    }


# ---------------------------------------------------------------- dashboard


def query_variable(name: str, label: str, query: str, all_value: str | None) -> dict:
    """A multi-value query variable with All, selected by default."""
    v = {
        "name": name,
        "label": label,
        "type": "query",
        "datasource": DS,
        "definition": query,
        "query": query,
        "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
        "hide": 0,
        "includeAll": True,
        "multi": True,
        "options": [],
        "refresh": 2,
        "regex": "",
        "skipUrlSync": False,
        "sort": 1,
    }
    if all_value is not None:
        v["allValue"] = all_value
    return v


def variables() -> dict:
    # Chained: each lists the values of redline_ready (exported by every
    # redline service) within the variables before it. `cluster` and
    # `namespace` exist only where relabelling adds them: their All is `.*`,
    # which also matches a series without the label (and with no values the
    # variable is All). `job` has no custom All: All is the list of redline
    # jobs it found, so Prometheus', Alertmanager's or a collector's own
    # process_* and up series never join the panels. `instance` may be `.*`:
    # the job already narrows every selector.
    ready = "redline_ready"
    return {
        "list": [
            {
                "name": "datasource",
                "label": "Data source",
                "type": "datasource",
                "query": "prometheus",
                "current": {"selected": False, "text": "Prometheus", "value": "prometheus"},
                "hide": 0,
                "includeAll": False,
                "multi": False,
                "options": [],
                "refresh": 1,
                "regex": "",
                "skipUrlSync": False,
            },
            query_variable("cluster", "Cluster", f"label_values({ready}, cluster)", ".*"),
            query_variable("namespace", "Namespace",
                           f'label_values({ready}{{cluster=~"$cluster"}}, namespace)', ".*"),
            query_variable("job", "Job",
                           f'label_values({ready}{{cluster=~"$cluster", namespace=~"$namespace"}}, job)',
                           None),
            query_variable("instance", "Instance",
                           f'label_values({ready}{{cluster=~"$cluster", namespace=~"$namespace", '
                           f'job=~"$job"}}, instance)', ".*"),
        ]
    }


# Deploy markers: a service's version (build_info's `version` and `revision`)
# that was not there $__rate_interval earlier, once per service and version
# (the first replica to run it). build_info is 1 and a new version is a new
# series, so changes() over build_info would never see a deploy; a restart
# of the same version is not one.
DEPLOY_BY = f"{SERVICE}, version, revision"
DEPLOYS = {
    "name": "Deploys",
    "datasource": DS,
    "enable": True,
    "hide": False,
    "iconColor": "purple",
    "target": {
        "expr": (f"group by ({DEPLOY_BY}) ({sel('build_info')})\nunless\n"
                 f"group by ({DEPLOY_BY}) ({sel('build_info')} offset $__rate_interval)"),
        "interval": "",
        "refId": "Anno",
    },
    "titleFormat": "Deploy: {{job}} {{version}}",
    "textFormat": "{{job}} runs version {{version}} (revision {{revision}})",
    "tagKeys": "cluster,namespace,job,version",
    "useValueForTime": False,
}


def dashboard(slug: str, title: str, description: str, panels: list[dict],
              deploys: bool = False) -> dict:
    return {
        "annotations": {"list": [DEPLOYS] if deploys else []},
        "description": description,
        "editable": True,
        "fiscalYearStartMonth": 0,
        "graphTooltip": 1,
        "id": None,
        "links": [
            {
                "title": "redline dashboards",
                "type": "dashboards",
                "tags": ["redline"],
                "asDropdown": True,
                "includeVars": True,
                "keepTime": True,
                "icon": "external link",
                "targetBlank": False,
                "tooltip": "",
                "url": "",
            }
        ],
        "panels": panels,
        "refresh": "30s",
        "schemaVersion": SCHEMA_VERSION,
        "tags": ["redline", slug],
        "templating": variables(),
        "time": {"from": "now-1h", "to": "now"},
        "timepicker": {},
        "timezone": "browser",
        "title": f"redline / {title}",
        "uid": f"redline-{slug}",
        "version": 1,
        "weekStart": "",
    }


# ---------------------------------------------------------------- shared exprs


def total_rps(by: str = "") -> str:
    return sum_rate(DUR + "_count", by=by)


def failed_rps(by: str = "") -> str:
    return sum_rate(DUR + "_count", FAILED, by=by)


def error_ratio(by: str = "") -> str:
    """Failed requests (FAILED) over all requests. With traffic and no
    failed request there is no failed series at all: the ratio is then
    honestly 0, so the numerator falls back to 0 times the traffic (an idle
    service shows no data), as the rules' job:redline_http_errors:ratio_*."""
    return f"(\n  {failed_rps(by)}\n  or 0 * {total_rps(by)}\n)\n/\n{total_rps(by)}"


ERROR_RATIO = error_ratio()
# What the availability SLO allows to fail, per service: 1 - its objective
# (redline_slo_availability_objective, or the rules' default).
ALLOWED = f"1 - {rule('job:redline_slo_availability_objective:max')}"
ALLOWED_OVERRIDE = {
    "matcher": {"id": "byRegexp", "options": "allowed .*"},
    "properties": [
        {"id": "color", "value": {"mode": "fixed", "fixedColor": "red"}},
        {"id": "custom.lineStyle", "value": {"fill": "dash", "dash": [10, 10]}},
        {"id": "custom.fillOpacity", "value": 0},
    ],
}


def quantile(q: float, by: str = "le") -> str:
    return (
        f"histogram_quantile({q}, sum by ({by}) ({rate(DUR + '_bucket')}))"
    )


# ---------------------------------------------------------------- dashboards


def overview() -> dict:
    lay = Layout()
    budget = rule("job:redline_http_error_budget:remaining_ratio30d")
    replica_errors = rule("instance:redline_http_errors:ratio_rate5m")
    replica_slow = rule("instance:redline_http_slow_requests:ratio_rate5m")
    replica_p95 = f"topk(10, {quantile(0.95, REPLICA + ', le')})"
    # One row per service: the series' names dropped, so the merge can join
    # the three on their labels.
    slo = [table_query(f"max by ({SERVICE}) ({rule(name)})") for name in (
        "job:redline_slo_availability_objective:max",
        "job:redline_http_errors:ratio_rate30d",
        "job:redline_http_error_budget:remaining_ratio30d",
    )]
    panels = [
        stat(lay, "Request rate",
             "Requests per second over all routes of the selected services: the rate of "
             "http_server_request_duration_seconds_count (there is no separate request counter).",
             "reqps", [target(total_rps(), "requests/s")], decimals=1),
        stat(lay, "Error ratio",
             "Share of requests that failed, as the alert rules count them: series with an error_type "
             "(5xx, handler errors, panics, body errors) except client_disconnected (the client went "
             "away); 4xx are not failures. 0 when there is traffic and no failure.",
             "percentunit", [target(ERROR_RATIO, "error ratio")], decimals=2,
             thresholds=steps(("green", None), ("orange", 0.001), ("red", 0.05))),
        stat(lay, "p99 latency",
             "99th percentile of http_server_request_duration_seconds over all routes "
             "(interpolated within the histogram bucket).",
             "s", [target(quantile(0.99), "p99")],
             thresholds=steps(("green", None), ("orange", 0.5), ("red", 1))),
        stat(lay, "In flight",
             "Requests being served right now (http_server_active_requests, all methods).",
             "short", [target(f"sum({sel('http_server_active_requests')})", "in flight")]),
        stat(lay, "Ready",
             "redline_ready of the selected instances: ready when every one would pass /ready "
             "(lifecycle and last readiness results), not ready when any would not.",
             "none", [instant(f"min({sel('redline_ready')})", "ready")],
             mappings=READY_MAPPINGS, thresholds=steps(("red", None), ("green", 1)), graph=False,
             color_mode="background"),
        stat(lay, "SLO error budget left",
             "Availability SLO over its 30-day window, from the recording rule "
             "job:redline_http_error_budget:remaining_ratio30d (alerts/redline.rules.yml): "
             "1 - error ratio over 30 days / (1 - objective), with each service's own objective "
             "(redline_slo_availability_objective, else the rules' default). The lowest of the "
             "selected services; per service in the SLO table below. 100% = untouched, 0% = spent, "
             "negative = overspent. A service, not an instance, has a budget: the instance "
             "variable does not narrow it.",
             "percentunit", [target(f"min({budget})", "budget left")], decimals=1,
             thresholds=steps(("red", None), ("orange", 0), ("green", 0.25)),
             color_mode="background"),
        timeseries(lay, "Request rate by route",
                   "Requests per second by route template (http_route; `unmatched` is the 404 fallback).",
                   "reqps", [target(total_rps("http_route"), "{{http_route}}")], stack=True),
        timeseries(lay, "Error ratio",
                   "Share of failed requests (error_type set, client_disconnected excepted, as the "
                   "alert rules count them) over all requests, against what each service's "
                   "availability objective allows to fail (dashed: 1 - "
                   "job:redline_slo_availability_objective:max). 4xx answers are client errors, "
                   "not failures.",
                   "percentunit", [target(ERROR_RATIO, "error ratio"), target(ALLOWED, "allowed {{job}}")],
                   min_=0, overrides=[ALLOWED_OVERRIDE]),
        timeseries(lay, "Latency p50 / p95 / p99",
                   "Percentiles of http_server_request_duration_seconds over all routes, from the "
                   "histogram buckets (a percentile inside a bucket is interpolated).",
                   "s", [target(quantile(0.5), "p50"), target(quantile(0.95), "p95"),
                         target(quantile(0.99), "p99")]),
        timeseries(lay, "In-flight requests",
                   "http_server_active_requests by method: requests that arrived and whose response "
                   "body has not ended yet.",
                   "short", [target(f"sum by (http_request_method) ({sel('http_server_active_requests')})",
                                    "{{http_request_method}}")], stack=True),
        table(lay, "Replicas by error ratio",
              "The 10 replicas (instances) with the highest error ratio over 5 minutes, from the "
              "recording rule instance:redline_http_errors:ratio_rate5m: failed requests (as the "
              "rules count them) over all requests of that replica, the figure "
              "RedlineInstanceErrorsOutlier compares with the other replicas. Empty for a replica "
              "without traffic.",
              "percentunit", [table_query(f"topk(10, {replica_errors})")], {"Value": "error ratio"},
              thresholds=steps(("green", None), ("orange", 0.001), ("red", 0.05))),
        table(lay, "Replicas by slow-request ratio",
              "The 10 replicas with the highest share of requests slower than the latency "
              "objective's threshold bucket over 5 minutes (recording rule "
              "instance:redline_http_slow_requests:ratio_rate5m).",
              "percentunit", [table_query(f"topk(10, {replica_slow})")], {"Value": "slow ratio"},
              thresholds=steps(("green", None), ("orange", 0.01), ("red", 0.05))),
        table(lay, "Replicas by p95 latency",
              "The 10 replicas with the highest 95th percentile of http_server_request_duration_seconds "
              "(all routes, over the rate interval).",
              "s", [table_query(replica_p95)], {"Value": "p95"},
              thresholds=steps(("green", None), ("orange", 0.5), ("red", 1))),
        timeseries(lay, "Error budget left (30 days)",
                   "job:redline_http_error_budget:remaining_ratio30d per service: the share of the "
                   "30-day availability error budget left (1 = untouched, 0 = spent, below 0 = "
                   "overspent). Recorded every 5 minutes by alerts/redline.rules.yml.",
                   "percentunit", [target(budget, "{{job}}")],
                   thresholds=steps(("red", None), ("orange", 0), ("green", 0.25))),
        table(lay, "SLO per service",
              "Availability SLO per service (cluster, namespace, job) from the recording rules: the "
              "objective (job:redline_slo_availability_objective:max: redline_slo_availability_objective "
              "or the rules' default), the error ratio over 30 days (job:redline_http_errors:ratio_rate30d) "
              "and the error budget left (job:redline_http_error_budget:remaining_ratio30d).",
              "percentunit", slo,
              {"Value #A": "objective", "Value #B": "error ratio (30 d)", "Value #C": "budget left"},
              w=12, sort_by="budget left", descending=False, merge=True,
              gauges=["budget left"],
              overrides=[{
                  "matcher": {"id": "byName", "options": "budget left"},
                  "properties": [{"id": "thresholds",
                                  "value": steps(("red", None), ("orange", 0), ("green", 0.25))}],
              }]),
        timeseries(lay, "Health status per check",
                   "redline_health_check_status: the last result of each health check "
                   "(1 pass, 0.5 warn, 0 fail; present once a probe of /health, /ready or /alive ran it). "
                   "Worst instance per check.",
                   "none", [target(f"min by (check) ({sel('redline_health_check_status')})", "{{check}}")],
                   min_=0, max_=1,
                   thresholds=steps(("red", None), ("yellow", 0.5), ("green", 1))),
        timeseries(lay, "Operations in flight",
                   "redline_operations_active: non-HTTP work timed with OperationTimer that is still "
                   "running, by operation.",
                   "short", [target(f"sum by (operation) ({sel('redline_operations_active')})",
                                    "{{operation}}")]),
    ]
    return dashboard("overview", "Overview",
                     "The services at a glance: traffic, failures, latency, the replicas that stand out, "
                     "the availability error budget, health; deploys marked.", panels, deploys=True)


def latency() -> dict:
    lay = Layout()
    per_route = "le, http_route"
    ex = {"exemplar": True}

    def pct(q: float) -> dict:
        return target(quantile(q, per_route), "{{http_route}}", **ex)

    mean = (
        f"sum by (http_route) ({rate(DUR + '_sum')})\n/\n"
        f"sum by (http_route) ({rate(DUR + '_count')})"
    )
    op_p95 = (
        "histogram_quantile(0.95, sum by (le, operation) "
        f"({rate('redline_operation_duration_seconds_bucket')}))"
    )
    panels = [
        timeseries(lay, "p50 latency by route",
                   "Median of http_server_request_duration_seconds per route template. Exemplars "
                   "(diamonds) carry the trace_id of a sampled request in that bucket: click one to "
                   "open the trace in Jaeger.",
                   "s", [pct(0.5)], w=8),
        timeseries(lay, "p95 latency by route",
                   "95th percentile of http_server_request_duration_seconds per route template, with "
                   "exemplars linking to traces.",
                   "s", [pct(0.95)], w=8),
        timeseries(lay, "p99 latency by route",
                   "99th percentile of http_server_request_duration_seconds per route template, with "
                   "exemplars linking to traces. Beyond the last finite bucket (10 s) it reads 10 s.",
                   "s", [pct(0.99)], w=8),
        heatmap(lay, "Request duration heatmap",
                "Requests per second in each http_server_request_duration_seconds bucket (all routes), "
                "as Prometheus buckets (no re-bucketing). Exemplars mark sampled requests; click one to "
                "open its trace.",
                [target(f"sum by (le) ({rate(DUR + '_bucket')})", "{{le}}", format="heatmap",
                        exemplar=True)]),
        timeseries(lay, "Mean latency by route",
                   "Average request duration per route template (_sum / _count): sensitive to outliers "
                   "the percentiles hide.",
                   "s", [target(mean, "{{http_route}}")]),
        timeseries(lay, "Request rate by route and status",
                   "Requests per second per route template and status code, to weigh the percentiles "
                   "against the traffic behind them.",
                   "reqps", [target(total_rps("http_route, http_response_status_code"),
                                    "{{http_route}} {{http_response_status_code}}")]),
        timeseries(lay, "Operation p95 by operation",
                   "95th percentile of redline_operation_duration_seconds: non-HTTP work timed with "
                   "OperationTimer, by operation.",
                   "s", [target(op_p95, "{{operation}}")]),
        timeseries(lay, "Response body size p95 by route",
                   "95th percentile of http_server_response_body_size_bytes per route template.",
                   "bytes", [target(
                       "histogram_quantile(0.95, sum by (le, http_route) "
                       f"({rate('http_server_response_body_size_bytes_bucket')}))",
                       "{{http_route}}")]),
    ]
    return dashboard("latency", "Latency",
                     "Request latency per route: percentiles, the bucket heatmap and exemplars that "
                     "link to traces.", panels, deploys=True)


def errors() -> dict:
    lay = Layout()
    # Without any failure there is no failed series at all: one line "none"
    # at 0 (while there is traffic) instead of no data.
    by_type = failed_rps("error_type")
    failures_by_type = (
        f"{by_type}\nor\n(\n  label_replace(0 * {total_rps()}, \"error_type\", \"none\", \"\", \"\")\n"
        f"  unless on () {by_type}\n)"
    )
    panels = [
        timeseries(lay, "Error ratio",
                   "Share of failed requests over all requests, as the alert rules count them "
                   "(error_type set: 5xx, handler error, panic, body error; client_disconnected is "
                   "not a failure of the service). 0 when there is traffic and no failure. Dashed: "
                   "what each service's availability objective allows (1 - "
                   "job:redline_slo_availability_objective:max).",
                   "percentunit", [target(ERROR_RATIO, "all routes"), target(ALLOWED, "allowed {{job}}")],
                   min_=0, overrides=[ALLOWED_OVERRIDE]),
        timeseries(lay, "Error ratio by route",
                   "Share of failed requests (as the alert rules count them) per route template; 0 for "
                   "a route with traffic and no failure.",
                   "percentunit", [target(error_ratio("http_route"), "{{http_route}}")], min_=0),
        timeseries(lay, "Failed requests by error type",
                   "Failed requests per second by error_type: the status for 5xx, handler_error, panic, "
                   "body_error. Requests whose client went away (error_type client_disconnected) are not "
                   "failures of the service and are not counted here, nor in any error ratio or the alerts. "
                   "Without any failure, one line `none` at 0.",
                   "reqps", [target(failures_by_type, "{{error_type}}")], stack=True),
        timeseries(lay, "Errors by category",
                   "redline_errors_total: errors captured by the error tracker per second, by category "
                   "(http_5xx, panic, handler, dependency, timeout, validation, internal, other).",
                   "cps", [target(f"sum by (category) ({rate('redline_errors_total')})", "{{category}}")],
                   stack=True),
        timeseries(lay, "Error and warning log rate",
                   "redline_log_events_total for the error and warn levels: log events per second that "
                   "passed the filter. A jump in error is worth a look.",
                   "cps", [target(sum_rate("redline_log_events_total", 'level=~"error|warn"', "level"), "{{level}}")]),
        timeseries(lay, "Error groups",
                   "redline_error_groups: distinct error fingerprints held by the tracker (at most 500); "
                   "a rise means new kinds of errors. Evictions per second on the right axis.",
                   "short", [target(f"sum({sel('redline_error_groups')})", "groups"),
                             target(f"sum({rate('redline_error_groups_evicted_total')})", "evicted/s")],
                   overrides=[{
                       "matcher": {"id": "byName", "options": "evicted/s"},
                       "properties": [{"id": "unit", "value": "cps"},
                                      {"id": "custom.axisPlacement", "value": "right"}],
                   }]),
    ]
    return dashboard("errors", "Errors",
                     "Failures: error ratio, errors by type and category, error logs and error groups.",
                     panels, deploys=True)


def resources() -> dict:
    lay = Layout()
    by_cache = "cluster, namespace, job, cache"
    cache_hits = sum_rate("redline_cache_requests_total", 'result="hit"', by_cache)
    cache_lookups = sum_rate("redline_cache_requests_total", "", by_cache)
    cache_loads = sum_rate("redline_cache_load_duration_seconds_bucket", "", by_cache + ", le")
    limit = (f"{sel('redline_system_memory_limit_bytes')}\nor\n"
             f"{sel('redline_system_memory_total_bytes')}")
    panels = [
        timeseries(lay, "CPU utilization",
                   "Process CPU (rate of process_cpu_seconds_total) as a share of what it may use, "
                   "as RedlineCpuSaturation counts it: its container's CPU limit "
                   "(redline_system_cpu_limit_cores) when one is set, else all logical CPUs "
                   "(redline_system_logical_cpus); and whole-system CPU "
                   "(redline_system_cpu_utilization_ratio), as a share of all logical CPUs.",
                   "percentunit", [
                       # Matched on all labels, as the alert does: `on (…, instance)`
                       # alone would match two series after a pod IP is reused.
                       target(f"{rate('process_cpu_seconds_total')}\n/\n"
                              f"(\n  {sel('redline_system_cpu_limit_cores')}\n  or\n"
                              f"  {sel('redline_system_logical_cpus')}\n)", "process {{instance}}"),
                       target(sel("redline_system_cpu_utilization_ratio"), "system {{instance}}"),
                   ], min_=0, max_=1),
        timeseries(lay, "Memory against limit",
                   "Resident memory of the process (process_resident_memory_bytes) against its limit: "
                   "the cgroup limit (redline_system_memory_limit_bytes, only in a container with a limit) "
                   "or, without one, total system memory, as the memory health check does.",
                   "bytes", [
                       target(sel("process_resident_memory_bytes"), "resident {{instance}}"),
                       target(limit, "limit {{instance}}"),
                   ]),
        timeseries(lay, "Memory used of limit",
                   "process_resident_memory_bytes as a share of the cgroup memory limit, or of total "
                   "system memory when no limit is set. The memory health check warns at 85% and fails at 95%.",
                   "percentunit", [target(
                       f"{sel('process_resident_memory_bytes')}\n/\n({limit})",
                       "{{instance}}")], min_=0, max_=1,
                   thresholds=steps(("green", None), ("orange", 0.85), ("red", 0.95))),
        timeseries(lay, "System memory",
                   "Whole-system memory from sysinfo: used, available and total bytes.",
                   "bytes", [
                       target(sel("redline_system_memory_used_bytes"), "used {{instance}}"),
                       target(sel("redline_system_memory_available_bytes"), "available {{instance}}"),
                       target(sel("redline_system_memory_total_bytes"), "total {{instance}}"),
                   ]),
        timeseries(lay, "File descriptors",
                   "Open file descriptors (process_open_fds) against the process limit (process_max_fds).",
                   "short", [
                       target(sel("process_open_fds"), "open {{instance}}"),
                       target(sel("process_max_fds"), "max {{instance}}"),
                   ]),
        timeseries(lay, "Threads",
                   "OS threads of the process (process_threads).",
                   "short", [target(sel("process_threads"), "{{instance}}")]),
        timeseries(lay, "System load",
                   "System load average (redline_system_load_average, 1m/5m/15m) with the number of "
                   "logical CPUs for reference: load above it means runnable tasks are waiting.",
                   "short", [
                       target(sel("redline_system_load_average"), "{{period}} {{instance}}"),
                       target(sel("redline_system_logical_cpus"), "logical CPUs {{instance}}"),
                   ]),
        timeseries(lay, "Uptime",
                   "Time since the process started (process_start_time_seconds); a drop to zero is a restart.",
                   "s", [target(f"time() - {sel('process_start_time_seconds')}", "{{instance}}")]),
        timeseries(lay, "Cache hit ratio",
                   "Share of lookups that found their value, per cache, summed over the selected "
                   "replicas (redline_cache_requests_total with result hit, over all lookups); "
                   "RedlineCacheHitRatioCollapse fires when it falls below half its level of the last day.",
                   "percentunit", [target(f"{cache_hits}\n/\n{cache_lookups}", "{{job}} {{cache}}")],
                   min_=0, max_=1),
        timeseries(lay, "Cache load time (p95)",
                   "95th percentile of the time to load a value on a cache miss "
                   "(redline_cache_load_duration_seconds), per cache.",
                   "s", [target(f"histogram_quantile(0.95, {cache_loads})", "{{job}} {{cache}}")]),
    ]
    return dashboard("resources", "Resources",
                     "Saturation: CPU, memory against the limit, file descriptors, threads and system load.",
                     panels, deploys=True)


def health() -> dict:
    lay = Layout()
    panels = [
        state_timeline(lay, "Status per check",
                       "redline_health_check_status: last result of each health check (1 pass, 0.5 warn, "
                       "0 fail), present once a probe of /health, /ready or /alive ran it. A non-critical "
                       "check can fail while the service stays ready.",
                       "none", [target(f"min by (check) ({sel('redline_health_check_status')})", "{{check}}")],
                       HEALTH_MAPPINGS, HEALTH_THRESHOLDS, w=24),
        state_timeline(lay, "Readiness",
                       "redline_ready per instance: 1 when /ready would pass (lifecycle: starting, draining; "
                       "and the last readiness results).",
                       "none", [target(sel("redline_ready"), "{{instance}}")],
                       READY_MAPPINGS, steps(("red", None), ("green", 1))),
        state_timeline(lay, "Scrape target up",
                       "Prometheus' up series: 1 when the last scrape of the instance succeeded.",
                       "none", [target(sel("up"), "{{instance}}")],
                       UP_MAPPINGS, steps(("red", None), ("green", 1))),
        timeseries(lay, "Check duration",
                   "redline_health_check_duration_seconds: how long the last run of each check took "
                   "(a timed-out check reads about its timeout).",
                   "s", [target(f"max by (check) ({sel('redline_health_check_duration_seconds')})",
                                "{{check}}")]),
        timeseries(lay, "Check runs",
                   "redline_health_check_runs_total: check runs per second. Probes answered from the "
                   "cache do not run checks, so this stays low under probe storms.",
                   "cps", [target(f"sum by (check) ({rate('redline_health_check_runs_total')})",
                                  "{{check}}")]),
    ]
    return dashboard("health", "Health",
                     "Health checks and readiness: status and duration per check, readiness and scrape "
                     "status per instance.", panels)


def security() -> dict:
    lay = Layout()
    auth_events = "authn_login_fail|authn_token_invalid|authz_fail"
    # redline_rate_limited_total appears only after the first refusal. The
    # same refusals are counted as the always-present security event
    # excess_rate_limit_exceeded, so while no selected instance has refused
    # anything the panel shows that (zero) total instead of nothing.
    per_route = sum_rate("redline_rate_limited_total", by="http_route")
    rate_limited = (
        f"{per_route}\nor\n(\n  label_replace("
        + sum_rate("redline_security_events_total", 'event="excess_rate_limit_exceeded"')
        + ', "http_route", "all routes", "", "")\n  unless on () '
        + per_route
        + "\n)"
    )
    panels = [
        timeseries(lay, "Authentication and authorization failures",
                   "redline_security_events_total for authn_login_fail (missing or wrong admin token), "
                   "authn_token_invalid and authz_fail, per second.",
                   "cps", [target(sum_rate("redline_security_events_total", f'event=~"{auth_events}"', "event"),
                                  "{{event}}")]),
        timeseries(lay, "Rate-limited requests",
                   "Requests refused with 429 per second, by route (redline_rate_limited_total). Before "
                   "the first refusal that family does not exist, and the panel shows the equivalent "
                   "security event excess_rate_limit_exceeded (all routes). Rate limiting is off unless a "
                   "quota is configured.",
                   "reqps", [target(rate_limited, "{{http_route}}")]),
        timeseries(lay, "Security events",
                   "redline_security_events_total: every security and audit event (OWASP logging "
                   "vocabulary) per second, by event.",
                   "cps", [target(f"sum by (event) ({rate('redline_security_events_total')})", "{{event}}")],
                   w=24),
        timeseries(lay, "Input validation and excess 404",
                   "input_validation_fail and malicious_excess_404 security events per second: probing "
                   "and malformed input.",
                   "cps", [target(
                       sum_rate("redline_security_events_total",
                                'event=~"input_validation_fail|malicious_excess_404"', "event"),
                       "{{event}}")]),
        timeseries(lay, "4xx responses by status",
                   "Client-error responses per second by status code (401, 403, 404, 413, 429…) from "
                   "http_server_request_duration_seconds_count.",
                   "reqps", [target(
                       sum_rate(DUR + "_count", 'http_response_status_code=~"4.."',
                                "http_response_status_code"),
                       "{{http_response_status_code}}")]),
    ]
    return dashboard("security", "Security",
                     "Security events: authentication failures, rate limiting, validation failures and "
                     "client errors.", panels)


def pipeline() -> dict:
    lay = Layout()
    panels = [
        timeseries(lay, "Spans exported",
                   "redline_trace_spans_exported_total: spans per second the OTLP collector accepted "
                   "(0 when no endpoint is configured).",
                   "cps", [target(f"sum({rate('redline_trace_spans_exported_total')})", "exported")]),
        timeseries(lay, "Spans dropped",
                   "redline_trace_spans_dropped_total by reason: queue_full (export queue full), "
                   "export_failed (collector unreachable or rejecting), shutdown. Export request "
                   "failures (redline_trace_export_errors_total) alongside.",
                   "cps", [
                       target(f"sum by (reason) ({rate('redline_trace_spans_dropped_total')})", "{{reason}}"),
                       target(f"sum({rate('redline_trace_export_errors_total')})", "export errors"),
                   ]),
        timeseries(lay, "Export queue",
                   "Spans waiting in the export queue (redline_trace_queue_spans) against its capacity "
                   "(redline_trace_queue_capacity_spans). Near the capacity, drops are next.",
                   "short", [
                       target(f"sum by (instance) ({sel('redline_trace_queue_spans')})", "queued {{instance}}"),
                       target(f"sum by (instance) ({sel('redline_trace_queue_capacity_spans')})",
                              "capacity {{instance}}"),
                   ]),
        timeseries(lay, "Log lines lost and write errors",
                   "redline_log_lines_lost_total by output and reason (queue_full: the non-blocking "
                   "buffer was full; no_space: the log volume was full; write_failed), "
                   "redline_log_write_errors_total by output, and redline_log_records_dropped_total "
                   "(OTLP log export) by reason, per second. All should stay at 0.",
                   "cps", [
                       target(f"sum by (output, reason) ({rate('redline_log_lines_lost_total')})",
                              "lost {{output}} {{reason}}"),
                       target(f"sum by (output) ({rate('redline_log_write_errors_total')})",
                              "write errors {{output}}"),
                       target(f"sum by (reason) ({rate('redline_log_records_dropped_total')})",
                              "OTLP dropped {{reason}}"),
                   ]),
        timeseries(lay, "Log output",
                   "redline_log_lines_written_total by output (lines per second) and "
                   "redline_log_bytes_written_total (bytes per second, right axis).",
                   "cps", [
                       target(f"sum by (output) ({rate('redline_log_lines_written_total')})", "lines {{output}}"),
                       target(f"sum by (output) ({rate('redline_log_bytes_written_total')})", "bytes {{output}}"),
                   ],
                   overrides=[{
                       "matcher": {"id": "byRegexp", "options": "bytes .*"},
                       "properties": [{"id": "unit", "value": "Bps"},
                                      {"id": "custom.axisPlacement", "value": "right"}],
                   }]),
        timeseries(lay, "Metric overflow",
                   "redline_metric_overflow_total by metric: observations folded into a family's overflow "
                   "series because it reached its label-set cap. Any increase means an unbounded label "
                   "source.",
                   "cps", [target(f"sum by (metric) ({rate('redline_metric_overflow_total')})", "{{metric}}")]),
        timeseries(lay, "Scrape duration",
                   "scrape_duration_seconds (generated by Prometheus): how long scraping /metrics took, "
                   "per instance. Close to the scrape timeout means samples will be lost.",
                   "s", [target(sel("scrape_duration_seconds"), "{{instance}}")]),
        timeseries(lay, "Scrape up",
                   "up (generated by Prometheus): 1 when the last scrape of the instance succeeded.",
                   "none", [target(sel("up"), "{{instance}}")], min_=0, max_=1),
    ]
    return dashboard("pipeline", "Telemetry pipeline",
                     "Telemetry about telemetry: span export, log output and drops, metric overflow and "
                     "scraping.", panels)


DASHBOARDS = {
    "overview.json": overview,
    "latency.json": latency,
    "errors.json": errors,
    "resources.json": resources,
    "health.json": health,
    "security.json": security,
    "pipeline.json": pipeline,
}


def render(build) -> str:
    return json.dumps(build(), indent=2, ensure_ascii=False) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="compare instead of writing; exit 1 if a file differs")
    args = parser.parse_args()
    # The dashboards count failures as the alert rules do: the rules still
    # carry the same matchers.
    if FAILED not in RULES.read_text(encoding="utf-8"):
        print(f"{RULES} no longer selects failed requests with {FAILED}: update FAILED here",
              file=sys.stderr)
        return 1
    stale = []
    for name, build in DASHBOARDS.items():
        path = HERE / name
        text = render(build)
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
        else:
            path.write_text(text, encoding="utf-8")
    if stale:
        print("out of date (run python3 dashboards/generate.py): " + ", ".join(stale),
              file=sys.stderr)
        return 1
    if args.check:
        print(f"{len(DASHBOARDS)} dashboards up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
