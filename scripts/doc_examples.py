#!/usr/bin/env python3
"""Runs the curl examples of docs/api.md against a live server and checks their statuses.

Every ```sh block is run, in order, in one bash process (variables carry over), with `curl`
wrapped to report each response's status. A block's `# expect: 201 200 …` line lists the
statuses its curl calls must answer, in order. Exit 1 on the first mismatch or failure.
Usage: doc_examples.py [path/to/atrium] (default .build/debug/atrium)."""
import os, re, shutil, subprocess, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from atrium_server import Server  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOC = os.path.join(ROOT, "docs", "api.md")


def blocks(text):
    found = []
    for match in re.finditer(r"```sh\n(.*?)```", text, re.S):
        body = match.group(1)
        expect = re.search(r"^# expect: ([0-9 ]+)$", body, re.M)
        if not expect:
            sys.exit(f"docs/api.md: a sh block has no '# expect:' line:\n{body}")
        line = text[:match.start()].count("\n") + 1
        found.append((line, body, expect.group(1).split()))
    return found


def check_receiver(text):
    """Runs the ```python webhook receiver of docs/api.md: a fresh signature verifies, a stale
    timestamp, a tampered body and a wrong secret do not. Returns the failures."""
    import base64, hashlib, hmac, time
    match = re.search(r"```python\n(.*?)```", text, re.S)
    if not match:
        return ["docs/api.md: no python webhook receiver example"]
    scope = {}
    exec(match.group(1), scope)  # noqa: S102 (our own documentation)
    secret = "whsec_" + base64.b64encode(b"k" * 32).decode()

    def signed(body, timestamp, key=secret):
        raw = base64.b64decode(key.removeprefix("whsec_"))
        mac = hmac.new(raw, f"msg_1.{timestamp}.".encode() + body, hashlib.sha256).digest()
        return {"webhook-id": "msg_1", "webhook-timestamp": str(timestamp),
                "webhook-signature": "v1,bm90IGl0 v1," + base64.b64encode(mac).decode()}
    now, body = int(time.time()), b'{"type":"record.created"}'
    other = "whsec_" + base64.b64encode(b"o" * 32).decode()
    cases = [("a fresh delivery", signed(body, now), body, True),
             ("a delivery 6 minutes old", signed(body, now - 360), body, False),
             ("a tampered body", signed(body, now), body + b" ", False),
             ("another secret", signed(body, now, other), body, False)]
    return [f"docs/api.md receiver: {name} gave {not want}" for name, headers, data, want in cases
            if bool(scope["verify"](secret, headers, data)) != want]


def check_sdk_example(base):
    """Runs the Python first program of docs/sdk.md (the Swift one runs in AtriumClientTests)."""
    text = open(os.path.join(ROOT, "docs", "sdk.md")).read()
    match = re.search(r"```python\n(.*?)```", text, re.S)
    if not match:
        return ["docs/sdk.md: no python example"]
    sys.path.insert(0, os.path.join(ROOT, "clients", "python"))
    code = (match.group(1).replace('base = "http://127.0.0.1:8080"', f'base = "{base}"')
            .replace("ada@example.com", "ada-sdk@example.com"))  # api.md's examples signed Ada up
    try:
        exec(code, {"print": lambda *args: None})  # noqa: S102 (our own documentation)
    except Exception as error:  # noqa: BLE001 (report any failure of the example)
        return [f"docs/sdk.md python example failed: {error!r}"]
    return []


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, ".build", "debug", "atrium")
    for tool in ("curl", "jq", "bash"):
        if not shutil.which(tool):
            sys.exit(f"doc examples need {tool}")
    server = Server(binary)
    try:
        found = blocks(open(DOC).read())
        script = ["set -euo pipefail",
                  "curl() { command curl -sS -w '%{stderr}@@status %{http_code}\\n' \"$@\"; }"]
        for index, (_, body, _) in enumerate(found):
            script.append(f"echo '@@block {index}' >&2")
            script.append(body)
        script.append("echo '@@done' >&2")
        run = subprocess.run(["bash", "-c", "\n".join(script)], capture_output=True, text=True,
                             env={**os.environ, "B": server.base}, timeout=120)
        statuses, current, done = {}, None, False
        for line in run.stderr.splitlines():
            if line.startswith("@@block "):
                current = int(line.split()[1])
                statuses[current] = []
            elif line.startswith("@@status ") and current is not None:
                statuses[current].append(line.split()[1])
            elif line == "@@done":
                done = True
        failures = 0
        for problem in check_receiver(open(DOC).read()) + check_sdk_example(server.base):
            failures += 1
            print(problem)
        for index, (line, body, expected) in enumerate(found):
            got = statuses.get(index)
            if got != expected:
                failures += 1
                print(f"docs/api.md:{line}: expected statuses {expected}, got {got}")
        if not done or run.returncode != 0:
            failures += 1
            print(f"the examples stopped early (exit {run.returncode}):\n{run.stderr[-2000:]}")
        if failures:
            print(run.stdout[-3000:])
            sys.exit(1)
        print(f"docs/api.md: {len(found)} example blocks, "
              f"{sum(len(e) for _, _, e in found)} requests, all as documented; the webhook receiver verifies; docs/sdk.md's Python program runs")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
