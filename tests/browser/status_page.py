#!/usr/bin/env python3
"""The status page in a real browser: Debian's chromium driven over WebDriver
(chromium-driver, with selenium), against the demo binary under load.

  python3 tests/browser/status_page.py [path/to/redline] [--screenshot PNG] [--warmup SECONDS]

The README's picture: --screenshot docs/status-page.png --warmup 300 (five
minutes of traffic with faults changing every 20 s, then the test).

Checks, in order: a first visit shows the login form with a clean console; a
wrong token is refused, shown and counted (`authn_login_fail`); the right
token logs in; the page shows the demo's routes with non-zero rates, the
health checks, the pipeline and process; errors injected from the operator
panel raise the error-ratio chart within 10 s and appear as an error group
with a trace id; logout returns to the form and the old session is refused;
the browser made no request to any host but the admin listener, and logged
no console error but the refused login's. Every wait is bounded.
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

TOKEN = "browser-test-token-0123456789abcdef"
WRONG = "wrong-token-hunter2-0123456789"
DEADLINE = 90  # seconds for the whole test once the demo is up


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fail(msg):
    print(f"FAIL: {msg}", file=sys.stderr)
    raise SystemExit(1)


def wait(what, predicate, timeout):
    """Polls `predicate` until it returns a true value, at most `timeout` s."""
    end = time.monotonic() + timeout
    last = None
    while time.monotonic() < end:
        try:
            last = predicate()
        except Exception as e:  # the DOM changes under us between polls
            last = e
        else:
            if last:
                return last
        time.sleep(0.25)
    fail(f"{what}: not within {timeout} s (last: {last!r})")


def scrape(admin, name, label):
    req = urllib.request.Request(f"{admin}/metrics", headers={"authorization": f"Bearer {TOKEN}"})
    text = urllib.request.urlopen(req, timeout=5).read().decode()
    for line in text.splitlines():
        if line.startswith(name + "{") and label in line:
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def vary_faults(admin, seconds):
    """Changes the demo's faults every 20 s for `seconds` (bounded)."""
    steps = [(0.01, 0), (0.03, 20), (0.005, 5), (0.08, 40), (0.02, 10), (0.0, 0)]
    end = time.monotonic() + seconds
    i = 0
    while time.monotonic() < end:
        rate, latency = steps[i % len(steps)]
        body = json.dumps({"error_rate": rate, "latency_ms": latency}).encode()
        req = urllib.request.Request(f"{admin}/faults", data=body, method="PUT", headers={
            "authorization": f"Bearer {TOKEN}", "content-type": "application/json"})
        urllib.request.urlopen(req, timeout=5).read()
        time.sleep(min(20, max(0, end - time.monotonic())))
        i += 1


def start_demo(binary, workdir, duration):
    admin_port = free_port()
    env = dict(os.environ)
    env.update({
        "REDLINE_ADMIN_TOKEN": TOKEN,
        "REDLINE_LOG_FILE": os.path.join(workdir, "demo.log"),
        "REDLINE_SYSTEM_METRICS_INTERVAL": "1s",
    })
    for k in ("REDLINE_STATUS_PUBLIC", "REDLINE_TRACE_UI_URL", "REDLINE_STATUS_PAGE"):
        env.pop(k, None)
    proc = subprocess.Popen(
        [binary, "demo", "--listen", "127.0.0.1:0", "--admin-listen", f"127.0.0.1:{admin_port}",
         "--load", "40", "--duration", str(duration)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env, cwd=workdir)
    admin = None
    start = time.monotonic()
    for line in proc.stdout:
        m = re.search(r"status:\s+(http://127\.0\.0\.1:\d+)/status", line)
        if m:
            admin = m.group(1)
        if line.startswith("Ctrl-C") or time.monotonic() - start > 30:
            break
    if not admin:
        proc.kill()
        fail("the demo did not print its status page URL")
    # Keep reading so the demo never blocks on a full pipe.
    import threading
    threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()
    return proc, admin


def browser(workdir):
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--disable-default-apps", "--disable-extensions",
                "--window-size=1280,1000", f"--user-data-dir={workdir}/chromium"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    service = Service(shutil.which("chromedriver") or "/usr/bin/chromedriver")
    return webdriver.Chrome(service=service, options=options)


def state(d):
    return d.find_element(By.TAG_NAME, "body").get_attribute("data-state")


def main():
    args = sys.argv[1:]
    shot = None
    warmup = 0
    if "--screenshot" in args:
        i = args.index("--screenshot")
        shot = args[i + 1]
        del args[i:i + 2]
    if "--warmup" in args:  # seconds of varied traffic first (for the README's picture)
        i = args.index("--warmup")
        warmup = min(int(args[i + 1]), 900)
        del args[i:i + 2]
    binary = args[0] if args else "target/debug/redline"
    if not os.path.exists(binary):
        fail(f"no demo binary at {binary} (cargo build -p redline-demo)")
    workdir = tempfile.mkdtemp(prefix="redline-browser-")
    proc, admin = start_demo(os.path.abspath(binary), workdir, 150 + warmup)
    if warmup:
        vary_faults(admin, warmup)
    driver = None
    started = time.monotonic()
    try:
        driver = browser(workdir)
        driver.set_page_load_timeout(20)
        console = []  # every browser log entry, read as we go

        def read_console():
            console.extend(driver.get_log("browser"))

        # 1. A first visit: the login form, and nothing in the console.
        driver.get(f"{admin}/status")
        wait("the login form", lambda: state(driver) == "login", 15)
        read_console()
        severe = [e for e in console if e["level"] == "SEVERE"]
        if severe:
            fail(f"console errors on the first load: {severe}")

        # 2. A wrong token: refused, said on the page, counted.
        before = scrape(admin, "redline_security_events_total", 'event="authn_login_fail"')
        driver.find_element(By.ID, "login-token").send_keys(WRONG)
        driver.find_element(By.ID, "login-submit").click()
        msg = wait("the refusal message",
                   lambda: driver.find_element(By.ID, "login-error").text.strip(), 10)
        if WRONG in msg or "hunter2" in driver.page_source:
            fail("the page echoes the token sent")
        after = scrape(admin, "redline_security_events_total", 'event="authn_login_fail"')
        if after != before + 1:
            fail(f"the failed login was not counted ({before} -> {after})")
        read_console()
        refused_login = [e for e in console if e["level"] == "SEVERE"]
        if not all("status/login" in e["message"] and "401" in e["message"] for e in refused_login):
            fail(f"unexpected console errors: {refused_login}")

        # 3. The right token.
        field = driver.find_element(By.ID, "login-token")
        field.clear()
        field.send_keys(TOKEN)
        driver.find_element(By.ID, "login-submit").click()
        wait("the page to go live", lambda: state(driver) == "live", 10)
        principal = driver.find_element(By.ID, "viewer-principal").text
        if principal != "admin-token":
            fail(f"viewer shown as {principal!r}")

        # 4. The demo's routes with non-zero rates (the history needs two
        # snapshots: up to 10 s), the health checks, pipeline and process.
        def busy_routes():
            rows = driver.find_elements(By.CSS_SELECTOR, "#routes tr[data-route]")
            rates = {}
            for r in rows:
                text = r.find_element(By.CSS_SELECTOR, ".rate").text.replace(",", "")
                try:
                    rates[r.get_attribute("data-route")] = float(text)
                except ValueError:
                    pass
            busy = {k: v for k, v in rates.items() if v > 0}
            return busy if len(busy) >= 4 else None
        routes = wait("routes with traffic", busy_routes, 20)
        for expected in ("GET /hello", "POST /messages"):
            if expected not in routes:
                fail(f"{expected} missing from {sorted(routes)}")
        checks = [r.get_attribute("data-check") for r in
                  driver.find_elements(By.CSS_SELECTOR, "#health-checks tr[data-check]")]
        for expected in ("memory:utilization", "disk:free"):
            if expected not in checks:
                fail(f"health check {expected} missing from {checks}")
        overall = driver.find_element(By.ID, "overall").get_attribute("data-status")
        if overall not in ("pass", "warn", "fail"):
            fail(f"overall status {overall!r}")
        written = driver.find_element(By.CSS_SELECTOR, '#pipeline [data-key="log_lines_written"]').text
        if not written.strip():
            fail("the pipeline section is empty")
        memory = driver.find_element(By.CSS_SELECTOR, '#process [data-key="memory"]').text
        if "MiB" not in memory and "MB" not in memory:
            fail(f"process memory shown as {memory!r}")

        # 5. Errors injected from the operator panel: the error-ratio chart
        # rises within 10 s, and an error group with a trace id appears.
        rate_input = driver.find_element(By.CSS_SELECTOR, '#panel input[name="error_rate"]')
        rate_input.clear()
        rate_input.send_keys("0.3")
        driver.find_element(By.CSS_SELECTOR, '#panel button.apply[data-field="error_rate"]').click()
        applied = time.monotonic()
        wait("the panel to confirm", lambda: "ok" in (driver.find_element(By.ID, "panel-status").get_attribute("class") or ""), 5)

        def errors_up():
            last = driver.find_element(By.ID, "chart-errors").get_attribute("data-last")
            return last is not None and last not in ("", "null") and float(last) > 0.05
        wait("the error-ratio chart to rise", errors_up, 10)
        rose_after = time.monotonic() - applied
        group = wait("an error group", lambda: driver.find_elements(By.CSS_SELECTOR, "#error-groups tr[data-fingerprint]"), 10)
        trace = wait("a trace id of a failed request",
                     lambda: [t.text for t in driver.find_elements(By.CSS_SELECTOR, "#recent-failed .trace-id, #error-groups .trace-id")
                              if re.fullmatch(r"[0-9a-f]{32}", t.text.strip())], 10)
        print(f"error-ratio chart rose {rose_after:.1f} s after the change; "
              f"{len(group)} error group(s); trace id {trace[0]}")

        # The README's picture: the page under load with the injected errors.
        if shot:
            time.sleep(4)  # a couple of refreshes, so the charts show the change
            driver.set_window_size(1280, 1000)
            driver.save_screenshot(shot)
            print(f"screenshot: {shot}")

        # Back to a small error rate for the rest of the run.
        rate_input = driver.find_element(By.CSS_SELECTOR, '#panel input[name="error_rate"]')
        rate_input.clear()
        rate_input.send_keys("0")
        driver.find_element(By.CSS_SELECTOR, '#panel button.apply[data-field="error_rate"]').click()

        # 6. Logout: the form again, and the session is gone for good.
        driver.find_element(By.ID, "logout").click()
        wait("the login form after logout", lambda: state(driver) == "login", 10)
        driver.get(f"{admin}/status")
        wait("the login form after a reload", lambda: state(driver) == "login", 10)

        # 7. Requests: only to the admin listener. Console: only the
        # refused login's 401.
        read_console()
        hosts = set()
        for entry in driver.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            if message.get("method") == "Network.requestWillBeSent":
                url = message["params"]["request"]["url"]
                # `data:` (the empty favicon) and `about:` load nothing;
                # `chrome://` is the browser's own new-tab page, not ours.
                if not url.startswith(("data:", "about:", "chrome://", "chrome-untrusted://")):
                    origin = re.match(r"^[a-z-]+://[^/]*", url)
                    hosts.add(origin.group(0) if origin else url)
        if hosts != {admin}:
            fail(f"requests to other hosts: {sorted(hosts)}")
        severe = [e for e in console if e["level"] == "SEVERE"
                  and not ("status/login" in e["message"] and "401" in e["message"])]
        if severe:
            fail(f"console errors: {severe}")
        if time.monotonic() - started > DEADLINE + warmup:
            fail(f"took {time.monotonic() - started:.0f} s (limit {DEADLINE} s)")
        print(f"status page in chromium: ok ({time.monotonic() - started:.0f} s)")
    finally:
        if driver is not None:
            driver.quit()
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
