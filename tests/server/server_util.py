"""Shared helpers for the `r1 serve` tests: start the real binary on a free port, talk to it, stop it.

Every test file starts its own server(s) with `Server(...)` as a context manager; leaving the block sends SIGTERM
and checks that the server exits with status 0. Paths come from the environment CTest sets (R1_BINARY,
R1_FIXTURES_DIR) and fall back to the usual build layout.
"""
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(os.path.dirname(HERE))
BINARY = os.environ.get("R1_BINARY", os.path.join(SOURCE, "build", "r1"))
MODEL = os.path.join(os.environ.get("R1_FIXTURES_DIR", os.path.join(SOURCE, "tests", "fixtures")),
                     "models", "qwen2_gqa4")
MODEL_NAME = "qwen2_gqa4"  # the folder's name, as the server reports it without --alias
LISTENING = re.compile(r"r1 serve: listening on http://([\d.]+):(\d+) \(model (\S+), parallel (\d+), ctx (\d+)\)")


def ensure_openai():
    """Imports the official client, installing it quietly first if it is missing."""
    try:
        import openai  # noqa: F401
    except ImportError:
        subprocess.check_call([sys.executable, "-m", "pip", "install", "-q", "openai"])
    import openai
    return openai


class Server:
    """`r1 serve --port 0 ARGS` for the length of a `with` block."""

    def __init__(self, *args, startup_timeout=60, model=MODEL):
        self.args = [BINARY, "serve", "-m", model, "--port", "0", *args]
        self.startup_timeout = startup_timeout
        self.proc = None
        self.output = []  # every line the server printed
        self.exit_code = None

    def __enter__(self):
        self.proc = subprocess.Popen(self.args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        ready = threading.Event()
        self.port = None

        def pump():
            for line in self.proc.stdout:
                self.output.append(line)
                m = LISTENING.search(line)
                if m and not ready.is_set():
                    self.port = int(m.group(2))
                    self.ctx = int(m.group(5))
                    ready.set()
            ready.set()

        self.reader = threading.Thread(target=pump, daemon=True)
        self.reader.start()
        if not ready.wait(self.startup_timeout) or self.port is None:
            self.proc.kill()
            raise RuntimeError("r1 serve did not start:\n" + "".join(self.output))
        self.base = f"http://127.0.0.1:{self.port}"
        return self

    def stop(self, timeout=30):
        """SIGTERM, then the exit status (the server must drain and exit on its own)."""
        if self.proc and self.exit_code is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.exit_code = self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.exit_code = "hung"
            self.reader.join(5)
            self.proc.stdout.close()
        return self.exit_code

    def __exit__(self, *exc):
        code = self.stop()
        if exc[0] is None and code != 0:
            raise AssertionError(f"r1 serve exited with {code}:\n" + "".join(self.output))

    # -- plain HTTP ----------------------------------------------------------------------------------------------

    def request(self, method, path, body=None, headers=None, timeout=120):
        """(status, headers dict, body bytes). `body`: a dict (sent as JSON), str or bytes."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        if isinstance(body, dict):
            body = json.dumps(body)
        hdrs = {"Content-Type": "application/json"}
        hdrs.update(headers or {})
        conn.request(method, path, body=body, headers=hdrs)
        resp = conn.getresponse()
        data = resp.read()
        conn.close()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data

    def post(self, path, body, headers=None, timeout=120):
        status, hdrs, data = self.request("POST", path, body, headers, timeout)
        return status, hdrs, json.loads(data)

    def get_json(self, path, headers=None):
        status, _, data = self.request("GET", path, headers=headers)
        return status, json.loads(data)

    def metrics(self, headers=None):
        """The Prometheus text as {name or name{labels}: float}."""
        status, _, data = self.request("GET", "/metrics", headers=headers)
        assert status == 200, data
        values = {}
        for line in data.decode().splitlines():
            if line and not line.startswith("#"):
                name, value = line.rsplit(" ", 1)
                values[name] = float(value)
        return values

    def client(self, api_key="none"):
        openai = ensure_openai()
        return openai.OpenAI(base_url=self.base + "/v1", api_key=api_key, max_retries=0, timeout=120)


def wait_for(predicate, timeout, interval=0.05):
    """Polls until predicate() is true; returns whether it became true in time."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def long_prompt(words=30):
    """A user message of about 235 tokens (the fixture model's context is 512 tokens)."""
    return " ".join(f"word{i % 37} apple{i % 11}" for i in range(words))
