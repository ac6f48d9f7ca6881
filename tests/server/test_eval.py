"""`r1 eval` end to end: against `r1 serve` (same samples as the in-process model), on the bundled model, and
against a scripted OpenAI-compatible endpoint that fails on purpose (429/5xx with retries, 400 rejections, 401),
is interrupted (SIGINT, SIGKILL) and resumed without evaluating any problem twice."""
import http.server
import json
import os
import re
import signal
import subprocess
import tempfile
import threading
import time
import unittest

from server_util import BINARY, MODEL, MODEL_NAME, SOURCE, Server, wait_for

STORIES = os.path.join(SOURCE, "models", "stories260K")  # a base model: no chat template


def write_problems(path, n, start=0):
    """GSM8K-shaped arithmetic problems: question, and an answer ending in "#### N"."""
    with open(path, "w") as f:
        for i in range(start, start + n):
            a, b = 3 + i, 7 + 2 * i
            f.write(json.dumps({"question": f"What is {a} + {b}?", "answer": f"{a} + {b} = {a + b}\n#### {a + b}"}) + "\n")


def reference_of(question):
    a, b = map(int, re.findall(r"\d+", question)[:2])
    return a + b


def run_eval(*args, timeout=300):
    return subprocess.run([BINARY, "eval", *args], capture_output=True, text=True, timeout=timeout)


def load_json(path):
    with open(path) as f:
        return json.load(f)


def read_records(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


class MockEndpoint:
    """A chat-completions endpoint whose replies and failures a test scripts. Every request is logged as
    (question, seed, status). `fail(question, seed, attempt)` returns None (answer) or (status, body)."""

    def __init__(self, fail=None, delay=0.0):
        self.fail = fail or (lambda q, s, a: None)
        self.delay = delay
        self.log = []
        self.attempts = {}
        self.lock = threading.Lock()
        mock = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                status, payload, headers = mock.reply(self.path, self.headers, body)
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                try:
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client was killed (the interruption tests)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def reply(self, path, headers, body):
        question = body["messages"][0]["content"].split("\n")[0]
        seed = body["seed"]
        with self.lock:
            attempt = self.attempts.get((question, seed), 0)
            self.attempts[(question, seed)] = attempt + 1
        if self.delay:
            time.sleep(self.delay)
        failure = self.fail(question, seed, attempt)
        with self.lock:
            self.log.append((question, seed, failure[0] if failure else 200))
        if failure:
            status, payload = failure
            return status, payload, {"Retry-After": "0"} if status in (429, 500, 503) else {}
        assert path == "/v1/chat/completions", path
        ref = reference_of(question)
        answer = ref if seed % 2 == 0 else ref + 1  # right for even seeds
        return 200, {
            "id": "x", "object": "chat.completion", "model": body["model"],
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "reasoning_content": f"{question} is {answer}",
                                     "content": f"The answer is \\boxed{{{answer:,}}}."}}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 20,
                      "completion_tokens_details": {"reasoning_tokens": 12}}}, {}

    def successes(self):
        with self.lock:
            return [(q, s) for q, s, status in self.log if status == 200]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def error_body(message):
    return {"error": {"message": message, "type": "invalid_request_error", "param": None, "code": None}}


class EvalAgainstR1Serve(unittest.TestCase):
    def test_local_and_endpoint_draw_the_same_samples(self):
        with tempfile.TemporaryDirectory() as tmp:
            data = os.path.join(tmp, "add.jsonl")
            write_problems(data, 4)
            common = ["--data", data, "-k", "2", "--max-tokens", "24", "--seed", "5", "-q"]
            local = run_eval(*common, "-m", MODEL, "--out", os.path.join(tmp, "local.jsonl"))
            self.assertEqual(local.returncode, 0, local.stderr)
            with Server("--parallel", "4") as server:
                remote = run_eval(*common, "--endpoint", server.base + "/v1", "--model", MODEL_NAME,
                                  "--concurrency", "3", "--out", os.path.join(tmp, "remote.jsonl"))
                self.assertEqual(remote.returncode, 0, remote.stderr)
            a = {r["id"]: r for r in read_records(os.path.join(tmp, "local.jsonl"))}
            b = {r["id"]: r for r in read_records(os.path.join(tmp, "remote.jsonl"))}
            self.assertEqual(sorted(a), ["line:1", "line:2", "line:3", "line:4"])
            self.assertEqual(sorted(a), sorted(b))
            for pid in a:
                for sa, sb in zip(a[pid]["samples"], b[pid]["samples"]):
                    for key in ("reasoning", "content", "reasoning_tokens", "answer_tokens", "finish_reason"):
                        self.assertEqual(sa[key], sb[key], (pid, key))
                    self.assertEqual(sa["reasoning_tokens"] + sa["answer_tokens"] <= 24, True)
                # The two samples of a problem are drawn with different seeds.
                s0, s1 = a[pid]["samples"]
                self.assertNotEqual((s0["reasoning"], s0["content"]), (s1["reasoning"], s1["content"]))
            summary = load_json(os.path.join(tmp, "remote.summary.json"))
            self.assertEqual(summary["problems"], 4)
            self.assertEqual(summary["samples"], 8)
            self.assertEqual(summary["model"], MODEL_NAME)
            self.assertTrue(summary["complete"])
            self.assertIn("pass@1", remote.stdout)

    def test_base_model_locally_and_through_completions(self):
        """A base model has no chat template: locally it is prompted with the plain user turn, and an endpoint
        serving it is asked the same through /v1/completions (--api completions): the same samples."""
        with tempfile.TemporaryDirectory() as tmp:
            data = os.path.join(tmp, "add.jsonl")
            write_problems(data, 3)
            common = ["--data", data, "-k", "2", "--max-tokens", "40", "--seed", "9", "-q"]
            local = run_eval(*common, "-m", STORIES, "--out", os.path.join(tmp, "local.jsonl"))
            self.assertEqual(local.returncode, 0, local.stderr)
            with Server(model=STORIES) as server:
                chat = run_eval(*common, "--endpoint", server.base, "--model", "stories260K")
                self.assertEqual(chat.returncode, 0, chat.stderr)  # every request refused: recorded, not fatal
                self.assertIn("rejected by the endpoint", chat.stdout)
                remote = run_eval(*common, "--endpoint", server.base, "--model", "stories260K", "--api", "completions",
                                  "--out", os.path.join(tmp, "remote.jsonl"))
                self.assertEqual(remote.returncode, 0, remote.stderr)
            a = read_records(os.path.join(tmp, "local.jsonl"))
            b = {r["id"]: r for r in read_records(os.path.join(tmp, "remote.jsonl"))}
            self.assertEqual(len(a), 3)
            for r in a:
                self.assertEqual(r["settings"]["api"], "completions")
                self.assertEqual([s["content"] for s in r["samples"]], [s["content"] for s in b[r["id"]]["samples"]])
                self.assertTrue(all(s["content"] for s in r["samples"]))

    def test_bundled_model_by_default(self):
        with tempfile.TemporaryDirectory() as tmp:
            data = os.path.join(tmp, "add.jsonl")
            write_problems(data, 5)
            out = os.path.join(tmp, "r.jsonl")
            r = run_eval("--data", data, "-k", "2", "--limit", "3", "--max-tokens", "32", "--out", out)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("model tiny-r1", r.stdout)
            self.assertIn("3 of 5 problems", r.stdout)
            self.assertIn("ETA", r.stderr)
            self.assertEqual(len(read_records(out)), 3)
            summary = load_json(os.path.join(tmp, "r.summary.json"))
            self.assertEqual((summary["problems"], summary["samples"], summary["k"]), (3, 6, 2))
            self.assertEqual(summary["problems_in_data"], 5)
            self.assertLessEqual(summary["mean_answer_tokens"], 32)


class EvalAgainstAScriptedEndpoint(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.data = os.path.join(self.tmp.name, "add.jsonl")
        self.out = os.path.join(self.tmp.name, "r.jsonl")
        self.mock = None

    def tearDown(self):
        if self.mock:
            self.mock.close()
        self.tmp.cleanup()

    def eval_args(self, k=4, *extra):
        return ["--data", self.data, "--endpoint", self.mock.url, "--model", "mock", "-k", str(k),
                "--out", self.out, *extra]

    def test_retries_and_metrics(self):
        write_problems(self.data, 6)
        failures = {0: (429, error_body("slow down")), 1: (500, error_body("boom")), 2: (503, error_body("busy"))}

        # Every third sample fails once or more before it succeeds: 429, then 500, then 503.
        def fail(question, seed, attempt):
            return failures.get(attempt) if seed % 3 == 0 else None

        self.mock = MockEndpoint(fail)
        r = run_eval(*self.eval_args(4, "--concurrency", "4"))
        self.assertEqual(r.returncode, 0, r.stderr)
        ok = self.mock.successes()
        self.assertEqual(len(ok), 24)
        self.assertEqual(len(set(ok)), 24)  # each sample answered once
        retried = sum(1 for q, s in ok if s % 3 == 0)
        summary = load_json(os.path.join(self.tmp.name, "r.summary.json"))
        self.assertEqual(summary["run"]["retries"], 3 * retried)
        right = {}
        for q, s in ok:
            right[q] = right.get(q, 0) + (s % 2 == 0)
        expected_pass1 = sum(c / 4 for c in right.values()) / 6
        self.assertAlmostEqual(summary["pass@1"], expected_pass1, places=9)
        self.assertAlmostEqual(summary["pass@k"]["pass@4"], sum(c > 0 for c in right.values()) / 6, places=9)
        records = {r["question"]: r for r in read_records(self.out)}
        for q, c in right.items():
            self.assertEqual(records[q]["correct"], c)
            if c != 2:  # no tie: the majority is the answer most samples gave
                self.assertEqual(records[q]["majority_correct"], c > 2, q)
        self.assertAlmostEqual(summary["cons@4"], sum(r["majority_correct"] for r in records.values()) / 6)
        self.assertEqual(summary["format_failures"], 0)
        self.assertAlmostEqual(summary["mean_reasoning_tokens"], 12)
        self.assertAlmostEqual(summary["mean_answer_tokens"], 8)
        self.assertIn("cons@4", r.stdout)

    def test_rejected_requests_are_recorded_and_the_run_goes_on(self):
        write_problems(self.data, 3)
        self.mock = MockEndpoint(lambda q, s, a: (400, error_body("prompt too long")) if "4 + 9" in q else None)
        r = run_eval(*self.eval_args(2))
        self.assertEqual(r.returncode, 0, r.stderr)
        records = {r["question"]: r for r in read_records(self.out)}
        rejected = records["What is 4 + 9?"]["samples"]
        self.assertEqual([s["finish_reason"] for s in rejected], ["error", "error"])
        self.assertIn("prompt too long", rejected[0]["error"])
        summary = load_json(os.path.join(self.tmp.name, "r.summary.json"))
        self.assertEqual(summary["rejected"], 2)
        self.assertEqual(len(self.mock.log), 6)  # a 400 is not retried

    def test_a_refused_key_stops_at_once(self):
        write_problems(self.data, 3)
        self.mock = MockEndpoint(lambda q, s, a: (401, error_body("bad key")))
        start = time.monotonic()
        r = run_eval(*self.eval_args(2), "--api-key", "wrong")
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertLess(time.monotonic() - start, 30)
        self.assertIn("401", r.stderr)
        self.assertLessEqual(len(self.mock.log), 8)  # no retries: one request per worker at most

    def interrupt_and_resume(self, sig):
        write_problems(self.data, 16)
        self.mock = MockEndpoint(delay=0.15)
        proc = subprocess.Popen([BINARY, "eval", *self.eval_args(2, "--concurrency", "2")],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.assertTrue(wait_for(lambda: os.path.exists(self.out) and len(read_records(self.out)) >= 3, 60))
        proc.send_signal(sig)
        stdout, stderr = proc.communicate(timeout=30)
        before = read_records(self.out)
        self.assertLess(len(before), 16)
        if sig == signal.SIGINT:
            self.assertEqual(proc.returncode, 130, stderr)
            self.assertIn("interrupted", stderr)
            self.assertIn("pass@1", stdout)  # the summary of what was done
        done = {r["question"] for r in before}
        self.mock.log.clear()
        # A record the interrupted run was writing, cut short.
        with open(self.out, "a") as f:
            f.write('{"id": "line:16", "question": "What is 1')
        r = run_eval(*self.eval_args(2, "--concurrency", "2"))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("resuming", r.stderr)
        self.assertIn("partial", r.stderr)
        asked = {q for q, s, status in self.mock.log}
        self.assertFalse(asked & done, "problems evaluated twice")
        after = read_records(self.out)
        self.assertEqual(len(after), 16)
        self.assertEqual(len({r["id"] for r in after}), 16)
        summary = load_json(os.path.join(self.tmp.name, "r.summary.json"))
        self.assertEqual(summary["problems"], 16)
        self.assertEqual(summary["run"]["resumed_problems"], len(before))

    def test_resume_after_sigint(self):
        self.interrupt_and_resume(signal.SIGINT)

    def test_resume_after_sigkill(self):
        self.interrupt_and_resume(signal.SIGKILL)

    def test_resume_refuses_other_settings(self):
        write_problems(self.data, 2)
        self.mock = MockEndpoint()
        self.assertEqual(run_eval(*self.eval_args(2)).returncode, 0)
        r = run_eval(*self.eval_args(3))
        self.assertEqual(r.returncode, 1)
        self.assertIn("other settings", r.stderr)


if __name__ == "__main__":
    unittest.main()
