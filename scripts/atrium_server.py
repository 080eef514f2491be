"""Starting and stopping a throw-away Atrium server for the scripts that test from outside
(doc_examples.py, conformance.py, the Python client's tests): a free port, a fresh data
directory, wait until it listens.

Engines: SQLite by default. With ATRIUM_TEST_ENGINE=postgres (and ATRIUM_TEST_DATABASE_URL
naming the `postgres` database of a cluster as superuser, as scripts/with-postgres.sh sets it)
every data directory is paired with a fresh database, created with psql on first use and
remembered in a file beside the data directory, so a server restarted on the same data
directory (`Server(binary, data=old.data)`) gets the same database. The server is then given
`--database-url` and, unless the flags carry one, `--jwt-secret` (PostgreSQL mode generates
none). This mirrors Tests/AtriumAPITests/Support/TestEngine.swift."""
import os, shutil, socket, subprocess, sys, tempfile, time, uuid

# The secret every PostgreSQL-mode server gets unless its flags give one (≥ 32 bytes).
TEST_JWT_SECRET = "test-secret-for-postgres-mode-0123456789abcdef"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def is_postgres():
    """True when the servers started here run on PostgreSQL (ATRIUM_TEST_ENGINE=postgres)."""
    if os.environ.get("ATRIUM_TEST_ENGINE") != "postgres":
        return False
    if not os.environ.get("ATRIUM_TEST_DATABASE_URL"):
        sys.exit("ATRIUM_TEST_ENGINE=postgres needs ATRIUM_TEST_DATABASE_URL (run under scripts/with-postgres.sh)")
    return True


def psql(url, statement):
    """Runs one statement with psql against `url`; exits with psql's message on failure."""
    result = subprocess.run(["psql", url, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", statement],
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"psql failed ({statement}): {result.stderr.strip()}")


def database_url(data_dir):
    """The database URL paired with `data_dir` (a path, need not exist), created on first use."""
    record = data_dir.rstrip("/") + ".database-url"
    if os.path.exists(record):
        return open(record).read().strip()
    admin = os.environ["ATRIUM_TEST_DATABASE_URL"]
    name = "atrium_" + uuid.uuid4().hex
    url = admin.replace("/postgres?", f"/{name}?")
    if url == admin:
        sys.exit("ATRIUM_TEST_DATABASE_URL must name the postgres database (…/postgres?host=…)")
    psql(admin, f"CREATE DATABASE {name}")
    os.makedirs(os.path.dirname(os.path.abspath(record)), exist_ok=True)
    with open(record, "w") as out:
        out.write(url + "\n")
    return url


def drop_database(data_dir):
    """Drops the database paired with `data_dir`, if any (best effort: the cluster is throw-away)."""
    record = data_dir.rstrip("/") + ".database-url"
    if not os.path.exists(record):
        return
    name = open(record).read().strip().split("?", 1)[0].rsplit("/", 1)[1]
    try:
        psql(os.environ["ATRIUM_TEST_DATABASE_URL"], f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    except (RuntimeError, KeyError):
        pass


def engine_flags(data_dir, flags=(), serve=True):
    """What an `atrium` command given `--data-dir data_dir` and `flags` needs added for the
    engine under test: nothing on SQLite; on PostgreSQL the data directory's database and, for
    `serve`, the shared secret when none is given."""
    if not is_postgres():
        return []
    given = {f.split("=", 1)[0] for f in flags if isinstance(f, str) and f.startswith("--")}
    extra = []
    if "--database-url" not in given:
        extra += ["--database-url", database_url(data_dir)]
    if serve and "--jwt-secret" not in given:
        extra += ["--jwt-secret", TEST_JWT_SECRET]
    return extra


class Server:
    """`data`: the directory of an earlier server (stopped with keep_data=True) to restart on,
    with its database; by default a fresh one."""

    def __init__(self, binary, flags=(), log=None, data=None):
        self.data = data or tempfile.mkdtemp(prefix="atrium-script-")
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        db = os.path.join(self.data, "db")
        output = open(log or os.devnull, "w")
        self.process = subprocess.Popen(
            [binary, "serve", "--port", str(self.port), "--data-dir", db,
             "--password-iterations", "1000", "--access-log", "false", *flags, *engine_flags(db, flags)],
            stdout=output, stderr=output)
        deadline = time.time() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if time.time() > deadline or self.process.poll() is not None:
                    self.stop()
                    sys.exit("the server did not start" + (f" (see {log})" if log else ""))
                time.sleep(0.05)

    def stop(self, keep_data=False):
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if not keep_data:
            if is_postgres():
                drop_database(os.path.join(self.data, "db"))
            shutil.rmtree(self.data, ignore_errors=True)
