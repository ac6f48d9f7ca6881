#include "server/generation.h"

#include <fmt/core.h>

#include <algorithm>
#include <ctime>

#include "runtime/generation_defaults.h"
#include "tokenizer/chat_format.h"

namespace r1::server {

namespace {

using std::chrono::milliseconds;

// How long a non-streamed request waits per poll; it only bounds the loop, tokens wake it earlier.
constexpr milliseconds kPoll(1000);

ApiError context_exceeded(const GenerationRequest& request, int64_t prompt_tokens, int64_t ctx) {
  return ApiError{.message = fmt::format("This model's maximum context length is {} tokens. However, your prompt "
                                         "has {} tokens, which leaves no room to generate.",
                                         ctx, prompt_tokens),
                  .param = request.endpoint == Endpoint::kChat ? "messages" : "prompt",
                  .code = "context_length_exceeded"};
}

std::optional<ApiError> build_prompt(const ServedModel& model, const GenerationRequest& request,
                                     std::vector<int32_t>& prompt, bool& in_reasoning) {
  const Tokenizer& tok = *model.tokenizer;
  if (request.endpoint == Endpoint::kChat) {
    if (tok.chat_template().empty())
      return ApiError{.message = "this model has no chat template; use /v1/completions", .param = "messages"};
    auto text = render_chat(tok, request.messages, /*add_generation_prompt=*/true);
    if (!text) return ApiError{.message = "chat template: " + text.message(), .param = "messages"};
    in_reasoning = prompt_ends_in_reasoning(*text);
    prompt = tok.encode(*text, /*add_special=*/false);
  } else if (request.prompt_is_ids) {
    for (int32_t id : request.prompt_ids)
      if (id >= model.vocab_size)
        return ApiError{.message = fmt::format("token id {} is outside the vocabulary ({} tokens)", id, model.vocab_size),
                        .param = "prompt"};
    prompt = request.prompt_ids;
  } else {
    in_reasoning = prompt_ends_in_reasoning(request.prompt_text);
    prompt = tok.encode(request.prompt_text, /*add_special=*/true);
  }
  if (prompt.empty()) {
    if (!tok.bos_id()) return ApiError{.message = "the prompt is empty", .param = "prompt"};
    prompt.push_back(*tok.bos_id());
  }
  return std::nullopt;
}

SamplingParams resolve_sampling(const GenerationConfig& g, const SamplingOverrides& o) {
  SamplingParams p = sampling_defaults(g);
  if (o.temperature) p.temperature = *o.temperature;
  if (o.top_p) p.top_p = *o.top_p;
  if (o.top_k) p.top_k = *o.top_k;
  if (o.min_p) p.min_p = *o.min_p;
  if (o.presence_penalty) p.presence_penalty = *o.presence_penalty;
  if (o.frequency_penalty) p.frequency_penalty = *o.frequency_penalty;
  if (o.repetition_penalty) p.repetition_penalty = *o.repetition_penalty;
  p.seed = o.seed;
  return p;
}

OutputStreamOptions stream_options(const GenerationRequest& request, const PreparedGeneration& prepared) {
  return {.stop = request.stop,
          .split_reasoning = request.endpoint == Endpoint::kChat,
          .starts_in_reasoning = prepared.starts_in_reasoning,
          .logprobs = request.top_logprobs >= 0};
}

ResponseMeta response_meta(const ServedModel& model, Endpoint endpoint) {
  return {.id = new_response_id(endpoint),
          .created = int64_t(std::time(nullptr)),
          .model = model.name,
          .system_fingerprint = model.fingerprint};
}

void append(StreamPiece& into, StreamPiece&& from) {
  into.reasoning += from.reasoning;
  into.content += from.content;
  for (TokenLogprobText& t : from.logprobs) into.logprobs.push_back(std::move(t));
}

// OpenAI's finish_reason: "stop" for a stop id or stop string, "length" for max_tokens or the context.
std::string finish_reason(const RequestHandle& handle, const OutputStream& out) {
  return out.stopped() ? "stop" : finish_reason_name(handle.finish_reason());
}

ApiError engine_failure(const std::string& message) {
  return ApiError{.status = 500, .message = "generation failed: " + message, .type = "server_error"};
}

}  // namespace

std::optional<ApiError> prepare_generation(const ServedModel& model, const GenerationRequest& request,
                                           PreparedGeneration& out) {
  out = PreparedGeneration{};
  std::vector<int32_t> prompt;
  if (auto e = build_prompt(model, request, prompt, out.starts_in_reasoning)) return e;
  const int64_t room = model.ctx_size - int64_t(prompt.size());
  if (room < 1) return context_exceeded(request, int64_t(prompt.size()), model.ctx_size);

  GenerateParams params;
  // Chat answers may use the rest of the context; completions default to 16 tokens as OpenAI's do. A larger
  // request is clamped to the room left (finish_reason "length" says so).
  const int64_t default_max = request.endpoint == Endpoint::kChat ? room : 16;
  params.max_tokens = std::min(request.max_tokens.value_or(default_max), room);
  params.sampling = resolve_sampling(model.generation, request.sampling);
  if (Status s = params.sampling.validate(); !s) return ApiError{.message = s.message()};
  if (!request.ignore_eos) params.stop_ids = model.stop_ids;
  auto budget = thinking_budget(*model.tokenizer, request.max_thinking_tokens.value_or(-1), out.starts_in_reasoning);
  if (!budget) return ApiError{.message = budget.message(), .param = "max_thinking_tokens"};
  params.thinking = std::move(*budget);

  for (int i = 0; i < request.n; ++i) {
    EngineRequest r{.prompt = prompt, .params = params, .top_logprobs = request.top_logprobs, .constraint = nullptr};
    if (request.json_object) {
      // The answer (after any reasoning) is kept a JSON object prefix token by token; EOS only once complete.
      if (!model.vocab_bytes || model.stop_ids.empty())
        return ApiError{.message = "response_format json_object needs a model with an end-of-sequence token",
                        .param = "response_format"};
      auto c = make_json_constraint(model.vocab_bytes, {.starts_in_reasoning = out.starts_in_reasoning,
                                                        .think_open_id = params.thinking.open_id,
                                                        .think_close_id = params.thinking.close_id,
                                                        .eos_ids = model.stop_ids});
      if (!c) return ApiError{.message = c.message(), .param = "response_format"};
      r.constraint = std::move(*c);
      r.params.stop_ids = model.stop_ids;  // ignore_eos would leave a complete object nowhere to stop
    }
    // Choices of one seeded request differ from each other and are each reproducible.
    if (params.sampling.seed) r.params.sampling.seed = *params.sampling.seed + uint64_t(i);
    out.choices.push_back(std::move(r));
  }
  return std::nullopt;
}

std::optional<ApiError> submit_all(Engine& engine, PreparedGeneration& prepared,
                                   std::vector<std::shared_ptr<RequestHandle>>& handles) {
  handles.clear();
  for (EngineRequest& r : prepared.choices) {
    Engine::Submitted s = engine.submit(std::move(r));
    if (s.handle) {
      handles.push_back(std::move(s.handle));
      continue;
    }
    for (auto& h : handles) h->cancel();
    handles.clear();
    switch (s.error) {
      case SubmitError::kQueueFull:
        return ApiError{.status = 429, .message = "the server is busy: " + s.message, .type = "rate_limit_error",
                        .code = "queue_full", .retry_after_s = 1};
      case SubmitError::kShuttingDown:
        return ApiError{.status = 503, .message = "the server is shutting down", .type = "server_error",
                        .code = "shutting_down", .retry_after_s = 5};
      case SubmitError::kTooLong:
        return ApiError{.message = s.message, .code = "context_length_exceeded"};
      case SubmitError::kInvalid: return ApiError{.message = s.message};
    }
  }
  return std::nullopt;
}

CompletedResponse run_to_completion(const ServedModel& model, const GenerationRequest& request,
                                    const PreparedGeneration& prepared,
                                    const std::vector<std::shared_ptr<RequestHandle>>& handles) {
  std::vector<ChoiceResult> choices;
  Usage usage;
  for (const auto& handle : handles) {
    OutputStream out(*model.tokenizer, stream_options(request, prepared));
    StreamPiece text;
    std::vector<TokenEvent> events;
    for (bool more = true; more && !out.stopped();) {
      events.clear();
      more = handle->next(events, kPoll);
      for (const TokenEvent& e : events) append(text, out.push(e));
    }
    if (out.stopped()) handle->cancel();  // a stop string ended it before the engine did
    else if (!handle->error().empty()) {
      for (const auto& h : handles) h->cancel();
      return {500, error_body(engine_failure(handle->error())), Outcome::kError};
    }
    append(text, out.finish());
    choices.push_back(ChoiceResult{.reasoning = std::move(text.reasoning),
                                   .content = std::move(text.content),
                                   .finish_reason = finish_reason(*handle, out),
                                   .logprobs = std::move(text.logprobs),
                                   .has_logprobs = request.top_logprobs >= 0});
    usage.completion_tokens += out.tokens();
    usage.reasoning_tokens += out.reasoning_tokens();
  }
  // All choices share one prompt, counted once as OpenAI does.
  usage.prompt_tokens = handles.front()->prompt_tokens();
  usage.cached_tokens = handles.front()->cached_tokens();
  return {200, completion_object(request.endpoint, response_meta(model, request.endpoint), choices, usage),
          Outcome::kSuccess};
}

// ---------------------------------------------------------------------------------------------------------------
// Streaming

struct SseStream::Choice {
  int index;
  std::shared_ptr<RequestHandle> handle;
  OutputStream out;
  bool finished = false;
  int64_t text_bytes = 0;  // completions: text sent so far, for logprobs' text_offset
};

SseStream::SseStream(const ServedModel& model, const GenerationRequest& request, const PreparedGeneration& prepared,
                     std::vector<std::shared_ptr<RequestHandle>> handles, std::chrono::milliseconds keep_alive)
    : model_(model),
      endpoint_(request.endpoint),
      include_usage_(request.include_usage),
      has_logprobs_(request.top_logprobs >= 0),
      meta_(response_meta(model, request.endpoint)),
      keep_alive_(keep_alive) {
  for (size_t i = 0; i < handles.size(); ++i)
    choices_.push_back(std::unique_ptr<Choice>(
        new Choice{int(i), std::move(handles[i]), OutputStream(*model.tokenizer, stream_options(request, prepared))}));
  usage_.prompt_tokens = choices_.front()->handle->prompt_tokens();
}

SseStream::~SseStream() { cancel_all(); }

void SseStream::cancel_all() {
  for (auto& c : choices_)
    if (!c->finished) c->handle->cancel();
}

bool SseStream::send(const Writer& write, const json& event) { return write("data: " + dump(event) + "\n\n"); }

bool SseStream::finish_choice(const Writer& write, Choice& c) {
  c.finished = true;
  if (c.out.stopped()) c.handle->cancel();
  usage_.completion_tokens += c.out.tokens();
  usage_.reasoning_tokens += c.out.reasoning_tokens();
  if (!c.out.stopped() && !c.handle->error().empty()) {
    outcome_ = Outcome::kError;
    return send(write, error_body(engine_failure(c.handle->error())));
  }
  return send(write, chunk_object(endpoint_, meta_, c.index, c.out.finish(), /*first=*/false,
                                  finish_reason(*c.handle, c.out), has_logprobs_, c.text_bytes));
}

bool SseStream::poll_choice(const Writer& write, Choice& c, std::chrono::milliseconds wait, bool& active) {
  std::vector<TokenEvent> events;
  const bool more = c.handle->next(events, wait);
  StreamPiece piece;
  for (const TokenEvent& e : events) append(piece, c.out.push(e));
  // Tokens arrived: no keep-alive needed, even when their text is still held back (a partial tag or character).
  if (!events.empty()) active = true;
  // One chunk per poll: the tokens that arrived together are sent together.
  if (!piece.empty()) {
    const int64_t offset = c.text_bytes;
    c.text_bytes += int64_t(piece.content.size());
    if (!send(write, chunk_object(endpoint_, meta_, c.index, piece, false, std::nullopt, has_logprobs_, offset)))
      return false;
  }
  if (!more || c.out.stopped()) {
    active = true;
    return finish_choice(write, c);
  }
  return true;
}

bool SseStream::close_stream(const Writer& write) {
  done_ = true;
  usage_.cached_tokens = choices_.front()->handle->cached_tokens();
  if (include_usage_ && !send(write, usage_chunk(endpoint_, meta_, usage_))) return false;
  return write("data: [DONE]\n\n");
}

bool SseStream::step(const Writer& write) {
  if (done_) return true;
  bool ok = true;
  if (!started_) {
    started_ = true;
    if (endpoint_ == Endpoint::kChat)  // OpenAI opens every chat choice with the assistant role
      for (auto& c : choices_) ok = ok && send(write, chunk_object(endpoint_, meta_, c->index, {}, true, {}, false));
  }
  bool active = false;  // tokens arrived or a choice finished
  milliseconds wait = keep_alive_;  // block on the first running choice only, then poll the rest
  for (auto& c : choices_) {
    if (!ok || c->finished) continue;
    ok = poll_choice(write, *c, wait, active);
    wait = milliseconds(0);
  }
  // Nothing for a while (a long prefill, a full queue): a comment line finds out whether the client is still there.
  if (ok && !active) ok = write(": keep-alive\n\n");
  if (ok && std::all_of(choices_.begin(), choices_.end(), [](auto& c) { return c->finished; }))
    ok = close_stream(write);
  if (!ok) {
    cancel_all();
    outcome_ = Outcome::kCancelled;
  }
  return ok;
}

}  // namespace r1::server
