#!/usr/bin/env python3
"""How long until the first page, from the shipped rules and routing.

For a demo failing a share R of its requests (`--error-rate R`), finds the
paging alerts (severity critical) driven by the HTTP error ratio whose
every ratio threshold R exceeds, and adds up, for each:

    the error ratio becomes visible   1 to 2 scrape intervals (a rate needs
                                      two samples)
    + the recording rule's and the alert's evaluations   0 to 1 interval each
    + the alert's `for:`
    + Alertmanager's `group_wait` on the route that severity takes,

then names the receiver and webhook path that route sends to. With
`PUT /faults` on a stack already running, each ratio must first climb past
its threshold over its window: about window x threshold / R more (less
while the stack is younger than the window).

    python3 deploy/first-page.py --rules alerts/redline.rules.yml \\
        --alertmanager alerts/alertmanager.yml --prometheus prometheus.yml \\
        [--job redline] [--error-rate 0.5] [--load 20]

Needs PyYAML (Debian: python3-yaml). Prints the estimate on stdout; exit
status 2 when it cannot be derived (the reason on stderr).
"""

import argparse
import re
import sys
import urllib.parse

try:
    import yaml
except ImportError:
    print("no PyYAML (apt-get install -y python3-yaml)", file=sys.stderr)
    sys.exit(2)

UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
RATIO = re.compile(r"([A-Za-z_:]*redline_http_errors:ratio_rate(\w+))\s*>\s*([^\n]*?)\s*(?=\band\b|\bor\b|\bunless\b|$)", re.M)
MATCHER = re.compile(r'^\s*([A-Za-z_]\w*)\s*(=~|!~|!=|=)\s*"?(.*?)"?\s*$')


def seconds(text):
    """A Prometheus duration ("1h30m", "15s") in seconds."""
    parts = re.findall(r"(\d+)(ms|s|m|h|d|w|y)", str(text))
    if not parts or "".join(n + u for n, u in parts) != str(text):
        raise ValueError(f"not a duration: {text!r}")
    return sum(int(n) * UNITS[u] for n, u in parts)


def minutes(s):
    return f"{s / 60:.1f}".rstrip("0").rstrip(".")


def load(path):
    with open(path) as f:
        return yaml.safe_load(f) or {}


def constants(rules):
    """Recorded constants: `record: name` with `expr: vector(number)`, and
    per-service objectives (`0 * group by (…) (…) + number`)."""
    out = {}
    for group in rules.get("groups") or []:
        for rule in group.get("rules") or []:
            expr = str(rule.get("expr", ""))
            m = re.fullmatch(r"\s*vector\(\s*([0-9.eE+-]+)\s*\)\s*", expr) or \
                re.search(r"(?:^|\bor on \([^)]*\)\s*\()\s*0 \*[^\n]*\+\s*([0-9.eE+-]+)\)?\s*$", expr)
            if "record" in rule and m:
                out[rule["record"]] = float(m.group(1))
    return out


def threshold(text, consts):
    """`0.2`, `on () group_left () (14.4 * (1 - name))` or `name`; None if neither."""
    text = re.sub(r"^(on|ignoring)\s*\([^)]*\)\s*(?:(group_left|group_right)\s*(\([^)]*\))?)?", "", text).strip()
    while text.startswith("(") and text.endswith(")"):
        text = text[1:-1].strip()
    try:
        return float(text)
    except ValueError:
        pass
    m = re.fullmatch(r"([0-9.]+)\s*\*\s*\(\s*1\s*-\s*([A-Za-z_:]+)\s*\)", text)
    if m and m.group(2) in consts:
        return float(m.group(1)) * (1 - consts[m.group(2)])
    return consts.get(text)


def matches(matchers, labels):
    for m in matchers:
        parsed = MATCHER.match(m)
        if not parsed:
            return False
        name, op, value = parsed.groups()
        have = labels.get(name, "")
        ok = {
            "=": have == value,
            "!=": have != value,
            "=~": re.fullmatch(value, have) is not None,
            "!~": re.fullmatch(value, have) is None,
        }[op]
        if not ok:
            return False
    return True


def route_for(route, labels, inherited=None):
    """(receiver, group_wait seconds) of the first matching route, depth first."""
    settings = dict(inherited or {"receiver": None, "group_wait": 30})
    if "receiver" in route:
        settings["receiver"] = route["receiver"]
    if "group_wait" in route:
        settings["group_wait"] = seconds(route["group_wait"])
    for child in route.get("routes") or []:
        ms = list(child.get("matchers") or [])
        ms += [f'{k}="{v}"' for k, v in (child.get("match") or {}).items()]
        ms += [f'{k}=~"{v}"' for k, v in (child.get("match_re") or {}).items()]
        if matches(ms, labels):
            return route_for(child, labels, settings)
    return settings["receiver"], settings["group_wait"]


def webhook_paths(am, receiver):
    for r in am.get("receivers") or []:
        if r.get("name") == receiver:
            return [urllib.parse.urlsplit(w.get("url", "")).path or "/" for w in r.get("webhook_configs") or []]
    return []


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rules", required=True)
    parser.add_argument("--alertmanager", required=True)
    parser.add_argument("--prometheus", required=True)
    parser.add_argument("--job", default="redline", help="the demo's scrape job")
    parser.add_argument("--error-rate", type=float, default=0.5)
    parser.add_argument("--load", type=float, help="requests/s, checked against the low-traffic guard")
    parser.add_argument("--severity", default="critical", help="the severity that pages")
    args = parser.parse_args()
    r = args.error_rate

    prom = load(args.prometheus)
    glob = prom.get("global") or {}
    scrape = seconds(glob.get("scrape_interval", "1m"))
    evaluation = seconds(glob.get("evaluation_interval", "1m"))
    for sc in prom.get("scrape_configs") or []:
        if sc.get("job_name") == args.job and "scrape_interval" in sc:
            scrape = seconds(sc["scrape_interval"])

    rules = load(args.rules)
    consts = constants(rules)
    guard = consts.get("redline:alert_min_request_rate")
    # The evaluation interval of the group recording each series.
    recorded = {}
    for group in rules.get("groups") or []:
        interval = seconds(group["interval"]) if "interval" in group else evaluation
        for rule in group.get("rules") or []:
            if "record" in rule:
                recorded[rule["record"]] = interval

    am = load(args.alertmanager)
    found = []
    for group in rules.get("groups") or []:
        interval = seconds(group["interval"]) if "interval" in group else evaluation
        for rule in group.get("rules") or []:
            labels = rule.get("labels") or {}
            if "alert" not in rule or labels.get("severity") != args.severity:
                continue
            expr = str(rule.get("expr", ""))
            conds = [(name, window, threshold(t, consts)) for name, window, t in RATIO.findall(expr)]
            if not conds or any(t is None for _, _, t in conds):
                continue
            if any(r <= t for _, _, t in conds):
                continue
            if guard is not None and args.load is not None and "alert_min_request_rate" in expr:
                # `< … alert_min_request_rate`: an alert for quiet services
                # only; otherwise the guard silences the alert below it.
                quiet_only = re.search(r"<\s*on\s*\(\s*\)\s*group_left\s*\(\s*\)\s*redline:alert_min_request_rate", expr)
                if (args.load >= guard) if quiet_only else (args.load < guard):
                    continue
            hold = seconds(rule["for"]) if "for" in rule else 0
            rec = max(recorded.get(name, 0) for name, _, _ in conds)
            receiver, wait = route_for(am.get("route") or {}, {**labels, "alertname": rule["alert"], "job": args.job})
            low = scrape + hold + wait
            high = 2 * scrape + rec + interval + hold + wait
            climb = max(t * seconds(w) / r for _, w, t in conds)
            found.append((low, high, climb, rule["alert"], hold, conds, receiver, wait))

    if not found:
        why = f"no {args.severity} alert on the HTTP error ratio fires at an error rate of {r:g}"
        if guard is not None and args.load is not None and args.load < guard:
            why += f" (the load, {args.load:g} requests/s, is below the low-traffic guard of {guard:g})"
        print(why, file=sys.stderr)
        sys.exit(2)

    # The earliest of each alert name: a later rule of the same name joins
    # the group already notified (sent after group_interval instead).
    found.sort()
    seen = set()
    found = [f for f in found if not (f[3] in seen or seen.add(f[3]))]
    print(f"First page, from the rules and routing (scrape every {scrape}s, rules every {evaluation}s, "
          f"group_wait {found[0][7]}s):")
    for low, high, climb, alert, hold, conds, receiver, wait in found:
        ratios = " and ".join(f"{w} error ratio > {t:.4g}" for _, w, t in sorted(conds, key=lambda c: seconds(c[1])))
        paths = webhook_paths(am, receiver)
        where = f"the receiver at {', '.join(paths)}" if paths else f"receiver {receiver!r} (no webhook: the local receiver never sees it)"
        print(f"  with --error-rate {r:g}, {alert} ({args.severity}: {ratios}, for {minutes(hold)}m) "
              f"should reach {where} after about {minutes((low + high) / 2)} minutes ({minutes(low)} to {minutes(high)})")
    climbs = ", ".join(f"{minutes(c)} min for {a}" for _, _, c, a, *_ in found)
    print(f"  (with PUT /faults on a running stack, add the time the error ratios need to climb past their "
          f"thresholds: up to {climbs}; less while the stack is younger than the windows)")

if __name__ == "__main__":
    main()
