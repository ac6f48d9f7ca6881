// The JSON constraint with the real DeepSeek-R1-Distill-Qwen vocabulary (151,665 tokens): the token bytes
// agree with the tokenizer, the mask equals the plain per-token reference at chosen states, uniform random
// sampling stays a JSON prefix and completes into an object, and how long one mask() call takes.
#include <gtest/gtest.h>

#include <cstdio>
#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include "server/json_constraint.h"
#include "server/json_test_util.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/tokenizer_test_util.h"
#include "tokenizer/utf8.h"

namespace r1::server {
namespace {

using json_test::allowed_by;
using json_test::first_difference;
using json_test::reference_allowed;

struct R1Vocab {
  const Tokenizer* tokenizer = nullptr;
  std::shared_ptr<const VocabBytes> vocab;
  JsonConstraintOptions options;  // the answer phase: no think tokens
};

// Loaded once per process (the vocabulary takes about half a second).
const R1Vocab& r1_vocab() {
  static const R1Vocab loaded = [] {
    R1Vocab r;
    std::string error;
    r.tokenizer = tok_test::r1_distill_qwen(&error);
    EXPECT_NE(r.tokenizer, nullptr) << error;
    if (!r.tokenizer) return r;
    r.vocab = vocab_bytes(*r.tokenizer);
    r.options.eos_ids = {*r.tokenizer->eos_id()};
    return r;
  }();
  return loaded;
}

// A constraint that has read the tokens of `answer`; checks they spell it exactly.
std::shared_ptr<TokenConstraint> after(const R1Vocab& r, const std::string& answer,
                                       JsonConstraintOptions options) {
  auto made = make_json_constraint(r.vocab, std::move(options));
  EXPECT_TRUE(made.is_ok()) << made.message();
  if (!made.is_ok()) return nullptr;
  std::string spelled;
  for (int32_t id : r.tokenizer->encode(answer)) {
    made.value()->accept(id);
    spelled += r.vocab->bytes[static_cast<size_t>(id)];
  }
  EXPECT_EQ(spelled, answer);
  return made.value();
}

TEST(JsonConstraintR1Distill, VocabBytesMatchTheTokenizer) {
  const R1Vocab& r = r1_vocab();
  ASSERT_NE(r.tokenizer, nullptr);
  const VocabBytes& v = *r.vocab;
  ASSERT_EQ(v.bytes.size(), static_cast<size_t>(r.tokenizer->vocab_size()));
  ASSERT_EQ(v.special.size(), v.bytes.size());
  int mismatches = 0, partial = 0;
  for (size_t id = 0; id < v.bytes.size(); ++id) {
    const std::vector<int32_t> one = {static_cast<int32_t>(id)};
    if (utf8::to_valid(v.bytes[id]) != r.tokenizer->decode(one) && ++mismatches <= 5) {
      ADD_FAILURE() << "token " << id << " decodes differently";
    }
    partial += !utf8::is_valid(v.bytes[id]);
  }
  EXPECT_EQ(mismatches, 0);
  EXPECT_GT(partial, 1000);  // byte-level BPE splits many characters across tokens
  // Raw bytes, not their lossy rendering: characters split over tokens come back byte-exact.
  int split_characters = 0;
  for (const std::string text : {"{\"名前\": \"東京タワー 🗼\", \"emoji\": \"😀🎉👩‍💻\"}",
                                 "Ελληνικά тест ⅞ ∮ 𝔘𝔫𝔦"}) {
    std::string joined;
    for (int32_t id : r.tokenizer->encode(text)) {
      joined += v.bytes[static_cast<size_t>(id)];
      split_characters += !utf8::is_valid(v.bytes[static_cast<size_t>(id)]);
    }
    EXPECT_EQ(joined, text);
  }
  EXPECT_GT(split_characters, 0);
  // Every added token is a control token, marked special or not; ordinary pieces are not.
  for (const char* control : {"<think>", "</think>", "<｜User｜>", "<｜Assistant｜>", "<tool_call>",
                              "<｜end▁of▁sentence｜>", "<|vision_pad|>"}) {
    const std::optional<int32_t> id = r.tokenizer->token_id(control);
    ASSERT_TRUE(id.has_value()) << control;
    EXPECT_EQ(v.special[static_cast<size_t>(*id)], 1) << control;
  }
  for (const char* text : {"{", "\":", "Ġthe", "true"}) {
    const std::optional<int32_t> id = r.tokenizer->token_id(text);
    ASSERT_TRUE(id.has_value()) << text;
    EXPECT_EQ(v.special[static_cast<size_t>(*id)], 0) << text;
  }
}

// The SentencePiece side of vocab_bytes: "▁" for spaces and <0xNN> byte-fallback pieces.
TEST(JsonConstraintStories260k, VocabBytesMatchTheTokenizer) {
  std::string error;
  const Tokenizer* tokenizer = tok_test::stories260k(&error);
  ASSERT_NE(tokenizer, nullptr) << error;
  const std::shared_ptr<const VocabBytes> v = vocab_bytes(*tokenizer);
  ASSERT_EQ(v->bytes.size(), static_cast<size_t>(tokenizer->vocab_size()));
  // decode() strips the leading space SentencePiece adds, so each token is decoded after an "a".
  const std::optional<int32_t> a = tokenizer->token_id("a");
  ASSERT_TRUE(a.has_value());
  int mismatches = 0, spaces = 0, single_bytes = 0;
  for (size_t id = 0; id < v->bytes.size(); ++id) {
    const std::vector<int32_t> ids = {*a, static_cast<int32_t>(id)};
    const std::string expected = std::string("a").append(utf8::to_valid(v->bytes[id]));
    if (expected != tokenizer->decode(ids) && ++mismatches <= 5) {
      ADD_FAILURE() << "token " << id << " decodes differently";
    }
    spaces += v->bytes[id].starts_with(' ');
    single_bytes += tokenizer->token_text(static_cast<int32_t>(id)).starts_with("<0x");
  }
  EXPECT_EQ(mismatches, 0);
  EXPECT_GT(spaces, 50);  // "▁" pieces were seen (the vocabulary has 512 tokens)
  EXPECT_EQ(single_bytes, 256);
  EXPECT_EQ(v->bytes[*tokenizer->token_id("<0x7B>")], "{");
  EXPECT_EQ(v->bytes[*tokenizer->token_id("<0xE2>")], "\xE2");
  EXPECT_EQ(v->special[*tokenizer->eos_id()], 1);
}

TEST(JsonConstraintR1Distill, MaskMatchesThePlainReferenceAtChosenStates) {
  const R1Vocab& r = r1_vocab();
  ASSERT_NE(r.tokenizer, nullptr);
  const std::vector<float> zeros(r.vocab->bytes.size() + 399, 0.0f);  // the model's padded vocabulary
  const std::vector<std::string> answers = {"",
                                            "\n\n",
                                            "{",
                                            "{\"",
                                            "{\"name",
                                            "{\"name\"",
                                            "{\"name\":",
                                            "{\"name\": ",
                                            "{\"name\": \"Al",
                                            "{\"a\": 12",
                                            "{\"a\": 0",
                                            "{\"a\": 1.",
                                            "{\"a\": -",
                                            "{\"a\": 1e",
                                            "{\"a\": tr",
                                            "{\"a\": [",
                                            "{\"a\": [1, ",
                                            "{\"a\": \"\\",
                                            "{\"a\": \"\\u00",
                                            "{\"a\": \"\\uD83D",
                                            "{\"a\": \"\\uD83D\\u",
                                            "{\"a\": \"\xE2\x82",
                                            "{\"a\": \"\xF0",
                                            "{\"a\": {}",
                                            "{\"a\": {}}",
                                            "{\"a\": {}}\n    "};
  for (const std::string& answer : answers) {
    SCOPED_TRACE(answer);
    const auto c = after(r, answer, r.options);
    ASSERT_NE(c, nullptr);
    std::vector<uint8_t> allowed = allowed_by(*c, zeros);
    for (size_t id = r.vocab->bytes.size(); id < allowed.size(); ++id) EXPECT_FALSE(allowed[id]) << id;
    allowed.resize(r.vocab->bytes.size());
    EXPECT_EQ(first_difference(allowed, reference_allowed(*r.vocab, r.options, answer, false)), -1);
  }
  // The first token of a model that may open a think block.
  JsonConstraintOptions thinking = r.options;
  thinking.think_open_id = *r.tokenizer->token_id("<think>");
  thinking.think_close_id = *r.tokenizer->token_id("</think>");
  const auto c = after(r, "", thinking);
  ASSERT_NE(c, nullptr);
  const std::vector<uint8_t> allowed = allowed_by(*c, std::vector<float>(r.vocab->bytes.size(), 0.0f));
  EXPECT_EQ(first_difference(allowed, reference_allowed(*r.vocab, thinking, "", true)), -1);
  EXPECT_TRUE(allowed[static_cast<size_t>(thinking.think_open_id)]);
}

TEST(JsonConstraintR1Distill, UniformSamplingStaysAJsonPrefixAndCompletes) {
  const R1Vocab& r = r1_vocab();
  ASSERT_NE(r.tokenizer, nullptr);
  JsonConstraintOptions reasoning = r.options;
  reasoning.starts_in_reasoning = true;
  reasoning.think_open_id = *r.tokenizer->token_id("<think>");
  reasoning.think_close_id = *r.tokenizer->token_id("</think>");
  for (uint32_t seed = 1; seed <= 3; ++seed) {
    SCOPED_TRACE(seed);
    // Seed 1 first reasons (unconstrained: its tokens include a '}' and a control token) and closes the
    // block.
    const bool thinks = seed == 1;
    const auto c = thinks ? after(r, "", reasoning) : after(r, "", r.options);
    ASSERT_NE(c, nullptr);
    if (thinks) {
      for (int32_t id : r.tokenizer->encode("Okay, a JSON object } <｜User｜> it is.\n</think>"))
        c->accept(id);
    }
    json_test::Sampled s = json_test::sample_answer(*c, *r.vocab, r.options, seed, /*max_steps=*/300,
                                                    /*reference_every=*/10);
    ASSERT_FALSE(::testing::Test::HasFailure());
    json_test::finish_answer(*c, *r.vocab, r.options, s);
    ASSERT_FALSE(::testing::Test::HasFailure());
    EXPECT_TRUE(json_test::parses_as_object(s.answer)) << s.answer;
    EXPECT_EQ(r.tokenizer->decode(s.ids), s.answer);  // what a client would receive
  }
}

// Not a pass/fail check: prints µs per mask() call at a few typical states (the engine calls it once per
// token).
TEST(JsonConstraintR1Distill, MaskTiming) {
  const R1Vocab& r = r1_vocab();
  ASSERT_NE(r.tokenizer, nullptr);
  std::vector<float> logits(r.vocab->bytes.size(), 0.0f);
  const std::vector<std::pair<const char*, std::string>> states = {
      {"start", ""},
      {"inside a string", "{\"name\": \"Al"},
      {"after a key", "{\"name\""},
      {"before a value", "{\"name\": "},
      {"inside a number", "{\"n\": 12"},
      {"after a value", "{\"n\": true"},
  };
  for (const auto& [name, answer] : states) {
    const auto c = after(r, answer, r.options);
    ASSERT_NE(c, nullptr);
    // Processor time of this (single-threaded) process, not wall time: the test machines are shared.
    constexpr int kCalls = 30;
    const std::clock_t start = std::clock();
    for (int i = 0; i < kCalls; ++i) c->mask(logits.data(), static_cast<int64_t>(logits.size()));
    const double us = 1e6 * static_cast<double>(std::clock() - start) / CLOCKS_PER_SEC / kCalls;
    std::printf("json mask() over %zu tokens, %s: %.0f us\n", logits.size(), name, us);
    RecordProperty(name, static_cast<int>(us));
  }
}

}  // namespace
}  // namespace r1::server
