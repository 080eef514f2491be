"""Client.stream_events() against a live server, through a proxy the test can cut, mute or make
refuse connections; and the SSE parser, table-driven."""
import os, socket, sys, threading, time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from test_atrium_client import signup, start  # noqa: E402
from atrium_client import AtriumError, Client, ServerSentEventParser  # noqa: E402

FAST = dict(initial_delay=0.1, max_delay=0.4, idle_timeout=5.0)

PARSER_CASES = [
    ("the server's shape", [b": stream open\n\nid: evt_1\nevent: record.created\ndata: {}\n\n"],
     [("evt_1", "record.created", "{}")], "evt_1", None),
    ("multi-line data", [b"data: a\ndata: b\ndata:\ndata:  c\n\n"], [(None, "message", "a\nb\n\n c")], None, None),
    ("CRLF and lone CR", [b"id: 1\r\ndata: x\r\n\r\nid: 2\rdata: y\r\r"],
     [("1", "message", "x"), ("2", "message", "y")], "2", None),
    ("CR LF split across chunks", [b"data: x\r", b"\n\r", b"\n"], [(None, "message", "x")], None, None),
    ("split inside a name and a value", [b"da", b"ta: he", b"llo\n", b"\n"], [(None, "message", "hello")], None, None),
    ("heartbeats are ignored", [b": keep-alive\n\n", b":x\n\n"], [], None, None),
    ("retry: digits only", [b"retry: 2500\n\nretry: 1x\n\nretry: -5\n\n"], [], None, 2.5),
    ("no data, its id still counts", [b"id: evt_9\n\n"], [], "evt_9", None),
    ("an id cut before its blank line does not count", [b"id: evt_1\ndata: a\n\nid: evt_2\ndata: b\n"],
     [("evt_1", "message", "a")], "evt_1", None),
    ("an empty id clears it, NUL is ignored", [b"id: a\ndata: 1\n\nid\ndata: 2\n\nid: b\0c\ndata: 3\n\n"],
     [("a", "message", "1"), (None, "message", "2"), (None, "message", "3")], None, None),
    ("no colon, unknown field, no space", [b"data\nfoo: bar\nevent:x\ndata:y\n\n"], [(None, "x", "\ny")], None, None),
    ("a leading BOM", [b"\xef\xbb\xbfdata: z\n\n"], [(None, "message", "z")], None, None),
    ("UTF-8 split across chunks", ["data: \u00e9".encode(), "t\u00e9\n\n".encode()],
     [(None, "message", "\u00e9t\u00e9")], None, None),
]


@pytest.mark.parametrize("name,chunks,events,last_id,retry", PARSER_CASES, ids=[c[0] for c in PARSER_CASES])
def test_sse_parser(name, chunks, events, last_id, retry):
    for pieces in (chunks, [bytes([b]) for b in b"".join(chunks)]):  # as given, then byte by byte
        parser = ServerSentEventParser()
        got = [e for chunk in pieces for e in parser.feed(chunk)]
        assert [(e["id"], e["event"], e["data"]) for e in got] == events
        assert parser.last_event_id == last_id
        assert parser.retry == retry


class Proxy:
    """A TCP proxy to the server: `cut()` closes every open connection, `muted` swallows what
    the server sends (sticky for connections that saw it), `refusing` closes new ones at once."""

    def __init__(self, upstream_port):
        self.upstream_port = upstream_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self.lock = threading.Lock()
        self.generation, self.accepted, self.closed_by_client = 0, 0, 0
        self.refusing = self.muted = self.stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    def cut(self):
        with self.lock:
            self.generation += 1

    def stop(self):
        self.stopped = True
        self.cut()
        self.listener.close()

    def _accept(self):
        self.listener.settimeout(0.05)
        while not self.stopped:
            try:
                client, _ = self.listener.accept()
            except (socket.timeout, OSError):
                continue
            if self.refusing:
                client.close()
                continue
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            with self.lock:
                self.accepted += 1
                generation = self.generation
            threading.Thread(target=self._pump, args=(client, upstream, generation), daemon=True).start()

    def _pump(self, client, upstream, generation):
        import select
        silent = False
        try:
            while self.generation == generation:
                silent = silent or self.muted
                readable, _, _ = select.select([client, upstream], [], [], 0.05)
                if client in readable:
                    data = client.recv(65536)
                    if not data:
                        with self.lock:
                            self.closed_by_client += 1
                        return
                    upstream.sendall(data)
                if upstream in readable:
                    data = upstream.recv(65536)
                    if not data:
                        return
                    silent = silent or self.muted
                    if not silent:
                        client.sendall(data)
        except OSError:
            return
        finally:
            for s in (client, upstream):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()


class Collector:
    """Iterates a stream on a thread."""

    def __init__(self, stream):
        self.stream, self.events, self.error, self.done = stream, [], None, False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        try:
            for event in self.stream:
                self.events.append(event)
        except Exception as error:  # noqa: BLE001 - handed to the test
            self.error = error
        self.done = True

    def take(self, count, timeout=20):
        deadline = time.time() + timeout
        while len(self.events) < count and self.error is None and time.time() < deadline:
            time.sleep(0.02)
        assert len(self.events) >= count, (self.events, self.error)
        return list(self.events)


def record_ids(events):
    return [e["data"]["id"] for e in events]


def create(client, n=0):
    return client.post("/v1/collections/n/records", json={"data": {"n": n}}, expect=201).json["id"]


@pytest.fixture()
def live():
    server = start("--event-heartbeat-ms", "200")
    proxy = Proxy(server.port)
    yield server, proxy
    proxy.stop()
    server.stop()


def via(proxy, owner):
    return Client(proxy.base, session=owner.session)


def test_records_arrive_in_order(live):
    server, _ = live
    owner, _ = signup(server.base)
    with owner.stream_events(types=["record.*"], **FAST) as stream:
        collector = Collector(stream)
        time.sleep(0.3)
        created = [create(owner, n) for n in range(5)]
        events = collector.take(5)
        assert [e["type"] for e in events] == ["record.created"] * 5
        assert record_ids(events) == created
        assert stream.last_event_id == events[-1]["id"]


def test_a_cut_connection_resumes_with_no_loss_and_no_duplicate(live):
    server, proxy = live
    owner, _ = signup(server.base)
    first = create(owner)
    first_event = owner.get("/v1/events", expect=200).json["data"][0]
    with via(proxy, owner).stream_events(after=first_event["id"], **FAST) as stream:
        collector = Collector(stream)
        created = [first] + [create(owner, n) for n in range(1, 4)]
        collector.take(3)
        proxy.refusing = True
        proxy.cut()
        created += [create(owner, n) for n in range(4, 10)]
        time.sleep(0.5)
        proxy.refusing = False
        created += [create(owner, n) for n in range(10, 12)]
        events = collector.take(11)
        assert record_ids(events) == created[1:]
        assert len({e["id"] for e in events}) == len(events)
        assert proxy.accepted >= 2 and collector.error is None


def test_a_silent_connection_is_taken_for_dead_and_reopened(live):
    server, proxy = live
    owner, _ = signup(server.base)
    with via(proxy, owner).stream_events(initial_delay=0.1, max_delay=0.2, idle_timeout=1.5) as stream:
        collector = Collector(stream)
        time.sleep(0.3)
        a = create(owner)
        collector.take(1)
        time.sleep(2)  # heartbeats every 200 ms keep a healthy connection open
        assert proxy.accepted == 1
        proxy.muted = True
        b = create(owner)
        time.sleep(0.3)
        proxy.muted = False
        events = collector.take(2)
        assert record_ids(events) == [a, b]
        assert proxy.accepted == 2


def test_a_revoked_key_raises_401_and_does_not_retry(live):
    server, proxy = live
    owner, _ = signup(server.base)
    key = owner.post("/v1/api-keys", json={"name": "k", "mode": "full"}, expect=201).json
    stream = Client(proxy.base, api_key=key["secret"]).stream_events(**FAST)
    collector = Collector(stream)
    time.sleep(0.3)
    create(owner)
    collector.take(1)
    owner.delete(f"/v1/api-keys/{key['id']}", expect=204)
    collector.thread.join(10)
    assert isinstance(collector.error, AtriumError) and collector.error.status == 401, collector.error
    time.sleep(1)
    assert proxy.accepted == 2


def test_a_purged_cursor_raises_cursor_expired():
    server = start("--event-retention", "1")
    try:
        owner, _ = signup(server.base)
        for n in range(3):
            create(owner, n)
        oldest = owner.get("/v1/events", expect=200).json["data"][-1]["id"]
        for _ in range(40):
            time.sleep(0.25)
            if not owner.get("/v1/events", expect=200).json["data"]:
                break
        else:
            pytest.fail("the purge did not run")
        create(owner)
        with pytest.raises(AtriumError) as raised:
            next(owner.stream_events(after=oldest, **FAST))
        assert (raised.value.status, raised.value.code) == (410, "CURSOR_EXPIRED")
    finally:
        server.stop()


def test_closing_ends_the_iteration_and_the_connection(live):
    server, proxy = live
    owner, _ = signup(server.base)
    stream = via(proxy, owner).stream_events(**FAST)
    collector = Collector(stream)
    time.sleep(0.3)
    create(owner)
    collector.take(1)
    stream.close()  # from another thread, as a consumer shutting down would
    collector.thread.join(5)
    assert collector.done and collector.error is None
    time.sleep(0.5)
    assert proxy.closed_by_client == 1 and proxy.accepted == 1
    # Breaking out of a with block closes it too.
    create(owner)
    with via(proxy, owner).stream_events(after=collector.events[0]["id"], **FAST) as again:
        for _ in again:
            break
    time.sleep(0.5)
    assert proxy.closed_by_client == 2
