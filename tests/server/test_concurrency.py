"""Batching must not change results, and a client that goes away must free its slot at once."""
import json
import socket
import threading
import time
import unittest

from server_util import Server, wait_for

PROMPTS = [f"Story number {i}: the" for i in range(8)]


class ConcurrencyTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server("--parallel", "8").__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.server.__exit__(None, None, None)

    def complete(self, prompt, max_tokens=24):
        status, _, body = self.server.post("/v1/completions", {"prompt": prompt, "max_tokens": max_tokens,
                                                               "temperature": 0})
        self.assertEqual(status, 200, body)
        return body["choices"][0]["text"]

    def test_greedy_alone_equals_greedy_among_eight(self):
        alone = [self.complete(p) for p in PROMPTS]
        together = [None] * len(PROMPTS)

        def run(i):
            together[i] = self.complete(PROMPTS[i])

        threads = [threading.Thread(target=run, args=(i,)) for i in range(len(PROMPTS))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(together, alone)

    def test_disconnect_frees_the_slot(self):
        # 16 choices of up to 480 tokens: seconds of work for the tiny model, so the disconnect lands mid-stream.
        body = json.dumps({"prompt": "Once upon a time", "max_tokens": 480, "n": 16, "stream": True,
                           "temperature": 1.0, "ignore_eos": True})
        before = self.server.metrics()["r1_generation_tokens_total"]
        sock = socket.create_connection(("127.0.0.1", self.server.port))
        sock.sendall((f"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      f"Content-Length: {len(body)}\r\n\r\n{body}").encode())
        received = b""
        while received.count(b"data: ") < 3:
            data = sock.recv(4096)
            self.assertTrue(data, "the stream ended before three chunks")
            received += data
        m = self.server.metrics()
        self.assertGreater(m["r1_requests_running"] + m["r1_queue_depth"], 0)
        sock.close()
        idle = lambda: (lambda m: m["r1_requests_running"] == 0 and m["r1_queue_depth"] == 0)(self.server.metrics())
        self.assertTrue(wait_for(idle, 1.0), "the request kept running after its client left")
        generated = self.server.metrics()["r1_generation_tokens_total"] - before
        self.assertLess(generated, 16 * 480 / 2)
        self.assertTrue(wait_for(lambda: self.server.metrics()['r1_requests_total{outcome="cancelled"}'] >= 1, 2))
        self.assertIsNotNone(self.complete("After the disconnect", max_tokens=4))

if __name__ == "__main__":
    unittest.main()
