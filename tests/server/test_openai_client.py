"""`r1 serve` through the official `openai` client: chat and completions, streamed and not, n, logprobs, stop,
seeds, DeepSeek's reasoning_content and usage fields, and the thinking budget.

The fixture model has random weights, so its text is gibberish: the checks are properties (what must hold for
any output) and comparisons between requests, never pasted outputs.
"""
import json
import math
import unittest

from server_util import MODEL_NAME, Server, long_prompt

USER = [{"role": "user", "content": "What is 2 + 3?"}]


class OpenAIClientTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server("--parallel", "4").__enter__()
        cls.client = cls.server.client()

    @classmethod
    def tearDownClass(cls):
        cls.client.close()
        cls.server.__exit__(None, None, None)

    def chat(self, **kw):
        kw.setdefault("model", MODEL_NAME)
        kw.setdefault("messages", USER)
        return self.client.chat.completions.create(**kw)

    def test_json_object_answers_are_json(self):
        # Random weights write gibberish, yet under response_format json_object the answer after the (here empty)
        # reasoning must be a JSON object: complete when the model stopped, a prefix of one when it ran out.
        for seed in range(6):
            r = self.chat(max_tokens=160, temperature=1.0, seed=seed, response_format={"type": "json_object"},
                          extra_body={"max_thinking_tokens": 0})
            content = r.choices[0].message.content or ""
            self.assertTrue(content.lstrip().startswith("{"), content)
            if r.choices[0].finish_reason == "stop":
                self.assertIsInstance(json.loads(content), dict)

    def test_models_list_names_the_served_model(self):
        ids = [m.id for m in self.client.models.list().data]
        self.assertEqual(ids, [MODEL_NAME])

    def test_chat_non_stream_shape_and_usage(self):
        raw = self.client.chat.completions.with_raw_response.create(
            model=MODEL_NAME, messages=USER, max_tokens=24, temperature=0)
        body = raw.http_response.json()
        r = raw.parse()
        self.assertTrue(r.id.startswith("chatcmpl-"))
        self.assertEqual(r.object, "chat.completion")
        self.assertEqual(r.model, MODEL_NAME)
        self.assertEqual(len(r.choices), 1)
        self.assertIn(r.choices[0].finish_reason, ("stop", "length"))
        msg = body["choices"][0]["message"]
        self.assertEqual(msg["role"], "assistant")
        self.assertIn("reasoning_content", msg)
        # The R1 template leaves <think> open: the output starts as reasoning; tags never reach either field.
        text = (msg["reasoning_content"] or "") + (msg["content"] or "")
        self.assertNotIn("<think>", text)
        self.assertNotIn("</think>", msg["content"] or "")
        u = body["usage"]
        self.assertEqual(u["total_tokens"], u["prompt_tokens"] + u["completion_tokens"])
        self.assertEqual(u["prompt_cache_hit_tokens"] + u["prompt_cache_miss_tokens"], u["prompt_tokens"])
        self.assertEqual(u["prompt_tokens_details"]["cached_tokens"], u["prompt_cache_hit_tokens"])
        self.assertLessEqual(u["completion_tokens_details"]["reasoning_tokens"], u["completion_tokens"])
        self.assertLessEqual(u["completion_tokens"], 24)
        if r.choices[0].finish_reason == "length":
            self.assertEqual(u["completion_tokens"], 24)
        # The prompt is what /tokenize makes of the same messages.
        status, _, tok = self.server.post("/tokenize", {"messages": USER})
        self.assertEqual(status, 200)
        self.assertEqual(u["prompt_tokens"], tok["count"])

    def test_chat_stream_matches_non_stream(self):
        kw = dict(max_tokens=30, temperature=0)
        whole = self.chat(**kw)
        whole_msg = whole.choices[0].message.model_extra.get("reasoning_content") or ""
        chunks = list(self.chat(stream=True, stream_options={"include_usage": True}, **kw))
        self.assertEqual(chunks[0].choices[0].delta.role, "assistant")
        reasoning, content, finish = "", "", None
        for c in chunks[:-1]:
            self.assertEqual(len(c.choices), 1)
            self.assertEqual(c.object, "chat.completion.chunk")
            d = c.choices[0].delta
            reasoning += (d.model_extra or {}).get("reasoning_content") or ""
            content += d.content or ""
            if c.choices[0].finish_reason:
                finish = c.choices[0].finish_reason
        self.assertEqual(finish, whole.choices[0].finish_reason)
        self.assertEqual(reasoning, whole_msg)
        self.assertEqual(content, whole.choices[0].message.content or "")
        usage = chunks[-1]
        self.assertEqual(usage.choices, [])
        self.assertEqual(usage.usage.completion_tokens, whole.usage.completion_tokens)
        self.assertEqual(len({c.id for c in chunks}), 1)

    def test_completions_stream_and_non_stream(self):
        r = self.client.completions.create(model=MODEL_NAME, prompt="Once upon a time", max_tokens=12,
                                           temperature=0)
        self.assertEqual(r.object, "text_completion")
        self.assertTrue(r.id.startswith("cmpl-"))
        self.assertLessEqual(r.usage.completion_tokens, 12)
        streamed = "".join(c.choices[0].text for c in self.client.completions.create(
            model=MODEL_NAME, prompt="Once upon a time", max_tokens=12, temperature=0, stream=True) if c.choices)
        self.assertEqual(streamed, r.choices[0].text)
        # Without max_tokens a completion stops at 16 tokens, as OpenAI's do.
        default = self.client.completions.create(model=MODEL_NAME, prompt="Once upon a time", temperature=0)
        self.assertLessEqual(default.usage.completion_tokens, 16)
        if default.choices[0].finish_reason == "length":
            self.assertEqual(default.usage.completion_tokens, 16)

    def test_completions_accept_token_ids(self):
        status, _, tok = self.server.post("/tokenize", {"content": "Once upon a time"})
        by_ids = self.client.completions.create(model=MODEL_NAME, prompt=tok["tokens"], max_tokens=8, temperature=0)
        by_text = self.client.completions.create(model=MODEL_NAME, prompt="Once upon a time", max_tokens=8,
                                                 temperature=0)
        self.assertEqual(by_ids.choices[0].text, by_text.choices[0].text)

    def test_n_choices(self):
        r = self.chat(n=2, max_tokens=12, temperature=1.0, seed=7)
        self.assertEqual([c.index for c in r.choices], [0, 1])
        # seed + i per choice: each choice is reproducible on its own...
        again = self.chat(n=2, max_tokens=12, temperature=1.0, seed=7)
        self.assertEqual([c.message.model_extra.get("reasoning_content") for c in r.choices],
                         [c.message.model_extra.get("reasoning_content") for c in again.choices])
        # ...and choice 1 of seed 7 is choice 0 of seed 8.
        shifted = self.chat(n=1, max_tokens=12, temperature=1.0, seed=8)
        self.assertEqual(r.choices[1].message.model_extra.get("reasoning_content"),
                         shifted.choices[0].message.model_extra.get("reasoning_content"))
        streamed = list(self.chat(n=2, max_tokens=6, stream=True))
        self.assertEqual({c.choices[0].index for c in streamed if c.choices}, {0, 1})
        self.assertEqual(sum(1 for c in streamed if c.choices and c.choices[0].finish_reason), 2)

    def test_seed_reproducibility(self):
        texts = [self.chat(max_tokens=20, temperature=1.0, seed=s).choices[0].message.model_extra.get(
            "reasoning_content") for s in (11, 11, 12)]
        self.assertEqual(texts[0], texts[1])
        self.assertNotEqual(texts[0], texts[2])

    def test_chat_logprobs(self):
        r = self.chat(max_tokens=10, temperature=0, logprobs=True, top_logprobs=3)
        entries = r.choices[0].logprobs.content
        self.assertEqual(len(entries), r.usage.completion_tokens)
        for e in entries:
            self.assertLessEqual(e.logprob, 0.0)
            self.assertEqual(bytes(e.bytes).decode("utf-8", "replace"), e.token)
            self.assertEqual(len(e.top_logprobs), 3)
            tops = [t.logprob for t in e.top_logprobs]
            self.assertEqual(tops, sorted(tops, reverse=True))
            self.assertLessEqual(math.fsum(math.exp(t) for t in tops), 1.0 + 1e-4)
            # Greedy: the chosen token is the most likely one (ties aside, its logprob is the best).
            self.assertAlmostEqual(e.logprob, tops[0], places=4)
        none = self.chat(max_tokens=4, temperature=0)
        self.assertIsNone(none.choices[0].logprobs)

    def test_completion_logprobs(self):
        r = self.client.completions.create(model=MODEL_NAME, prompt="The", max_tokens=6, temperature=0, logprobs=2)
        lp = r.choices[0].logprobs
        self.assertEqual(len(lp.tokens), r.usage.completion_tokens)
        self.assertEqual(len(lp.token_logprobs), len(lp.tokens))
        self.assertEqual(len(lp.top_logprobs), len(lp.tokens))
        self.assertEqual(lp.text_offset[0], 0)
        for i in range(1, len(lp.tokens)):
            self.assertEqual(lp.text_offset[i], lp.text_offset[i - 1] + len(lp.tokens[i - 1].encode()))
        for top in lp.top_logprobs:
            self.assertGreaterEqual(len(top), 1)
            self.assertLessEqual(len(top), 2)

    def test_stop_string_cuts_the_output(self):
        # Greedy text first, then the same request with a stop string taken from the middle of it.
        base = self.client.completions.create(model=MODEL_NAME, prompt="Once", max_tokens=40, temperature=0)
        text = base.choices[0].text
        words = [w for w in text.split() if w.isascii() and w.isalpha() and len(w) >= 2]
        self.assertTrue(words, f"no usable stop word in {text!r}")
        stop = words[len(words) // 2]
        cut = self.client.completions.create(model=MODEL_NAME, prompt="Once", max_tokens=40, temperature=0,
                                             stop=[stop, "zzzz-never"])
        self.assertEqual(cut.choices[0].text, text[:text.find(stop)])
        self.assertEqual(cut.choices[0].finish_reason, "stop")
        streamed = list(self.client.completions.create(model=MODEL_NAME, prompt="Once", max_tokens=40,
                                                       temperature=0, stop=stop, stream=True))
        self.assertEqual("".join(c.choices[0].text for c in streamed if c.choices), text[:text.find(stop)])
        self.assertEqual([c.choices[0].finish_reason for c in streamed if c.choices][-1], "stop")

    def test_thinking_budget_closes_reasoning_and_answers(self):
        budget = 4
        raw = self.client.chat.completions.with_raw_response.create(
            model=MODEL_NAME, messages=USER, max_tokens=60, temperature=0, extra_body={"max_thinking_tokens": budget})
        body = raw.http_response.json()
        msg, usage = body["choices"][0]["message"], body["usage"]
        self.assertTrue(msg["reasoning_content"])
        self.assertTrue(msg["content"], "the answer after the forced </think> is empty")
        self.assertNotIn("think>", msg["content"])
        reasoning_tokens = usage["completion_tokens_details"]["reasoning_tokens"]
        # The budget, plus the forced "\n</think>\n\n" tokens, plus one token of slack for the parser's lag.
        self.assertGreaterEqual(reasoning_tokens, budget)
        self.assertLessEqual(reasoning_tokens, budget + 6)
        self.assertGreater(usage["completion_tokens"], reasoning_tokens)
        # Streamed: reasoning chunks all come before content chunks.
        kinds = []
        for c in self.chat(max_tokens=60, temperature=0, stream=True, extra_body={"max_thinking_tokens": budget}):
            d = c.choices[0].delta if c.choices else None
            if d is not None and (d.model_extra or {}).get("reasoning_content"):
                kinds.append("r")
            if d is not None and d.content:
                kinds.append("c")
        self.assertIn("c", kinds)
        self.assertEqual(kinds, sorted(kinds, key=lambda k: k == "c"))

    def test_repeated_long_prompt_hits_the_prefix_cache(self):
        messages = [{"role": "user", "content": long_prompt()}]
        first = self.chat(messages=messages, max_tokens=4, temperature=0)
        second = self.chat(messages=messages, max_tokens=4, temperature=0)
        self.assertGreater(first.usage.prompt_tokens, 200)
        cached = second.usage.prompt_tokens_details.cached_tokens
        self.assertGreater(cached, 0)
        self.assertLess(cached, second.usage.prompt_tokens)  # at least the last token is computed
        self.assertEqual(second.usage.model_extra["prompt_cache_hit_tokens"], cached)


if __name__ == "__main__":
    unittest.main()
