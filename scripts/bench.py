#!/usr/bin/env python3
"""make bench: wrk against a release build of Atrium with a seeded database, and the same
routes against the Hummingbird 2 reference server (../shared/bench/hummingbird-ref) in the
same run. Prints requests/s, p50/p99 latency, memory per idle connection, and the ratios.

Each round starts every server afresh (fresh data directory), warms each route for 3 s, then
measures it for --duration seconds. `atrium-postgres` runs the same binary on PostgreSQL: a
local durable cluster started here (PostgresCluster), a fresh database per server start. With several rounds the medians are reported.
Performance is measured here and nowhere else: tests never assert on timing."""
import argparse, json, os, re, resource, shutil, signal, socket, statistics, subprocess, sys, tempfile, threading, time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED_BENCH = os.path.normpath(os.path.join(ROOT, "..", "shared", "bench"))
BENCH_DIR = os.path.join(ROOT, ".build", "bench")
# ATRIUM_BINARY: another build of the server to measure (e.g. a copy of an older commit's), for A/B runs.
ATRIUM = os.environ.get("ATRIUM_BINARY") or os.path.join(ROOT, ".build", "release", "atrium")
sys.path.insert(0, os.path.join(ROOT, "clients", "python"))
from atrium_client import Client  # noqa: E402


def wait_port(port, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1).read()
            return
        except Exception:
            time.sleep(0.1)
    raise RuntimeError(f"server on {port} did not come up")


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu(pid):
    """User + system CPU seconds of a process (all its threads), 0 when it is gone."""
    try:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    except (OSError, IndexError, ValueError):
        return 0.0


def children(pid):
    """The pids whose parent is `pid` (a PostgreSQL postmaster's backends and helpers)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if int(open(f"/proc/{entry}/stat").read().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry))
            except (OSError, IndexError, ValueError):
                pass
    return found


def busy_cpu():
    """Seconds all cores spent not idle (user, nice, system, irq, softirq, steal), from /proc/stat."""
    values = [int(v) for v in open("/proc/stat").readline().split()[1:]]
    return (sum(values[:8]) - values[3] - values[4]) / CLOCK_TICKS


def wrk(url, connections, duration, headers=(), script=None, threads=2, cpu_groups=None):
    """One wrk run. `cpu_groups`: name → function giving that group's pids; the result then
    has `cpu`, each group's CPU seconds per wall second (1.0 = one core busy) during the run,
    wrk's own included."""
    cmd = ["wrk", f"-t{min(threads, connections)}", f"-c{connections}", f"-d{duration}s", "--latency"]
    for h in headers:
        cmd += ["-H", h]
    if script:
        cmd += ["-s", script]
    cmd.append(url)
    groups = cpu_groups or {}
    before = {name: {pid: process_cpu(pid) for pid in pids()} for name, pids in groups.items()}
    busy_before, started = busy_cpu(), time.time()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    killer = threading.Timer(duration + 60, proc.kill)
    killer.start()
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)  # wrk's own CPU time
    proc.returncode = os.waitstatus_to_exitcode(status)
    killer.cancel()
    wall = time.time() - started
    cpu = None
    if groups:
        cpu = {}
        for name, pids in groups.items():
            now = {pid: process_cpu(pid) for pid in set(pids()) | set(before[name])}
            cpu[name] = round(sum(max(0.0, now[pid] - before[name].get(pid, 0.0)) for pid in now) / wall, 3)
        cpu["wrk"] = round((usage.ru_utime + usage.ru_stime) / wall, 3)
        cpu["all cores"] = round((busy_cpu() - busy_before) / wall, 3)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))

    def lat(p):
        m = re.search(rf"\s{p}%\s+([\d.]+)(us|ms|s)\b", out)
        if not m:
            return float("nan")
        v, unit = float(m.group(1)), m.group(2)
        return v / 1000 if unit == "us" else v * 1000 if unit == "s" else v
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    result = {"rps": rps, "p50": lat(50), "p99": lat(99), "non2xx": int(non2xx.group(1)) if non2xx else 0,
              "socket_errors": errors.group(1) if errors else ""}
    if cpu is not None:
        result["cpu"] = cpu
    return result


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
        client, signup = Client.signup(base, "bench@example.com", "bench password", "Bench")
        self.client = client
        self.jwt = signup.json["access_token"]
        self.workspace = signup.json["workspace"]["id"]
        for name in ("Second", "Third"):
            client.post("/v1/workspaces", json={"name": name}, expect=201)
        self.key = client.post("/v1/api-keys", json={"name": "bench", "mode": "full"}, expect=201).json["secret"]
        seed_records(base, self.key, self.workspace)
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

    def cpu_groups(self):
        return {"atrium": lambda: [self.proc.pid]}

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


def seed_records(base, key, workspace, count=1000):
    """1,000 records of about 150 bytes in collection `items`, like the reference's seed."""
    client = Client(base, api_key=key, workspace=workspace)
    for n in range(count):
        client.post("/v1/collections/items/records", expect=201, json={"data": {
            "title": f"Item {n}", "status": "open", "priority": n % 5, "tags": ["seed", "bench"],
            "assignee": "user1@example.com", "estimate": 2.5, "done": False, "ref": f"ITEM-{n:06d}"}})


def seed_fan_out(base, workspaces=100, per_workspace=20):
    """A second account with 100 workspaces of 20 records each, for the fan-out figure."""
    client, signup = Client.signup(base, "fan@example.com", "bench password", "Fan")
    ids = [signup.json["workspace"]["id"]]
    for n in range(workspaces - 1):
        ids.append(client.post("/v1/workspaces", json={"name": f"W{n}"}, expect=201).json["id"])
    key = client.post("/v1/api-keys", json={"name": "fan", "mode": "full"}, expect=201).json["secret"]
    keyed = Client(base, api_key=key)
    for round_ in range(per_workspace):
        for ws in ids:
            keyed.post("/v1/collections/items/records", json={"data": {"n": round_, "ws": ws}}, workspace=ws,
                       expect=201)
    return key, ids[0]


class PostgresCluster:
    """A local PostgreSQL cluster for the benchmark, like scripts/with-postgres.sh (a temporary
    directory, a Unix socket only, the `postgres` OS user when we are root) but durable:
    fsync, full_page_writes and synchronous_commit on (PostgreSQL's defaults), plus the
    settings docs/configuration.md ("Engines") recommends. Started once per `make bench`;
    every server start gets a fresh database on it."""
    SETTINGS = {"fsync": "on", "synchronous_commit": "on", "full_page_writes": "on",
                "shared_buffers": "256MB", "max_connections": "200"}

    def __init__(self):
        bindir = None
        candidates = []
        if shutil.which("pg_config"):
            candidates.append(subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True).stdout.strip())
        candidates += sorted((os.path.join("/usr/lib/postgresql", v, "bin") for v in
                              (os.listdir("/usr/lib/postgresql") if os.path.isdir("/usr/lib/postgresql") else [])),
                             reverse=True)
        for candidate in candidates:
            if os.access(os.path.join(candidate, "initdb"), os.X_OK):
                bindir = candidate
                break
        if bindir is None:
            raise RuntimeError("PostgreSQL server binaries (initdb, pg_ctl) are missing: apt-get install postgresql")
        self.bindir = bindir
        self.dir = tempfile.mkdtemp(prefix="atrium-bench-pg-")
        self.as_server = []
        if os.getuid() == 0:
            shutil.chown(self.dir, "postgres")
            self.as_server = ["runuser", "-u", "postgres", "--"]
        self.data = os.path.join(self.dir, "data")
        subprocess.run(self.as_server + [os.path.join(bindir, "initdb"), "-D", self.data, "-U", "atrium", "-A",
                                         "trust", "-E", "UTF8", "--locale=C"], check=True, capture_output=True)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        options = f"-k {self.dir} -c listen_addresses= -p {self.port} " + " ".join(
            f"-c {k}={v}" for k, v in self.SETTINGS.items())
        subprocess.run(self.as_server + [os.path.join(bindir, "pg_ctl"), "-D", self.data, "-w", "-l",
                                         os.path.join(self.dir, "server.log"), "-o", options, "start"],
                       check=True, capture_output=True)
        self.postmaster = int(open(os.path.join(self.data, "postmaster.pid")).readline())
        self.admin = f"postgresql:///postgres?host={self.dir}&port={self.port}&user=atrium"
        self.version = subprocess.run(["psql", self.admin, "-XAtc", "SHOW server_version"],
                                      capture_output=True, text=True).stdout.strip()

    def database(self):
        name = "bench_" + os.urandom(6).hex()
        subprocess.run(["psql", self.admin, "-Xqc", f"CREATE DATABASE {name}"], check=True, capture_output=True)
        return self.admin.replace("/postgres?", f"/{name}?"), name

    def drop(self, name):
        subprocess.run(["psql", self.admin, "-Xqc", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"],
                       capture_output=True)

    def pids(self):
        return [self.postmaster] + children(self.postmaster)

    def stop(self):
        subprocess.run(self.as_server + [os.path.join(self.bindir, "pg_ctl"), "-D", self.data, "-m", "fast", "-w",
                                         "stop"], capture_output=True)
        shutil.rmtree(self.dir, ignore_errors=True)


class AtriumPostgres(Atrium):
    """The same server on PostgreSQL (--database-url) on the local durable cluster, seeded like
    the SQLite case (without the fan-out account): /v1/me, records list, durable creates."""
    name = "atrium-postgres"
    seed_fan_out = False
    cluster = None  # a PostgresCluster, started by main() when this case is selected
    jwt_secret = "bench-secret-for-postgres-mode-0123456789abcdef"
    # BENCH_PG_ARGS: extra serve flags for this case only (e.g. "--read-workers 8"), to try sizes.
    pool_args = os.environ.get("BENCH_PG_ARGS", "").split()

    def __init__(self, port):
        url, self.database_name = self.cluster.database()
        self.extra_args = ["--database-url", url, "--jwt-secret", self.jwt_secret] + self.pool_args
        super().__init__(port)

    def routes(self):
        key = f"Authorization: Bearer {self.key}"
        workspace = f"X-Workspace-ID: {self.workspace}"
        return {"me_key": ("/v1/me", [key]),
                "records": ("/v1/collections/items/records?limit=20", [key, workspace]),
                "post": ("/v1/collections/items/records", [key, workspace])}

    def cpu_groups(self):
        return {"atrium": lambda: [self.proc.pid], "postgres": self.cluster.pids}

    def stop(self):
        super().stop()
        self.cluster.drop(self.database_name)


class AtriumPostgresPair(AtriumPostgres):
    """Two instances on one PostgreSQL database (issue #15's measured item): the seeded
    instance and a second `serve` on the next port, same database and secret. `/v1/me` and
    durable creates at c64 as one instance alone, then split 32 + 32 over the two at once
    (two wrk processes, summed), all on the same two cores as PostgreSQL and wrk."""
    name = "atrium-postgres-2"

    def __init__(self, port):
        super().__init__(port)
        url = self.extra_args[self.extra_args.index("--database-url") + 1]
        self.second_port = port + 1
        self.second = subprocess.Popen(
            [ATRIUM, "serve", "--port", str(self.second_port), "--data-dir", tempfile.mkdtemp(prefix="atrium-bench-"),
             "--access-log", "false", "--password-iterations", "1000", "--max-connections", "30000",
             "--database-url", url, "--jwt-secret", self.jwt_secret] + self.pool_args,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.second_port)

    def routes(self):
        return {}  # measured in scenario(): the normal cases hit one port

    def cpu_groups(self):
        return {"atrium": lambda: [self.proc.pid, self.second.pid], "postgres": self.cluster.pids}

    def scenario(self, duration):
        key = f"Authorization: Bearer {self.key}"
        workspace = f"X-Workspace-ID: {self.workspace}"
        cases = {"me_key": ("/v1/me", [key], None),
                 "post": ("/v1/collections/items/records", [key, workspace], POST_SCRIPT)}
        result = {}
        for label, (path, headers, script) in cases.items():
            one = f"http://127.0.0.1:{self.port}{path}"
            two = f"http://127.0.0.1:{self.second_port}{path}"
            wrk(one, 64, 3, headers, script=script)
            alone = wrk(one, 64, duration, headers, script=script, cpu_groups=self.cpu_groups())
            both = {}
            other = threading.Thread(target=lambda: both.__setitem__(
                "b", wrk(two, 32, duration, headers, script=script, threads=1)))
            other.start()
            both["a"] = wrk(one, 32, duration, headers, script=script, threads=1, cpu_groups=self.cpu_groups())
            other.join()
            result[label] = {"one": alone, "two": both, "two_rps": both["a"]["rps"] + both["b"]["rps"]}
            print(f"   {self.name} {label} c64: one instance {alone['rps']:.0f}/s, two instances "
                  f"{result[label]['two_rps']:.0f}/s ({both['a']['rps']:.0f} + {both['b']['rps']:.0f});"
                  f" CPU with two: {both['a'].get('cpu')}", flush=True)
        return result

    def stop(self):
        self.second.send_signal(signal.SIGTERM)
        try:
            self.second.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.second.kill()
        super().stop()


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
        self.client.in_workspace(self.workspace).post(
            "/v1/webhooks", json={"url": f"http://127.0.0.1:{self.receiver_port}/hook", "events": ["*"]}, expect=201)
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


class AtriumNoisyNeighbour(Atrium):
    """Fair share between tenants (issue #17): tenant A floods GET records at 64 connections
    while tenant B runs GET /v1/me at 2; each alone, then both at once. The same run with
    --fair-scheduling false is `atrium-unfair`. A second case puts A on a plan limited to
    6,000 requests a minute and shows B unaffected while A is held at its limit."""
    name = "atrium-fairness"
    seed_fan_out = False

    def seed(self, port):
        super().seed(port)
        base = f"http://127.0.0.1:{port}"
        other, _ = Client.signup(base, "neighbour@example.com", "bench password", "Neighbour")
        self.other_key = other.post("/v1/api-keys", json={"name": "b", "mode": "full"}, expect=201).json["secret"]

    def routes(self):
        return {}

    def flood_and_quiet(self):
        """A's flood (GET records at c64) and B's quiet route (GET /v1/me at c2)."""
        port = self.port
        flood = (f"http://127.0.0.1:{port}/v1/collections/items/records?limit=20",
                 [f"Authorization: Bearer {self.key}", f"X-Workspace-ID: {self.workspace}"])
        quiet = (f"http://127.0.0.1:{port}/v1/me", [f"Authorization: Bearer {self.other_key}"])
        return flood, quiet

    @staticmethod
    def together(flood, quiet, duration):
        """A floods while B runs, B starting half a second later and ending before A."""
        import threading
        both = {}
        runner = threading.Thread(target=lambda: both.__setitem__("a", wrk(flood[0], 64, duration, flood[1])))
        runner.start()
        time.sleep(0.5)
        both["b"] = wrk(quiet[0], 2, duration - 1, quiet[1], threads=1)
        runner.join()
        return both

    def scenario(self, duration):
        flood, quiet = self.flood_and_quiet()
        wrk(quiet[0], 2, 3, quiet[1])
        wrk(flood[0], 64, 3, flood[1])
        alone_b = wrk(quiet[0], 2, duration, quiet[1], threads=1)
        alone_a = wrk(flood[0], 64, duration, flood[1])
        both = self.together(flood, quiet, duration)
        return {"b_alone": alone_b, "a_alone": alone_a, "a_both": both["a"], "b_both": both["b"],
                "b_share": both["b"]["rps"] / alone_b["rps"], "b_p99_ratio": both["b"]["p99"] / alone_b["p99"],
                "a_share": both["a"]["rps"] / alone_a["rps"]}


class AtriumUnfair(AtriumNoisyNeighbour):
    """The noisy-neighbour case with every pool first come, first served."""
    name = "atrium-unfair"
    extra_args = ["--fair-scheduling", "false"]


class AtriumRateLimited(AtriumNoisyNeighbour):
    """Tenant A's workspace on a plan of 6,000 requests a minute; B on an unlimited plan."""
    name = "atrium-rate-limited"

    def __init__(self, port):
        plans = os.path.join(tempfile.mkdtemp(prefix="atrium-plans-"), "plans.json")
        with open(plans, "w") as f:
            json.dump({"default": "open", "plans": {"open": {"features": ["api_keys", "webhooks"]},
                       "limited": {"requests_per_minute": 6000, "features": ["api_keys", "webhooks"]}}}, f)
        self.extra_args = ["--plans-file", plans]
        super().__init__(port)
        subprocess.run([ATRIUM, "user", "set-plan", "--email", "bench@example.com", "--plan", "limited",
                        "--data-dir", self.dir, "--plans-file", plans], check=True, capture_output=True)

    def scenario(self, duration):
        flood, quiet = self.flood_and_quiet()
        alone_b = wrk(quiet[0], 2, duration, quiet[1], threads=1)
        both = self.together(flood, quiet, duration)
        a = both["a"]
        return {"b_alone": alone_b, "b_both": both["b"], "a_flood": a,
                "a_allowed_per_s": (a["rps"] * duration - a["non2xx"]) / duration,
                "b_share": both["b"]["rps"] / alone_b["rps"]}


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
            results[label] = wrk(url, conns, duration, headers, script=script,
                                 cpu_groups=server.cpu_groups() if hasattr(server, "cpu_groups") else None)
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
        if hasattr(server, "scenario"):
            results["scenario"] = server.scenario(duration)
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
    servers.append(AtriumPostgres)
    servers.append(AtriumPostgresPair)
    servers.append(AtriumOneTransactionPerWrite)
    servers.append(AtriumWithWebhook)
    servers += [AtriumNoisyNeighbour, AtriumUnfair, AtriumRateLimited]
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
    postgres_version = None
    if any(issubclass(cls, AtriumPostgres) for cls in servers):
        AtriumPostgres.cluster = PostgresCluster()
        postgres_version = AtriumPostgres.cluster.version
        print(f"PostgreSQL {postgres_version} for atrium-postgres: {AtriumPostgres.cluster.SETTINGS}", flush=True)
    try:
        for r in range(args.rounds):
            for i, cls in enumerate(servers):
                print(f"round {r + 1}/{args.rounds}: {cls.name}", flush=True)
                rounds[cls.name].append(run_server(cls, 18081 + i, args.duration, args.connections_for_memory))
    finally:
        if AtriumPostgres.cluster is not None:
            AtriumPostgres.cluster.stop()
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
    if rounds.get("atrium-postgres"):
        print()
        print(f"PostgreSQL {postgres_version} engine against SQLite (same binary, same seed), medians;"
              f" CPU in cores (of 2) during the measured run:")
        print(f"{'case':32} {'sqlite rps':>10} {'pg rps':>8} {'pg p50':>7} {'pg p99':>7} {'pg/sqlite':>9}"
              f" {'pg/ref':>7} | CPU on PostgreSQL: atrium, postgres, wrk, all | on SQLite: atrium, wrk, all")
        for label, _, _ in CASES:
            pg = [median("atrium-postgres", label, k) for k in ("rps", "p50", "p99")]
            if pg[0] is None:
                continue
            lite = median("atrium", label, "rps")
            ref = median("hummingbird", label, "rps")
            cpu = {group: statistics.median([rd[label]["cpu"][group] for rd in rounds["atrium-postgres"]
                                             if label in rd and group in rd[label].get("cpu", {})] or [0])
                   for group in ("atrium", "postgres", "wrk", "all cores")}
            lite_cpu = {group: statistics.median([rd[label]["cpu"][group] for rd in rounds.get("atrium", [])
                                                  if label in rd and group in rd[label].get("cpu", {})] or [0])
                        for group in ("atrium", "wrk", "all cores")}
            fmt = lambda v, f: (f % v) if v else "-"
            print(f"{label:32} {fmt(lite, '%10.0f')} {pg[0]:8.0f} {pg[1]:7.2f} {pg[2]:7.2f}"
                  f" {fmt(lite and pg[0] / lite, '%8.2fx')} {fmt(ref and pg[0] / ref, '%6.2fx')} |"
                  f" {cpu['atrium']:.2f} {cpu['postgres']:.2f} {cpu['wrk']:.2f} {cpu['all cores']:.2f} |"
                  f" {lite_cpu['atrium']:.2f} {lite_cpu['wrk']:.2f} {lite_cpu['all cores']:.2f}")
            summary.setdefault("postgres", {})[label] = {"postgres": pg, "sqlite": lite, "reference": ref, "cpu": cpu,
                                                         "sqlite_cpu": lite_cpu}
            bad = [rd[label] for rd in rounds["atrium-postgres"] if rd.get(label, {}).get("non2xx")]
            if bad:
                print(f"   WARNING: atrium-postgres answered non-2xx responses in {label}: {bad}")
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
    for name in ("atrium-fairness", "atrium-unfair"):
        runs = [rd["scenario"] for rd in rounds.get(name, []) if "scenario" in rd]
        if runs:
            med = lambda key: statistics.median([run[key] for run in runs])
            medp = lambda part, key: statistics.median([run[part][key] for run in runs])
            print(f"noisy neighbour, {name}: B alone {medp('b_alone', 'rps'):.0f}/s p99 {medp('b_alone', 'p99'):.2f} ms;"
                  f" B beside A {medp('b_both', 'rps'):.0f}/s p99 {medp('b_both', 'p99'):.2f} ms"
                  f" (share {med('b_share'):.2f}, p99 x{med('b_p99_ratio'):.1f});"
                  f" A alone {medp('a_alone', 'rps'):.0f}/s, beside B {medp('a_both', 'rps'):.0f}/s"
                  f" (share {med('a_share'):.2f})")
    limited = [rd["scenario"] for rd in rounds.get("atrium-rate-limited", []) if "scenario" in rd]
    if limited:
        print(f"rate-limited tenant (6,000/min = 100/s): A allowed "
              f"{statistics.median([r['a_allowed_per_s'] for r in limited]):.0f}/s of "
              f"{statistics.median([r['a_flood']['rps'] for r in limited]):.0f}/s sent; B alone "
              f"{statistics.median([r['b_alone']['rps'] for r in limited]):.0f}/s, beside A "
              f"{statistics.median([r['b_both']['rps'] for r in limited]):.0f}/s")
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
