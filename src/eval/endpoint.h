// Samples from an OpenAI-compatible chat endpoint (r1 serve, vLLM, llama.cpp's server, the DeepSeek API): one
// POST /v1/chat/completions per call, retried with exponential backoff on 429, 5xx, timeouts and dropped
// connections (a Retry-After header is honoured), never on other 4xx.
#pragma once

#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "core/status.h"

namespace r1::eval {

// What one chat completion call gives back.
struct ChatReply {
  enum class Outcome {
    kOk,       // `body` is the chat.completion object
    kRejected, // the endpoint refused this request only (a 400 such as context_length_exceeded): record it as a
               // failed sample and go on
    kFatal,    // no request can succeed (bad URL, 401, 403, 404 unknown model, retries exhausted, cancelled): stop
  };
  Outcome outcome = Outcome::kFatal;
  nlohmann::json body = {};
  std::string error = "";  // for kRejected / kFatal: what went wrong, with the HTTP status and the server's message
  int attempts = 0;        // requests sent, 1 when the first one succeeded
};

// Where completions come from: the in-process engine or an HTTP endpoint. complete() is called from several
// threads at once.
class ChatBackend {
 public:
  virtual ~ChatBackend() = default;
  // `request` is a /v1/chat/completions body (model, messages, sampling fields, stream false).
  virtual ChatReply complete(const nlohmann::json& request) = 0;
  // Makes calls in progress and later calls return kFatal ("cancelled") as soon as they can: waits between retries
  // end at once.
  virtual void cancel() = 0;
  // The model name requests must carry.
  virtual std::string model_name() const = 0;
};

struct EndpointOptions {
  std::string url;      // "http://127.0.0.1:8080", ".../v1" or "https://api.deepseek.com"; the request goes to
                        // <url without a trailing "/" or "/v1">/v1/chat/completions
  std::string model;    // the "model" field of every request
  std::string api_key;  // sent as "Authorization: Bearer KEY" when non-empty
  std::chrono::milliseconds timeout = std::chrono::minutes(30);  // one request, connect to last byte
  int max_retries = 8;  // retries after the first attempt
  std::chrono::milliseconds backoff_initial = std::chrono::seconds(1);  // wait before retry n: initial * 2^n,
  std::chrono::milliseconds backoff_max = std::chrono::seconds(60);     // capped, times a random factor in
                                                                        // [0.5, 1.5); Retry-After when given
  // POST <prefix>/v1/completions with the user turn as a plain prompt (base models without a chat template);
  // requests must then carry max_tokens. Replies come back in chat.completion shape.
  bool completions = false;
};

// An endpoint URL taken apart. The scheme is required ("localhost:8080" is an error, not a guess): http or https;
// the host a name, an IPv4 address or a bracketed IPv6 one ("[::1]"); an optional port and path prefix. No
// user:password@, query or fragment (the key goes in EndpointOptions::api_key).
struct EndpointUrl {
  bool https = false;
  std::string host;          // without the brackets of an IPv6 literal
  int port = 0;              // 80 or 443 when the URL gives none
  std::string request_path;  // "<prefix>/v1/chat/completions", the prefix less trailing "/", "/chat/completions", "/v1"

  std::string to_string() const;  // "http://127.0.0.1:8080/v1/chat/completions", for messages
};
Result<EndpointUrl> parse_endpoint_url(const std::string& url);

// Calls run in parallel: each attempt makes its own httplib client (a client is not safe to share between threads,
// and a connection per sample costs nothing next to a generation). Clients with a request on the wire are kept in a
// set so that cancel() can shut their sockets down.
class EndpointBackend : public ChatBackend {
 public:
  // Errors: a URL that is not http(s)://host[:port][/path].
  static Result<std::unique_ptr<EndpointBackend>> create(const EndpointOptions& options);
  ~EndpointBackend() override;

  ChatReply complete(const nlohmann::json& request) override;
  void cancel() override;
  std::string model_name() const override;

  int64_t retries() const;  // retries sent so far across all calls (for the summary)

 private:
  struct Impl;
  explicit EndpointBackend(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace r1::eval
