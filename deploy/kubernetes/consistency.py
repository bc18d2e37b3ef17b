#!/usr/bin/env python3
"""The consistency checks of deploy/kubernetes/check.sh, one per subcommand:
each prints what is wrong and exits 1, or exits 0.

    python3 deploy/kubernetes/consistency.py SUBCOMMAND [ARGS]

  core-files          print the manifests whose every object is a core kind
                      (what kubernetes-validate knows), one a line
  extract-groups OUT  write the PrometheusRule's spec.groups as a rule file
  kustomization       kustomization.yaml lists every manifest but the
                      example Secret; namespaces come from kustomize alone
  built NAMESPACE     (stdin: `kubectl kustomize` output) every object is in
                      the namespace
  routes              probe and scrape paths are admin routes; probe ports
                      are the admin port
  flags [BIN]         the container's args are flags of the demo CLI
                      (`BIN demo --help`, else demo/src/main.rs)
  env                 every REDLINE_* variable set is a setting redline reads
  timings             terminationGracePeriodSeconds covers the drain
  wiring              selectors, ports, the Secret, the collector endpoint
                      and configuration agree
  hardening           redline has 3+ replicas; every pod: non-root,
                      read-only, no capabilities, seccomp, resources,
                      spread over nodes; images pinned

Needs python3 and PyYAML. Paths are relative to the repository holding this
file, so a copy of the tree checks the copy.
"""

import pathlib
import re
import subprocess
import sys

import yaml

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parent.parent
KUSTOMIZATION = HERE / "kustomization.yaml"
EXAMPLE_SECRET = "secret.example.yaml"
CORE_API_VERSIONS = {"v1", "apps/v1", "policy/v1"}
# The drain needs this much on top of delay + grace + span flush (the log
# flush, the process exit, a slow node).
MARGIN_SECONDS = 5
# redline's defaults (README.md, settings table).
DEFAULTS = {"REDLINE_SHUTDOWN_DELAY": "0s", "REDLINE_SHUTDOWN_GRACE": "10s", "REDLINE_TRACES_SHUTDOWN_TIMEOUT": "3s"}

problems = []


def fail(msg):
    problems.append(msg)


def rel(path):
    return str(pathlib.Path(path).resolve().relative_to(REPO))


def manifests():
    """Every manifest file of the directory: *.yaml and *.yml."""
    return sorted(p for p in HERE.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())


def docs(path):
    with open(path, encoding="utf-8") as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


def resources():
    """(file, object) for every object of the kustomization's resources."""
    kust = docs(KUSTOMIZATION)[0]
    out = []
    for name in kust.get("resources") or []:
        for d in docs(HERE / name):
            out.append((name, d))
    return out


def one(kind, name=None, objs=None):
    found = [d for _, d in (objs if objs is not None else resources())
             if d.get("kind") == kind and (name is None or d["metadata"]["name"] == name)]
    if len(found) != 1:
        raise SystemExit(f"expected one {kind} {name or ''}, found {len(found)}")
    return found[0]


def container(deploy, name=None):
    cs = deploy["spec"]["template"]["spec"]["containers"]
    return cs[0] if name is None else next(c for c in cs if c["name"] == name)


def env_of(c):
    return {e["name"]: e.get("value") for e in c.get("env") or []}


def seconds(text):
    m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*(ms|s|m|h)?\s*", str(text))
    if not m:
        raise ValueError(f"not a duration: {text!r}")
    return float(m.group(1)) * {"ms": 0.001, "s": 1, None: 1, "m": 60, "h": 3600}[m.group(2)]


def admin_routes():
    """{path: access} of ROUTES in src/admin/mod.rs."""
    text = (REPO / "src/admin/mod.rs").read_text(encoding="utf-8")
    block = re.search(r"pub const ROUTES[^=]*=\s*\[(.*?)\n\];", text, re.S)
    if not block:
        raise SystemExit("src/admin/mod.rs: no `pub const ROUTES` table")
    return dict(re.findall(r'path:\s*"([^"]+)",\s*access:\s*Access::(\w+)', block.group(1)))


def matches(selector, labels):
    return all(labels.get(k) == v for k, v in selector.items())


# ------------------------------------------------------------- checks ----

def cmd_core_files():
    for path in manifests():
        if path.name == KUSTOMIZATION.name:
            continue
        ds = docs(path)
        if ds and all(d.get("apiVersion") in CORE_API_VERSIONS for d in ds):
            print(rel(path))
        elif any(d.get("apiVersion") in CORE_API_VERSIONS for d in ds):
            fail(f"{rel(path)} mixes core kinds with others: keep them in separate files, "
                 "so kubernetes-validate sees every core object")


def cmd_extract_groups(out):
    rule = one("PrometheusRule")
    with open(out, "w", encoding="utf-8") as f:
        yaml.safe_dump({"groups": rule["spec"]["groups"]}, f, sort_keys=False, width=1000)


def cmd_kustomization():
    kust = docs(KUSTOMIZATION)[0]
    listed = kust.get("resources") or []
    ns = kust.get("namespace")
    if not ns:
        fail("kustomization.yaml: no `namespace:` (kustomize must set every resource's namespace)")
    present = {p.name for p in manifests()} - {KUSTOMIZATION.name}
    for name in sorted(present - set(listed) - {EXAMPLE_SECRET}):
        fail(f"kustomization.yaml does not list {name}")
    if EXAMPLE_SECRET in listed:
        fail(f"kustomization.yaml lists {EXAMPLE_SECRET}: the example Secret must never be applied")
    for name in listed:
        if name not in present:
            fail(f"kustomization.yaml lists {name}, which is not a manifest of deploy/kubernetes/")
    if len(set(listed)) != len(listed):
        fail("kustomization.yaml lists a file twice")
    for key in ("namePrefix", "nameSuffix", "commonLabels", "patches", "patchesStrategicMerge", "components"):
        if key in kust:
            fail(f"kustomization.yaml: `{key}` changes the manifests as written; keep them plain")
    for name in sorted(present & (set(listed) | {EXAMPLE_SECRET})):
        for d in docs(HERE / name):
            where = f"{name}: {d.get('kind')}/{d.get('metadata', {}).get('name')}"
            if "namespace" in (d.get("metadata") or {}):
                fail(f"{where} sets metadata.namespace; kustomization.yaml's `namespace:` sets it")
            if d.get("kind") == "Namespace" and d["metadata"]["name"] != ns:
                fail(f"{where}: the Namespace is not kustomization.yaml's namespace {ns!r}")
    if ns and not any(d.get("kind") == "Namespace" for _, d in resources()):
        fail(f"no Namespace {ns!r} among the resources")


def cmd_built(namespace):
    objs = [d for d in yaml.safe_load_all(sys.stdin) if d]
    if not objs:
        fail("kubectl kustomize produced nothing")
    for d in objs:
        meta = d.get("metadata") or {}
        where = f"{d.get('kind')}/{meta.get('name')}"
        if d.get("kind") == "Namespace":
            if meta.get("name") != namespace:
                fail(f"{where}: not {namespace}")
        elif meta.get("namespace") != namespace:
            fail(f"{where}: namespace {meta.get('namespace')!r}, not {namespace!r}")
    print(f"{len(objs)} objects, all in namespace {namespace}")


def cmd_routes():
    routes = admin_routes()
    deploy = one("Deployment", "redline")
    c = container(deploy, "redline")
    admin_ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        get = (c.get(probe) or {}).get("httpGet")
        if not get:
            fail(f"deployment.yaml: no {probe} with httpGet")
            continue
        path, port = get.get("path"), get.get("port")
        if routes.get(path) != "Public":
            fail(f"deployment.yaml: {probe} path {path!r} is not a public route of ROUTES "
                 f"(src/admin/mod.rs: {sorted(p for p, a in routes.items() if a == 'Public')})")
        want = {"livenessProbe": "/alive", "startupProbe": "/alive", "readinessProbe": "/ready"}[probe]
        if path != want:
            fail(f"deployment.yaml: {probe} must GET {want}, not {path!r}")
        number = admin_ports.get(port, port)
        if number != 9464 or admin_ports.get("admin") != 9464:
            fail(f"deployment.yaml: {probe} port {port!r} is not the admin port 9464 (named `admin`)")
    service = one("Service", "redline")
    for sm in (d for _, d in resources() if d.get("kind") == "ServiceMonitor"
               and matches(d["spec"]["selector"]["matchLabels"], service["metadata"]["labels"])):
        for ep in sm["spec"]["endpoints"]:
            if routes.get(ep.get("path", "/metrics")) != "Metrics":
                fail(f"servicemonitor.yaml: path {ep.get('path')!r} is not the metrics route of ROUTES")
    print(f"ROUTES: {', '.join(f'{p} ({a})' for p, a in routes.items())}")


def demo_flags_from_source():
    text = (REPO / "demo/src/main.rs").read_text(encoding="utf-8")
    block = re.search(r"struct DemoArgs\s*\{(.*?)\n\}", text, re.S)
    if not block:
        raise SystemExit("demo/src/main.rs: no `struct DemoArgs`")
    flags = set()
    for attr, field in re.findall(r"#\[arg\(((?:[^()]|\([^()]*\))*?)\)\]\s*(?:///[^\n]*\s*)*(\w+)\s*:", block.group(1), re.S):
        if not re.search(r"\blong\b", attr):
            continue
        m = re.search(r'\blong\s*=\s*"([^"]+)"', attr)
        flags.add("--" + (m.group(1) if m else field.replace("_", "-")))
    has_demo = re.search(r"enum Command\s*\{[^}]*\bDemo\(DemoArgs\)", text, re.S) is not None
    return flags, has_demo


def cmd_flags(binary=None):
    c = container(one("Deployment", "redline"), "redline")
    args = [str(a) for a in c.get("args") or []]
    if c.get("command"):
        fail("deployment.yaml: `command` replaces the image's ENTRYPOINT (redline); set `args` only")
    if binary:
        out = subprocess.run([binary, "demo", "--help"], capture_output=True, text=True)
        if out.returncode != 0:
            raise SystemExit(f"{binary} demo --help failed:\n{out.stderr}")
        flags = set(re.findall(r"(--[a-z][a-z0-9-]*)", out.stdout))
        has_demo, source = True, f"{binary} demo --help"
    else:
        flags, has_demo = demo_flags_from_source()
        source = "demo/src/main.rs (DemoArgs)"
    if not args or args[0] != "demo" or not has_demo:
        fail(f"deployment.yaml: args must start with the `demo` subcommand: {args}")
    values = {}
    for i, a in enumerate(args[1:], 1):
        if a.startswith("--"):
            name = a.split("=", 1)[0]
            if name not in flags:
                fail(f"deployment.yaml: {name} is not a flag of `redline demo` ({source}: {sorted(flags)})")
            values[name] = a.split("=", 1)[1] if "=" in a else (args[i + 1] if i + 1 < len(args) else None)
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    for flag, port_name in (("--listen", "http"), ("--admin-listen", "admin")):
        value = values.get(flag)
        if value is None or not value.rsplit(":", 1)[-1].isdigit():
            fail(f"deployment.yaml: {flag} ADDRESS:PORT missing")
            continue
        if value.rsplit(":", 1)[0] not in ("0.0.0.0", "[::]"):
            fail(f"deployment.yaml: {flag} {value}: listen on all interfaces (0.0.0.0), or probes cannot reach it")
        if int(value.rsplit(":", 1)[1]) != ports.get(port_name):
            fail(f"deployment.yaml: {flag} {value} is not containerPort `{port_name}` ({ports.get(port_name)})")
    print(f"flags from {source}: {sorted(flags)}")


def known_variables():
    names = set()
    settings = (REPO / "src/settings.rs").read_text(encoding="utf-8")
    for group in re.findall(r"variables:\s*&\[([^\]]*)\]", settings):
        names.update(re.findall(r'"([A-Z0-9_]+)"', group))
    demo = (REPO / "demo/src/main.rs").read_text(encoding="utf-8")
    names.update(re.findall(r'env\s*=\s*"([A-Z0-9_]+)"', demo))
    return names


def cmd_env():
    known = known_variables()
    if not known:
        raise SystemExit("src/settings.rs: no `variables: &[...]` found")
    for _, d in resources():
        if d.get("kind") != "Deployment":
            continue
        for c in d["spec"]["template"]["spec"]["containers"]:
            for name in env_of(c):
                # Unknown REDLINE_* variables stop redline at start.
                if name.startswith("REDLINE_") and name not in known:
                    fail(f"{d['metadata']['name']}: {name} is not a setting redline reads (src/settings.rs)")
            if "REDLINE_ADMIN_TOKEN" in env_of(c):
                fail(f"{d['metadata']['name']}: REDLINE_ADMIN_TOKEN in the manifest; use REDLINE_ADMIN_TOKEN_FILE and the Secret")


def cmd_timings():
    deploy = one("Deployment", "redline")
    spec = deploy["spec"]["template"]["spec"]
    env = env_of(container(deploy, "redline"))
    parts = {k: seconds(env.get(k) or v) for k, v in DEFAULTS.items()}
    period = spec.get("terminationGracePeriodSeconds", 30)
    need = sum(parts.values()) + MARGIN_SECONDS
    summary = " + ".join(f"{k.removeprefix('REDLINE_')} {v:g}s" for k, v in parts.items())
    if parts["REDLINE_SHUTDOWN_DELAY"] <= 0:
        fail("REDLINE_SHUTDOWN_DELAY is 0: endpoints are still routed to a pod that stopped accepting (use about 5s)")
    if period < need:
        fail(f"terminationGracePeriodSeconds {period} < {summary} + margin {MARGIN_SECONDS}s = {need:g}s: "
             "the kubelet kills the pod before it has drained")
    else:
        print(f"terminationGracePeriodSeconds {period} >= {summary} + margin {MARGIN_SECONDS}s = {need:g}s")


def cmd_wiring():
    objs = resources()
    deploy = one("Deployment", "redline", objs)
    pod = deploy["spec"]["template"]
    c = container(deploy, "redline")
    env = env_of(c)
    labels = pod["metadata"]["labels"]
    if not matches(deploy["spec"]["selector"]["matchLabels"], labels):
        fail("deployment.yaml: the selector does not match the pod labels")
    for key in ("app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/part-of"):
        for name, d in objs:
            if d.get("kind") != "Namespace" and key not in (d["metadata"].get("labels") or {}) \
                    and not (key == "app.kubernetes.io/instance" and d.get("kind") == "PrometheusRule"):
                fail(f"{name}: {d['kind']}/{d['metadata']['name']} has no label {key}")
    # Services and PDBs select pods of their Deployment; ServiceMonitors select a Service and name its ports.
    deployments = [d for _, d in objs if d.get("kind") == "Deployment"]
    services = [d for _, d in objs if d.get("kind") == "Service"]
    for _, d in objs:
        kind, name = d.get("kind"), d["metadata"]["name"]
        if kind in ("Service", "PodDisruptionBudget"):
            sel = d["spec"]["selector"] if kind == "Service" else d["spec"]["selector"]["matchLabels"]
            targets = [x for x in deployments if matches(sel, x["spec"]["template"]["metadata"]["labels"])]
            if len(targets) != 1:
                fail(f"{kind}/{name} selects {len(targets)} Deployments")
                continue
            if kind == "Service":
                names = {p["name"] for cc in targets[0]["spec"]["template"]["spec"]["containers"] for p in cc.get("ports", [])}
                for p in d["spec"]["ports"]:
                    if not p.get("name"):
                        fail(f"Service/{name}: port {p['port']} has no name")
                    if p.get("targetPort") not in names:
                        fail(f"Service/{name}: targetPort {p.get('targetPort')!r} is not a named container port {sorted(names)}")
            else:
                replicas = targets[0]["spec"].get("replicas", 1)
                allowed = d["spec"].get("maxUnavailable", replicas - d["spec"].get("minAvailable", replicas))
                if not 0 < allowed < replicas:
                    fail(f"PodDisruptionBudget/{name}: allows {allowed} of {replicas} pods down")
        if kind == "ServiceMonitor":
            sel = d["spec"]["selector"]["matchLabels"]
            svc = [s for s in services if matches(sel, s["metadata"]["labels"])]
            if len(svc) != 1:
                fail(f"ServiceMonitor/{name} selects {len(svc)} Services")
                continue
            ports = {p["name"] for p in svc[0]["spec"]["ports"]}
            for ep in d["spec"]["endpoints"]:
                if ep.get("port") not in ports:
                    fail(f"ServiceMonitor/{name}: port {ep.get('port')!r} is not a port of Service/{svc[0]['metadata']['name']}")
    # The admin token: Secret -> volume -> REDLINE_ADMIN_TOKEN_FILE; the ServiceMonitor sends it.
    secret = docs(HERE / EXAMPLE_SECRET)[0]
    secret_name = secret["metadata"]["name"]
    secret_key = next(iter(secret.get("stringData") or secret.get("data") or {}), None)
    token = (secret.get("stringData") or {}).get(secret_key, "")
    if len(token.strip()) >= 16 and all(33 <= ord(ch) <= 126 for ch in token.strip()):
        fail(f"{EXAMPLE_SECRET}: the example holds a usable token; keep a placeholder redline refuses")
    vols = {v["name"]: v for v in pod["spec"].get("volumes", [])}
    token_file = env.get("REDLINE_ADMIN_TOKEN_FILE")
    mounted = None
    for m in c.get("volumeMounts", []):
        sec = vols.get(m["name"], {}).get("secret")
        if sec and sec.get("secretName") == secret_name:
            for item in sec.get("items") or [{"key": secret_key, "path": secret_key}]:
                if item["key"] == secret_key:
                    mounted = m["mountPath"].rstrip("/") + "/" + item["path"]
    if mounted is None:
        fail(f"deployment.yaml: Secret {secret_name} (key {secret_key}) is not mounted")
    elif token_file != mounted:
        fail(f"deployment.yaml: REDLINE_ADMIN_TOKEN_FILE {token_file!r} is not the mounted token file {mounted!r}")
    sm = one("ServiceMonitor", "redline", objs)
    auth = [ep.get("authorization") for ep in sm["spec"]["endpoints"]]
    if str(env.get("REDLINE_METRICS_AUTH", "false")).lower() in ("true", "1", "yes", "on"):
        for a in auth:
            cred = (a or {}).get("credentials") or {}
            if (a or {}).get("type", "Bearer") != "Bearer" or cred.get("name") != secret_name or cred.get("key") != secret_key:
                fail(f"servicemonitor.yaml: REDLINE_METRICS_AUTH is on, so the scrape needs "
                     f"authorization: {{type: Bearer, credentials: {{name: {secret_name}, key: {secret_key}}}}}")
    elif any(auth):
        fail("servicemonitor.yaml: sends the token, but REDLINE_METRICS_AUTH is off (drop `authorization`)")
    # Traces go to the collector Service's OTLP gRPC port.
    endpoint = env.get("OTEL_EXPORTER_OTLP_ENDPOINT", "")
    m = re.fullmatch(r"http://([a-z0-9.-]+):([0-9]+)", endpoint)
    collector_svc = one("Service", "otel-collector", objs)
    grpc = [p["port"] for p in collector_svc["spec"]["ports"] if p.get("appProtocol") == "grpc"]
    if not m or m.group(1).split(".")[0] != "otel-collector" or int(m.group(2)) not in grpc:
        fail(f"deployment.yaml: OTEL_EXPORTER_OTLP_ENDPOINT {endpoint!r} is not http://otel-collector:<its gRPC port {grpc}>")
    if env.get("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc") != "grpc":
        fail("deployment.yaml: OTEL_EXPORTER_OTLP_PROTOCOL must be grpc for port 4317")
    # The collector's configuration and its Deployment agree.
    cm = one("ConfigMap", "otel-collector", objs)
    cfg = yaml.safe_load(cm["data"]["config.yaml"])
    coll = one("Deployment", "otel-collector", objs)
    cc = container(coll, "otel-collector")
    cports = {p["containerPort"] for p in cc["ports"]}
    pipelines = cfg["service"]["pipelines"]
    if "traces" not in pipelines:
        fail("otel-collector.yaml: no traces pipeline")
    for pname, p in pipelines.items():
        for kind in ("receivers", "processors", "exporters"):
            for comp in p.get(kind) or []:
                if comp not in (cfg.get(kind) or {}):
                    fail(f"otel-collector.yaml: pipeline {pname}: {kind[:-1]} {comp!r} is not defined")
        procs = p.get("processors") or []
        if procs[:1] != ["memory_limiter"] or procs[-1:] != ["batch"]:
            fail(f"otel-collector.yaml: pipeline {pname}: memory_limiter first, batch last")
    for ext in cfg["service"].get("extensions") or []:
        if ext not in (cfg.get("extensions") or {}):
            fail(f"otel-collector.yaml: extension {ext!r} is not defined")
    protocols = cfg["receivers"]["otlp"]["protocols"]
    listen = {str(protocols[k]["endpoint"]).rsplit(":", 1)[1] for k in ("grpc", "http")}
    listen.add(str(cfg["extensions"]["health_check"]["endpoint"]).rsplit(":", 1)[1])
    for r in cfg["service"]["telemetry"]["metrics"]["readers"]:
        listen.add(str(r["pull"]["exporter"]["prometheus"]["port"]))
    for port in sorted(listen):
        if int(port) not in cports:
            fail(f"otel-collector.yaml: the configuration listens on {port}, not a containerPort {sorted(cports)}")
    for port in (4317, 4318):
        if port not in {p["port"] for p in collector_svc["spec"]["ports"]}:
            fail(f"otel-collector.yaml: Service otel-collector has no port {port}")
    limit = str(cc["resources"]["limits"]["memory"])
    limit_mib = int(limit[:-2]) * (1024 if limit.endswith("Gi") else 1) if limit[-2:] in ("Mi", "Gi") else 0
    if cfg["processors"]["memory_limiter"]["limit_mib"] >= limit_mib:
        fail(f"otel-collector.yaml: memory_limiter limit_mib must stay below the container's limit ({limit})")
    for name, v in (cfg.get("exporters") or {}).items():
        ep = str((v or {}).get("endpoint", ""))
        var = re.fullmatch(r"\$\{env:([A-Z0-9_]+)\}", ep)
        if var and var.group(1) not in env_of(cc):
            fail(f"otel-collector.yaml: exporter {name} reads ${{env:{var.group(1)}}}, which the Deployment does not set")


PINNED = re.compile(r"^v?[0-9]+\.[0-9]+\.[0-9]+(-[A-Za-z0-9._-]+)?$")


def cmd_hardening():
    dockerfile = (REPO / "Dockerfile").read_text(encoding="utf-8")
    m = re.search(r"--uid\s+([0-9]+)", dockerfile)
    image_uid = int(m.group(1)) if m else None
    for name, d in resources():
        if d.get("kind") != "Deployment":
            continue
        where = f"{name}: Deployment/{d['metadata']['name']}"
        spec = d["spec"]["template"]["spec"]
        if d["metadata"]["name"] == "redline" and d["spec"].get("replicas", 1) < 3:
            fail(f"{where}: replicas {d['spec'].get('replicas', 1)} < 3")
        psc = spec.get("securityContext") or {}
        if spec.get("automountServiceAccountToken") is not False:
            fail(f"{where}: automountServiceAccountToken: false (no API access needed)")
        if spec.get("hostNetwork") or spec.get("hostPID") or spec.get("hostIPC"):
            fail(f"{where}: host namespaces")
        if not spec.get("topologySpreadConstraints") and not (spec.get("affinity") or {}).get("podAntiAffinity"):
            fail(f"{where}: no topology spread or anti-affinity across nodes")
        for c in spec.get("initContainers", []) + spec["containers"]:
            cw = f"{where} container {c['name']}"
            sc = c.get("securityContext") or {}
            eff = {**psc, **sc}
            if eff.get("runAsNonRoot") is not True or not eff.get("runAsUser"):
                fail(f"{cw}: runAsNonRoot: true and a non-zero runAsUser")
            if sc.get("readOnlyRootFilesystem") is not True:
                fail(f"{cw}: readOnlyRootFilesystem: true")
            if sc.get("allowPrivilegeEscalation") is not False:
                fail(f"{cw}: allowPrivilegeEscalation: false")
            if sc.get("privileged"):
                fail(f"{cw}: privileged")
            if (sc.get("capabilities") or {}).get("drop") != ["ALL"] or (sc.get("capabilities") or {}).get("add"):
                fail(f"{cw}: capabilities: {{drop: [ALL]}} and nothing added")
            if (eff.get("seccompProfile") or {}).get("type") != "RuntimeDefault":
                fail(f"{cw}: seccompProfile: RuntimeDefault")
            res = c.get("resources") or {}
            for part in ("requests", "limits"):
                for r in ("cpu", "memory"):
                    if r not in (res.get(part) or {}):
                        fail(f"{cw}: resources.{part}.{r} missing")
            image = c.get("image", "")
            ref = image.split("@", 1)[0]
            tag = ref.rsplit("/", 1)[-1].partition(":")[2]
            if not tag or "latest" in tag or not PINNED.match(tag):
                fail(f"{cw}: image {image} is not pinned to an exact version")
            if c.get("imagePullPolicy") == "Always":
                fail(f"{cw}: imagePullPolicy Always with a pinned tag")
            if ref.startswith("ghcr.io/redline-rs/redline:"):
                if eff.get("runAsUser") != image_uid:
                    fail(f"{cw}: runAsUser {eff.get('runAsUser')} is not the Dockerfile's uid {image_uid}")
                if psc.get("fsGroup") != image_uid:
                    fail(f"{cw}: fsGroup {psc.get('fsGroup')} is not {image_uid} (the mounted Secret must be readable)")


def main(argv):
    if not argv:
        print(__doc__)
        return 2
    cmd, args = argv[0], argv[1:]
    func = globals().get("cmd_" + cmd.replace("-", "_"))
    if func is None:
        print(f"unknown subcommand {cmd}", file=sys.stderr)
        return 2
    try:
        func(*args)
    except (KeyError, TypeError, IndexError, StopIteration, ValueError) as e:
        fail(f"malformed manifest ({type(e).__name__}: {e})")
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
