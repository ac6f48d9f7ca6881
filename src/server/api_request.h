// OpenAI/DeepSeek request bodies (POST /v1/chat/completions, /v1/completions, /tokenize, /detokenize) parsed and
// validated into typed structs. This is the only place that reads request JSON: everything past it sees plain C++
// values, and every problem with a body becomes an ApiError naming the offending field (OpenAI's `param`).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/chat_format.h"

namespace r1::server {

// An error as the API reports it: HTTP status plus OpenAI's {"error": {message, type, param, code}}.
struct ApiError {
  int status = 400;
  std::string message{};
  std::string type = "invalid_request_error";
  std::string param{};  // the offending field ("messages[1].content"); empty: null
  std::string code{};   // machine-readable ("model_not_found"); empty: null
  int retry_after_s = 0;  // > 0: sent as Retry-After (429 queue full, 503 shutting down)
};

// Sampling fields a request may set; unset ones fall back to generation_config.json, then to r1's defaults.
struct SamplingOverrides {
  std::optional<float> temperature, top_p, min_p, presence_penalty, frequency_penalty, repetition_penalty;
  std::optional<int> top_k;
  std::optional<uint64_t> seed;
};

enum class Endpoint { kChat, kCompletion };

// One /v1/chat/completions or /v1/completions request.
struct GenerationRequest {
  Endpoint endpoint = Endpoint::kChat;
  std::string model;                  // empty: the served model
  std::vector<ChatMessage> messages;  // chat: the conversation (assistant reasoning_content dropped)
  std::string prompt_text;            // completions: the prompt as text ...
  std::vector<int32_t> prompt_ids;    // ... or as token ids (prompt_is_ids)
  bool prompt_is_ids = false;
  std::optional<int64_t> max_tokens;  // unset: the endpoint's default
  SamplingOverrides sampling;
  std::vector<std::string> stop;      // at most 4 non-empty strings
  int n = 1;                          // choices, 1..16
  bool stream = false;
  bool include_usage = false;         // stream_options.include_usage
  int top_logprobs = -1;              // -1: no logprobs; else the chosen token's logprob plus this many alternatives
  bool json_object = false;           // response_format {"type": "json_object"}
  std::optional<int64_t> max_thinking_tokens;  // DeepSeek-R1 thinking budget (r1 extension)
  bool ignore_eos = false;            // generate past end-of-sequence ids (vLLM extension; benchmarks)
};

inline constexpr int kMaxChoices = 16;
inline constexpr int kMaxTopLogprobs = 20;
inline constexpr int kMaxStopStrings = 4;

// Parses a request body for `endpoint`. Returns the error for malformed JSON, wrong types, out-of-range values
// and unsupported options; nullopt when `out` holds the request.
std::optional<ApiError> parse_generation_request(std::string_view body, Endpoint endpoint, GenerationRequest& out);

// POST /tokenize: exactly one of "content"/"prompt" (text) or "messages" (rendered with the chat template).
struct TokenizeRequest {
  std::string text;
  std::vector<ChatMessage> messages;
  bool is_chat = false;
  bool add_special = true;  // text only: BOS as the tokenizer adds it (the chat template writes its own)
};
std::optional<ApiError> parse_tokenize_request(std::string_view body, TokenizeRequest& out);

// POST /detokenize: {"tokens": [ids]}.
std::optional<ApiError> parse_detokenize_request(std::string_view body, std::vector<int32_t>& tokens);

}  // namespace r1::server
