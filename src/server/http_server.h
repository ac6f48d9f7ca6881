// The HTTP front end of `r1 serve`: OpenAI/DeepSeek-compatible routes over cpp-httplib, API-key checks, error
// bodies, Server-Sent Events, and an orderly shutdown (new requests get 503 while the engine drains).
//
//   POST /v1/chat/completions, /v1/completions   generation, streamed (SSE) or not
//   GET  /v1/models, /v1/models/{id}             the served model
//   POST /tokenize, /detokenize                  the model's tokenizer
//   GET  /health                                 200 ok, 503 while shutting down (never needs the key)
//   GET  /metrics                                Prometheus text
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <string>

#include "core/status.h"
#include "runtime/engine.h"
#include "server/generation.h"
#include "server/metrics.h"

namespace r1::server {

struct ServerOptions {
  std::string host = "127.0.0.1";  // loopback unless asked otherwise
  int port = 8080;                 // 0: any free port (see HttpServer::port())
  std::string api_key;             // non-empty: "Authorization: Bearer <key>" required
  size_t max_body = size_t(8) << 20;  // larger request bodies get 413
};

class HttpServer {
 public:
  // `engine` and `model` must outlive the server.
  HttpServer(Engine& engine, const ServedModel& model, ServerOptions options);
  ~HttpServer();

  // Binds the listening socket; port() is the real port afterwards.
  Status bind();
  int port() const { return port_; }
  // Serves until stop(); returns once every connection has been handled.
  Status serve();
  // From now on every request but /health gets 503, and /health too. Thread-safe.
  void begin_shutdown() { shutting_down_ = true; }
  // Closes the listener; serve() returns. Thread-safe.
  void stop();

 private:
  class Routes;
  Engine& engine_;
  const ServedModel& model_;
  ServerOptions options_;
  ServerCounters counters_;
  std::atomic<bool> shutting_down_{false};
  int port_ = 0;
  std::unique_ptr<Routes> routes_;
};

}  // namespace r1::server
