#!/usr/bin/env python3
"""A stand-in for `r1 serve` for developing and testing the chat page without a model.

Serves the page from the source tree and the Debian libraries at the URL paths src/server/web/assets.txt gives
(the same manifest the build embeds from), and a /v1/chat/completions that streams DeepSeek-style chunks: some
reasoning, then an answer with markdown, code and math, slowly enough to be stopped mid-stream.

    python3 tests/web/mock_server.py [--port 0] [--api-key KEY] [--delay 0.03]

Prints "listening on http://127.0.0.1:PORT" once ready, as `r1 serve` does. GET /mock/stats returns what the mock
saw (request bodies, completed and aborted streams) so tests can check what the page sent.
"""
import argparse
import glob
import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
WEB_DIR = REPO / "src" / "server" / "web"

REASONING = ("Okay, the user wants to know about this. Let me think step by step. First, recall what the "
             "question asks. Then check the arithmetic: 6 times 7 is 42. That seems right, so the answer is 42.")

ANSWER = """## Answer

The result, with the steps:

1. Multiply **6** by *7*.
2. Check that $x^2 = 1764$ when $x = 42$.

```python
def answer():
    return 6 * 7
```

Markup in the answer stays text: <img src="x" onerror="window.injected = 1"> <b>not bold</b>

So the final answer is:

\\[
\\boxed{42}
\\]
"""


def load_manifest():
    """URL path -> (file path, content type), globs expanded, as cmake/web_assets.cmake reads the manifest."""
    assets = {}
    for line in (WEB_DIR / "assets.txt").read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        url, _package, source, mime = line.split()
        source = source if os.path.isabs(source) else str(WEB_DIR / source)
        if mime.startswith("text/"):
            mime += "; charset=utf-8"
        if "*" in source:
            for match in sorted(glob.glob(source)):
                assets[url + os.path.basename(match)] = (match, mime)
        else:
            assets[url] = (source, mime)
    assets["/index.html"] = assets["/"]
    return assets


def words(text):
    """Splits text into token-sized pieces that join back to the text."""
    pieces, current = [], ""
    for ch in text:
        current += ch
        if ch in " \n":
            pieces.append(current)
            current = ""
    return pieces + ([current] if current else [])


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.requests = []
        self.completed = 0
        self.aborted = 0

    def as_json(self):
        with self.lock:
            return {"requests": self.requests, "completed": self.completed, "aborted": self.aborted}


class Handler(BaseHTTPRequestHandler):
    server_version = "r1-mock"

    def log_message(self, format, *args):  # quiet: the tests print what matters
        pass

    def send_json(self, status, body, extra_headers=()):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in extra_headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def send_error_json(self, status, message, kind="invalid_request_error", code=None):
        self.send_json(status, {"error": {"message": message, "type": kind, "param": None, "code": code}})

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        if path == "/mock/stats":
            self.send_json(200, self.server.stats.as_json())
            return
        asset = self.server.assets.get(path)
        if asset is None:
            self.send_error_json(404, f"no such path: {path}", code="not_found")
            return
        data = Path(asset[0]).read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", asset[1])
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        if self.path != "/v1/chat/completions":
            self.send_error_json(404, f"no such path: {self.path}", code="not_found")
            return
        key = self.server.api_key
        if key and self.headers.get("Authorization") != f"Bearer {key}":
            self.send_error_json(401, "Invalid or missing API key", kind="authentication_error",
                                 code="invalid_api_key")
            return
        try:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
            messages = body["messages"]
            assert isinstance(messages, list) and messages
        except (ValueError, KeyError, TypeError, AssertionError):
            self.send_error_json(400, "body must be JSON with a non-empty 'messages' list", code="invalid_body")
            return
        temperature = body.get("temperature", 1.0)
        if not isinstance(temperature, (int, float)) or not 0 <= temperature <= 2:
            self.send_error_json(400, "temperature must be a number in [0, 2]", code="invalid_value")
            return
        with self.server.stats.lock:
            self.server.stats.requests.append(body)
        thinking = body.get("max_thinking_tokens") != 0
        last_user = next((m["content"] for m in reversed(messages) if m.get("role") == "user"), "")
        reasoning = words(REASONING) if thinking else []
        answer = words(f"You asked: {last_user}\n\n{ANSWER}")
        if body.get("stream"):
            self.stream(body, reasoning, answer)
        else:
            self.send_json(200, {"id": "chatcmpl-mock", "object": "chat.completion", "choices": [{
                "index": 0, "finish_reason": "stop",
                "message": {"role": "assistant", "reasoning_content": "".join(reasoning),
                            "content": "".join(answer)}}]})

    def stream(self, body, reasoning, answer):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        created = int(time.time())
        max_tokens = body.get("max_tokens") or 1 << 30

        def chunk(delta, finish_reason=None):
            return {"id": "chatcmpl-mock", "object": "chat.completion.chunk", "created": created,
                    "model": "r1-mock", "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}]}

        events = [chunk({"role": "assistant", "content": ""})]
        pieces = [("reasoning_content", p) for p in reasoning] + [("content", p) for p in answer]
        for field, piece in pieces[:max_tokens]:
            events.append(chunk({field: piece}))
        events.append(chunk({}, "length" if len(pieces) > max_tokens else "stop"))
        if (body.get("stream_options") or {}).get("include_usage"):
            completion = min(len(pieces), max_tokens)
            events.append({"id": "chatcmpl-mock", "object": "chat.completion.chunk", "choices": [], "usage": {
                "prompt_tokens": sum(len(words(m.get("content", ""))) for m in body["messages"]),
                "completion_tokens": completion, "total_tokens": completion,
                "completion_tokens_details": {"reasoning_tokens": min(len(reasoning), completion)}}})
        try:
            for event in events:
                self.wfile.write(f"data: {json.dumps(event)}\n\n".encode())
                self.wfile.flush()
                time.sleep(self.server.delay)
            self.wfile.write(b"data: [DONE]\n\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            with self.server.stats.lock:
                self.server.stats.aborted += 1  # the page stopped the request: as `r1 serve` frees the slot
            return
        with self.server.stats.lock:
            self.server.stats.completed += 1


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080, help="0 picks a free port")
    parser.add_argument("--api-key", default=None, help="require 'Authorization: Bearer KEY' on the API")
    parser.add_argument("--delay", type=float, default=0.03, help="seconds between streamed chunks")
    args = parser.parse_args()
    server = ThreadingHTTPServer((args.host, args.port), Handler)
    server.daemon_threads = True
    server.assets = load_manifest()
    server.api_key = args.api_key
    server.delay = args.delay
    server.stats = Stats()
    print(f"listening on http://{args.host}:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
