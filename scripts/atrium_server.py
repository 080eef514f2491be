"""Starting and stopping a throw-away Atrium server for the scripts that test from outside
(doc_examples.py, conformance.py): a free port, a fresh data directory, wait until it listens."""
import os, shutil, socket, subprocess, sys, tempfile, time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, binary, flags=(), log=None):
        self.data = tempfile.mkdtemp(prefix="atrium-script-")
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        output = open(log or os.devnull, "w")
        self.process = subprocess.Popen(
            [binary, "serve", "--port", str(self.port), "--data-dir", os.path.join(self.data, "db"),
             "--password-iterations", "1000", "--access-log", "false", *flags],
            stdout=output, stderr=output)
        deadline = time.time() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if time.time() > deadline or self.process.poll() is not None:
                    self.stop()
                    sys.exit("the server did not start")
                time.sleep(0.05)

    def stop(self, keep_data=False):
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
        if not keep_data:
            shutil.rmtree(self.data, ignore_errors=True)
