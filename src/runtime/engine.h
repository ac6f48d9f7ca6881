// The serving engine: continuous batching over a paged KV cache with prefix caching.
//
// Front ends (the HTTP server, `r1 eval`) submit requests from any thread and read tokens back through a
// RequestHandle. One scheduler thread owns the model and the KV store. Every step it
//   1. drops cancelled requests (their blocks go back to the pool at once),
//   2. admits waiting requests while free blocks allow (reusing prefix-cached blocks from memory or disk),
//   3. builds one batch: one token for every decoding sequence plus chunks of prompts still in prefill, at most
//      `step_tokens` tokens in all, so a long prompt never stalls the running streams (chunked prefill),
//   4. runs one Model::forward_batch over it, samples every sequence that produced logits, and publishes the tokens.
// When a decoding sequence needs a block and none is free, the most recently admitted sequence is preempted: its
// blocks are released (full ones stay in the prefix cache) and it goes back to the front of the queue, to be
// recomputed from its prompt plus what it generated so far.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/status.h"
#include "model/model.h"
#include "runtime/generator.h"

namespace r1 {

struct EngineOptions {
  int64_t max_running = 16;      // sequences decoding at once (--parallel)
  int64_t max_waiting = 64;      // requests queued beyond those; submit() refuses more (HTTP 429)
  int64_t ctx_size = 4096;       // prompt + completion tokens of one sequence at most
  int64_t block_size = 16;       // token slots per KV block
  int64_t kv_blocks = 0;         // blocks in the KV store; 0: as many as kv_memory allows, at most
                                 // max_running * ctx_size tokens, at least one full context
  size_t kv_memory = size_t(2) << 30;
  int64_t step_tokens = 256;     // tokens per forward pass (decode tokens + prefill chunks)
  bool prefix_caching = true;    // reuse full KV blocks across requests by the hash of their token prefix
  std::string cache_dir = "";    // non-empty: the disk tier of the prefix cache lives here
  uint64_t cache_disk_limit = uint64_t(8) << 30;  // bytes of KV blocks on disk at most
  std::string model_fingerprint = "";  // identifies the weights (see model_fingerprint()); keys the disk tier
};

struct TokenLogprob {
  int32_t id;
  float logprob;  // natural log of the token's probability under the model's raw distribution (log_softmax of
                  // the logits, before penalties and temperature), as vLLM and OpenAI report it
};

struct TokenEvent {
  int32_t id;
  float logprob = 0.0f;           // when the request asked for logprobs
  std::vector<TokenLogprob> top = {};  // the top_logprobs most likely alternatives, most likely first
};

struct EngineRequest {
  std::vector<int32_t> prompt = {};  // non-empty
  GenerateParams params = {};   // max_tokens, sampling (a seed makes it reproducible), stop ids, thinking budget
  int top_logprobs = -1;        // -1: no logprobs; 0..20: the chosen token's logprob and that many alternatives
  std::shared_ptr<TokenConstraint> constraint = nullptr;  // optional
};

enum class SubmitError { kInvalid, kTooLong, kQueueFull, kShuttingDown };

// What a front end holds for one request. Thread-safe.
class RequestHandle {
 public:
  // Waits up to `timeout` for tokens not yet read and appends them to `out`. Returns false once the request has
  // finished and every token was read; check error() then.
  bool next(std::vector<TokenEvent>& out, std::chrono::milliseconds timeout);
  // Asks the engine to stop this request; its slot and blocks are freed at the next step.
  void cancel();
  bool finished() const;
  FinishReason finish_reason() const;  // kStop (a stop id), kLength (max_tokens or context), kCancelled
  std::string error() const;           // non-empty when the engine failed the request
  int64_t prompt_tokens() const;
  int64_t cached_tokens() const;       // prompt tokens whose KV came from the prefix cache (memory or disk)
  int64_t completion_tokens() const;
  double seconds_to_first_token() const;

  // For the engine only.
  struct State;
  explicit RequestHandle(std::shared_ptr<State> s) : s_(std::move(s)) {}
  State& state() { return *s_; }

 private:
  std::shared_ptr<State> s_;
};

struct EngineStats {
  int64_t requests_submitted = 0, requests_finished = 0, requests_cancelled = 0, requests_rejected = 0;
  int64_t requests_preempted = 0;
  int64_t prompt_tokens = 0, cached_prompt_tokens = 0, disk_cached_prompt_tokens = 0, generated_tokens = 0;
  int64_t waiting = 0, running = 0;    // now
  int64_t last_batch_tokens = 0, last_batch_sequences = 0;
  int64_t steps = 0;
  int64_t kv_blocks_total = 0, kv_blocks_used = 0, kv_blocks_cached = 0;  // used: held by running sequences;
                                                                          // cached: free but holding a prefix
  int64_t disk_blocks = 0;
  uint64_t disk_bytes = 0;
  int64_t disk_writes = 0, disk_hits = 0, disk_rejected = 0;  // rejected: corrupt, truncated or foreign files
  int64_t block_size = 0;
};

class Engine {
 public:
  static Result<std::unique_ptr<Engine>> create(Model& model, const EngineOptions& options);
  ~Engine();  // shutdown(0)

  // Queues a request. Errors: kInvalid (empty prompt, bad params, token ids outside the vocabulary),
  // kTooLong (prompt does not fit ctx_size, with at least one token to generate), kQueueFull, kShuttingDown.
  struct Submitted {
    std::shared_ptr<RequestHandle> handle;
    SubmitError error = SubmitError::kInvalid;
    std::string message;  // set when handle is null
  };
  Submitted submit(EngineRequest request);

  EngineStats stats() const;
  const EngineOptions& options() const;

  // Stops admitting, lets running and queued requests finish for up to `grace`, cancels the rest, writes the
  // in-memory prefix blocks to the disk tier, and stops the scheduler thread. Idempotent.
  void shutdown(std::chrono::milliseconds grace);

 private:
  struct Impl;
  explicit Engine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace r1
