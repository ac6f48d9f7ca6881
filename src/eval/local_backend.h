// Samples from a model loaded in this process: each call goes through the same request path as `r1 serve`
// (parse, chat template, sampling defaults, engine, reasoning split, usage) without HTTP, so a local evaluation
// and one against `r1 serve` of the same model see identical replies. The engine batches the concurrent calls.
// A model without a chat template (a base model such as the bundled stories260K), or any model when asked, is
// prompted with the user turn's plain text through the completions path, as evaluation harnesses do for base
// models (and as `r1 eval --endpoint … --api completions` asks an endpoint).
#pragma once

#include <memory>
#include <mutex>
#include <set>

#include "eval/endpoint.h"
#include "runtime/engine.h"
#include "server/generation.h"

namespace r1::eval {

struct LocalBackendOptions {
  std::string name;              // the model's name in requests and results
  int64_t parallel = 16;         // sequences decoded at once
  int64_t ctx_size = 4096;       // prompt + completion tokens per sequence
  size_t kv_memory = size_t(2) << 30;
  bool plain_prompt = false;     // prompt with the user turn's plain text even when the model has a chat template
};

class LocalBackend : public ChatBackend {
 public:
  // The model, tokenizer and generation defaults must outlive the backend.
  static Result<std::unique_ptr<LocalBackend>> create(Model& model, const Tokenizer& tokenizer,
                                                      const GenerationConfig& generation,
                                                      const LocalBackendOptions& options);
  ~LocalBackend() override;

  ChatReply complete(const nlohmann::json& request) override;
  void cancel() override;
  std::string model_name() const override { return served_.name; }
  bool plain_prompt() const { return plain_prompt_; }  // no chat template: the user turn's text is the prompt
  EngineStats stats() const { return engine_->stats(); }

 private:
  LocalBackend(std::unique_ptr<Engine> engine, server::ServedModel served, bool plain_prompt);
  std::unique_ptr<Engine> engine_;
  server::ServedModel served_;
  bool plain_prompt_;
  std::mutex mu_;
  bool cancelled_ = false;
  std::set<std::shared_ptr<RequestHandle>> running_;
};

}  // namespace r1::eval
