// /v1/chat/completions and /v1/completions past parsing: the prompt (chat template or raw text/ids), sampling from
// generation_config.json plus the request's overrides, one engine request per choice, and the two ways back to the
// client: one JSON object when every choice has finished, or Server-Sent Events while tokens arrive.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "io/hf_config.h"
#include "runtime/engine.h"
#include "server/json_constraint.h"
#include "server/api_request.h"
#include "server/api_response.h"
#include "server/metrics.h"
#include "server/output_stream.h"

namespace r1::server {

// The model as the API serves it.
struct ServedModel {
  std::string name;  // the id clients pass as "model" (--alias, or the folder's name)
  const Tokenizer* tokenizer = nullptr;
  GenerationConfig generation;    // sampling defaults
  std::vector<int32_t> stop_ids;  // end-of-sequence ids
  int64_t ctx_size = 0;           // prompt + completion tokens of one sequence
  int64_t vocab_size = 0;         // token ids must be below this
  std::string fingerprint;        // system_fingerprint
  int64_t created = 0;            // unix time the server started
  std::shared_ptr<const VocabBytes> vocab_bytes;  // every token's bytes, for response_format json_object
};

// A request ready for the engine: one EngineRequest per choice (seed + i for choice i).
struct PreparedGeneration {
  std::vector<EngineRequest> choices;
  bool starts_in_reasoning = false;  // the prompt ended inside <think>
};

// Builds the prompt and parameters; errors: the chat template fails, token ids outside the vocabulary, a prompt
// that leaves no room to generate (400 context_length_exceeded), a thinking budget on a model without </think>,
// response_format json_object while unsupported.
std::optional<ApiError> prepare_generation(const ServedModel& model, const GenerationRequest& request,
                                           PreparedGeneration& out);

// Submits every choice; if one is refused the others are cancelled and the refusal is returned as an API error
// (429 queue full, 503 shutting down, 400 too long or invalid).
std::optional<ApiError> submit_all(Engine& engine, PreparedGeneration& prepared,
                                   std::vector<std::shared_ptr<RequestHandle>>& handles);

struct CompletedResponse {
  int status = 200;
  json body;
  Outcome outcome = Outcome::kSuccess;
};

// Non-streamed: waits for every choice and builds the chat.completion / text_completion object.
CompletedResponse run_to_completion(const ServedModel& model, const GenerationRequest& request,
                                    const PreparedGeneration& prepared,
                                    const std::vector<std::shared_ptr<RequestHandle>>& handles);

// Streamed: each step() writes the events that are ready ("data: {json}\n\n" per chunk) or, after
// `keep_alive` without tokens, a ": keep-alive" comment, so a client that went away is noticed even during a long
// prefill. A failed write cancels every choice at once.
class SseStream {
 public:
  using Writer = std::function<bool(std::string_view)>;  // false: the peer is gone

  SseStream(const ServedModel& model, const GenerationRequest& request, const PreparedGeneration& prepared,
            std::vector<std::shared_ptr<RequestHandle>> handles,
            std::chrono::milliseconds keep_alive = std::chrono::milliseconds(200));
  ~SseStream();  // cancels choices still running (the connection ended without finishing the stream)

  // Returns false when the client is gone (every choice is cancelled by then).
  bool step(const Writer& write);
  bool finished() const { return done_; }  // "data: [DONE]" was written
  Outcome outcome() const { return outcome_; }

 private:
  struct Choice;
  bool send(const Writer& write, const json& event);
  bool poll_choice(const Writer& write, Choice& c, std::chrono::milliseconds wait, bool& active);
  bool finish_choice(const Writer& write, Choice& c);
  bool close_stream(const Writer& write);
  void cancel_all();

  const ServedModel& model_;
  Endpoint endpoint_;
  bool include_usage_, has_logprobs_;
  ResponseMeta meta_;
  std::chrono::milliseconds keep_alive_;
  std::vector<std::unique_ptr<Choice>> choices_;
  bool started_ = false;  // the opening chunks were sent
  bool done_ = false;
  Usage usage_;
  Outcome outcome_ = Outcome::kSuccess;
};

}  // namespace r1::server
