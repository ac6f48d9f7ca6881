// OutputStream on hand-made token streams: stop strings split across tokens, think tags split across tokens,
// invalid UTF-8, an unclosed think block. Expected text comes from plain string operations on the whole output
// (find, substr, utf8::to_valid), never from the streaming code itself.
#include <gtest/gtest.h>

#include <random>

#include "server/output_stream.h"
#include "tokenizer/utf8.h"

namespace r1::server {
namespace {

const Tokenizer& fixture_tokenizer() {
  static std::unique_ptr<Tokenizer> tok = [] {
    auto t = Tokenizer::load(std::string(R1_FIXTURES_DIR) + "/models/qwen2_gqa4");
    EXPECT_TRUE(t) << t.message();
    return t ? std::move(*t) : nullptr;
  }();
  return *tok;
}

std::vector<int32_t> ids_of(std::initializer_list<std::string_view> parts) {
  std::vector<int32_t> ids;
  for (std::string_view p : parts)
    for (int32_t id : fixture_tokenizer().encode(p, /*add_special=*/false)) ids.push_back(id);
  return ids;
}

struct Streamed {
  std::string reasoning, content;
  int64_t tokens = 0, reasoning_tokens = 0;
  bool stopped = false;
};

// Pushes one token at a time; every piece must be valid UTF-8 and reasoning must never follow content.
Streamed stream(const std::vector<int32_t>& ids, OutputStreamOptions options) {
  OutputStream out(fixture_tokenizer(), std::move(options));
  Streamed s;
  auto take = [&](const StreamPiece& p) {
    EXPECT_TRUE(utf8::is_valid(p.reasoning)) << p.reasoning;
    EXPECT_TRUE(utf8::is_valid(p.content)) << p.content;
    if (!s.content.empty()) {
      EXPECT_TRUE(p.reasoning.empty()) << "reasoning after content: " << p.reasoning;
    }
    s.reasoning += p.reasoning;
    s.content += p.content;
  };
  for (int32_t id : ids) take(out.push(TokenEvent{.id = id, .logprob = 0.0f, .top = {}}));
  take(out.finish());
  s.tokens = out.tokens();
  s.reasoning_tokens = out.reasoning_tokens();
  s.stopped = out.stopped();
  return s;
}

TEST(StopMatcher, RandomTextAndChunkingAgainstFind) {
  // Small alphabets make partial matches, overlaps and matches across chunk boundaries common.
  std::mt19937 rng(7);
  const std::vector<std::vector<std::string>> stop_sets = {{"abba"}, {"aab", "ba"}, {"b"}, {"abab", "aaaa"}};
  for (int trial = 0; trial < 2000; ++trial) {
    const auto& stops = stop_sets[trial % stop_sets.size()];
    std::string text;
    for (int i = 0, n = int(rng() % 30); i < n; ++i) text += "ab"[rng() % 2];
    size_t cut = std::string::npos;
    for (const std::string& s : stops) cut = std::min(cut, text.find(s));
    const std::string expected = text.substr(0, cut);

    StopMatcher m(stops);
    std::string got;
    for (size_t i = 0; i < text.size();) {
      const size_t len = 1 + rng() % 4;
      got += m.push(std::string_view(text).substr(i, len));
      EXPECT_LE(got.size(), expected.size()) << "released text past the stop";
      i += len;
    }
    got += m.finish();
    EXPECT_EQ(got, expected) << text;
    EXPECT_EQ(m.matched(), cut != std::string::npos) << text;
  }
}

TEST(StopMatcher, MultiByteStopsKeepUtf8Valid) {
  StopMatcher m({"\xC3\xA9t\xC3\xA9"});  // "été"
  std::string out = m.push("caf\xC3\xA9");  // "café": its "é" could start the stop string
  EXPECT_EQ(out, "caf");
  out += m.push(" \xC3\xA9t\xC3\xA9 fin");
  EXPECT_EQ(out, "caf\xC3\xA9 ");
  EXPECT_TRUE(m.matched());
  EXPECT_EQ(m.finish(), "");
}

TEST(OutputStream, ReasoningThenContent) {
  const auto ids = ids_of({"<think>", "\nI reason here\n", "</think>", "\n\nThe answer"});
  const Streamed s = stream(ids, {.stop = {}, .split_reasoning = true, .starts_in_reasoning = false, .logprobs = false});
  EXPECT_EQ(s.reasoning, "I reason here");
  EXPECT_EQ(s.content, "The answer");
  EXPECT_EQ(s.tokens, int64_t(ids.size()));
  // Reasoning tokens: <think> through </think>, i.e. all but the answer's own tokens (±1 for the tag parser
  // deciding on the token after a tag).
  const int64_t answer_tokens = int64_t(ids_of({"\n\nThe answer"}).size());
  EXPECT_NEAR(double(s.reasoning_tokens), double(s.tokens - answer_tokens), 1.0);
}

TEST(OutputStream, StartsInReasoningAndTagsSplitAcrossTokens) {
  // "</think>" spelled by ordinary tokens ("</thi" + "nk>"), not the added token: the tag spans pieces.
  const auto ids = ids_of({"still thinking\n", "</thi", "nk>", "\n\nDone"});
  ASSERT_NE(fixture_tokenizer().token_id("</think>"), std::nullopt);
  const Streamed s = stream(ids, {.stop = {}, .split_reasoning = true, .starts_in_reasoning = true, .logprobs = false});
  EXPECT_EQ(s.reasoning, "still thinking");
  EXPECT_EQ(s.content, "Done");
}

TEST(OutputStream, UnclosedThinkStaysReasoning) {
  const auto ids = ids_of({"<think>", "\nthinking forever and ever"});
  const Streamed s = stream(ids, {.stop = {}, .split_reasoning = true, .starts_in_reasoning = false, .logprobs = false});
  EXPECT_EQ(s.reasoning, "thinking forever and ever");
  EXPECT_EQ(s.content, "");
  EXPECT_EQ(s.reasoning_tokens, s.tokens);
}

TEST(OutputStream, StopStringSplitAcrossTokens) {
  const std::string text = "Hello there STOPPER and more";
  const auto ids = ids_of({text});
  ASSERT_GT(ids_of({"STOP"}).size(), 1u) << "the stop string must span several tokens for this test";
  const Streamed s = stream(ids, {.stop = {"STOP", "zzz"}, .split_reasoning = false, .starts_in_reasoning = false,
                                  .logprobs = false});
  EXPECT_EQ(s.content, text.substr(0, text.find("STOP")));
  EXPECT_TRUE(s.stopped);
  EXPECT_LT(s.tokens, int64_t(ids.size()));  // tokens after the stop are not part of the output
}

TEST(OutputStream, StopInsideReasoningEndsEverything) {
  const auto ids = ids_of({"<think>", "\nabc END def\n", "</think>", "\n\nanswer"});
  const Streamed s = stream(ids, {.stop = {"END"}, .split_reasoning = true, .starts_in_reasoning = false,
                                  .logprobs = false});
  EXPECT_EQ(s.reasoning, "abc ");
  EXPECT_EQ(s.content, "");
  EXPECT_TRUE(s.stopped);
}

TEST(OutputStream, InvalidUtf8BecomesReplacementCharacters) {
  // Lone lead bytes, a truncated 3-byte sequence, a stray continuation byte: the tokenizer keeps every byte.
  const std::string bytes = "ok \xC3 mid \xE2\x82 end \x80 tail \xF0\x9F";
  const auto ids = ids_of({bytes});
  const Streamed s = stream(ids, {.stop = {}, .split_reasoning = false, .starts_in_reasoning = false, .logprobs = false});
  EXPECT_EQ(s.content, utf8::to_valid(bytes));
  // The same bytes inside a think block: still valid, still all reasoning.
  const Streamed r = stream(ids, {.stop = {}, .split_reasoning = true, .starts_in_reasoning = true, .logprobs = false});
  EXPECT_EQ(r.reasoning + r.content, utf8::to_valid(bytes));
  EXPECT_EQ(r.content, "");
}

TEST(OutputStream, LogprobEntriesFollowTokens) {
  OutputStream out(fixture_tokenizer(),
                   {.stop = {}, .split_reasoning = false, .starts_in_reasoning = false, .logprobs = true});
  const auto ids = ids_of({"Hi there"});
  ASSERT_GE(ids.size(), 2u);
  const TokenEvent e{.id = ids[0], .logprob = -0.5f, .top = {{ids[0], -0.5f}, {ids[1], -1.5f}}};
  const StreamPiece p = out.push(e);
  ASSERT_EQ(p.logprobs.size(), 1u);
  const int32_t first[1] = {ids[0]}, second[1] = {ids[1]};
  EXPECT_EQ(p.logprobs[0].token, fixture_tokenizer().decode(first));
  EXPECT_FLOAT_EQ(p.logprobs[0].logprob, -0.5f);
  ASSERT_EQ(p.logprobs[0].top.size(), 2u);
  EXPECT_EQ(p.logprobs[0].top[1].first, fixture_tokenizer().decode(second));
  EXPECT_FLOAT_EQ(p.logprobs[0].top[1].second, -1.5f);
}

}  // namespace
}  // namespace r1::server
