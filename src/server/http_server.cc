#include "server/http_server.h"

#include <fmt/core.h>
#include <httplib.h>
#include <sys/socket.h>

#include "server/auth.h"
#include "server/web_assets.h"
#include "tokenizer/chat_format.h"

namespace r1::server {

namespace {

void send_json(httplib::Response& res, const json& body, int status = 200) {
  res.status = status;
  res.set_content(dump(body), "application/json");
}

void send_error(httplib::Response& res, const ApiError& e) {
  if (e.retry_after_s > 0) res.set_header("Retry-After", std::to_string(e.retry_after_s));
  send_json(res, error_body(e), e.status);
}

ApiError model_not_found(const std::string& name) {
  return ApiError{.status = 404, .message = fmt::format("The model '{}' does not exist", name), .param = "model",
                  .code = "model_not_found"};
}

// The error for a status httplib produced itself (no route, body too large, unreadable request).
ApiError transport_error(const httplib::Request& req, int status, size_t max_body) {
  switch (status) {
    case 404:
      return ApiError{.status = 404, .message = fmt::format("no route for {} {}", req.method, req.path),
                      .code = "not_found"};
    case 413:
      return ApiError{.status = 413, .message = fmt::format("the request body is larger than {} bytes", max_body),
                      .code = "request_too_large"};
    default:
      return ApiError{.status = status, .message = fmt::format("HTTP {}", status),
                      .type = status >= 500 ? "server_error" : "invalid_request_error"};
  }
}

}  // namespace

class HttpServer::Routes {
 public:
  explicit Routes(HttpServer& server) : s_(server) { install(); }
  httplib::Server http;

 private:
  void install();
  httplib::Server::HandlerResponse before_routing(const httplib::Request& req, httplib::Response& res);
  void generation(const httplib::Request& req, httplib::Response& res, Endpoint endpoint);
  void tokenize(const httplib::Request& req, httplib::Response& res);
  void detokenize(const httplib::Request& req, httplib::Response& res);
  void fail(httplib::Response& res, const ApiError& e) {
    s_.counters_.count(e.status == 429 || e.status == 503 ? Outcome::kRejected
                       : e.status >= 500                  ? Outcome::kError
                                                          : Outcome::kInvalid);
    send_error(res, e);
  }

  HttpServer& s_;
};

void HttpServer::Routes::install() {
  const EngineOptions& eo = s_.engine_.options();
  // Every running or queued request holds a worker thread (streams block in it), plus a few for /health,
  // /metrics and requests that will be refused: fewer threads would starve connections instead of answering 429.
  const size_t threads = size_t(eo.max_running + eo.max_waiting + 8);
  http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  http.set_payload_max_length(s_.options_.max_body);
  http.set_pre_routing_handler([this](const auto& req, auto& res) { return before_routing(req, res); });
  http.set_error_handler(httplib::Server::HandlerWithResponse([this](const auto& req, auto& res) {
    // Handlers write their own bodies; only statuses httplib set by itself arrive here without one.
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    send_error(res, transport_error(req, res.status, s_.options_.max_body));
    return httplib::Server::HandlerResponse::Handled;
  }));
  http.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "internal error";
    try {
      if (ep) std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    send_error(res, ApiError{.status = 500, .message = what, .type = "server_error"});
  });

  http.Post("/v1/chat/completions", [this](const auto& req, auto& res) { generation(req, res, Endpoint::kChat); });
  http.Post("/v1/completions", [this](const auto& req, auto& res) { generation(req, res, Endpoint::kCompletion); });
  http.Post("/tokenize", [this](const auto& req, auto& res) { tokenize(req, res); });
  http.Post("/detokenize", [this](const auto& req, auto& res) { detokenize(req, res); });
  http.Get("/v1/models", [this](const auto&, auto& res) {
    const ServedModel& m = s_.model_;
    send_json(res, {{"object", "list"}, {"data", json::array({model_object(m.name, m.created, m.ctx_size)})}});
  });
  http.Get(R"(/v1/models/(.+))", [this](const httplib::Request& req, httplib::Response& res) {
    const ServedModel& m = s_.model_;
    if (req.matches[1] != m.name) return send_error(res, model_not_found(req.matches[1]));
    send_json(res, model_object(m.name, m.created, m.ctx_size));
  });
  // The chat page and its libraries, compiled in (server/web_assets.h). No key needed: the page asks for it.
  http.Get(R"(/|/index\.html|/assets/.+)", [](const httplib::Request& req, httplib::Response& res) {
    const std::optional<WebAsset> asset = web_asset(req.path);
    if (!asset) return send_error(res, ApiError{.status = 404, .message = "no such file", .code = "not_found"});
    res.set_header("Cache-Control", "no-cache");  // file names carry no version: an upgrade must not serve stale ones
    res.set_content(asset->body.data(), asset->body.size(), std::string(asset->content_type));
  });
  http.Get("/health", [this](const auto&, auto& res) {
    if (s_.shutting_down_) return send_json(res, {{"status", "shutting down"}}, 503);
    send_json(res, {{"status", "ok"}});
  });
  http.Get("/metrics", [this](const auto&, auto& res) {
    res.set_content(render_metrics(s_.engine_.stats(), s_.counters_), "text/plain; version=0.0.4");
  });
}

httplib::Server::HandlerResponse HttpServer::Routes::before_routing(const httplib::Request& req,
                                                                     httplib::Response& res) {
  using R = httplib::Server::HandlerResponse;
  if (req.path == "/health") return R::Unhandled;  // load balancers probe it without a key, also while draining
  if (req.method == "GET" && web_asset(req.path)) return R::Unhandled;  // the page, which then asks for the key
  if (s_.shutting_down_) {
    send_error(res, ApiError{.status = 503, .message = "the server is shutting down", .type = "server_error",
                             .code = "shutting_down", .retry_after_s = 5});
    return R::Handled;
  }
  if (!s_.options_.api_key.empty() && !bearer_matches(req.get_header_value("Authorization"), s_.options_.api_key)) {
    send_error(res, ApiError{.status = 401,
                             .message = "a valid API key is required (Authorization: Bearer <key>)",
                             .code = "invalid_api_key"});
    return R::Handled;
  }
  return R::Unhandled;
}

void HttpServer::Routes::generation(const httplib::Request& req, httplib::Response& res, Endpoint endpoint) {
  GenerationRequest request;
  if (auto e = parse_generation_request(req.body, endpoint, request)) return fail(res, *e);
  if (!request.model.empty() && request.model != s_.model_.name) return fail(res, model_not_found(request.model));
  PreparedGeneration prepared;
  if (auto e = prepare_generation(s_.model_, request, prepared)) return fail(res, *e);
  std::vector<std::shared_ptr<RequestHandle>> handles;
  if (auto e = submit_all(s_.engine_, prepared, handles)) return fail(res, *e);

  if (!request.stream) {
    CompletedResponse done = run_to_completion(s_.model_, request, prepared, handles);
    s_.counters_.count(done.outcome);
    return send_json(res, done.body, done.status);
  }
  auto stream = std::make_shared<SseStream>(s_.model_, request, prepared, std::move(handles));
  res.set_header("Cache-Control", "no-cache");
  res.set_chunked_content_provider(
      "text/event-stream",
      [stream](size_t, httplib::DataSink& sink) {
        const bool alive = stream->step([&](std::string_view s) { return sink.write(s.data(), s.size()); });
        if (alive && stream->finished()) sink.done();
        return alive;
      },
      // Runs when the response is over, finished or not: an unfinished stream means the client went away.
      [stream, this](bool success) {
        s_.counters_.count(success && stream->finished() ? stream->outcome() : Outcome::kCancelled);
      });
}

void HttpServer::Routes::tokenize(const httplib::Request& req, httplib::Response& res) {
  TokenizeRequest request;
  if (auto e = parse_tokenize_request(req.body, request)) return send_error(res, *e);
  const Tokenizer& tok = *s_.model_.tokenizer;
  std::vector<int32_t> ids;
  if (request.is_chat) {
    auto text = render_chat(tok, request.messages, /*add_generation_prompt=*/true);
    if (!text) return send_error(res, ApiError{.message = "chat template: " + text.message(), .param = "messages"});
    ids = tok.encode(*text, /*add_special=*/false);
  } else {
    ids = tok.encode(request.text, request.add_special);
  }
  send_json(res, {{"tokens", ids}, {"count", ids.size()}, {"max_model_len", s_.model_.ctx_size}});
}

void HttpServer::Routes::detokenize(const httplib::Request& req, httplib::Response& res) {
  std::vector<int32_t> ids;
  if (auto e = parse_detokenize_request(req.body, ids)) return send_error(res, *e);
  for (int32_t id : ids)
    if (id >= s_.model_.vocab_size)
      return send_error(res, ApiError{.message = fmt::format("token id {} is outside the vocabulary", id),
                                      .param = "tokens"});
  const std::string text = s_.model_.tokenizer->decode(ids);
  // llama.cpp answers with "content", vLLM with "prompt": both, so either client works.
  send_json(res, {{"content", text}, {"prompt", text}});
}

// ---------------------------------------------------------------------------------------------------------------

HttpServer::HttpServer(Engine& engine, const ServedModel& model, ServerOptions options)
    : engine_(engine), model_(model), options_(std::move(options)), routes_(std::make_unique<Routes>(*this)) {}

HttpServer::~HttpServer() = default;


Status HttpServer::bind() {
  // cpp-httplib 0.11 listens with a backlog of 5: when more clients connect at once (an evaluation or a benchmark
  // opening 16 streams), the kernel drops the extra SYNs and those clients wait for the 1 s retransmit. The
  // socket-options hook is the one place httplib shows the listening socket; listening again after the bind only
  // resizes its queue.
  int listening = -1;
  routes_->http.set_socket_options([&listening](socket_t fd) {
    httplib::default_socket_options(fd);
    listening = fd;
  });
  if (options_.port == 0) {
    port_ = routes_->http.bind_to_any_port(options_.host);
  } else if (routes_->http.bind_to_port(options_.host, options_.port)) {
    port_ = options_.port;
  }
  routes_->http.set_socket_options(httplib::default_socket_options);  // the hook saw the one socket it was for
  if (port_ <= 0) return Status::errorf("cannot listen on {}:{}", options_.host, options_.port);
  if (listening >= 0) ::listen(listening, SOMAXCONN);
  return Status::ok();
}

Status HttpServer::serve() {
  if (!routes_->http.listen_after_bind()) return Status::error("the HTTP listener stopped with an error");
  return Status::ok();
}

void HttpServer::stop() { routes_->http.stop(); }

}  // namespace r1::server
