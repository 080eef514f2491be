"""The Python client against a live server (started here from .build/debug/atrium, or
$ATRIUM_BINARY): the rules of docs/sdk.md, one test each."""
import http.server, json, os, sys, threading, time
from concurrent.futures import ThreadPoolExecutor

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import atrium_client  # noqa: E402
from atrium_client import MAIN, AtriumError, Client, WebhookVerificationError, verify_webhook  # noqa: E402
from atrium_server import Server  # noqa: E402

BINARY = os.environ.get("ATRIUM_BINARY", os.path.join(ROOT, ".build", "debug", "atrium"))
_counter = iter(range(1_000_000))


def start(*flags):
    if not os.path.exists(BINARY):
        pytest.fail(f"no server binary at {BINARY}: run swift build first")
    return Server(BINARY, list(flags))


@pytest.fixture(scope="module")
def server():
    s = start("--webhook-allow-private", "true", "--invites-per-hour", "1")
    yield s
    s.stop()


def signup(base, **options):
    n = next(_counter)
    return Client.signup(base, f"py{n}-{time.time_ns()}@example.com", "correct horse", f"Py {n}", **options)


def test_a_create_whose_answer_is_lost_is_retried_with_the_same_key_and_makes_one_record(server, monkeypatch):
    client, _ = signup(server.base, backoff=0.01)
    sent, real = [], Client._send

    def lossy(self, method, path, body, headers):
        response = real(self, method, path, body, headers)
        sent.append((method, path, dict(headers), response))
        if method == "POST" and len(sent) == 1:
            raise ConnectionResetError("lost (test)")
        return response
    monkeypatch.setattr(Client, "_send", lossy)
    created = client.post("/v1/collections/orders/records", json={"data": {"total": 42}}, expect=201)
    monkeypatch.setattr(Client, "_send", real)
    assert len(sent) == 2
    keys = {headers["Idempotency-Key"] for _, _, headers, _ in sent}
    assert len(keys) == 1 and next(iter(keys)).startswith("atrium-py-")
    assert created.headers["Idempotent-Replayed"] == "true"
    ids = [r["id"] for r in client.paginate("/v1/collections/orders/records")]
    assert ids == [created.json["id"]]
    conflict = client.post("/v1/collections/orders/records", json={"data": {"total": 43}},
                           idempotency_key=next(iter(keys)))
    assert conflict.status == 409 and conflict.code == "IDEMPOTENCY_CONFLICT"


def test_every_create_gets_a_key_and_replays(server):
    client, signed = signup(server.base)
    ws = signed.json["workspace"]["id"]
    for path, body in [("/v1/workspaces", {"name": "two"}), ("/v1/api-keys", {"name": "k", "mode": "full"}),
                       (f"/v1/workspaces/{ws}/api-keys", {"name": "wk"}),
                       ("/v1/webhooks", {"url": "http://127.0.0.1:9/h", "events": ["*"]}),
                       (f"/v1/workspaces/{ws}/members/invite", {"email": "i@example.com", "role": "viewer"})]:
        first = client.post(path, json=body, idempotency_key=f"k-{path}", expect=201)
        again = client.post(path, json=body, idempotency_key=f"k-{path}", expect=201)
        assert again.headers["Idempotent-Replayed"] == "true" and again.json["id"] == first.json["id"]


def test_concurrent_creates_with_one_key_make_one_workspace(server):
    client, _ = signup(server.base)
    with ThreadPoolExecutor(10) as pool:
        answers = list(pool.map(lambda _: client.post("/v1/workspaces", json={"name": "once"},
                                                      idempotency_key="same-key"), range(10)))
    assert {a.status for a in answers} == {201} and len({a.json["id"] for a in answers}) == 1
    assert sum(a.headers.get("Idempotent-Replayed") == "true" for a in answers) == 9
    names = [w["name"] for w in client.get("/v1/user/workspaces", expect=200).json["data"]]
    assert names.count("once") == 1


def test_twenty_threads_around_an_expiry_share_one_refresh():
    s = start("--access-token-ttl", "3")
    try:
        client, _ = signup(s.base)
        client.get("/v1/me", expect=200)
        before = client.session.refreshes  # 0, or 1 on a machine slow enough to near the expiry already
        time.sleep(3.3)
        with ThreadPoolExecutor(20) as pool:
            statuses = list(pool.map(lambda _: client.get("/v1/me").status, range(20)))
        assert statuses == [200] * 20
        assert client.session.refreshes - before == 1
    finally:
        s.stop()


def test_a_refresh_whose_answer_is_lost_is_not_retried(monkeypatch):
    s = start("--access-token-ttl", "1")
    try:
        client, _ = signup(s.base)
        refreshes, real = [], Client._send

        def lossy(self, method, path, body, headers):
            response = real(self, method, path, body, headers)
            if path == "/v1/auth/refresh":
                refreshes.append(response.status)
                raise ConnectionResetError("lost (test)")
            return response
        monkeypatch.setattr(Client, "_send", lossy)
        time.sleep(1.3)
        with pytest.raises(OSError):
            client.get("/v1/me")
        assert refreshes == [200]
        with pytest.raises(atrium_client.SessionEnded):
            client.get("/v1/me")
        assert refreshes == [200]
    finally:
        s.stop()


def test_the_workspace_header_goes_only_where_the_contract_reads_it(server, monkeypatch):
    owner, signed = signup(server.base)
    main = signed.json["workspace"]["id"]
    second = owner.post("/v1/workspaces", json={"name": "second"}, expect=201).json["id"]
    client = owner.in_workspace(second)
    seen, real = [], Client._send
    monkeypatch.setattr(Client, "_send", lambda self, m, p, b, h: seen.append(dict(h)) or real(self, m, p, b, h))
    note = client.post("/v1/collections/notes/records", json={"data": {"n": 1}}, expect=201)
    assert note.json["workspace_id"] == second and seen[-1]["X-Workspace-ID"] == str(second)
    in_main = client.post("/v1/collections/notes/records", json={"data": {"n": 2}}, workspace=MAIN, expect=201)
    assert in_main.json["workspace_id"] == main and "X-Workspace-ID" not in seen[-1]
    # A row call: no default; an explicit other workspace gives the contract's 404.
    assert client.get(f"/v1/records/{in_main.json['id']}").status == 200 and "X-Workspace-ID" not in seen[-1]
    assert client.get(f"/v1/records/{in_main.json['id']}", workspace=second).status == 404
    # Fan-out: never the header; rows keep their workspace.
    rows = list(client.paginate("/v1/collections/notes/records", query={"workspaces": "all"}))
    assert "X-Workspace-ID" not in seen[-1] and {r["workspace_id"] for r in rows} == {main, second}
    with pytest.raises(ValueError):
        client.get("/v1/collections/notes/records?workspaces=all", workspace=main)
    # The server's own rule, for a harness that wants it.
    raw = client.get("/v1/collections/notes/records?workspaces=all", headers={"X-Workspace-ID": str(main)})
    assert raw.status == 400 and raw.code == "WORKSPACE_MISMATCH"
    # Account-level and path-scoped calls: none.
    client.get("/v1/me", expect=200)
    client.get(f"/v1/workspaces/{main}/members", expect=200)
    assert "X-Workspace-ID" not in seen[-1] and "X-Workspace-ID" not in seen[-2]


def test_errors_decode_with_status_code_details_request_id_and_retry_after(server):
    client, signed = signup(server.base)
    ws = signed.json["workspace"]["id"]
    with pytest.raises(AtriumError) as caught:
        client.post("/v1/workspaces", json={"name": ""}, expect=201)
    error = caught.value
    assert (error.status, error.code) == (400, "VALIDATION_FAILED") and error.details[0]["field"] == "name"
    assert error.request_id == error.response.headers["X-Request-ID"]
    client.post(f"/v1/workspaces/{ws}/members/invite", json={"email": "a@example.com", "role": "viewer"}, expect=201)
    limited = client.post(f"/v1/workspaces/{ws}/members/invite", json={"email": "b@example.com", "role": "viewer"},
                          retries=0)
    error = AtriumError(limited)
    assert (error.status, error.code) == (429, "RATE_LIMITED") and error.retry_after > 0
    cases = [client.get("/v1/records/999999"), client.get("/v1/workspaces/999999"),
             client.post("/v1/webhooks", body=b"{", headers={"Content-Type": "application/json"}),
             client.post("/v1/webhooks", body=b"{}", headers={"Content-Type": "text/plain"}),
             client.get("/v1/me", headers={"Authorization": "Bearer nope"}),
             client.get("/v1/collections/notes/records?limit=0")]
    assert [(r.status, r.code) for r in cases] == [
        (404, "NOT_FOUND"), (403, "CROSS_TENANT_WORKSPACE"), (400, "INVALID_JSON"), (415, "UNSUPPORTED_MEDIA_TYPE"),
        (401, "INVALID_TOKEN"), (400, "INVALID_PARAMETER")]
    assert all(AtriumError(r).request_id == r.request_id for r in cases)


def test_250_records_in_pages_of_100(server):
    client, _ = signup(server.base)
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda n: client.post("/v1/collections/items/records", json={"data": {"n": n}}, expect=201),
                      range(250)))
    pages = list(client.pages("/v1/collections/items/records", page_size=100))
    assert [len(p.json["data"]) for p in pages] == [100, 100, 50]
    ids = [r["id"] for p in pages for r in p.json["data"]]
    assert len(set(ids)) == 250 and ids == sorted(ids, reverse=True)


def test_two_writers_with_if_match_lose_nothing(server):
    client, _ = signup(server.base)
    record = client.post("/v1/collections/counters/records", json={"data": {"count": 0}}, expect=201).json

    def bump(_):
        for _ in range(20):
            while True:
                current = client.get(f"/v1/records/{record['id']}", expect=200)
                data = dict(current.json["data"], count=current.json["data"]["count"] + 1)
                answer = client.put(f"/v1/records/{record['id']}", json={"data": data}, if_match=current.etag,
                                    retries=0)
                if answer.status == 200:
                    break
                assert answer.status == 412 and answer.code == "PRECONDITION_FAILED"
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(bump, range(2)))
    final = client.get(f"/v1/records/{record['id']}", expect=200).json
    assert final["data"]["count"] == 40 and final["version"] == 41
    assert client.patch(f"/v1/records/{record['id']}", json={"data": {}}, if_match=1).status == 412


class _Receiver(http.server.BaseHTTPRequestHandler):
    received = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Receiver.received.append((dict(self.headers.items()), body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_a_real_delivery_verifies_and_a_tampered_or_stale_one_does_not(server):
    receiver = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    try:
        client, _ = signup(server.base)
        hook = client.post("/v1/webhooks", json={"url": f"http://127.0.0.1:{receiver.server_port}/h",
                                                 "events": ["record.created"]}, expect=201).json
        client.post("/v1/collections/events/records", json={"data": {"n": 1}}, expect=201)
        deadline = time.time() + 20
        while not _Receiver.received and time.time() < deadline:
            time.sleep(0.05)
        headers, body = _Receiver.received[0]
        event = verify_webhook(hook["secret"], headers, body)
        assert event["type"] == "record.created" and event["workspace_id"] == hook["workspace_id"]
        with pytest.raises(WebhookVerificationError):
            verify_webhook(hook["secret"], headers, body + b" ")
        with pytest.raises(WebhookVerificationError):
            verify_webhook(hook["secret"], headers, body, now=time.time() + 360)
        other = "whsec_" + "b3RoZXIgc2VjcmV0IG9mIHR3ZW50eSBmb3VyIGJ5dGVz"
        with pytest.raises(WebhookVerificationError):
            verify_webhook(other, headers, body)
        assert verify_webhook([other, hook["secret"]], headers, body) == json.loads(body)
    finally:
        receiver.shutdown()
