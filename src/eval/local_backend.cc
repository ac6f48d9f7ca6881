#include "eval/local_backend.h"

#include "eval/plain_prompt.h"
#include "runtime/generation_defaults.h"

namespace r1::eval {

using json = nlohmann::json;


Result<std::unique_ptr<LocalBackend>> LocalBackend::create(Model& model, const Tokenizer& tokenizer,
                                                           const GenerationConfig& generation,
                                                           const LocalBackendOptions& options) {
  EngineOptions eo;
  eo.max_running = options.parallel;
  eo.max_waiting = options.parallel;  // the runner never has more requests in flight than that
  eo.ctx_size = std::min<int64_t>(options.ctx_size, model.info().max_position_embeddings);
  eo.kv_memory = options.kv_memory;
  auto engine = Engine::create(model, eo);
  if (!engine) return engine.status();
  server::ServedModel served{.name = options.name,
                             .tokenizer = &tokenizer,
                             .generation = generation,
                             .stop_ids = stop_ids(generation, tokenizer),
                             .ctx_size = eo.ctx_size,
                             .vocab_size = tokenizer.vocab_size(),
                             .fingerprint = "",
                             .created = 0,
                             .vocab_bytes = nullptr};
  const bool plain = options.plain_prompt || tokenizer.chat_template().empty();
  return std::unique_ptr<LocalBackend>(new LocalBackend(std::move(*engine), std::move(served), plain));
}

LocalBackend::LocalBackend(std::unique_ptr<Engine> engine, server::ServedModel served, bool plain_prompt)
    : engine_(std::move(engine)), served_(std::move(served)), plain_prompt_(plain_prompt) {}

LocalBackend::~LocalBackend() { engine_->shutdown(std::chrono::milliseconds(0)); }

ChatReply LocalBackend::complete(const nlohmann::json& request) {
  const auto refused = [](const server::ApiError& e) {
    // A request the model cannot take (too long for the context) is this sample's failure; anything else means
    // no request can succeed.
    const bool per_request = e.status == 400 || e.status == 413;
    return ChatReply{.outcome = per_request ? ChatReply::Outcome::kRejected : ChatReply::Outcome::kFatal,
                     .body = {},
                     .error = fmt::format("HTTP {}: {}", e.status, e.message),
                     .attempts = 1};
  };
  server::GenerationRequest parsed;
  const server::Endpoint endpoint = plain_prompt_ ? server::Endpoint::kCompletion : server::Endpoint::kChat;
  const json body = plain_prompt_ ? completion_request(request, served_.ctx_size) : request;
  if (auto e = server::parse_generation_request(body.dump(), endpoint, parsed)) return refused(*e);
  server::PreparedGeneration prepared;
  if (auto e = server::prepare_generation(served_, parsed, prepared)) return refused(*e);
  std::vector<std::shared_ptr<RequestHandle>> handles;
  {
    std::lock_guard lock(mu_);
    if (cancelled_) return ChatReply{.outcome = ChatReply::Outcome::kFatal, .body = {}, .error = "cancelled"};
    if (auto e = server::submit_all(*engine_, prepared, handles)) return refused(*e);
    running_.insert(handles.begin(), handles.end());
  }
  server::CompletedResponse response = server::run_to_completion(served_, parsed, prepared, handles);
  bool cancelled;
  {
    std::lock_guard lock(mu_);
    for (const auto& h : handles) running_.erase(h);
    cancelled = cancelled_;
  }
  if (cancelled) return ChatReply{.outcome = ChatReply::Outcome::kFatal, .body = {}, .error = "cancelled"};
  if (response.status != 200) {
    const auto& error = response.body.contains("error") ? response.body["error"] : response.body;
    return ChatReply{.outcome = ChatReply::Outcome::kFatal,
                     .body = {},
                     .error = fmt::format("HTTP {}: {}", response.status, error.dump())};
  }
  if (plain_prompt_) response.body = chat_reply(std::move(response.body));
  return ChatReply{.outcome = ChatReply::Outcome::kOk, .body = std::move(response.body), .error = "", .attempts = 1};
}

void LocalBackend::cancel() {
  std::lock_guard lock(mu_);
  cancelled_ = true;
  for (const auto& h : running_) h->cancel();
}

}  // namespace r1::eval
