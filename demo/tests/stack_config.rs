//! What operators deploy, checked with the real tools and against the
//! metric catalogue:
//! - `alerts/`: `promtool check rules`, `promtool test rules` (a firing and a
//!   must-not-fire case per alert), a runbook section per alert, `amtool
//!   check-config` and `amtool config routes test` per severity
//!   (`alerts/check.sh`);
//! - `deploy/` and `docker-compose.yml`: `docker-compose config`, pinned
//!   images, `promtool check config` (`deploy/check.sh`);
//! - `dashboards/`: the rules every dashboard follows (variables, units,
//!   descriptions, `$__rate_interval`, cluster, namespace, job and
//!   instance on every selector, failures counted as the rules count them),
//!   and the JSON is what `dashboards/generate.py` generates;
//! - every metric named in a rule or a panel is in `docs/METRICS.md`.

mod common;

use std::collections::BTreeSet;
use std::process::Command;

#[path = "common/stack.rs"]
mod stack;

use stack::repo;

fn run(script: &str, env: &[(&str, &str)]) -> String {
    let mut cmd = Command::new("bash");
    cmd.arg(repo().join(script)).current_dir(repo());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap_or_else(|e| panic!("run {script}: {e}"));
    let text = stack::output_text(&out);
    assert!(out.status.success(), "{script} failed:\n{text}");
    text
}

#[test]
fn alert_rules_and_routing_pass_promtool_and_amtool() {
    // Both tools must be there (the README's test command installs them).
    common::tool("promtool");
    common::tool("amtool");
    let out = run("alerts/check.sh", &[]);
    for expected in [
        "SUCCESS",
        "all checks passed",
        "ok   pager <-",
        "ok   ticket <-",
        "ok   null <-",
    ] {
        assert!(out.contains(expected), "{expected} missing:\n{out}");
    }
}

#[test]
fn compose_file_and_deploy_configs_validate() {
    common::tool("docker-compose");
    let out = run(
        "deploy/check.sh",
        &[("REDLINE_BIN", env!("CARGO_BIN_EXE_redline"))],
    );
    for expected in [
        "ok    docker-compose config",
        "ok    images pinned to exact versions",
        "ok    compose and prometheus.yml agree",
        "ok    promtool check config (deploy/prometheus.yml)",
        "ok    amtool check-config (alerts/alertmanager.yml)",
        "ok    Dockerfile CMD flags exist",
        "ok    Kubernetes manifests (deploy/kubernetes/check.sh)",
        " 0 failed",
    ] {
        assert!(out.contains(expected), "{expected} missing:\n{out}");
    }
}

fn dashboards() -> Vec<(String, serde_json::Value)> {
    let mut out: Vec<(String, serde_json::Value)> = std::fs::read_dir(repo().join("dashboards"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display())),
            )
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// Every panel, rows' nested panels included.
fn panels(dashboard: &serde_json::Value) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    let mut stack: Vec<serde_json::Value> =
        dashboard["panels"].as_array().cloned().unwrap_or_default();
    while let Some(p) = stack.pop() {
        if let Some(inner) = p["panels"].as_array() {
            stack.extend(inner.iter().cloned());
        }
        if p["type"] != "row" {
            out.push(p);
        }
    }
    out
}

/// Metric names in a PromQL expression or rule text: identifiers of the
/// families redline and Prometheus export, not recording rule names
/// (`job:redline_...:rate5m`) or label names.
fn metric_names(text: &str) -> BTreeSet<String> {
    let re = regex::Regex::new(r"[A-Za-z_:][A-Za-z0-9_:]*").unwrap();
    re.find_iter(text)
        .map(|m| m.as_str())
        .filter(|t| !t.contains(':'))
        .filter(|t| {
            t.starts_with("http_server_")
                || t.starts_with("redline_")
                || t.starts_with("process_")
                || t.starts_with("scrape_")
                || *t == "up"
                || *t == "build_info"
                || *t == "target_info"
        })
        .map(str::to_owned)
        .collect()
}

fn catalogue() -> BTreeSet<String> {
    let text = std::fs::read_to_string(repo().join("docs/METRICS.md")).unwrap();
    let re = regex::Regex::new(r"(?m)^\| `([a-z_]+)` \|").unwrap();
    re.captures_iter(&text).map(|c| c[1].to_owned()).collect()
}

/// Whether `name` is catalogued (a histogram's series by their family).
fn catalogued(catalogue: &BTreeSet<String>, name: &str) -> bool {
    // Prometheus's own series about each scrape.
    const PROMETHEUS: [&str; 3] = ["up", "scrape_duration_seconds", "scrape_samples_scraped"];
    PROMETHEUS.contains(&name)
        || catalogue.contains(name)
        || ["_bucket", "_count", "_sum"].iter().any(|s| {
            name.strip_suffix(s)
                .is_some_and(|base| catalogue.contains(base))
        })
}

/// The scope of every series a panel selects: the dashboard variables
/// `cluster`, `namespace`, `job` and `instance`.
const SCOPE: [&str; 4] = [
    r#"cluster=~"$cluster""#,
    r#"namespace=~"$namespace""#,
    r#"job=~"$job""#,
    r#"instance=~"$instance""#,
];

/// The recording rules `alerts/redline.rules.yml` defines.
fn recording_rules() -> BTreeSet<String> {
    let rules = std::fs::read_to_string(repo().join("alerts/redline.rules.yml")).unwrap();
    let re = regex::Regex::new(r"(?m)^\s*- record: (\S+)\s*$").unwrap();
    re.captures_iter(&rules).map(|c| c[1].to_owned()).collect()
}

/// Every series an expression selects, with the matchers of its selector
/// (None when it has no `{…}`): the families `metric_names` knows, and any
/// name with a `:` (a recording rule). Quoted strings are skipped.
fn selectors(expr: &str) -> Vec<(String, Option<Vec<String>>)> {
    let strings = regex::Regex::new(r#""(?:[^"\\]|\\.)*""#).unwrap();
    // Same length, so positions in `blanked` are positions in `expr`.
    let blanked = strings.replace_all(expr, |c: &regex::Captures| " ".repeat(c[0].len()));
    let token = regex::Regex::new(r"[A-Za-z_:][A-Za-z0-9_:]*").unwrap();
    let mut out = Vec::new();
    for m in token.find_iter(&blanked) {
        let name = m.as_str();
        let after_word = blanked[..m.start()]
            .chars()
            .last()
            .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$');
        if after_word || !(name.contains(':') || metric_names(name).contains(name)) {
            continue;
        }
        let matchers = expr[m.end()..]
            .strip_prefix('{')
            .and_then(|r| r.split_once('}'))
            .map(|(inside, _)| inside.split(',').map(|s| s.trim().to_owned()).collect());
        out.push((name.to_owned(), matchers));
    }
    out
}

/// Checks an expression of a panel or an annotation: windows and offsets on
/// `$__rate_interval`; every metric selector carries all four scope
/// matchers; a recording rule is one of `alerts/redline.rules.yml`, scoped
/// by all four, except a per-service rule (`job:…`, `job_route:…`), which
/// has no instance label and carries the other three (and not `instance`);
/// a failed request is selected as the rules select it.
fn check_expr(at: &str, expr: &str, rules: &BTreeSet<String>) {
    let window = regex::Regex::new(r"\[([^\]]*)\]").unwrap();
    for w in window.captures_iter(expr) {
        assert!(
            &w[1] == "$__rate_interval",
            "{at}: window [{}] (use $__rate_interval): {expr}",
            &w[1]
        );
    }
    let offset = regex::Regex::new(r"\boffset\s+([^\s)]+)").unwrap();
    for o in offset.captures_iter(expr) {
        assert_eq!(&o[1], "$__rate_interval", "{at}: offset: {expr}");
    }
    let found = selectors(expr);
    assert!(!found.is_empty(), "{at}: no series selected: {expr}");
    for (name, matchers) in found {
        let matchers =
            matchers.unwrap_or_else(|| panic!("{at}: {name} without a selector: {expr}"));
        let has = |m: &str| matchers.iter().any(|x| x == m);
        let per_service = name.contains(':') && name.split(':').next().unwrap().starts_with("job");
        if name.contains(':') {
            assert!(
                rules.contains(&name),
                "{at}: {name} is not a recording rule of alerts/redline.rules.yml"
            );
        }
        let required = if per_service { &SCOPE[..3] } else { &SCOPE[..] };
        for &m in required {
            assert!(has(m), "{at}: {name}{{{}}} lacks {m}", matchers.join(", "));
        }
        if per_service {
            assert!(
                !matchers.iter().any(|m| m.starts_with("instance")),
                "{at}: {name} has no instance label: {expr}"
            );
        }
        if has(r#"error_type!="""#) {
            assert!(
                has(r#"error_type!="client_disconnected""#),
                "{at}: a failed request is counted as the rules count it \
                 (error_type!=\"\", error_type!=\"client_disconnected\"): {expr}"
            );
        }
    }
}

#[test]
fn dashboards_follow_the_rules() {
    let all = dashboards();
    let names: Vec<&str> = all.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "errors.json",
            "health.json",
            "latency.json",
            "overview.json",
            "pipeline.json",
            "resources.json",
            "security.json"
        ]
    );
    let rules = recording_rules();
    assert!(
        rules.contains("job:redline_http_error_budget:remaining_ratio30d"),
        "recording rules parsed: {rules:?}"
    );
    // The dashboards count failures as the rules do.
    let rules_text = std::fs::read_to_string(repo().join("alerts/redline.rules.yml")).unwrap();
    assert!(
        rules_text.contains(r#"error_type!="", error_type!="client_disconnected""#),
        "the rules' definition of a failed request changed: update the dashboards"
    );
    let mut uids = BTreeSet::new();
    for (file, d) in &all {
        assert!(
            d["schemaVersion"].as_u64().unwrap() >= 41,
            "{file}: schemaVersion of Grafana 12"
        );
        assert!(
            uids.insert(d["uid"].as_str().unwrap().to_owned()),
            "{file}: uid"
        );
        let vars = d["templating"]["list"].as_array().unwrap();
        let var = |name: &str| {
            vars.iter()
                .find(|v| v["name"] == name)
                .unwrap_or_else(|| panic!("{file}: no ${name} variable"))
        };
        assert_eq!(var("datasource")["type"], "datasource", "{file}");
        assert_eq!(var("datasource")["query"], "prometheus", "{file}");
        // cluster, namespace, job, instance: multi-value with All, from
        // redline_ready (only redline services), each within the ones before.
        for (i, v) in ["cluster", "namespace", "job", "instance"]
            .into_iter()
            .enumerate()
        {
            let x = var(v);
            assert_eq!(x["type"], "query", "{file}: ${v}");
            assert_eq!(x["datasource"]["uid"], "${datasource}", "{file}: ${v}");
            assert_eq!(x["multi"], true, "{file}: ${v} multi-value");
            assert_eq!(x["includeAll"], true, "{file}: ${v} with All");
            let query = x["query"].as_str().unwrap_or_default();
            assert!(
                query.starts_with("label_values(redline_ready")
                    && query.ends_with(&format!(", {v})")),
                "{file}: ${v} lists {v} of redline_ready: {query}"
            );
            for m in &SCOPE[..i] {
                assert!(query.contains(m), "{file}: ${v} within {m}: {query}");
            }
        }
        // Where cluster and namespace are absent, All (`.*`) still matches.
        for v in ["cluster", "namespace", "instance"] {
            assert_eq!(var(v)["allValue"], ".*", "{file}: ${v} All");
        }
        // All jobs is the list of redline jobs, not `.*` (every job, with
        // Prometheus' own process_* and up series).
        assert!(
            var("job")["allValue"].as_str().is_none_or(str::is_empty),
            "{file}: $job All must not be a regex for every job"
        );
        // Annotations (deploy markers): on ${datasource}, scoped like panels.
        for a in d["annotations"]["list"].as_array().unwrap() {
            let name = a["name"].as_str().unwrap_or("?");
            let at = format!("{file}: annotation {name:?}");
            assert_eq!(a["datasource"]["uid"], "${datasource}", "{at}: datasource");
            let expr = a["target"]["expr"]
                .as_str()
                .or(a["expr"].as_str())
                .unwrap_or_else(|| panic!("{at}: no expr"));
            check_expr(&at, expr, &rules);
        }
        let mut ids = BTreeSet::new();
        for p in panels(d) {
            let title = p["title"].as_str().unwrap_or("?");
            let at = format!("{file}: panel {title:?}");
            assert!(ids.insert(p["id"].as_u64().unwrap()), "{at}: id");
            assert!(p["gridPos"].is_object(), "{at}: gridPos");
            assert_eq!(p["datasource"]["uid"], "${datasource}", "{at}: datasource");
            assert!(
                p["description"].as_str().is_some_and(|s| s.len() > 10),
                "{at}: description"
            );
            assert!(
                p["fieldConfig"]["defaults"]["unit"]
                    .as_str()
                    .is_some_and(|u| !u.is_empty()),
                "{at}: unit"
            );
            let targets = p["targets"].as_array().cloned().unwrap_or_default();
            assert!(!targets.is_empty(), "{at}: no query");
            // A sparkline needs a range query: an instant one is one point.
            let sparkline = p["type"] == "stat" && p["options"]["graphMode"] != "none";
            for t in targets {
                let expr = t["expr"].as_str().unwrap();
                assert_eq!(
                    t["datasource"]["uid"], "${datasource}",
                    "{at}: target datasource"
                );
                if sparkline {
                    assert!(
                        t["range"] == true && t["instant"] != true,
                        "{at}: a stat with a sparkline needs a range query: {t}"
                    );
                }
                check_expr(&at, expr, &rules);
            }
        }
    }
    let overview = &all.iter().find(|(n, _)| n == "overview.json").unwrap().1;
    let exprs: Vec<String> = panels(overview)
        .iter()
        .flat_map(|p| p["targets"].as_array().cloned().unwrap_or_default())
        .map(|t| t["expr"].as_str().unwrap_or_default().to_owned())
        .collect();
    // The error budget over the SLO window, from the recording rules, with
    // the service's own objective.
    for rule in [
        "job:redline_http_error_budget:remaining_ratio30d",
        "job:redline_http_errors:ratio_rate30d",
        "job:redline_slo_availability_objective:max",
    ] {
        assert!(
            exprs.iter().any(|e| e.contains(rule)),
            "overview: {rule} not used"
        );
    }
    // A per-replica breakdown: the top instances.
    assert!(
        exprs
            .iter()
            .any(|e| e.starts_with("topk(") && e.contains("instance")),
        "overview: no per-instance breakdown"
    );
    // Deploy markers from build_info, titled with the version.
    assert!(
        overview["annotations"]["list"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| {
                let text = format!("{}{}", a["titleFormat"], a["textFormat"]);
                a["target"]["expr"]
                    .as_str()
                    .is_some_and(|e| e.contains("build_info"))
                    && text.contains("{{version}}")
                    && text.contains("{{revision}}")
            }),
        "overview: no deploy markers"
    );
    // The latency dashboard: a heatmap, and exemplars linking to traces.
    let latency = &all.iter().find(|(n, _)| n == "latency.json").unwrap().1;
    let ps = panels(latency);
    assert!(ps.iter().any(|p| p["type"] == "heatmap"), "latency heatmap");
    assert!(
        ps.iter()
            .flat_map(|p| p["targets"].as_array().cloned().unwrap_or_default())
            .any(|t| t["exemplar"] == true),
        "exemplars on a latency target"
    );
    // The provisioning: a Prometheus datasource linking exemplars to Jaeger,
    // and a file provider.
    let ds =
        std::fs::read_to_string(repo().join("dashboards/provisioning/datasources/prometheus.yml"))
            .unwrap();
    assert!(
        ds.contains("exemplarTraceIdDestinations") && ds.contains("uid: jaeger"),
        "{ds}"
    );
    let provider =
        std::fs::read_to_string(repo().join("dashboards/provisioning/dashboards/redline.yml"))
            .unwrap();
    assert!(
        provider.contains("/var/lib/grafana/dashboards"),
        "{provider}"
    );
}

#[test]
fn dashboards_are_what_the_generator_writes() {
    let out = Command::new("python3")
        .arg(repo().join("dashboards/generate.py"))
        .arg("--check")
        .output()
        .expect("python3 runs dashboards/generate.py");
    assert!(
        out.status.success(),
        "dashboards/*.json differ from dashboards/generate.py's output (run it):\n{}",
        stack::output_text(&out)
    );
}

#[test]
fn every_metric_in_rules_and_panels_is_in_the_catalogue() {
    let catalogue = catalogue();
    assert!(catalogue.len() > 30, "catalogue parsed: {catalogue:?}");
    let mut missing = Vec::new();
    let mut seen = BTreeSet::new();
    let rules = std::fs::read_to_string(repo().join("alerts/redline.rules.yml")).unwrap();
    // Expressions only: comments and annotations are prose.
    let exprs: String = rules
        .split("\n")
        .map(|l| l.split(" #").next().unwrap_or(""))
        .filter(|l| !l.trim_start().starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n");
    let re = regex::Regex::new(r"(?ms)expr: (\|\n(?:\s{10,}.*?\n)+|.*?\n)").unwrap();
    for c in re.captures_iter(&exprs) {
        for name in metric_names(&c[1]) {
            if !catalogued(&catalogue, &name) {
                missing.push(format!("alerts/redline.rules.yml: {name}"));
            }
            seen.insert(name);
        }
    }
    assert!(seen.len() > 20, "rule expressions parsed: {seen:?}");
    for (file, d) in dashboards() {
        for p in panels(&d) {
            for t in p["targets"].as_array().cloned().unwrap_or_default() {
                for name in metric_names(t["expr"].as_str().unwrap_or("")) {
                    if !catalogued(&catalogue, &name) {
                        missing.push(format!("dashboards/{file}: {name}"));
                    }
                }
            }
        }
    }
    assert!(missing.is_empty(), "not in docs/METRICS.md: {missing:#?}");
}

#[test]
fn the_catalogue_check_catches_an_unknown_name() {
    // The check above cannot pass vacuously.
    let catalogue = catalogue();
    assert!(catalogued(
        &catalogue,
        "http_server_request_duration_seconds_bucket"
    ));
    assert!(catalogued(&catalogue, "up"));
    assert!(!catalogued(&catalogue, "redline_made_up_total"));
    assert_eq!(
        metric_names(r#"sum(rate(redline_made_up_total{job=~"$job"}[5m])) / job:redline_x:rate5m"#),
        BTreeSet::from(["redline_made_up_total".to_owned()])
    );
}

/// GET (or POST `body` as JSON) with curl, redirects not followed: the status.
fn http_status(url: &str, body: Option<&str>) -> String {
    let mut cmd = Command::new("curl");
    cmd.args([
        "-s",
        "--max-time",
        "5",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
    ]);
    if let Some(body) = body {
        cmd.args(["-H", "Content-Type: application/json", "--data", body]);
    }
    let out = cmd.arg(url).output().expect("curl runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_stack_runs_without_docker_and_stops_cleanly() {
    use std::io::{BufRead, Read};
    common::tool("prometheus");
    let ports: Vec<String> = common::free_ports(5).iter().map(u16::to_string).collect();
    let (prom, am, receiver) = (&ports[2], &ports[3], &ports[4]);
    // Bounded: stops by itself 8 s after it is ready (time for the checks
    // below while it runs), then stops every process.
    let mut child = Command::new("bash")
        .arg(repo().join("deploy/local-stack.sh"))
        .args(["--duration", "8"])
        .current_dir(repo())
        .env("REDLINE_BIN", env!("CARGO_BIN_EXE_redline"))
        .env_remove("REDLINE_ADMIN_TOKEN")
        .env_remove("REDLINE_ADMIN_TOKEN_FILE")
        .env("STACK_APP_PORT", &ports[0])
        .env("STACK_ADMIN_PORT", &ports[1])
        .env("STACK_PROMETHEUS_PORT", prom)
        .env("STACK_ALERTMANAGER_PORT", am)
        .env("STACK_RECEIVER_PORT", receiver)
        .env("STACK_LOAD", "5")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run deploy/local-stack.sh");
    let mut stderr = child.stderr.take().unwrap();
    let errors = std::thread::spawn(move || {
        let mut text = String::new();
        stderr.read_to_string(&mut text).ok();
        text
    });
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    // The banner, up to the line saying when it stops.
    let mut banner = String::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        banner.push_str(&line);
        banner.push('\n');
        if line.starts_with("Stops by itself") {
            break;
        }
    }
    // While it runs: every URL it prints answers 200 (the fault command
    // aside: a PUT), the exported token works with the printed command, and
    // the receiver prints what it is sent.
    let mut failures = Vec::new();
    let banner_ok = banner.contains("Stops by itself");
    let url = regex::Regex::new(r"http://127\.0\.0\.1:[0-9]+[^\s)'\x22]*").unwrap();
    for line in banner
        .lines()
        .filter(|l| !l.contains("curl ") && !l.contains("/faults"))
    {
        for u in url.find_iter(line) {
            let status = http_status(u.as_str(), None);
            if status != "200" {
                failures.push(format!("{} answers {status}", u.as_str()));
            }
        }
    }
    let export = banner
        .lines()
        .find(|l| l.trim_start().starts_with("export REDLINE_ADMIN_TOKEN="))
        .map(str::trim)
        .unwrap_or_default();
    let fault_command: Vec<&str> = banner
        .lines()
        .skip_while(|l| !l.trim_start().starts_with("curl -X PUT"))
        .take(2)
        .collect();
    let script = format!(
        "{export}\n{} -s -o /dev/null -w '%{{http_code}}'",
        fault_command.join("\n")
    );
    let fault = Command::new("bash")
        .args(["-c", &script])
        .env_remove("REDLINE_ADMIN_TOKEN")
        .output()
        .expect("bash runs the fault command");
    let fault = String::from_utf8_lossy(&fault.stdout).into_owned();
    if fault != "200" {
        failures.push(format!(
            "the printed fault command answers {fault:?}:\n{script}"
        ));
    }
    let notification = r#"{"version":"4","status":"firing","receiver":"pager","alerts":[{"status":"firing","labels":{"alertname":"RedlineStackTest","severity":"critical","job":"redline","instance":"127.0.0.1:1","namespace":"local"},"annotations":{"summary":"A test notification."}}]}"#;
    let posted = http_status(
        &format!("http://127.0.0.1:{receiver}/pager"),
        Some(notification),
    );
    if posted != "200" {
        failures.push(format!("the receiver answers {posted} to a notification"));
    }
    let rest: Vec<String> = lines.map(|l| l.unwrap()).collect();
    let status = child.wait().expect("wait for local-stack.sh");
    let text = format!("{banner}{}\n{}", rest.join("\n"), errors.join().unwrap());
    assert!(status.success(), "local-stack.sh failed:\n{text}");
    assert!(banner_ok, "no banner:\n{text}");
    assert!(failures.is_empty(), "{failures:#?}\n{text}");
    for port in &ports {
        assert!(
            text.contains(&format!("127.0.0.1:{port}")),
            "URL with {port} not printed:\n{text}"
        );
        // Everything stopped: the ports are free again.
        assert!(
            std::net::TcpListener::bind(format!("127.0.0.1:{port}")).is_ok(),
            "port {port} still taken after the stack stopped"
        );
    }
    for expected in [
        format!("targets  http://127.0.0.1:{prom}/"),
        format!("alerts   http://127.0.0.1:{prom}/"),
        format!("alerts   http://127.0.0.1:{am}/api/v2/alerts"),
        format!("receiver       http://127.0.0.1:{receiver}  (Alertmanager's webhooks: /deadman /pager /ticket)"),
        "notifications.jsonl".to_owned(),
        format!(r#"--data '{{"error_rate":0.5}}' http://127.0.0.1:{}/faults"#, ports[1]),
        // The receiver's line: time, route, status, name, key labels, summary.
        "/pager FIRING RedlineStackTest severity=critical job=redline instance=127.0.0.1:1 namespace=local -- A test notification.".to_owned(),
        "the receiver got 1 notification(s)".to_owned(),
        "First page".to_owned(),
    ] {
        assert!(text.contains(&expected), "{expected:?} not printed:\n{text}");
    }
    // The estimate is derived from the rules when PyYAML is there.
    let pyyaml = Command::new("python3").args(["-c", "import yaml"]).status();
    if pyyaml.is_ok_and(|s| s.success()) {
        let estimate = regex::Regex::new(
            r"with --error-rate 0\.5, RedlineHighErrorRate \(critical: .*\) should reach the receiver at /pager after about [0-9.]+ minutes",
        )
        .unwrap();
        assert!(estimate.is_match(&text), "no first-page estimate:\n{text}");
    }
}
