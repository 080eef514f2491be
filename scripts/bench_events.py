#!/usr/bin/env python3
"""The event-stream case of `make bench` (select it alone with BENCH_ONLY=events):

1. memory per idle stream: the server's RSS before and after opening STREAMS (1,000)
   `GET /v1/events/stream` connections (each waits for its opening comment);
2. delivery latency: CREATES sequential record creates; for each, the time from reading its
   `201` to the event's arrival on each open stream (p50/p99 over every stream and create;
   an event that arrives before the 201 is read counts as 0);
3. create throughput (4 keep-alive writers, DURATION seconds) without streams, and with the
   streams open and draining (every stream receives every event), plus how many streams the
   server dropped for falling behind.

The client is Python: its own time to read 1,000 sockets after a wake-up (a few ms) is part
of the latency figures, so they are an upper bound on the server's share."""
import http.client, json, os, resource, select, signal, socket, statistics, subprocess, sys, tempfile, threading, time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ATRIUM = os.path.join(ROOT, ".build", "release", "atrium")


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def post(port, path, body, headers):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("POST", path, json.dumps(body), {"Content-Type": "application/json", **headers})
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, json.loads(data or b"null")


def open_stream(port, key):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(f"GET /v1/events/stream HTTP/1.1\r\nHost: x\r\nX-API-Key: {key}\r\n\r\n".encode())
    got = b""
    while b": stream open" not in got:
        chunk = s.recv(4096)
        if not chunk:
            raise RuntimeError("stream refused: " + got.decode(errors="replace"))
        got += chunk
    s.setblocking(False)
    return s


def writers(port, key, workspace, seconds, count):
    """Creates records from `count` keep-alive connections for `seconds`; returns creates/s."""
    done = [0] * count
    stop = time.time() + seconds

    def run(i):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        headers = {"Content-Type": "application/json", "X-API-Key": key, "X-Workspace-ID": str(workspace)}
        while time.time() < stop:
            conn.request("POST", "/v1/collections/items/records", '{"data":{"bench":true}}', headers)
            r = conn.getresponse()
            r.read()
            if r.status == 201:
                done[i] += 1
    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    started = time.time()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(done) / (time.time() - started)


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))]


def run(streams=1000, creates=200, duration=5, port=18099):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    directory = tempfile.mkdtemp(prefix="atrium-bench-events-")
    proc = subprocess.Popen([ATRIUM, "serve", "--port", str(port), "--data-dir", directory, "--access-log", "false",
                             "--password-iterations", "1000", "--max-connections", "30000"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    result = {}
    try:
        deadline = time.time() + 30
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1).read()
                break
            except Exception:
                if time.time() > deadline:
                    raise
                time.sleep(0.1)
        _, signup = post(port, "/v1/auth/signup",
                         {"email": "events@example.com", "password": "bench password", "name": "Events"}, {})
        auth = {"Authorization": "Bearer " + signup["access_token"]}
        workspace = signup["workspace"]["id"]
        _, key = post(port, "/v1/api-keys", {"name": "bench", "mode": "full"}, auth)
        key = key["secret"]
        result["creates_per_s_without_streams"] = writers(port, key, workspace, duration, 4)
        # Warm the stream path once, then measure the RSS the streams add.
        open_stream(port, key).close()
        time.sleep(0.5)
        before = rss_kb(proc.pid)
        sockets = [open_stream(port, key) for _ in range(streams)]
        time.sleep(1.0)
        after = rss_kb(proc.pid)
        result["streams"] = streams
        result["rss_before_kb"] = before
        result["rss_with_streams_kb"] = after
        result["kb_per_stream"] = (after - before) / streams
        poller = select.epoll()
        by_fd = {s.fileno(): s for s in sockets}
        counts = {fd: 0 for fd in by_fd}
        for fd in by_fd:
            poller.register(fd, select.EPOLLIN)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        headers = {"Content-Type": "application/json", "X-API-Key": key, "X-Workspace-ID": str(workspace)}
        delays = []
        closed = 0
        for i in range(creates):
            conn.request("POST", "/v1/collections/items/records", json.dumps({"data": {"n": i}}), headers)
            r = conn.getresponse()
            r.read()
            acknowledged = time.perf_counter()
            waiting = {fd for fd, c in counts.items() if c <= i}
            # Events that came before the 201 was read count as 0.
            limit = time.perf_counter() + 10
            while waiting and time.perf_counter() < limit:
                for fd, _ in poller.poll(1.0):
                    now = time.perf_counter()
                    try:
                        data = by_fd[fd].recv(1 << 16)
                    except BlockingIOError:
                        continue
                    if not data:
                        poller.unregister(fd)
                        waiting.discard(fd)
                        closed += 1
                        continue
                    counts[fd] += data.count(b"\nevent: record.created")
                    if fd in waiting and counts[fd] > i:
                        waiting.discard(fd)
                        delays.append(max(0.0, now - acknowledged) * 1000)
        result["latency_samples"] = len(delays)
        result["latency_p50_ms"] = percentile(delays, 50)
        result["latency_p99_ms"] = percentile(delays, 99)
        result["latency_max_ms"] = max(delays)
        # Throughput with every stream receiving every event, drained by this process.
        stop = threading.Event()
        dropped = [0]

        def drain():
            while not stop.is_set():
                for fd, _ in poller.poll(0.2):
                    try:
                        if not by_fd[fd].recv(1 << 16):
                            poller.unregister(fd)
                            dropped[0] += 1
                    except BlockingIOError:
                        pass
        drainer = threading.Thread(target=drain)
        drainer.start()
        result["creates_per_s_with_streams"] = writers(port, key, workspace, duration, 4)
        time.sleep(1)
        stop.set()
        drainer.join()
        result["streams_dropped_under_load"] = dropped[0] + closed
        for s in sockets:
            s.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
    return result


def main():
    streams = int(os.environ.get("EVENT_STREAMS", "1000"))
    result = run(streams=streams, creates=int(os.environ.get("EVENT_CREATES", "200")),
                 duration=int(os.environ.get("DURATION", "5")))
    print(json.dumps(result, indent=1))
    print(f"events: memory per idle stream ({result['streams']} open): {result['kb_per_stream']:.2f} KiB; "
          f"201 → event on every stream: p50 {result['latency_p50_ms']:.2f} ms, p99 {result['latency_p99_ms']:.2f} ms "
          f"({result['latency_samples']} samples); creates/s {result['creates_per_s_without_streams']:.0f} without "
          f"streams, {result['creates_per_s_with_streams']:.0f} with {result['streams']} draining "
          f"({result['streams_dropped_under_load']} dropped)")
    return result


if __name__ == "__main__":
    main()
