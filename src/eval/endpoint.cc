// The HTTP endpoint backend (see endpoint.h): one POST per attempt through a fresh httplib client (so threads
// never share one), the outcome sorted into done / retry / rejected / fatal, and waits between retries that
// cancel() ends at once.
//
// Limits worth knowing:
//  - `timeout` bounds the connect, each wait for data and each write; the body is also cut off once the whole
//    request has taken longer than `timeout`. A server that trickles header lines one at a time stays within
//    the per-read bound and is not cut off early.
//  - cancel() shuts down the sockets of requests on the wire; a request still connecting when cancel() comes
//    runs on until it connects and answers or until its timeout, then reports "cancelled".
//  - Retry-After is read in its delay-seconds form only; the HTTP-date form falls back to the usual backoff.
#include "eval/endpoint.h"

#include "eval/plain_prompt.h"

#include <fmt/core.h>
#include <httplib.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <optional>
#include <random>
#include <string_view>
#include <unordered_set>

namespace r1::eval {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// A chat completion is kilobytes; a body this large comes from a broken or hostile server.
constexpr uint64_t kMaxResponseBytes = uint64_t{64} << 20;
// How much of a non-JSON error body goes into a message.
constexpr size_t kMaxQuotedBytes = 300;
// --api completions without max_tokens: r1 eval refuses that, so this only guards direct callers of the backend.
constexpr int64_t kCompletionsDefaultMaxTokens = 256;

// "<prefix>/v1/chat/completions" -> "<prefix>/v1/completions".
std::string completions_path(const std::string& chat_path) {
  constexpr std::string_view kChat = "/chat/completions";
  return chat_path.substr(0, chat_path.size() - kChat.size()) + "/completions";
}

// ---- URL pieces ---------------------------------------------------------------------------------------------------

bool is_host_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_';
}
bool is_ipv6_char(char c) {
  return std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.';
}

// "1".."65535" only: no sign, no spaces, no leading junk that std::stoi would skip.
std::optional<int> parse_port(std::string_view text) {
  if (text.empty() || text.size() > 5) return std::nullopt;
  int port = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    port = port * 10 + (c - '0');
  }
  if (port < 1 || port > 65535) return std::nullopt;
  return port;
}

void strip_suffix(std::string& s, std::string_view suffix) {
  if (s.ends_with(suffix)) s.resize(s.size() - suffix.size());
}

// ---- one attempt --------------------------------------------------------------------------------------------------

// What one request came to.
struct Attempt {
  enum class Kind { kOk, kRetry, kRejected, kFatal };
  Kind kind = Kind::kRetry;
  json body;                                // kOk: the chat.completion object
  std::string error;                        // otherwise: "HTTP 503: overloaded", "Connection timed out", ...
  std::optional<milliseconds> retry_after;  // kRetry: the server's Retry-After, when it gave one in seconds
};

Attempt make_attempt(Attempt::Kind kind, std::string error) {
  Attempt attempt;
  attempt.kind = kind;
  attempt.error = std::move(error);
  return attempt;
}

// The start of a body for a message, cut at a UTF-8 character boundary.
std::string quote_body(std::string_view body) {
  if (body.size() <= kMaxQuotedBytes) return std::string(body);
  size_t end = kMaxQuotedBytes;
  while (end > 0 && (static_cast<unsigned char>(body[end]) & 0xC0) == 0x80) --end;
  return fmt::format("{}... ({} bytes)", body.substr(0, end), body.size());
}

// "HTTP 400: <error.message>" for an OpenAI-shaped error body, else the start of the raw body.
std::string describe_status(int status, std::string_view body) {
  const json parsed = json::parse(body, nullptr, /*allow_exceptions=*/false);
  std::string message;
  if (parsed.is_object() && parsed.contains("error")) {
    const json& error = parsed["error"];
    if (error.is_object() && error.contains("message") && error["message"].is_string()) {
      message = error["message"].get<std::string>();
    } else if (error.is_string()) {  // llama.cpp and some proxies: {"error": "..."}
      message = error.get<std::string>();
    }
  }
  if (message.empty()) message = quote_body(body);
  return message.empty() ? fmt::format("HTTP {}", status) : fmt::format("HTTP {}: {}", status, message);
}

// Retry-After in delay-seconds ("120"); the HTTP-date form and garbage give nothing.
std::optional<milliseconds> parse_retry_after(const httplib::Response& response) {
  if (!response.has_header("Retry-After")) return std::nullopt;
  const std::string value = response.get_header_value("Retry-After");
  if (value.empty() || value.size() > 9) return std::nullopt;  // 9 digits: over 30 years, no overflow
  int64_t seconds = 0;
  for (char c : value) {
    if (c < '0' || c > '9') return std::nullopt;
    seconds = seconds * 10 + (c - '0');
  }
  return std::chrono::seconds(seconds);
}

// 429, 408 and 5xx are the server's trouble and pass; 400/413/422 mean this request is at fault; other 4xx
// mean no request can succeed. A 2xx must carry a chat completion, else it was a proxy hiccup and is retried.
Attempt classify_response(const httplib::Response& response, std::string_view body,
                          const EndpointOptions& options, const EndpointUrl& url) {
  using Kind = Attempt::Kind;
  const int status = response.status;
  if (status >= 200 && status < 300) {
    json parsed = json::parse(body, nullptr, /*allow_exceptions=*/false);
    if (parsed.is_object() && parsed.contains("choices") && parsed["choices"].is_array()) {
      Attempt attempt;
      attempt.kind = Kind::kOk;
      attempt.body = std::move(parsed);
      return attempt;
    }
    return make_attempt(Kind::kRetry, fmt::format("HTTP {} with a body that is not a chat completion: {}",
                                                  status, quote_body(body)));
  }
  const std::string what = describe_status(status, body);
  if (status == 429 || status == 408 || (status >= 500 && status < 600)) {
    Attempt attempt = make_attempt(Kind::kRetry, what);
    attempt.retry_after = parse_retry_after(response);
    return attempt;
  }
  if (status == 400 || status == 413 || status == 422) {
    return make_attempt(Kind::kRejected, fmt::format("the endpoint rejected the request ({})", what));
  }
  if (status == 401) {
    return make_attempt(Kind::kFatal,
                        options.api_key.empty()
                            ? fmt::format("the endpoint wants an API key and none was given ({})", what)
                            : fmt::format("the endpoint refused the API key ({})", what));
  }
  if (status == 403) return make_attempt(Kind::kFatal, fmt::format("the endpoint refused access ({})", what));
  if (status == 404) {
    return make_attempt(Kind::kFatal,
                        fmt::format("the endpoint has no model '{}' or no chat completions at {} ({})",
                                    options.model, url.to_string(), what));
  }
  if (status >= 300 && status < 400 && response.has_header("Location")) {
    return make_attempt(Kind::kFatal, fmt::format("the endpoint redirects to {}; give that URL instead ({})",
                                                  response.get_header_value("Location"), what));
  }
  return make_attempt(Kind::kFatal, fmt::format("unexpected answer from {} ({})", url.to_string(), what));
}

// Transport failures: refused, dropped and timed-out connections pass; a certificate that does not verify or a
// client that cannot load its CA store will not get better. httplib names its errors only by enum names.
Attempt classify_transport_error(httplib::Error error, const EndpointOptions& options,
                                 const EndpointUrl& url) {
  using Kind = Attempt::Kind;
  const int64_t timeout_ms = options.timeout.count();
  switch (error) {
    case httplib::Error::Connection:
      return make_attempt(Kind::kRetry, "could not connect (refused or unreachable)");
    case httplib::Error::ConnectionTimeout:
      return make_attempt(Kind::kRetry, fmt::format("no connection within {} ms", timeout_ms));
    case httplib::Error::Read:
      return make_attempt(Kind::kRetry,
                          fmt::format("the connection dropped, or no data came within {} ms", timeout_ms));
    case httplib::Error::Write:
      return make_attempt(Kind::kRetry, "the connection dropped while the request was sent");
    case httplib::Error::SSLConnection:
      return make_attempt(Kind::kRetry, "the TLS handshake failed (does the server speak https?)");
    case httplib::Error::Compression:
      return make_attempt(Kind::kRetry, "the compressed body did not decompress");
    case httplib::Error::SSLServerVerification:
      return make_attempt(Kind::kFatal, fmt::format("the TLS certificate of {} does not verify", url.host));
    case httplib::Error::SSLLoadingCerts:
      return make_attempt(Kind::kFatal, "the system's CA certificates could not be loaded for https");
    case httplib::Error::BindIPAddress:
    case httplib::Error::ExceedRedirectCount:
    case httplib::Error::UnsupportedMultipartBoundaryChars:  // settings this backend never makes
      return make_attempt(Kind::kFatal, fmt::format("the HTTP client failed ({})", httplib::to_string(error)));
    default:  // Unknown: better retried a few times than the whole run stopped
      return make_attempt(Kind::kRetry, fmt::format("the HTTP client failed ({})", httplib::to_string(error)));
  }
}

// Keeps a client in the set cancel() stops while its request runs; leaves it even when send() throws.
class Registration {
 public:
  Registration(std::mutex& mutex, std::unordered_set<httplib::ClientImpl*>& clients,
               httplib::ClientImpl* client)
      : mutex_(mutex), clients_(clients), client_(client) {
    std::lock_guard<std::mutex> lock(mutex_);
    clients_.insert(client_);
  }
  ~Registration() {
    std::lock_guard<std::mutex> lock(mutex_);
    clients_.erase(client_);
  }
  Registration(const Registration&) = delete;
  Registration& operator=(const Registration&) = delete;

 private:
  std::mutex& mutex_;
  std::unordered_set<httplib::ClientImpl*>& clients_;
  httplib::ClientImpl* client_;
};

}  // namespace

// ---- URL ----------------------------------------------------------------------------------------------------------

std::string EndpointUrl::to_string() const {
  const bool ipv6 = host.find(':') != std::string::npos;
  return fmt::format("{}://{}{}{}:{}{}", https ? "https" : "http", ipv6 ? "[" : "", host, ipv6 ? "]" : "",
                     port, request_path);
}

Result<EndpointUrl> parse_endpoint_url(const std::string& url) {
  auto fail = [&](std::string_view why) { return Status::errorf("endpoint URL '{}': {}", url, why); };
  const size_t scheme_end = url.find("://");
  if (scheme_end == std::string::npos) {
    return fail("no scheme; write http://HOST[:PORT][/PATH] or https://HOST");
  }
  std::string scheme = url.substr(0, scheme_end);
  std::transform(scheme.begin(), scheme.end(), scheme.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  if (scheme != "http" && scheme != "https") {
    return fail(fmt::format("scheme '{}' is not http or https", scheme));
  }

  EndpointUrl out;
  out.https = scheme == "https";
  out.port = out.https ? 443 : 80;
  const std::string_view rest = std::string_view(url).substr(scheme_end + 3);
  const size_t authority_end = std::min(rest.find_first_of("/?#"), rest.size());
  const std::string_view authority = rest.substr(0, authority_end);
  const std::string_view path = rest.substr(authority_end);
  if (authority.find('@') != std::string_view::npos) {
    return fail("user:password@ is not supported; pass the API key on its own");
  }

  std::string_view host = authority;
  std::optional<std::string_view> port_text;
  if (authority.starts_with('[')) {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return fail("an IPv6 address without its closing ']'");
    host = authority.substr(1, close - 1);
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty() && !after.starts_with(':')) return fail("junk after the IPv6 address");
    if (!after.empty()) port_text = after.substr(1);
    if (host.empty() || !std::all_of(host.begin(), host.end(), is_ipv6_char)) {
      return fail(fmt::format("'{}' is not an IPv6 address", host));
    }
  } else {
    const size_t colon = authority.find(':');
    if (colon != std::string_view::npos) {
      host = authority.substr(0, colon);
      port_text = authority.substr(colon + 1);
    }
    if (host.empty()) return fail("no host");
    if (!std::all_of(host.begin(), host.end(), is_host_char)) {
      return fail(
          fmt::format("host '{}' has a character other than letters, digits, '.', '-' and '_'", host));
    }
  }
  out.host = std::string(host);
  if (port_text) {
    const std::optional<int> port = parse_port(*port_text);
    if (!port) return fail(fmt::format("port '{}' is not a number in 1..65535", *port_text));
    out.port = *port;
  }

  if (path.find_first_of("?#") != std::string_view::npos) return fail("a query or fragment is not supported");
  if (std::any_of(path.begin(), path.end(),
                  [](char c) { return static_cast<unsigned char>(c) <= ' ' || c == 0x7f; })) {
    return fail("the path has a space or a control character");
  }
  // Both OpenAI conventions work: the base URL ("http://h:p/v1") and the full route (".../v1/chat/completions").
  std::string prefix(path);
  while (prefix.ends_with('/')) prefix.pop_back();
  strip_suffix(prefix, "/chat/completions");
  strip_suffix(prefix, "/v1");
  out.request_path = prefix + "/v1/chat/completions";
  return out;
}

// ---- the backend --------------------------------------------------------------------------------------------------

struct EndpointBackend::Impl {
  EndpointOptions options;
  EndpointUrl url;
  std::atomic<bool> cancelled{false};
  std::atomic<int64_t> retries{0};
  std::mutex mutex;  // guards on_the_wire, and `cancelled` for the waits on `wake`
  std::condition_variable wake;
  std::unordered_set<httplib::ClientImpl*> on_the_wire;

  ChatReply complete(const json& request);
  Attempt send_once(const std::string& payload);
  milliseconds backoff(int retry, std::optional<milliseconds> retry_after) const;
  bool sleep_unless_cancelled(milliseconds delay);  // false when cancel() cut it short
};

ChatReply EndpointBackend::Impl::complete(const json& request) {
  ChatReply reply;
  auto cancelled_reply = [&] {
    reply.outcome = ChatReply::Outcome::kFatal;
    reply.error = "cancelled";
    return reply;
  };
  if (!request.is_object()) {
    reply.error = "the chat request is not a JSON object";
    return reply;
  }
  json body = options.completions ? completion_request(request, kCompletionsDefaultMaxTokens) : request;
  if (!body.contains("model")) body["model"] = options.model;
  const std::string payload = body.dump(-1, ' ', false, json::error_handler_t::replace);

  for (int retry = 0;; ++retry) {
    if (cancelled) return cancelled_reply();
    Attempt attempt = send_once(payload);
    ++reply.attempts;
    // A request cut off by cancel() fails like a dropped connection; say why instead.
    if (cancelled) return cancelled_reply();
    switch (attempt.kind) {
      case Attempt::Kind::kOk:
        reply.outcome = ChatReply::Outcome::kOk;
        reply.body = options.completions ? chat_reply(std::move(attempt.body)) : std::move(attempt.body);
        return reply;
      case Attempt::Kind::kRejected:
        reply.outcome = ChatReply::Outcome::kRejected;
        reply.error = std::move(attempt.error);
        return reply;
      case Attempt::Kind::kFatal:
        reply.error = std::move(attempt.error);
        return reply;
      case Attempt::Kind::kRetry:
        break;
    }
    if (retry >= options.max_retries) {
      reply.error = fmt::format("{} failed after {} attempt{}; the last: {}", url.to_string(), reply.attempts,
                                reply.attempts == 1 ? "" : "s", attempt.error);
      return reply;
    }
    if (!sleep_unless_cancelled(backoff(retry, attempt.retry_after))) return cancelled_reply();
    ++retries;
  }
}

Attempt EndpointBackend::Impl::send_once(const std::string& payload) {
  std::unique_ptr<httplib::ClientImpl> client;
  if (url.https) {
    client = std::make_unique<httplib::SSLClient>(url.host, url.port);
  } else {
    client = std::make_unique<httplib::ClientImpl>(url.host, url.port);
  }
  client->set_connection_timeout(options.timeout);
  client->set_read_timeout(options.timeout);
  client->set_write_timeout(options.timeout);

  httplib::Request request;
  request.method = "POST";
  request.path = options.completions ? completions_path(url.request_path) : url.request_path;
  request.headers = {
      {"Content-Type", "application/json"}, {"Accept", "application/json"}, {"User-Agent", "r1-eval"}};
  if (!options.api_key.empty()) request.headers.emplace("Authorization", "Bearer " + options.api_key);
  request.body = payload;

  // The body is collected here rather than by httplib so that its size and the deadline are checked as it comes.
  std::string body;
  bool too_large = false, too_slow = false;
  const Clock::time_point deadline = Clock::now() + options.timeout;
  request.content_receiver = [&](const char* data, size_t size, uint64_t /*offset*/, uint64_t total) {
    if (total > kMaxResponseBytes || body.size() + size > kMaxResponseBytes) {
      too_large = true;
      return false;
    }
    if (Clock::now() > deadline) {
      too_slow = true;
      return false;
    }
    body.append(data, size);
    return !cancelled;
  };

  const httplib::Result result = [&] {
    const Registration registration(mutex, on_the_wire, client.get());
    return client->send(request);
  }();
  if (too_large) {
    return make_attempt(Attempt::Kind::kFatal, fmt::format("{} sent a response over {} MiB", url.to_string(),
                                                           kMaxResponseBytes >> 20));
  }
  if (too_slow) {
    return make_attempt(Attempt::Kind::kRetry, fmt::format("no complete response within the timeout of {} ms",
                                                           options.timeout.count()));
  }
  if (!result) return classify_transport_error(result.error(), options, url);
  return classify_response(result.value(), body, options, url);
}

milliseconds EndpointBackend::Impl::backoff(int retry, std::optional<milliseconds> retry_after) const {
  if (retry_after) return std::min(*retry_after, options.backoff_max);
  // The exponent is capped so that 2^retry stays finite; backoff_max caps the product anyway.
  const double base =
      std::min<double>(static_cast<double>(options.backoff_max.count()),
                       static_cast<double>(options.backoff_initial.count()) * std::exp2(std::min(retry, 60)));
  // Jitter spreads the retries of many threads that failed together.
  thread_local std::mt19937_64 rng{std::random_device{}()};
  const double factor = std::uniform_real_distribution<double>(0.5, 1.5)(rng);
  return milliseconds(static_cast<int64_t>(std::llround(base * factor)));
}

bool EndpointBackend::Impl::sleep_unless_cancelled(milliseconds delay) {
  std::unique_lock<std::mutex> lock(mutex);
  return !wake.wait_for(lock, delay, [&] { return cancelled.load(); });
}

// ---- public face --------------------------------------------------------------------------------------------------

Result<std::unique_ptr<EndpointBackend>> EndpointBackend::create(const EndpointOptions& options) {
  R1_ASSIGN_OR_RETURN(EndpointUrl url, parse_endpoint_url(options.url));
  if (options.model.empty()) return Status::error("endpoint: no model name given");
  if (options.timeout.count() <= 0) {
    return Status::errorf("endpoint: timeout {} ms is not positive", options.timeout.count());
  }
  if (options.max_retries < 0) {
    return Status::errorf("endpoint: max_retries {} is negative", options.max_retries);
  }
  if (options.backoff_initial.count() < 0 || options.backoff_max.count() < 0) {
    return Status::error("endpoint: a negative backoff");
  }
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->url = std::move(url);
  return std::unique_ptr<EndpointBackend>(new EndpointBackend(std::move(impl)));
}

EndpointBackend::EndpointBackend(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
EndpointBackend::~EndpointBackend() = default;

ChatReply EndpointBackend::complete(const json& request) {
  // httplib and the allocator may throw; nothing escapes to the runner's threads.
  try {
    return impl_->complete(request);
  } catch (const std::exception& e) {
    ChatReply reply;
    reply.error = fmt::format("the HTTP client failed: {}", e.what());
    return reply;
  }
}

void EndpointBackend::cancel() {
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    impl_->cancelled = true;
    for (httplib::ClientImpl* client : impl_->on_the_wire) client->stop();
  }
  impl_->wake.notify_all();
}

std::string EndpointBackend::model_name() const {
  return impl_->options.model;
}

int64_t EndpointBackend::retries() const {
  return impl_->retries.load();
}

}  // namespace r1::eval
