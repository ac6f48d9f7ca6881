// The JSON constraint on a small hand-made vocabulary: random sampling under the mask always yields an
// object, the mask equals a plain per-token reference at every step, reasoning is left alone, EOS waits for a
// complete object, and the edge cases (forced tokens, dead ends, bad options) behave as documented.
#include "server/json_constraint.h"

#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "server/json_test_util.h"

namespace r1::server {
namespace {

using json_test::allowed_by;
using json_test::finish_answer;
using json_test::parses_as_object;
using json_test::sample_answer;

// Control tokens first, then every byte finish_answer may need on its own, then multi-byte pieces that cross
// the grammar's boundaries (a key with its colon, a character split over tokens, an escape split over tokens,
// ...). The only digits are 0 and 5, and no piece has another digit after an 'e', so exponents stay 0:
// nlohmann (the oracle) rejects numbers outside the double range, as RFC 8259 lets parsers do.
const std::vector<std::string> kControl = {"</s>", "<think>", "</think>", "<|user|>", "<|eot|>"};
// clang-format off
const std::vector<std::string> kText = {
    "", "\"", "}", "]", ":", "0", "{", "r", "u", "e", "a", "l", "s", "D", "\\", "\x80", "\x90", "\xA0",
    "[", ",", " ", "\n", "\t\t", "key", "hello world", "true", "fal", "se", "null", "-", ".5", "E", "+",
    "\xC3", "\xA9", "\xC3\xA9", "\xE2\x82", "\xAC\"", "\xF0\x9F", "\x98\x80", "\xE0", "\xED", "\xF4",
    "00f1", "D83D", "DE00", "\\u", "\\n", "\"a\":", "{\"", "}\n", "\"}", "]}", "}}", "x\"", ",\"", "\x01",
    "\"\xC3",
    "<think>"};  // the text "<think>" (not the control token) is ordinary string content
// clang-format on
constexpr int32_t kEos = 0, kThinkOpen = 1, kThinkClose = 2, kUser = 3, kEot = 4;

std::shared_ptr<VocabBytes> tiny_vocab() {
  auto v = std::make_shared<VocabBytes>();
  for (const std::string& s : kControl) {
    v->bytes.push_back(s);
    v->special.push_back(1);
  }
  for (const std::string& s : kText) {
    v->bytes.push_back(s);
    v->special.push_back(0);
  }
  return v;
}

int32_t id_of(const VocabBytes& v, const std::string& bytes) {
  for (size_t id = kControl.size(); id < v.bytes.size(); ++id) {
    if (v.bytes[id] == bytes) return static_cast<int32_t>(id);
  }
  ADD_FAILURE() << "no token " << bytes;
  return -1;
}

std::shared_ptr<TokenConstraint> make(std::shared_ptr<const VocabBytes> v, const JsonConstraintOptions& o) {
  auto c = make_json_constraint(std::move(v), o);
  EXPECT_TRUE(c.is_ok()) << c.message();
  return c.is_ok() ? c.value() : nullptr;
}

// The ids the constraint allows now, in order.
std::vector<int32_t> allowed_ids(TokenConstraint& c, size_t vocab_size) {
  const std::vector<uint8_t> allowed = allowed_by(c, std::vector<float>(vocab_size, 0.5f));
  std::vector<int32_t> ids;
  for (size_t id = 0; id < allowed.size(); ++id) {
    if (allowed[id]) ids.push_back(static_cast<int32_t>(id));
  }
  return ids;
}

bool allows(TokenConstraint& c, size_t vocab_size, int32_t id) {
  const std::vector<int32_t> ids = allowed_ids(c, vocab_size);
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

TEST(JsonConstraint, RandomSamplingAlwaysYieldsAnObject) {
  const auto vocab = tiny_vocab();
  const JsonConstraintOptions options{.eos_ids = {kEos, kEot}};
  int ended_by_sampling = 0;
  for (uint32_t seed = 0; seed < 300; ++seed) {
    SCOPED_TRACE(seed);
    const auto c = make(vocab, options);
    json_test::Sampled s = sample_answer(*c, *vocab, options, seed, /*max_steps=*/200, /*reference_every=*/1);
    ASSERT_FALSE(::testing::Test::HasFailure());
    ended_by_sampling += s.ended;
    finish_answer(*c, *vocab, options, s);
    ASSERT_TRUE(parses_as_object(s.answer)) << s.answer;
  }
  // Uniform sampling reaches EOS on its own most of the time: EOS does become available.
  EXPECT_GT(ended_by_sampling, 150);
}

TEST(JsonConstraint, ReasoningIsUnconstrainedAndTheAnswerIsJson) {
  const auto vocab = tiny_vocab();
  const JsonConstraintOptions options{.starts_in_reasoning = true,
                                      .think_open_id = kThinkOpen,
                                      .think_close_id = kThinkClose,
                                      .eos_ids = {kEos}};
  const auto c = make(vocab, options);
  // Anything goes while thinking, including what JSON forbids, control tokens and the logits' exact values.
  for (const int32_t id :
       {id_of(*vocab, "}"), id_of(*vocab, "\xC3"), kUser, kThinkOpen, id_of(*vocab, "\x01")}) {
    EXPECT_EQ(allowed_ids(*c, vocab->bytes.size()).size(), vocab->bytes.size());
    c->accept(id);
  }
  c->accept(kThinkClose);
  EXPECT_EQ(json_test::first_difference(allowed_by(*c, std::vector<float>(vocab->bytes.size(), 0.0f)),
                                        json_test::reference_allowed(*vocab, options, "", false)),
            -1);
  EXPECT_TRUE(allows(*c, vocab->bytes.size(), id_of(*vocab, "{")));
  EXPECT_TRUE(allows(*c, vocab->bytes.size(), id_of(*vocab, "\n")));
  EXPECT_FALSE(allows(*c, vocab->bytes.size(), id_of(*vocab, "}")));
  EXPECT_FALSE(allows(*c, vocab->bytes.size(), kEos));
  EXPECT_FALSE(allows(*c, vocab->bytes.size(), kThinkOpen));
  EXPECT_FALSE(allows(*c, vocab->bytes.size(), kThinkClose));
  json_test::Sampled s = sample_answer(*c, *vocab, options, 7, 200, 1);
  finish_answer(*c, *vocab, options, s);
  EXPECT_TRUE(parses_as_object(s.answer)) << s.answer;
}

TEST(JsonConstraint, ThinkOpenIsAllowedAsTheFirstTokenOnly) {
  const auto vocab = tiny_vocab();
  const size_t n = vocab->bytes.size();
  const JsonConstraintOptions options{
      .think_open_id = kThinkOpen, .think_close_id = kThinkClose, .eos_ids = {kEos}};
  {  // the model opens a think block: reasoning until </think>, then JSON
    const auto c = make(vocab, options);
    EXPECT_EQ(json_test::first_difference(allowed_by(*c, std::vector<float>(n, 0.0f)),
                                          json_test::reference_allowed(*vocab, options, "", true)),
              -1);
    EXPECT_TRUE(allows(*c, n, kThinkOpen));
    EXPECT_FALSE(allows(*c, n, kThinkClose));
    c->accept(kThinkOpen);
    EXPECT_EQ(allowed_ids(*c, n).size(), n);
    c->accept(id_of(*vocab, "]"));
    EXPECT_EQ(allowed_ids(*c, n).size(), n);
    c->accept(kThinkClose);
    EXPECT_FALSE(allows(*c, n, id_of(*vocab, "]")));
    EXPECT_TRUE(allows(*c, n, id_of(*vocab, "{")));
  }
  {  // the model answers at once: <think> is no longer allowed, not even inside a string
    const auto c = make(vocab, options);
    c->accept(id_of(*vocab, "{\""));
    EXPECT_FALSE(allows(*c, n, kThinkOpen));
    EXPECT_TRUE(allows(*c, n, id_of(*vocab, "<think>")));  // the same text as plain string content is fine
    json_test::Sampled s;
    s.answer = "{\"";
    finish_answer(*c, *vocab, options, s);
    EXPECT_TRUE(parses_as_object(s.answer)) << s.answer;
  }
  {  // a model without think tokens never gets one
    const auto c = make(vocab, JsonConstraintOptions{.eos_ids = {kEos}});
    EXPECT_FALSE(allows(*c, n, kThinkOpen));
  }
}

TEST(JsonConstraint, EosWaitsForTheObjectAndTrailingWhitespaceIsBounded) {
  const auto vocab = tiny_vocab();
  const size_t n = vocab->bytes.size();
  const auto c = make(vocab, JsonConstraintOptions{.eos_ids = {kEos, kEot}, .max_whitespace_run = 8});
  for (const char* piece : {"{", "\"a\":", "[", "]"}) {
    EXPECT_FALSE(allows(*c, n, kEos)) << piece;
    c->accept(id_of(*vocab, piece));
  }
  EXPECT_FALSE(allows(*c, n, kEos));
  c->accept(id_of(*vocab, "}"));
  EXPECT_TRUE(allows(*c, n, kEos));
  EXPECT_TRUE(allows(*c, n, kEot));
  EXPECT_TRUE(allows(*c, n, id_of(*vocab, " ")));
  EXPECT_FALSE(allows(*c, n, id_of(*vocab, "}")));
  for (int i = 0; i < 4; ++i) c->accept(id_of(*vocab, "\t\t"));
  EXPECT_EQ(allowed_ids(*c, n), (std::vector<int32_t>{kEos, kEot}));
}

TEST(JsonConstraint, ATokenOutsideTheGrammarLeavesOnlyEos) {
  const auto vocab = tiny_vocab();
  const size_t n = vocab->bytes.size();
  const JsonConstraintOptions options{.eos_ids = {kEos}};
  for (const int32_t bad : {id_of(*vocab, "}"), kUser, kEos, static_cast<int32_t>(n + 3), -1}) {
    const auto c = make(vocab, options);
    c->accept(bad);  // e.g. a token the engine forced
    EXPECT_EQ(allowed_ids(*c, n), std::vector<int32_t>{kEos}) << bad;
    c->accept(id_of(*vocab, "{"));  // and it stays that way
    EXPECT_EQ(allowed_ids(*c, n), std::vector<int32_t>{kEos}) << bad;
  }
}

TEST(JsonConstraint, ADeadEndAllowsEos) {
  // After a key nothing fits: the vocabulary has no ':'.
  auto vocab = std::make_shared<VocabBytes>();
  vocab->bytes = {"</s>", "{", "\"a\"", "1"};
  vocab->special = {1, 0, 0, 0};
  const auto c = make(vocab, JsonConstraintOptions{.eos_ids = {0}});
  EXPECT_EQ(allowed_ids(*c, 4), (std::vector<int32_t>{1}));
  c->accept(1);
  EXPECT_EQ(allowed_ids(*c, 4), (std::vector<int32_t>{2}));
  c->accept(2);
  EXPECT_EQ(allowed_ids(*c, 4), (std::vector<int32_t>{0}));
}

TEST(JsonConstraint, LogitsOutsideTheVocabularyAreBanned) {
  const auto vocab = tiny_vocab();
  const size_t n = vocab->bytes.size();
  const auto c = make(vocab, JsonConstraintOptions{.eos_ids = {kEos}});
  // A model whose embedding has more rows than the tokenizer has tokens (padding rows).
  const std::vector<uint8_t> wide = allowed_by(*c, std::vector<float>(n + 7, 1.0f));
  for (size_t id = n; id < n + 7; ++id) EXPECT_FALSE(wide[id]) << id;
  EXPECT_EQ(json_test::first_difference(std::vector<uint8_t>(wide.begin(), wide.begin() + n),
                                        json_test::reference_allowed(*vocab, {.eos_ids = {kEos}}, "", false)),
            -1);
  // And one with fewer: only the ids it has are touched.
  const std::vector<uint8_t> narrow = allowed_by(*c, std::vector<float>(kControl.size() + 8, 1.0f));
  EXPECT_EQ(narrow, (std::vector<uint8_t>(wide.begin(), wide.begin() + kControl.size() + 8)));
}

TEST(JsonConstraint, BadOptionsAreErrorsNamingTheField) {
  const auto vocab = tiny_vocab();
  const int32_t n = static_cast<int32_t>(vocab->bytes.size());
  auto error = [&](std::shared_ptr<const VocabBytes> v, JsonConstraintOptions o) {
    auto c = make_json_constraint(std::move(v), std::move(o));
    EXPECT_FALSE(c.is_ok());
    return c.is_ok() ? std::string() : c.message();
  };
  EXPECT_NE(error(nullptr, {.eos_ids = {kEos}}).find("vocabulary"), std::string::npos);
  EXPECT_NE(error(vocab, {}).find("eos_ids"), std::string::npos);
  EXPECT_NE(error(vocab, {.eos_ids = {n}}).find("eos id"), std::string::npos);
  EXPECT_NE(error(vocab, {.eos_ids = {id_of(*vocab, "}")}}).find("not a control token"), std::string::npos);
  EXPECT_NE(error(vocab, {.think_open_id = -5, .eos_ids = {kEos}}).find("think_open_id"), std::string::npos);
  EXPECT_NE(error(vocab, {.think_close_id = id_of(*vocab, "a"), .eos_ids = {kEos}}).find("think_close_id"),
            std::string::npos);
  EXPECT_NE(error(vocab, {.starts_in_reasoning = true, .eos_ids = {kEos}}).find("starts_in_reasoning"),
            std::string::npos);
  EXPECT_NE(error(vocab, {.eos_ids = {kEos}, .max_whitespace_run = 256}).find("max_whitespace_run"),
            std::string::npos);
  auto uneven = std::make_shared<VocabBytes>();
  uneven->bytes = {"</s>", "{"};
  uneven->special = {1};
  EXPECT_NE(error(uneven, {.eos_ids = {0}}).find("special"), std::string::npos);
}

}  // namespace
}  // namespace r1::server
