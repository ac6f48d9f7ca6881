// Request parsing: a table of good and bad bodies (status and the `param` OpenAI clients show), and the values
// good bodies turn into.
#include <gtest/gtest.h>

#include "server/api_request.h"

namespace r1::server {
namespace {

struct Case {
  const char* body;
  Endpoint endpoint;
  const char* param;  // nullptr: the body is accepted; "" : rejected with a null param
};

constexpr Endpoint kChat = Endpoint::kChat, kText = Endpoint::kCompletion;
#define MSG R"("messages":[{"role":"user","content":"hi"}])"

const Case kCases[] = {
    {"{" MSG "}", kChat, nullptr},
    {R"({"messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}]})", kChat,
     nullptr},
    {R"({"messages":[{"role":"user","content":"q"},{"role":"assistant","content":null,"reasoning_content":"r"}]})",
     kChat, nullptr},
    {"{" MSG R"(,"temperature":null,"stop":null,"seed":null})", kChat, nullptr},
    {"{" MSG R"(,"temperature":0,"top_p":1,"top_k":-1,"min_p":0.1,"seed":18446744073709551615})", kChat, nullptr},
    {"{" MSG R"(,"stop":["a","b","c","d"],"n":16,"logprobs":true,"top_logprobs":20})", kChat, nullptr},
    {"{" MSG R"(,"response_format":{"type":"text"},"stream":true,"stream_options":{"include_usage":true}})", kChat,
     nullptr},
    {R"({"prompt":"x"})", kText, nullptr},
    {R"({"prompt":["x"]})", kText, nullptr},
    {R"({"prompt":[1,2,3]})", kText, nullptr},
    {R"({"prompt":[[1,2,3]],"logprobs":5})", kText, nullptr},
    // Not JSON, or not an object.
    {"{", kChat, ""},
    {"[1,2]", kChat, ""},
    {"", kChat, ""},
    // Missing or malformed messages / prompt.
    {"{}", kChat, "messages"},
    {R"({"messages":[]})", kChat, "messages"},
    {R"({"messages":{"role":"user"}})", kChat, "messages"},
    {R"({"messages":["hi"]})", kChat, "messages[0]"},
    {R"({"messages":[{"content":"hi"}]})", kChat, "messages[0].role"},
    {R"({"messages":[{"role":"tool","content":"hi"}]})", kChat, "messages[0].role"},
    {R"({"messages":[{"role":"user"}]})", kChat, "messages[0].content"},
    {R"({"messages":[{"role":"user","content":7}]})", kChat, "messages[0].content"},
    {R"({"messages":[{"role":"user","content":[{"type":"image_url"}]}]})", kChat, "messages[0].content[0].type"},
    {R"({"messages":[{"role":"user","content":[{"type":"text","text":1}]}]})", kChat, "messages[0].content[0].text"},
    {"{}", kText, "prompt"},
    {R"({"prompt":["a","b"]})", kText, "prompt"},
    {R"({"prompt":[1,-2]})", kText, "prompt"},
    {R"({"prompt":[]})", kText, "prompt"},
    {R"({"prompt":5})", kText, "prompt"},
    // Types and ranges.
    {"{" MSG R"(,"model":5})", kChat, "model"},
    {"{" MSG R"(,"max_tokens":0})", kChat, "max_tokens"},
    {"{" MSG R"(,"max_tokens":2.5})", kChat, "max_tokens"},
    {"{" MSG R"(,"max_completion_tokens":-1})", kChat, "max_completion_tokens"},
    {"{" MSG R"(,"temperature":2.01})", kChat, "temperature"},
    {"{" MSG R"(,"temperature":"0.5"})", kChat, "temperature"},
    {"{" MSG R"(,"top_p":0})", kChat, "top_p"},
    {"{" MSG R"(,"top_p":1.5})", kChat, "top_p"},
    {"{" MSG R"(,"top_k":-2})", kChat, "top_k"},
    {"{" MSG R"(,"min_p":-0.1})", kChat, "min_p"},
    {"{" MSG R"(,"presence_penalty":2.5})", kChat, "presence_penalty"},
    {"{" MSG R"(,"frequency_penalty":-3})", kChat, "frequency_penalty"},
    {"{" MSG R"(,"repetition_penalty":0})", kChat, "repetition_penalty"},
    {"{" MSG R"(,"seed":1.5})", kChat, "seed"},
    {"{" MSG R"(,"stop":5})", kChat, "stop"},
    {"{" MSG R"(,"stop":["a",1]})", kChat, "stop"},
    {"{" MSG R"(,"stop":["a","b","c","d","e"]})", kChat, "stop"},
    {"{" MSG R"(,"stop":""})", kChat, "stop"},
    {"{" MSG R"(,"n":0})", kChat, "n"},
    {"{" MSG R"(,"n":17})", kChat, "n"},
    {"{" MSG R"(,"stream":1})", kChat, "stream"},
    {"{" MSG R"(,"stream_options":true})", kChat, "stream_options"},
    {"{" MSG R"(,"stream_options":{"include_usage":"yes"}})", kChat, "stream_options.include_usage"},
    {"{" MSG R"(,"logprobs":1})", kChat, "logprobs"},
    {"{" MSG R"(,"top_logprobs":3})", kChat, "top_logprobs"},
    {"{" MSG R"(,"logprobs":true,"top_logprobs":21})", kChat, "top_logprobs"},
    {R"({"prompt":"x","logprobs":true})", kText, "logprobs"},
    {R"({"prompt":"x","logprobs":21})", kText, "logprobs"},
    {"{" MSG R"(,"response_format":"json"})", kChat, "response_format"},
    {"{" MSG R"(,"response_format":{"type":"json_schema"}})", kChat, "response_format.type"},
    {"{" MSG R"(,"max_thinking_tokens":-1})", kChat, "max_thinking_tokens"},
    {"{" MSG R"(,"tools":[]})", kChat, "tools"},
    {"{" MSG R"(,"ignore_eos":"true"})", kChat, "ignore_eos"},
};

TEST(ApiRequest, TableOfBodies) {
  for (const Case& c : kCases) {
    GenerationRequest r;
    const auto error = parse_generation_request(c.body, c.endpoint, r);
    if (!c.param) {
      EXPECT_FALSE(error) << c.body << " -> " << error->message;
      continue;
    }
    ASSERT_TRUE(error) << c.body << " was accepted";
    EXPECT_EQ(error->status, 400) << c.body;
    EXPECT_EQ(error->param, c.param) << c.body << " -> " << error->message;
    EXPECT_EQ(error->type, "invalid_request_error");
    EXPECT_FALSE(error->message.empty());
  }
}

TEST(ApiRequest, ChatValues) {
  GenerationRequest r;
  ASSERT_FALSE(parse_generation_request(
      R"({"model":"m","messages":[{"role":"system","content":"s"},
          {"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]},
          {"role":"assistant","content":"c","reasoning_content":"dropped"}],
          "max_tokens":5,"max_completion_tokens":7,"temperature":0.5,"top_k":-1,"seed":18446744073709551615,
          "stop":"END","n":3,"logprobs":true,"stream":true,"stream_options":{"include_usage":true},
          "response_format":{"type":"json_object"},"max_thinking_tokens":0,"ignore_eos":true})",
      Endpoint::kChat, r));
  EXPECT_EQ(r.model, "m");
  ASSERT_EQ(r.messages.size(), 3u);
  EXPECT_EQ(r.messages[0].role, "system");
  EXPECT_EQ(r.messages[1].content, "ab");
  EXPECT_EQ(r.messages[2].content, "c");
  EXPECT_EQ(r.max_tokens, 7);  // the newer name wins
  EXPECT_FLOAT_EQ(*r.sampling.temperature, 0.5f);
  EXPECT_EQ(r.sampling.top_k, 0);  // -1 means off, as 0 does
  EXPECT_EQ(r.sampling.seed, UINT64_MAX);
  EXPECT_FALSE(r.sampling.top_p);
  EXPECT_EQ(r.stop, std::vector<std::string>{"END"});
  EXPECT_EQ(r.n, 3);
  EXPECT_EQ(r.top_logprobs, 0);  // logprobs without top_logprobs: the chosen token only
  EXPECT_TRUE(r.stream);
  EXPECT_TRUE(r.include_usage);
  EXPECT_TRUE(r.json_object);
  EXPECT_EQ(r.max_thinking_tokens, 0);
  EXPECT_TRUE(r.ignore_eos);
}

TEST(ApiRequest, PromptForms) {
  GenerationRequest r;
  ASSERT_FALSE(parse_generation_request(R"({"prompt":["text"]})", Endpoint::kCompletion, r));
  EXPECT_FALSE(r.prompt_is_ids);
  EXPECT_EQ(r.prompt_text, "text");
  EXPECT_EQ(r.top_logprobs, -1);
  ASSERT_FALSE(parse_generation_request(R"({"prompt":[[5,6]],"logprobs":2})", Endpoint::kCompletion, r));
  EXPECT_TRUE(r.prompt_is_ids);
  EXPECT_EQ(r.prompt_ids, (std::vector<int32_t>{5, 6}));
  EXPECT_EQ(r.top_logprobs, 2);
}

TEST(ApiRequest, TokenizeAndDetokenize) {
  TokenizeRequest t;
  ASSERT_FALSE(parse_tokenize_request(R"({"content":"abc","add_special":false})", t));
  EXPECT_EQ(t.text, "abc");
  EXPECT_FALSE(t.add_special);
  EXPECT_FALSE(t.is_chat);
  ASSERT_FALSE(parse_tokenize_request(R"({"prompt":"p"})", t));
  EXPECT_EQ(t.text, "p");
  EXPECT_TRUE(t.add_special);
  ASSERT_FALSE(parse_tokenize_request(R"({"messages":[{"role":"user","content":"q"}]})", t));
  EXPECT_TRUE(t.is_chat);
  EXPECT_EQ(t.messages.at(0).content, "q");
  EXPECT_TRUE(parse_tokenize_request(R"({})", t));
  EXPECT_TRUE(parse_tokenize_request(R"({"content":"a","messages":[{"role":"user","content":"q"}]})", t));
  EXPECT_TRUE(parse_tokenize_request(R"({"content":1})", t));

  std::vector<int32_t> ids;
  ASSERT_FALSE(parse_detokenize_request(R"({"tokens":[1,2,3]})", ids));
  EXPECT_EQ(ids, (std::vector<int32_t>{1, 2, 3}));
  EXPECT_TRUE(parse_detokenize_request(R"({"tokens":"1"})", ids));
  EXPECT_TRUE(parse_detokenize_request(R"({"tokens":[-1]})", ids));
  EXPECT_TRUE(parse_detokenize_request(R"({"tokens":[1.5]})", ids));
  EXPECT_TRUE(parse_detokenize_request(R"({"tokens":[4294967296]})", ids));
}

}  // namespace
}  // namespace r1::server
