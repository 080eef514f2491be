"""A small Atrium client for test harnesses and scripts: one file, standard library only.

It keeps the contract's client-side rules (docs/sdk.md) and hands back what the server said,
status, headers and body, so negative tests stay easy:

    client, _ = Client.signup("http://127.0.0.1:8080", "ada@example.com", "a long password", "Ada")
    r = client.post("/v1/collections/notes/records", json={"data": {"title": "hi"}}, expect=201)
    for note in client.paginate("/v1/collections/notes/records"):
        print(note["id"], note["data"])

Rules it keeps:
- credentials: an API key (Authorization: Bearer, or X-API-Key), or a session whose access token
  is refreshed once for all threads that need it; a refresh is never retried (a spent refresh
  token revokes the session) and a failed one ends the session;
- workspaces: the client's default `X-Workspace-ID` goes only on calls that select a workspace;
  calls on one row (/v1/records/{id}, /v1/webhooks/{id}…) carry only a workspace the call names;
  fan-out lists (`workspaces=`) never carry one; `workspace=MAIN` sends none;
- creates get an `Idempotency-Key` (reused on every attempt); reads, PUT, DELETE and keyed creates
  are retried with backoff and jitter after a lost connection, 500 and 503; every call but refresh
  after 429 (honouring Retry-After); other writes only when the connection was never made;
- `if_match=` takes a version number or an ETag; `etag(version)` quotes one;
- errors: `AtriumError` (status, code, message, details, request_id, retry_after) when `expect=`
  is not met or `raise_for_error()` is called;
- `verify_webhook()` checks Standard Webhooks signatures, the timestamp tolerance and both
  secrets of a rotation;
- `stream_events()` follows GET /v1/events/stream (Server-Sent Events) as an iterator of event
  dicts that reconnects by itself with `Last-Event-ID` (backoff with jitter, a dead connection
  found by its silence) and raises `AtriumError` on answers that reconnecting cannot change.
"""
import base64, hashlib, hmac, http.client, json as jsonlib, random, re, socket, threading, time, urllib.parse, uuid

__all__ = ["Client", "Session", "Response", "AtriumError", "WebhookVerificationError", "verify_webhook", "etag",
           "MAIN", "AUTO", "EventStream", "ServerSentEventParser"]

MAIN = "main"  # workspace=MAIN: send no X-Workspace-ID, whatever the client's default
AUTO = object()  # idempotency_key=AUTO: a fresh key for a create, none otherwise
_UNSET = object()

# Where X-Workspace-ID is read (api.md §3). Calls on one row take their workspace from the row.
_ROW = re.compile(r"^/v1/(records/\d+|webhooks/\d+(/.*)?|workspaces/invitations/\d+(/resend)?)$")
_SELECTED = re.compile(r"^/v1/(collections/[^/]+/records|webhooks|audit-log|events(/stream)?)$")
# Creates (POST → 201) that take an Idempotency-Key.
_CREATES = re.compile(r"^/v1/(workspaces|api-keys|workspaces/\d+/api-keys|workspaces/\d+/members/invite|"
                      r"collections/[^/]+/records|webhooks)$")
_REPEATABLE_METHODS = {"GET", "HEAD", "PUT", "DELETE"}


def etag(version):
    """The entity tag of a record version: '"3"'."""
    return f'"{version}"'


class Headers(dict):
    """Response headers with case-insensitive look-up (repeated ones joined with ', ')."""

    def __init__(self, pairs=()):
        super().__init__()
        for name, value in pairs:
            key = name.lower()
            super().__setitem__(key, f"{self[key]}, {value}" if key in self else value)

    def __getitem__(self, name):
        return super().__getitem__(name.lower())

    def get(self, name, default=None):
        return super().get(name.lower(), default)

    def __contains__(self, name):
        return super().__contains__(name.lower())


class AtriumError(Exception):
    """A response that is not what the caller expected, in the contract's error envelope."""

    def __init__(self, response, expected=None):
        self.response = response
        self.status = response.status
        error = response.json.get("error", {}) if isinstance(response.json, dict) else {}
        self.code = error.get("code")
        self.message = error.get("message", response.text[:200])
        self.details = error.get("details", [])
        self.request_id = error.get("request_id") or response.headers.get("X-Request-ID")
        retry_after = response.headers.get("Retry-After")
        self.retry_after = int(retry_after) if retry_after and retry_after.strip().isdigit() else None
        self.expected = expected
        want = f" (expected {expected})" if expected is not None else ""
        super().__init__(f"{response.method} {response.path} → {self.status} {self.code}: {self.message}{want}")


class Response:
    """What the server said."""

    def __init__(self, method, path, status, headers, body):
        self.method, self.path, self.status, self.headers, self.body = method, path, status, headers, body
        self.text = body.decode("utf-8", "replace")
        try:
            self.json = jsonlib.loads(self.text) if body else None
        except ValueError:
            self.json = None

    @property
    def request_id(self):
        return self.headers.get("X-Request-ID")

    @property
    def etag(self):
        return self.headers.get("ETag")

    @property
    def ok(self):
        return 200 <= self.status < 300

    @property
    def code(self):
        """`error.code`, or None."""
        return self.json.get("error", {}).get("code") if isinstance(self.json, dict) else None

    def raise_for_error(self):
        if not self.ok:
            raise AtriumError(self)
        return self

    def __repr__(self):
        return f"<Response {self.method} {self.path} {self.status} {self.text[:120]!r}>"


class SessionEnded(Exception):
    """The session's refresh failed (or it was logged out); log in again."""


class Session:
    """The tokens of one login, shared by threads. Refreshes once however many threads need it,
    and never retries a refresh: the refresh token is single-use."""

    def __init__(self, access_token, refresh_token, expires_in):
        self.access_token, self.refresh_token = access_token, refresh_token
        self.expires_at = time.time() + expires_in
        self.refreshes = 0
        self._lock = threading.Lock()

    def token(self, client):
        with self._lock:
            if self.access_token is None:
                raise SessionEnded("the session has ended")
            margin = min(10.0, max(0.25, (self.expires_at - time.time()) / 10))
            if self.expires_at - time.time() > margin:
                return self.access_token
            current = self.access_token
        return self.refreshed(client, current)

    def refreshed(self, client, rejected):
        """A fresh access token after `rejected` was refused as expired; one refresh for all."""
        with self._lock:  # held across the refresh: the other threads wait for its answer
            if self.access_token is None:
                raise SessionEnded("the session has ended")
            if self.access_token != rejected:
                return self.access_token
            self.refreshes += 1
            try:
                response = client.call("POST", "/v1/auth/refresh", json={"refresh_token": self.refresh_token},
                                       auth=False, retries=0)
            except OSError:
                self.access_token = self.refresh_token = None
                raise
            if response.status != 200:
                self.access_token = self.refresh_token = None
                raise AtriumError(response, expected=200)
            tokens = response.json
            self.access_token, self.refresh_token = tokens["access_token"], tokens["refresh_token"]
            self.expires_at = time.time() + tokens["expires_in"]
            return self.access_token

    def end(self):
        with self._lock:
            self.access_token = self.refresh_token = None


class Client:
    """An Atrium client. `call()` returns a `Response`; `expect=` turns another status into an
    `AtriumError`. Safe to share between threads (one connection per request)."""

    def __init__(self, base, api_key=None, session=None, workspace=None, timeout=15.0, max_retries=2,
                 key_header="bearer", retry_cap=30.0, backoff=0.25):
        parsed = urllib.parse.urlsplit(base)
        self.base, self.host, self.port = base.rstrip("/"), parsed.hostname, parsed.port or 80
        self.api_key, self.session, self.workspace = api_key, session, workspace
        self.timeout, self.max_retries, self.key_header = timeout, max_retries, key_header
        self.retry_cap, self.backoff = retry_cap, backoff

    # Construction

    @classmethod
    def signup(cls, base, email, password, name, **options):
        """Signs up; returns (client on the new session, the signup response)."""
        response = cls(base).call("POST", "/v1/auth/signup", json={"email": email, "password": password, "name": name},
                                  expect=201)
        body = response.json
        return cls(base, session=Session(body["access_token"], body["refresh_token"], body["expires_in"]),
                   **options), response

    @classmethod
    def login(cls, base, email, password, **options):
        response = cls(base).call("POST", "/v1/auth/login", json={"email": email, "password": password}, expect=200)
        body = response.json
        return cls(base, session=Session(body["access_token"], body["refresh_token"], body["expires_in"]), **options)

    def with_options(self, **changes):
        """A copy (sharing the session) with other options, e.g. `with_options(workspace=7)`."""
        values = dict(api_key=self.api_key, session=self.session, workspace=self.workspace, timeout=self.timeout,
                      max_retries=self.max_retries, key_header=self.key_header, retry_cap=self.retry_cap,
                      backoff=self.backoff)
        values.update(changes)
        return Client(self.base, **values)

    def in_workspace(self, workspace):
        return self.with_options(workspace=workspace)

    # Requests

    def get(self, path, **kw):
        return self.call("GET", path, **kw)

    def post(self, path, **kw):
        return self.call("POST", path, **kw)

    def put(self, path, **kw):
        return self.call("PUT", path, **kw)

    def patch(self, path, **kw):
        return self.call("PATCH", path, **kw)

    def delete(self, path, **kw):
        return self.call("DELETE", path, **kw)

    def call(self, method, path, json=_UNSET, body=None, query=None, headers=None, workspace=_UNSET,
             idempotency_key=AUTO, if_match=None, expect=None, retries=None, auth=True):
        """One operation, with its retries. `path` may carry a query; `query` is a dict or a list
        of pairs; `body` is raw bytes (then `headers` should say the content type);
        `workspace=` an id, MAIN, or None for no header at all; `expect=` a status or a tuple."""
        method = method.upper()
        route = path.split("?", 1)[0]
        if query:
            path += ("&" if "?" in path else "?") + urllib.parse.urlencode(query)
        fan_out = "workspaces" in urllib.parse.parse_qs(urllib.parse.urlsplit(path).query)
        sent = {}
        if json is not _UNSET:
            body = jsonlib.dumps(json).encode()
            sent["Content-Type"] = "application/json"
        workspace_id = self._workspace_header(route, fan_out, workspace)
        if workspace_id is not None:
            sent["X-Workspace-ID"] = str(workspace_id)
        creates = method == "POST" and _CREATES.match(route) is not None
        if idempotency_key is AUTO:
            idempotency_key = f"atrium-py-{uuid.uuid4()}" if creates else None
        if idempotency_key is not None:
            sent["Idempotency-Key"] = idempotency_key  # the same on every attempt
        if if_match is not None:
            sent["If-Match"] = if_match if isinstance(if_match, str) else etag(if_match)
        sent.update(headers or {})
        repeatable = route != "/v1/auth/refresh" and (method in _REPEATABLE_METHODS or
                                                      (creates and idempotency_key is not None))
        retries = self.max_retries if retries is None else retries
        own_credential = auth and not any(name.lower() in ("authorization", "x-api-key") for name in sent)
        attempt, refreshed = 0, False
        while True:
            attempt += 1
            token = self._authorize(sent) if own_credential else None
            try:
                response = self._send(method, path, body, sent)
            except ConnectionRefusedError:
                if attempt > retries or route == "/v1/auth/refresh":
                    raise
                time.sleep(self._delay(attempt))
                continue
            except (OSError, http.client.HTTPException):
                if attempt > retries or not repeatable:
                    raise
                time.sleep(self._delay(attempt))
                continue
            if (response.status == 401 and response.code == "TOKEN_EXPIRED" and self.session and token
                    and not refreshed):
                refreshed = True
                attempt -= 1
                self.session.refreshed(self, token)
                continue
            # A 429 was refused before anything was done: any call but refresh may try again.
            may_retry = route != "/v1/auth/refresh" if response.status == 429 else repeatable
            wait = self._retry_wait(response, attempt) if may_retry and attempt <= retries else None
            if wait is None:
                break
            time.sleep(wait)
        if expect is not None:
            wanted = expect if isinstance(expect, (tuple, list, set)) else (expect,)
            if response.status not in wanted:
                raise AtriumError(response, expected=expect)
        return response

    def paginate(self, path, query=None, page_size=None, **kw):
        """Every item of a cursor-paginated list, newest first, fetching pages as needed."""
        for page in self.pages(path, query=query, page_size=page_size, **kw):
            yield from page.json["data"]

    def pages(self, path, query=None, page_size=None, **kw):
        """The pages of a list (responses), following `next_cursor`."""
        pairs = list(query.items() if isinstance(query, dict) else (query or []))
        if page_size is not None:
            pairs.append(("limit", page_size))
        cursor = None
        while True:
            response = self.call("GET", path, query=pairs + ([("cursor", cursor)] if cursor else []), expect=200, **kw)
            yield response
            cursor = response.json.get("next_cursor")
            if not cursor:
                return

    def stream_events(self, types=None, workspaces=None, after=None, workspace=_UNSET, idle_timeout=45.0,
                      initial_delay=1.0, max_delay=30.0, max_attempts=None):
        """Follows GET /v1/events/stream: an `EventStream`, an iterator of event dicts
        (`{id, type, workspace_id, created_at, data}`) that reconnects by itself. Use it in a
        `with` block (or call `close()`) to end the connection when you stop early.

        `types`: `type=` filters (`"record.created"`, `"record.*"`); `workspaces`: a fan-out
        (`"all"` or a list of ids); `after`: start after this event id (backlog first);
        `workspace`: like `call()`. A dropped connection, a network error, a 5xx, or no byte for
        `idle_timeout` seconds (the server writes a heartbeat every 15 s) reconnects after a
        random wait between half and all of `initial_delay` (or the server's `retry:`) doubled per
        consecutive failure up to `max_delay`, sending `Last-Event-ID`: nothing is lost or
        repeated. 401, 403, 404, 410 CURSOR_EXPIRED and other 4xx raise `AtriumError` at once;
        after `max_attempts` consecutive failed connections (None: no limit) the last error is
        raised."""
        return EventStream(self, types=types, workspaces=workspaces, after=after, workspace=workspace,
                           idle_timeout=idle_timeout, initial_delay=initial_delay, max_delay=max_delay,
                           max_attempts=max_attempts)

    # Internals

    def _workspace_header(self, route, fan_out, workspace):
        explicit = workspace is not _UNSET
        if workspace is MAIN or workspace is None:
            return None
        if fan_out:
            if explicit:
                raise ValueError("a fan-out list (workspaces=) takes no workspace: the server answers "
                                 "400 WORKSPACE_MISMATCH (send the header yourself to test that)")
            return None
        if _ROW.match(route):
            return workspace if explicit else None
        if explicit:
            return workspace
        return self.workspace if _SELECTED.match(route) else None

    def _authorize(self, headers):
        """Sets the client's credential (a caller's own header wins: negative tests)."""
        if self.api_key:
            if self.key_header == "x-api-key":
                headers["X-API-Key"] = self.api_key
            else:
                headers["Authorization"] = f"Bearer {self.api_key}"
            return None
        if self.session:
            token = self.session.token(self)
            headers["Authorization"] = f"Bearer {token}"
            return token
        return None

    def _send(self, method, path, body, headers):
        connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            connection.request(method, path, body=body, headers=headers)
            raw = connection.getresponse()
            data = raw.read()
            return Response(method, path, raw.status, Headers(raw.getheaders()), data)
        finally:
            connection.close()

    def _delay(self, attempt):
        ceiling = min(8.0, self.backoff * 2 ** (attempt - 1))
        return random.uniform(ceiling / 2, ceiling)

    def _retry_wait(self, response, attempt):
        if response.status in (429, 503):
            after = response.headers.get("Retry-After")
            if after and after.strip().isdigit():
                return float(after) if float(after) <= self.retry_cap else None
            return self._delay(attempt)
        if response.status in (500, 502, 504):
            return self._delay(attempt)
        return None


class ServerSentEventParser:
    """An incremental `text/event-stream` parser: `feed(bytes)` returns the events (dicts with
    `id`, `event`, `data`) the bytes complete. Chunks may split anywhere; lines end with CRLF, LF
    or CR; `:` lines are comments (heartbeats); `retry:` sets `retry` (seconds); `last_event_id`
    moves when the blank line that ends an event arrives."""

    def __init__(self, last_event_id=None):
        self.last_event_id = last_event_id
        self.retry = None
        self._id_buffer = last_event_id
        self._line = bytearray()
        self._after_cr = False
        self._first = True
        self._data = []
        self._event = ""

    def feed(self, data):
        events = []
        for byte in data:
            if self._after_cr:
                self._after_cr = False
                if byte == 0x0A:
                    continue
            if byte == 0x0D:
                self._after_cr = True
                self._end_line(events)
            elif byte == 0x0A:
                self._end_line(events)
            else:
                self._line.append(byte)
        return events

    def _end_line(self, events):
        line = bytes(self._line)
        self._line.clear()
        if self._first:
            self._first = False
            line = line.removeprefix(b"\xef\xbb\xbf")
        if not line:
            self.last_event_id = self._id_buffer
            if self._data:
                events.append({"id": self.last_event_id, "event": self._event or "message",
                               "data": "\n".join(self._data)})
            self._data, self._event = [], ""
            return
        if line.startswith(b":"):
            return
        name, colon, value = line.partition(b":")
        if colon and value.startswith(b" "):
            value = value[1:]
        text = value.decode("utf-8", "replace")
        if name == b"data":
            self._data.append(text)
        elif name == b"event":
            self._event = text
        elif name == b"id":
            if b"\0" not in value:
                self._id_buffer = text or None
        elif name == b"retry":
            if value.isdigit():
                self.retry = int(value) / 1000.0


class EventStream:
    """The events of GET /v1/events/stream with automatic resume (see `Client.stream_events`).
    `last_event_id` is the id of the last event returned: what `Last-Event-ID` carries."""

    def __init__(self, client, types=None, workspaces=None, after=None, workspace=_UNSET, idle_timeout=45.0,
                 initial_delay=1.0, max_delay=30.0, max_attempts=None):
        self.client = client
        self.types = [types] if isinstance(types, str) else list(types or [])
        self.workspaces = workspaces
        self.after = after
        self.workspace = workspace
        self.idle_timeout, self.initial_delay, self.max_delay = idle_timeout, initial_delay, max_delay
        self.max_attempts = max_attempts
        self.last_event_id = None
        self.connections = 0  # connections opened, for tests and logs
        self._pending = []
        self._connection = self._response = None
        self._parser = None
        self._failures = 0
        self._retry = None
        self._wait = None
        self._last_error = None
        self._closed = False

    def __iter__(self):
        return self

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        self.close()

    def close(self):
        """Ends the stream and its connection; iteration stops."""
        self._closed = True
        self._drop()

    def __next__(self):
        while True:
            if self._pending:
                event = self._pending.pop(0)
                self.last_event_id = event["id"]
                return event
            if self._closed:
                raise StopIteration
            response = self._response  # close() from another thread may clear it meanwhile
            if response is None:
                self._open()
                continue
            try:
                chunk = response.read1(65536)
            except socket.timeout:  # no byte, not even a heartbeat, for idle_timeout
                self._lost(TimeoutError(f"no byte for {self.idle_timeout} s"))
                continue
            except (OSError, http.client.HTTPException, ValueError, AttributeError) as error:
                # ValueError / AttributeError: http.client's response was closed under the read
                # by close() on another thread.
                if self._closed:
                    raise StopIteration from None
                self._lost(error)
                continue
            if not chunk:  # the server ended the stream (shutdown, access changed, token expiry)
                self._lost(ConnectionError("the stream ended"))
                continue
            self._failures, self._last_error = 0, None
            for message in self._parser.feed(chunk):
                try:
                    event = jsonlib.loads(message["data"])
                except ValueError:
                    self.close()
                    raise
                if message["id"] is not None:
                    event.setdefault("id", message["id"])
                self._pending.append(event)
            if self._parser.retry is not None:
                self._retry = self._parser.retry

    def _open(self):
        if self._failures:
            if self.max_attempts is not None and self._failures >= self.max_attempts:
                self.close()
                raise self._last_error
            base = self._retry if self._retry is not None else self.initial_delay
            ceiling = min(self.max_delay, base * 2 ** (self._failures - 1))
            wait = self._wait if self._wait is not None else random.uniform(ceiling / 2, ceiling)
            self._wait = None
            time.sleep(wait)
        query = []
        if self.workspaces is not None:
            ws = self.workspaces
            query.append(("workspaces", ws if isinstance(ws, str) else ",".join(str(w) for w in ws)))
        if self.types:
            query.append(("type", ",".join(self.types)))
        resume = self._resume_id()
        if resume is None and self.after is not None:
            query.append(("after", self.after))
        path = "/v1/events/stream" + ("?" + urllib.parse.urlencode(query) if query else "")
        headers = {"Accept": "text/event-stream", "Cache-Control": "no-cache"}
        if resume is not None:
            headers["Last-Event-ID"] = resume
        workspace_id = self.client._workspace_header("/v1/events/stream", self.workspaces is not None,
                                                     self.workspace)
        if workspace_id is not None:
            headers["X-Workspace-ID"] = str(workspace_id)
        client = self.client
        token = client._authorize(headers)
        self.connections += 1
        connection = http.client.HTTPConnection(client.host, client.port, timeout=self.idle_timeout)
        try:
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
        except (OSError, http.client.HTTPException) as error:
            connection.close()
            self._lost(error)
            return
        if response.status == 200:
            kind = response.getheader("Content-Type", "")
            if not kind.startswith("text/event-stream"):
                connection.close()
                self.close()
                raise ValueError(f"GET {path}: 200 with {kind!r}, not text/event-stream")
            self._connection, self._response = connection, response
            self._parser = ServerSentEventParser(resume)
            return
        try:
            answer = Response("GET", path, response.status, Headers(response.getheaders()), response.read())
        except (OSError, http.client.HTTPException) as error:
            connection.close()
            self._lost(error)
            return
        connection.close()
        if answer.status == 401 and answer.code == "TOKEN_EXPIRED" and client.session and token:
            client.session.refreshed(client, token)  # then reconnect with the new token
            return
        if answer.status in (429, 503, 500, 502, 504):
            wait = client._retry_wait(answer, 1)
            if wait is None:  # a Retry-After beyond the client's cap
                self.close()
                raise AtriumError(answer)
            if answer.status in (429, 503) and answer.headers.get("Retry-After"):
                self._wait = wait
            self._lost(AtriumError(answer))
            return
        self.close()
        raise AtriumError(answer)  # 401, 403, 404, 410 CURSOR_EXPIRED, other 4xx: do not reconnect

    def _resume_id(self):
        """Where a new connection resumes: after the last event taken from the wire."""
        if self._pending:
            return self._pending[-1]["id"]
        return self.last_event_id

    def _lost(self, error):
        self._drop()
        self._failures += 1
        self._last_error = error

    def _drop(self):
        connection, self._connection, self._response = self._connection, None, None
        if connection is not None:
            try:
                if connection.sock is not None:  # wakes a read blocked in another thread
                    connection.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            try:
                connection.close()
            except OSError:
                pass


class WebhookVerificationError(Exception):
    """A delivery whose signature or timestamp does not verify."""


def verify_webhook(secrets, headers, body, tolerance=300, now=None):
    """Checks a Standard Webhooks delivery and returns its JSON payload.

    `secrets`: one `whsec_…` secret or several (during a rotation either may have signed);
    `headers`: a mapping (any letter case); `body`: the raw bytes. Raises
    WebhookVerificationError for a missing header, a timestamp more than `tolerance` seconds
    away from now, or no matching `v1,` signature."""
    if isinstance(secrets, str):
        secrets = [secrets]
    lower = {name.lower(): value for name, value in dict(headers).items()}
    try:
        message_id, timestamp, signatures = (lower["webhook-id"], lower["webhook-timestamp"],
                                             lower["webhook-signature"])
    except KeyError as missing:
        raise WebhookVerificationError(f"missing header {missing}") from None
    if not timestamp.isdigit() or abs((time.time() if now is None else now) - int(timestamp)) > tolerance:
        raise WebhookVerificationError("timestamp outside the tolerance")
    signed = f"{message_id}.{timestamp}.".encode() + body
    offered = [s[3:] for s in signatures.split() if s.startswith("v1,")]
    for secret in secrets:
        key = base64.b64decode(secret.removeprefix("whsec_"))
        expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
        if any(hmac.compare_digest(expected, candidate) for candidate in offered):
            return jsonlib.loads(body)
    raise WebhookVerificationError("no signature matches")
