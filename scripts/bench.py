#!/usr/bin/env python3
"""make bench: wrk against a release build of Atrium with a seeded database, and the same
routes against the Hummingbird 2 reference server (../shared/bench/hummingbird-ref) in the
same run. Prints requests/s, p50/p99 latency, memory per idle connection, and the ratios.

Each round starts every server afresh (fresh data directory), warms each route for 3 s, then
measures it for --duration seconds. With several rounds the medians are reported.
Performance is measured here and nowhere else: tests never assert on timing."""
import argparse, json, os, re, shutil, signal, statistics, subprocess, sys, tempfile, time, urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED_BENCH = os.path.normpath(os.path.join(ROOT, "..", "shared", "bench"))
BENCH_DIR = os.path.join(ROOT, ".build", "bench")
ATRIUM = os.path.join(ROOT, ".build", "release", "atrium")


def http(method, url, body=None, headers=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None:
        req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read() or b"null")


def wait_port(port, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1).read()
            return
        except Exception:
            time.sleep(0.1)
    raise RuntimeError(f"server on {port} did not come up")


def wrk(url, connections, duration, headers=(), script=None, threads=2):
    cmd = ["wrk", f"-t{min(threads, connections)}", f"-c{connections}", f"-d{duration}s", "--latency"]
    for h in headers:
        cmd += ["-H", h]
    if script:
        cmd += ["-s", script]
    cmd.append(url)
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))

    def lat(p):
        m = re.search(rf"\s{p}%\s+([\d.]+)(us|ms|s)\b", out)
        if not m:
            return float("nan")
        v, unit = float(m.group(1)), m.group(2)
        return v / 1000 if unit == "us" else v * 1000 if unit == "s" else v
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return {"rps": rps, "p50": lat(50), "p99": lat(99), "non2xx": int(non2xx.group(1)) if non2xx else 0,
            "socket_errors": errors.group(1) if errors else ""}


def memtest(port, pid, n, path, headers=()):
    cmd = [sys.executable, os.path.join(SHARED_BENCH, "memtest.py"), "--port", str(port), "--pids", str(pid),
           "--n", str(n), "--path", path]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    try:
        result = json.loads(out.stdout.strip().splitlines()[-1])
    except Exception:
        return {"error": out.stdout[-500:] + out.stderr[-500:]}
    opened = result.get("n_open") or n
    result["kb_per_conn"] = (result["rss_with_conns_kb"] - result["rss_before_kb"]) / max(1, opened)
    return result


class Atrium:
    name = "atrium"

    extra_args = []
    seed_fan_out = True

    def __init__(self, port):
        self.port = port
        self.dir = tempfile.mkdtemp(prefix="atrium-bench-")
        self.proc = subprocess.Popen(
            [ATRIUM, "serve", "--port", str(port), "--data-dir", self.dir, "--access-log", "false",
             "--password-iterations", "1000", "--max-connections", "30000"] + self.extra_args,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            self.seed(port)
        except BaseException:
            self.stop()
            raise

    def seed(self, port):
        wait_port(port)
        base = f"http://127.0.0.1:{port}"
        signup = http("POST", base + "/v1/auth/signup",
                      {"email": "bench@example.com", "password": "bench password", "name": "Bench"})
        self.jwt = signup["access_token"]
        self.workspace = signup["workspace"]["id"]
        auth = {"Authorization": "Bearer " + self.jwt}
        for name in ("Second", "Third"):
            http("POST", base + "/v1/workspaces", {"name": name}, auth)
        self.key = http("POST", base + "/v1/api-keys", {"name": "bench", "mode": "full"}, auth)["secret"]
        seed_records(port, self.key, self.workspace)
        if self.seed_fan_out:
            self.fan_key, self.fan_workspace = seed_fan_out(base)

    def routes(self):
        key = f"Authorization: Bearer {self.key}"
        workspace = f"X-Workspace-ID: {self.workspace}"
        return {
            "healthz": ("/healthz", []),
            "me_key": ("/v1/me", [key]),
            "me_jwt": ("/v1/me", [f"Authorization: Bearer {self.jwt}"]),
            "records": ("/v1/collections/items/records?limit=20", [key, workspace]),
            "post": ("/v1/collections/items/records", [key, workspace]),
            "fan_one": (f"/v1/collections/items/records?limit=20&workspace_id={self.fan_workspace}",
                        [f"Authorization: Bearer {self.fan_key}"]),
            "fan_all": ("/v1/collections/items/records?limit=20&workspaces=all",
                        [f"Authorization: Bearer {self.fan_key}"]),
        }

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


class Reference:
    name = "hummingbird"
    binary = os.path.join(BENCH_DIR, "hummingbird-ref", ".build", "release", "HBRef")

    @classmethod
    def build(cls):
        if os.path.exists(cls.binary):
            return True
        src = os.path.join(SHARED_BENCH, "hummingbird-ref")
        if not os.path.isdir(src):
            return False
        dst = os.path.join(BENCH_DIR, "hummingbird-ref")
        if not os.path.isdir(dst):
            shutil.copytree(src, dst)
            subprocess.run(["chmod", "-R", "u+w", dst])
        print("building the Hummingbird reference (first time: several minutes)...", flush=True)
        r = subprocess.run(["swift", "build", "-c", "release"], cwd=dst)
        return r.returncode == 0 and os.path.exists(cls.binary)

    def __init__(self, port):
        self.port = port
        self.dir = tempfile.mkdtemp(prefix="hbref-bench-")
        env = dict(os.environ, DB_PATH=os.path.join(self.dir, "ref.db"), KEY_FILE=os.path.join(self.dir, "ref.key"))
        self.proc = subprocess.Popen([self.binary, str(port)], env=env, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        wait_port(port, timeout=120)
        self.key = open(env["KEY_FILE"]).read().strip()
        self.workspace = open(env["KEY_FILE"] + ".workspace").read().strip()

    def routes(self):
        key = f"Authorization: Bearer {self.key}"
        workspace = f"X-Workspace-ID: {self.workspace}"
        return {
            "healthz": ("/healthz", []),
            "me_key": ("/v1/me", [key]),
            "records": ("/v1/collections/items/records?limit=20", [key, workspace]),
            "post": ("/v1/collections/items/records", [key, workspace]),
        }

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


def seed_records(port, key, workspace, count=1000):
    """1,000 records of about 150 bytes in collection `items`, like the reference's seed."""
    import http.client as httpclient
    conn = httpclient.HTTPConnection("127.0.0.1", port, timeout=30)
    for n in range(count):
        body = json.dumps({"data": {"title": f"Item {n}", "status": "open", "priority": n % 5, "tags": ["seed", "bench"],
                                    "assignee": "user1@example.com", "estimate": 2.5, "done": False,
                                    "ref": f"ITEM-{n:06d}"}})
        conn.request("POST", "/v1/collections/items/records", body,
                     {"Authorization": "Bearer " + key, "X-Workspace-ID": str(workspace),
                      "Content-Type": "application/json"})
        resp = conn.getresponse()
        resp.read()
        if resp.status != 201:
            raise RuntimeError(f"seeding failed: {resp.status}")
    conn.close()


def seed_fan_out(base, workspaces=100, per_workspace=20):
    """A second account with 100 workspaces of 20 records each, for the fan-out figure."""
    import http.client as httpclient
    signup = http("POST", base + "/v1/auth/signup", {"email": "fan@example.com", "password": "bench password", "name": "Fan"})
    auth = {"Authorization": "Bearer " + signup["access_token"]}
    ids = [signup["workspace"]["id"]]
    for n in range(workspaces - 1):
        ids.append(http("POST", base + "/v1/workspaces", {"name": f"W{n}"}, auth)["id"])
    key = http("POST", base + "/v1/api-keys", {"name": "fan", "mode": "full"}, auth)["secret"]
    host, port = base.split("//")[1].split(":")
    conn = httpclient.HTTPConnection(host, int(port), timeout=30)
    for round_ in range(per_workspace):
        for ws in ids:
            conn.request("POST", "/v1/collections/items/records", json.dumps({"data": {"n": round_, "ws": ws}}),
                         {"Authorization": "Bearer " + key, "X-Workspace-ID": str(ws), "Content-Type": "application/json"})
            r = conn.getresponse()
            r.read()
    conn.close()
    return key, ids[0]


class AtriumOneTransactionPerWrite(Atrium):
    """The same server with group commit off (--commit-batch 1), for the POST comparison."""
    name = "atrium-no-group-commit"
    extra_args = ["--commit-batch", "1"]
    seed_fan_out = False

    def routes(self):
        key = f"Authorization: Bearer {self.key}"
        return {"post": ("/v1/collections/items/records", [key, f"X-Workspace-ID: {self.workspace}"])}


class AtriumWithWebhook(Atrium):
    """The same server with one active webhook endpoint (every event) on a local receiver:
    record creates/s against the plain server's, and events delivered/s."""
    name = "atrium-webhook"
    extra_args = ["--webhook-allow-private", "true"]
    seed_fan_out = False
    receiver_port = 18099

    def seed(self, port):
        source = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bench_receiver.c")
        binary = os.path.join(BENCH_DIR, "bench_receiver")
        subprocess.run(["cc", "-O2", "-o", binary, source], check=True)
        self.receiver = subprocess.Popen([binary, str(self.receiver_port)], stdout=subprocess.PIPE,
                                         stderr=subprocess.DEVNULL, text=True)
        self.receiver.stdout.readline()
        super().seed(port)
        http("POST", f"http://127.0.0.1:{port}/v1/webhooks",
             {"url": f"http://127.0.0.1:{self.receiver_port}/hook", "events": ["*"]},
             {"Authorization": "Bearer " + self.jwt, "X-Workspace-ID": str(self.workspace)})
        # The 1,000 seed records were written before the endpoint existed: nothing to deliver.

    def routes(self):
        key = f"Authorization: Bearer {self.key}"
        return {"post": ("/v1/collections/items/records", [key, f"X-Workspace-ID: {self.workspace}"])}

    def delivery_rate(self, timeout=120):
        """After the write load: events delivered per second while the queue drains, and the
        backlog the load left behind."""
        def metric(name):
            text = urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=5).read().decode()
            for line in text.splitlines():
                if line.startswith(name + " ") or line.startswith(name + "{"):
                    return float(line.rsplit(" ", 1)[1])
            return 0.0
        succeeded = 'atrium_webhook_deliveries_total{outcome="succeeded"}'
        start_time = time.time()
        start = metric(succeeded)
        backlog = metric("atrium_webhook_queue_depth")
        while metric("atrium_webhook_queue_depth") > 0 and time.time() - start_time < timeout:
            time.sleep(0.2)
        elapsed = time.time() - start_time
        delivered = metric(succeeded) - start
        failed = sum(metric(f'atrium_webhook_deliveries_total{{outcome="{o}"}}')
                     for o in ("http_error", "timeout", "connection_error"))
        return {"backlog": backlog, "delivered": delivered, "seconds": elapsed,
                "rps": delivered / elapsed if elapsed > 0 else 0, "failed": failed}

    def stop(self):
        super().stop()
        self.receiver.terminate()
        self.receiver.wait()


POST_SCRIPT = os.path.join(SHARED_BENCH, "wrk", "post_record.lua")

CASES = [  # (label, route, connections)
    ("GET /healthz c64", "healthz", 64),
    ("GET /healthz c256", "healthz", 256),
    ("GET /healthz c1", "healthz", 1),
    ("GET /v1/me (API key) c64", "me_key", 64),
    ("GET /v1/me (JWT) c64", "me_jwt", 64),
    ("GET records?limit=20 (key) c64", "records", 64),
    ("GET records, 1 of 100 workspaces c64", "fan_one", 64),
    ("GET records, workspaces=all (100) c64", "fan_all", 64),
    ("POST record (durable) c64", "post", 64),
    ("POST record (durable) c1", "post", 1),
]


def run_server(cls, port, duration, conns_for_mem):
    server = cls(port)
    results = {}
    try:
        routes = server.routes()
        wanted = os.environ.get("BENCH_CASES")
        for label, route, conns in CASES:
            if route not in routes or (wanted and not any(w in label for w in wanted.split(","))):
                continue
            path, headers = routes[route]
            url = f"http://127.0.0.1:{port}{path}"
            script = POST_SCRIPT if route == "post" else None
            if script is None:
                wrk(url, conns, 3, headers)
            results[label] = wrk(url, conns, duration, headers, script=script)
        for route, (path, headers) in routes.items():
            try:
                urllib.request.urlopen(urllib.request.Request(
                    f"http://127.0.0.1:{port}{path}", headers=dict(h.split(": ", 1) for h in headers)), timeout=5).read()
            except Exception:
                pass
        if conns_for_mem and "healthz" in routes and not wanted:
            results["memory"] = memtest(port, server.proc.pid, conns_for_mem, "/healthz")
        if hasattr(server, "delivery_rate"):
            results["delivery"] = server.delivery_rate()
    finally:
        server.stop()
    return results


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=int(os.environ.get("ROUNDS", "1")))
    ap.add_argument("--duration", type=int, default=int(os.environ.get("DURATION", "10")))
    ap.add_argument("--connections-for-memory", type=int, default=10000)
    ap.add_argument("--skip-reference", action="store_true", default=os.environ.get("SKIP_REFERENCE") == "1")
    args = ap.parse_args()
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    os.makedirs(BENCH_DIR, exist_ok=True)
    servers = [Atrium]
    if not args.skip_reference and Reference.build():
        servers.append(Reference)
    servers.append(AtriumOneTransactionPerWrite)
    servers.append(AtriumWithWebhook)
    only = os.environ.get("BENCH_ONLY")
    if only:
        servers = [cls for cls in servers if cls.name in only.split(",")]
    if only and "events" in only.split(","):
        # The event-stream case alone (scripts/bench_events.py).
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import bench_events
        result = bench_events.main()
        with open(os.path.join(BENCH_DIR, "events.json"), "w") as f:
            json.dump(result, f, indent=1)
        if servers == []:
            return
    rounds = {s.name: [] for s in servers}
    for r in range(args.rounds):
        for i, cls in enumerate(servers):
            print(f"round {r + 1}/{args.rounds}: {cls.name}", flush=True)
            rounds[cls.name].append(run_server(cls, 18081 + i, args.duration, args.connections_for_memory))
    # Every round's figures, for the spread behind the medians printed below.
    raw_path = os.path.join(BENCH_DIR, "last-run.json")
    os.makedirs(BENCH_DIR, exist_ok=True)
    with open(raw_path, "w") as raw:
        json.dump(rounds, raw, indent=1)
    print(f"every round's figures: {raw_path}")

    def median(name, label, key):
        values = [rd[label][key] for rd in rounds.get(name, []) if label in rd and key in rd[label]]
        return statistics.median(values) if values else None

    print()
    print(f"{'case':32} {'atrium rps':>11} {'p50 ms':>7} {'p99 ms':>7} | {'ref rps':>9} {'p50 ms':>7} {'p99 ms':>7} | {'ratio':>6}")
    summary = {}
    for label, _, _ in CASES:
        a = [median("atrium", label, k) for k in ("rps", "p50", "p99")]
        h = [median("hummingbird", label, k) for k in ("rps", "p50", "p99")]
        if a[0] is None:
            continue
        ratio = a[0] / h[0] if h[0] else None
        fmt = lambda v, f: (f % v) if v is not None else "-"
        print(f"{label:32} {fmt(a[0], '%11.0f')} {fmt(a[1], '%7.2f')} {fmt(a[2], '%7.2f')} | "
              f"{fmt(h[0], '%9.0f')} {fmt(h[1], '%7.2f')} {fmt(h[2], '%7.2f')} | {fmt(ratio, '%5.2fx')}")
        summary[label] = {"atrium": a, "reference": h, "ratio": ratio}
        bad = [rd[label] for rd in rounds["atrium"] if rd.get(label, {}).get("non2xx")]
        if bad:
            print(f"   WARNING: atrium answered non-2xx responses in {label}: {bad}")
    single = [rd.get("POST record (durable) c64", {}).get("rps") for rd in rounds.get("atrium-no-group-commit", [])]
    grouped = median("atrium", "POST record (durable) c64", "rps")
    single = [v for v in single if v]
    if single and grouped:
        one = statistics.median(single)
        print(f"durable creates/s, c64: group commit {grouped:.0f} vs one transaction per request {one:.0f}"
              f" = {grouped / one:.1f}x")
    hooked = [rd.get("POST record (durable) c64", {}).get("rps") for rd in rounds.get("atrium-webhook", [])]
    hooked = [v for v in hooked if v]
    if hooked and grouped:
        with_hook = statistics.median(hooked)
        print(f"durable creates/s, c64: one active webhook endpoint {with_hook:.0f} vs none {grouped:.0f}"
              f" = {with_hook / grouped:.2f}x")
    drains = [rd["delivery"] for rd in rounds.get("atrium-webhook", []) if "delivery" in rd]
    if drains:
        print(f"webhook events delivered/s to a local receiver (draining the backlog the load left): "
              f"{statistics.median([d['rps'] for d in drains]):.0f} "
              f"(backlog {statistics.median([d['backlog'] for d in drains]):.0f}, "
              f"failed attempts {sum(d['failed'] for d in drains):.0f})")
    for name in rounds:
        mems = [rd["memory"]["kb_per_conn"] for rd in rounds[name] if "kb_per_conn" in rd.get("memory", {})]
        if mems:
            print(f"memory per idle connection ({args.connections_for_memory} open), {name}: "
                  f"{statistics.median(mems):.2f} KiB")
    with open(os.path.join(BENCH_DIR, "last.json"), "w") as f:
        json.dump({"rounds": rounds, "summary": summary}, f, indent=1)
    if not only:
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import bench_events
        with open(os.path.join(BENCH_DIR, "events.json"), "w") as f:
            json.dump(bench_events.main(), f, indent=1)


if __name__ == "__main__":
    main()
