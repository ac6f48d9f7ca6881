// Response JSON for the OpenAI/DeepSeek API: error bodies, chat.completion / text_completion objects, their
// streaming chunks, usage and model lists. Every builder takes plain values, so the shapes are testable without a
// model; dump() is the one way out to the wire (invalid UTF-8 from a model is replaced, never thrown on).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "server/api_request.h"
#include "server/output_stream.h"

namespace r1::server {

using nlohmann::json;

// Serialises compactly; bytes that are not UTF-8 become U+FFFD instead of throwing.
std::string dump(const json& j);

json error_body(const ApiError& e);

struct Usage {
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  int64_t reasoning_tokens = 0;
  int64_t cached_tokens = 0;  // prompt tokens served from the prefix cache
};
json usage_json(const Usage& u);

// What every object and chunk of one response shares.
struct ResponseMeta {
  std::string id;  // "chatcmpl-..." / "cmpl-..."
  int64_t created = 0;
  std::string model;
  std::string system_fingerprint;
};

// "chatcmpl-" or "cmpl-" followed by 24 random alphanumerics.
std::string new_response_id(Endpoint endpoint);

// One finished choice of a non-streamed response.
struct ChoiceResult {
  std::string reasoning, content;
  std::string finish_reason;  // "stop" or "length"
  std::vector<TokenLogprobText> logprobs;
  bool has_logprobs = false;
};

// chat.completion: choices[].message {role, content, reasoning_content}; text_completion: choices[].text.
json completion_object(Endpoint endpoint, const ResponseMeta& meta, const std::vector<ChoiceResult>& choices,
                       const Usage& usage);

// One streamed chunk for choice `index`. Chat: delta {role?, content?, reasoning_content?}; completions: text.
// `first` adds the chat opening delta {role: "assistant", content: ""}; finish_reason is null unless given;
// text_offset: bytes of this choice's text already streamed (completions logprobs count offsets from it).
json chunk_object(Endpoint endpoint, const ResponseMeta& meta, int index, const StreamPiece& piece, bool first,
                  const std::optional<std::string>& finish_reason, bool has_logprobs, int64_t text_offset = 0);
// The closing usage chunk of stream_options.include_usage: choices [] and usage.
json usage_chunk(Endpoint endpoint, const ResponseMeta& meta, const Usage& usage);

// Logprobs in each endpoint's shape: chat {content: [{token, logprob, bytes, top_logprobs}]}; completions
// {tokens, token_logprobs, top_logprobs, text_offset} with offsets counted from `text_offset` (bytes of text
// already sent for this choice).
json chat_logprobs(const std::vector<TokenLogprobText>& tokens);
json completion_logprobs(const std::vector<TokenLogprobText>& tokens, int64_t text_offset);

// GET /v1/models entry.
json model_object(const std::string& id, int64_t created, int64_t max_model_len);

}  // namespace r1::server
