"""SSE framing of `r1 serve` as curl sees the bytes: every event is "data: {json}" and a blank line (or a
": comment" keep-alive), the stream ends with "data: [DONE]", and the chunks parse as JSON."""
import json
import subprocess
import unittest

from server_util import Server


def curl_stream(server, path, body):
    out = subprocess.run(["curl", "-sN", "--max-time", "60", "-H", "Content-Type: application/json",
                          "-d", json.dumps(body), server.base + path], capture_output=True, check=True)
    return out.stdout.decode("utf-8")  # strict: invalid UTF-8 on the wire fails here


class SseFramingTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server().__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.server.__exit__(None, None, None)

    def check_framing(self, raw):
        self.assertTrue(raw.endswith("data: [DONE]\n\n"), raw[-200:])
        events = raw.split("\n\n")
        self.assertEqual(events[-1], "")
        chunks = []
        for event in events[:-2]:
            lines = event.split("\n")
            self.assertEqual(len(lines), 1, f"one line per event: {event!r}")
            if lines[0].startswith(":"):  # keep-alive comment
                continue
            self.assertTrue(lines[0].startswith("data: {"), lines[0])
            chunks.append(json.loads(lines[0][len("data: "):]))
        self.assertEqual(events[-2], "data: [DONE]")
        return chunks

    def test_chat_stream(self):
        raw = curl_stream(self.server, "/v1/chat/completions", {
            "messages": [{"role": "user", "content": "hi"}], "stream": True, "max_tokens": 20, "n": 2,
            "stream_options": {"include_usage": True}, "max_thinking_tokens": 3})
        chunks = self.check_framing(raw)
        self.assertEqual(len({c["id"] for c in chunks}), 1)
        for c in chunks:
            self.assertEqual(c["object"], "chat.completion.chunk")
        usage = chunks[-1]
        self.assertEqual(usage["choices"], [])
        self.assertGreater(usage["usage"]["completion_tokens"], 0)
        finishes = [c["choices"][0] for c in chunks[:-1] if c["choices"][0]["finish_reason"]]
        self.assertEqual(sorted(f["index"] for f in finishes), [0, 1])
        # Each choice opens with the assistant role and an empty content, before any text of its own.
        for index in (0, 1):
            own = [c["choices"][0] for c in chunks[:-1] if c["choices"][0]["index"] == index]
            self.assertEqual(own[0]["delta"], {"role": "assistant", "content": ""})
            self.assertTrue(all("role" not in ch["delta"] for ch in own[1:]))

    def test_completion_stream_without_usage(self):
        raw = curl_stream(self.server, "/v1/completions", {"prompt": "Once", "stream": True, "max_tokens": 10})
        chunks = self.check_framing(raw)
        self.assertTrue(all(c["object"] == "text_completion" for c in chunks))
        self.assertTrue(all("usage" not in c for c in chunks))
        self.assertIsNotNone(chunks[-1]["choices"][0]["finish_reason"])


if __name__ == "__main__":
    unittest.main()
