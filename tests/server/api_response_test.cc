// Response builders: OpenAI/DeepSeek field names and shapes, usage arithmetic, logprob offsets, and dump()'s
// handling of bytes that are not UTF-8.
#include <gtest/gtest.h>

#include <set>

#include "server/api_response.h"
#include "tokenizer/utf8.h"

namespace r1::server {
namespace {

const ResponseMeta kMeta{.id = "chatcmpl-x", .created = 1700000000, .model = "m", .system_fingerprint = "fp_1"};

TEST(ApiResponse, ErrorBodyHasAllFourFieldsWithNulls) {
  const json e = error_body(ApiError{.status = 400, .message = "bad", .param = "temperature"});
  EXPECT_EQ(e["error"]["message"], "bad");
  EXPECT_EQ(e["error"]["type"], "invalid_request_error");
  EXPECT_EQ(e["error"]["param"], "temperature");
  EXPECT_TRUE(e["error"]["code"].is_null());
  EXPECT_EQ(e["error"].size(), 4u);
}

TEST(ApiResponse, UsageSplitsThePrompt) {
  const json u = usage_json({.prompt_tokens = 100, .completion_tokens = 30, .reasoning_tokens = 20, .cached_tokens = 64});
  EXPECT_EQ(u["total_tokens"], 130);
  EXPECT_EQ(u["prompt_cache_hit_tokens"], 64);
  EXPECT_EQ(u["prompt_cache_miss_tokens"], 36);
  EXPECT_EQ(u["prompt_tokens_details"]["cached_tokens"], 64);
  EXPECT_EQ(u["completion_tokens_details"]["reasoning_tokens"], 20);
}

TEST(ApiResponse, ChatObjectAndChunks) {
  const ChoiceResult c{.reasoning = "think", .content = "answer", .finish_reason = "stop", .logprobs = {},
                       .has_logprobs = false};
  const json obj = completion_object(Endpoint::kChat, kMeta, {c}, Usage{});
  EXPECT_EQ(obj["object"], "chat.completion");
  EXPECT_EQ(obj["system_fingerprint"], "fp_1");
  EXPECT_EQ(obj["choices"][0]["message"]["reasoning_content"], "think");
  EXPECT_EQ(obj["choices"][0]["message"]["content"], "answer");
  EXPECT_EQ(obj["choices"][0]["message"]["role"], "assistant");
  EXPECT_TRUE(obj["choices"][0]["logprobs"].is_null());

  const json first = chunk_object(Endpoint::kChat, kMeta, 1, StreamPiece{}, true, std::nullopt, false);
  EXPECT_EQ(first["object"], "chat.completion.chunk");
  EXPECT_EQ(first["choices"][0]["index"], 1);
  EXPECT_EQ(first["choices"][0]["delta"], json({{"role", "assistant"}, {"content", ""}}));
  EXPECT_TRUE(first["choices"][0]["finish_reason"].is_null());

  const json mid = chunk_object(Endpoint::kChat, kMeta, 0, StreamPiece{.reasoning = "r", .content = "", .logprobs = {}},
                                false, std::nullopt, false);
  EXPECT_EQ(mid["choices"][0]["delta"], json({{"reasoning_content", "r"}}));
  const json last = chunk_object(Endpoint::kChat, kMeta, 0, StreamPiece{}, false, "length", false);
  EXPECT_EQ(last["choices"][0]["delta"], json::object());
  EXPECT_EQ(last["choices"][0]["finish_reason"], "length");

  const json usage = usage_chunk(Endpoint::kChat, kMeta, Usage{.prompt_tokens = 3});
  EXPECT_TRUE(usage["choices"].is_array() && usage["choices"].empty());
  EXPECT_EQ(usage["usage"]["prompt_tokens"], 3);
}

TEST(ApiResponse, CompletionObjectsUseText) {
  const ChoiceResult c{.reasoning = "", .content = "abc", .finish_reason = "length", .logprobs = {},
                       .has_logprobs = false};
  const json obj = completion_object(Endpoint::kCompletion, kMeta, {c, c}, Usage{});
  EXPECT_EQ(obj["object"], "text_completion");
  EXPECT_EQ(obj["choices"][1]["index"], 1);
  EXPECT_EQ(obj["choices"][0]["text"], "abc");
  EXPECT_FALSE(obj["choices"][0].contains("message"));
}

TEST(ApiResponse, LogprobShapes) {
  const std::vector<TokenLogprobText> toks = {
      {.token = "He", .logprob = -0.1f, .top = {{"He", -0.1f}, {"She", -2.0f}}},
      {.token = "\xC3\xA9", .logprob = -0.2f, .top = {{"\xC3\xA9", -0.2f}}},
      {.token = "!", .logprob = -0.3f, .top = {}}};
  const json chat = chat_logprobs(toks);
  ASSERT_EQ(chat["content"].size(), 3u);
  EXPECT_EQ(chat["content"][1]["bytes"], json({0xC3, 0xA9}));
  EXPECT_EQ(chat["content"][0]["top_logprobs"][1]["token"], "She");
  EXPECT_FLOAT_EQ(chat["content"][0]["top_logprobs"][1]["logprob"].get<float>(), -2.0f);

  const json text = completion_logprobs(toks, 10);
  EXPECT_EQ(text["tokens"], json({"He", "\xC3\xA9", "!"}));
  EXPECT_EQ(text["text_offset"], json({10, 12, 14}));  // byte offsets: "é" is two bytes
  EXPECT_FLOAT_EQ(text["top_logprobs"][0]["She"].get<float>(), -2.0f);
  EXPECT_TRUE(text["top_logprobs"][2].is_object() && text["top_logprobs"][2].empty());
}

TEST(ApiResponse, DumpReplacesInvalidUtf8) {
  const std::string out = dump(json{{"content", std::string("ok \xC3 \xFF end")}});
  EXPECT_TRUE(utf8::is_valid(out));
  const json back = json::parse(out);
  EXPECT_EQ(back["content"].get<std::string>().find("ok "), 0u);
}

TEST(ApiResponse, ResponseIdsArePrefixedAndDistinct) {
  std::set<std::string> ids;
  for (int i = 0; i < 100; ++i) ids.insert(new_response_id(Endpoint::kChat));
  EXPECT_EQ(ids.size(), 100u);
  EXPECT_EQ(ids.begin()->rfind("chatcmpl-", 0), 0u);
  EXPECT_EQ(new_response_id(Endpoint::kCompletion).rfind("cmpl-", 0), 0u);
}

}  // namespace
}  // namespace r1::server
