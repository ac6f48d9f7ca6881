"""Bad requests get the right status and an OpenAI-style error body {"error": {message, type, param, code}}."""
import json
import threading
import unittest

from server_util import MODEL_NAME, Server

CHAT = "/v1/chat/completions"
USER = [{"role": "user", "content": "hi"}]


class ErrorTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server("--max-body", "64KiB").__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.server.__exit__(None, None, None)

    def assertError(self, status, body, expected_status, param=None, code=None):
        self.assertEqual(status, expected_status, body)
        err = json.loads(body)["error"] if isinstance(body, (bytes, str)) else body["error"]
        self.assertEqual(set(err), {"message", "type", "param", "code"})
        self.assertIsInstance(err["message"], str)
        self.assertTrue(err["message"])
        if param is not None:
            self.assertEqual(err["param"], param)
        if code is not None:
            self.assertEqual(err["code"], code)
        return err

    def test_malformed_json(self):
        status, _, body = self.server.request("POST", CHAT, '{"messages": [')
        self.assertError(status, body, 400)

    def test_wrong_types_and_ranges(self):
        cases = [
            ({"messages": "hi"}, "messages"),
            ({"messages": []}, "messages"),
            ({"messages": [{"role": "wizard", "content": "x"}]}, "messages[0].role"),
            ({"messages": [{"role": "user", "content": 5}]}, "messages[0].content"),
            ({"messages": USER, "temperature": "hot"}, "temperature"),
            ({"messages": USER, "temperature": 3}, "temperature"),
            ({"messages": USER, "top_p": 0}, "top_p"),
            ({"messages": USER, "max_tokens": 0}, "max_tokens"),
            ({"messages": USER, "max_tokens": 1.5}, "max_tokens"),
            ({"messages": USER, "n": 17}, "n"),
            ({"messages": USER, "stop": ["a", "b", "c", "d", "e"]}, "stop"),
            ({"messages": USER, "stream": "yes"}, "stream"),
            ({"messages": USER, "top_logprobs": 21, "logprobs": True}, "top_logprobs"),
            ({"messages": USER, "response_format": {"type": "json_schema"}}, "response_format.type"),
        ]
        for body, param in cases:
            with self.subTest(body=body):
                status, _, data = self.server.request("POST", CHAT, body)
                self.assertError(status, data, 400, param=param)

    def test_unknown_model_and_route(self):
        status, _, body = self.server.post(CHAT, {"model": "gpt-9", "messages": USER})
        self.assertError(status, body, 404, param="model", code="model_not_found")
        status, body = self.server.get_json("/v1/models/gpt-9")
        self.assertError(status, body, 404, code="model_not_found")
        status, body = self.server.get_json("/v1/models/" + MODEL_NAME)
        self.assertEqual((status, body["id"]), (200, MODEL_NAME))
        status, _, body = self.server.request("GET", "/v2/nothing")
        self.assertError(status, body, 404)

    def test_oversized_body(self):
        status, _, body = self.server.request("POST", CHAT, {"messages": USER, "pad": "x" * (65 * 1024)})
        self.assertError(status, body, 413)

    def test_prompt_longer_than_the_context(self):
        long = " ".join(f"word{i}" for i in range(400))
        status, _, body = self.server.post(CHAT, {"messages": [{"role": "user", "content": long}]})
        self.assertError(status, body, 400, code="context_length_exceeded")
        status, _, body = self.server.post("/v1/completions", {"prompt": [1] * 600})
        self.assertError(status, body, 400, param="prompt", code="context_length_exceeded")
        status, _, body = self.server.post("/v1/completions", {"prompt": [100000]})
        self.assertError(status, body, 400, param="prompt")

    def test_health_and_tokenize_roundtrip(self):
        self.assertEqual(self.server.get_json("/health"), (200, {"status": "ok"}))
        status, _, tok = self.server.post("/tokenize", {"content": "Hello world", "add_special": False})
        self.assertEqual(status, 200)
        self.assertEqual(tok["count"], len(tok["tokens"]))
        status, _, text = self.server.post("/detokenize", {"tokens": tok["tokens"]})
        self.assertEqual((status, text["content"], text["prompt"]), (200, "Hello world", "Hello world"))
        status, _, body = self.server.post("/detokenize", {"tokens": ["a"]})
        self.assertError(status, body, 400, param="tokens")


class ApiKeyTest(unittest.TestCase):
    def test_key_required_everywhere_but_health(self):
        with Server("--api-key", "s3cret") as server:
            self.assertEqual(server.get_json("/health")[0], 200)
            for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Bearer s3cre"},
                            {"Authorization": "s3cret"}):
                with self.subTest(headers=headers):
                    status, _, body = server.request("POST", CHAT, {"messages": USER, "max_tokens": 2}, headers)
                    ErrorTest.assertError(self, status, body, 401, code="invalid_api_key")
                    status, _, body = server.request("GET", "/v1/models", headers=headers)
                    ErrorTest.assertError(self, status, body, 401)
            ok = {"Authorization": "Bearer s3cret"}
            status, _, body = server.request("POST", CHAT, {"messages": USER, "max_tokens": 2}, ok)
            self.assertEqual(status, 200, body)
            # The official client sends the key the same way.
            r = server.client(api_key="s3cret").chat.completions.create(model=MODEL_NAME, messages=USER, max_tokens=2)
            self.assertEqual(len(r.choices), 1)


class QueueFullTest(unittest.TestCase):
    def test_429_when_running_and_queue_are_full(self):
        with Server("--parallel", "1", "--max-queue", "1") as server:
            results = [None] * 8

            def run(i):
                results[i] = server.request("POST", "/v1/completions",
                                            {"prompt": f"Request {i}", "max_tokens": 480, "temperature": 0,
                                             "ignore_eos": True})

            threads = [threading.Thread(target=run, args=(i,)) for i in range(len(results))]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            statuses = sorted(r[0] for r in results)
            self.assertIn(429, statuses)
            self.assertGreaterEqual(statuses.count(200), 2)  # one running, one queued
            self.assertEqual(set(statuses), {200, 429})
            for status, headers, body in results:
                if status == 429:
                    ErrorTest.assertError(self, status, body, 429)
                    self.assertGreaterEqual(int(headers["retry-after"]), 1)
            rejected = server.metrics()['r1_requests_total{outcome="rejected"}']
            self.assertEqual(rejected, statuses.count(429))


if __name__ == "__main__":
    unittest.main()
