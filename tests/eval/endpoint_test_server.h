// Scripted servers for the endpoint backend's tests: an httplib server whose answers a per-test function picks by
// request number, a raw TCP server for answers no HTTP library would send, and the options that make retries fast.
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "eval/endpoint.h"

namespace r1::eval::endpoint_test {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// ---- scripted servers ---------------------------------------------------------------------------------------------

// What a server saw of one request.
struct Seen {
  std::string path;
  httplib::Headers headers;
  std::string body;
};

// An httplib server on 127.0.0.1 (or another address) whose POST handler runs `script` with the 0-based number of
// the request.
class ScriptedServer {
 public:
  using Script = std::function<void(int n, httplib::Response& res)>;

  explicit ScriptedServer(Script script, const std::string& address = "127.0.0.1") : script_(std::move(script)) {
    server_.Post(".*", [this](const httplib::Request& req, httplib::Response& res) {
      int n;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        n = static_cast<int>(seen_.size());
        seen_.push_back({req.path, req.headers, req.body});
      }
      script_(n, res);
    });
    int listening = -1;
    server_.set_socket_options([&](int fd) { listening = fd; });
    port_ = server_.bind_to_any_port(address);
    if (port_ < 0) return;
    // httplib listens with a backlog of 5: sixteen clients connecting at once would overflow it, and a dropped
    // connection attempt is sent again only after a second. Listening again only resizes the queue.
    listen(listening, 64);
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // stop() before the listen loop runs would be lost and the join would hang.
    while (!server_.is_running()) std::this_thread::sleep_for(1ms);
  }
  ~ScriptedServer() {
    release();
    if (!thread_.joinable()) return;
    server_.stop();
    thread_.join();
  }

  bool bound() const { return port_ > 0; }
  std::string url(const std::string& path = "") const { return "http://127.0.0.1:" + std::to_string(port_) + path; }
  int port() const { return port_; }
  int requests() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return static_cast<int>(seen_.size());
  }
  Seen seen(int i) const {
    std::lock_guard<std::mutex> lock(mutex_);
    return seen_.at(i);
  }
  // For handlers that stall: blocks until release() (at the latest when the server goes), so that stalled handlers
  // do not hold up the server's shutdown.
  void hold() {
    std::unique_lock<std::mutex> lock(mutex_);
    released_cv_.wait_for(lock, 10s, [&] { return released_; });
  }
  void release() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      released_ = true;
    }
    released_cv_.notify_all();
  }

 private:
  Script script_;
  httplib::Server server_;
  std::thread thread_;
  int port_ = -1;
  mutable std::mutex mutex_;
  std::vector<Seen> seen_;
  std::condition_variable released_cv_;
  bool released_ = false;
};

// A TCP server on 127.0.0.1 that reads the start of each request, answers with fixed bytes and closes: for answers no
// HTTP library would send.
class RawServer {
 public:
  explicit RawServer(std::string reply) : reply_(std::move(reply)) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t size = sizeof addr;
    if (bind(fd_, reinterpret_cast<sockaddr*>(&addr), size) != 0 || listen(fd_, 16) != 0 ||
        getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &size) != 0) {
      ADD_FAILURE() << "raw server: no socket";
    }
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~RawServer() {
    stop_ = true;
    thread_.join();
    close(fd_);
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int connections() const { return connections_; }

 private:
  void serve() {
    while (!stop_) {
      pollfd pending{fd_, POLLIN, 0};
      if (poll(&pending, 1, 10) <= 0) continue;
      const int connection = accept(fd_, nullptr, nullptr);
      if (connection < 0) continue;
      char head[4096];
      (void)recv(connection, head, sizeof head, 0);
      (void)send(connection, reply_.data(), reply_.size(), MSG_NOSIGNAL);
      close(connection);
      ++connections_;
    }
  }

  std::string reply_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  std::thread thread_;
};

// A port with nothing listening: one the kernel just gave out to a socket that is closed again.
inline int free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t size = sizeof addr;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), size) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &size) != 0) {
    ADD_FAILURE() << "no free port";
  }
  close(fd);
  return ntohs(addr.sin_port);
}

// ---- replies and options ------------------------------------------------------------------------------------------

inline constexpr const char* kCompletion =
    R"({"id":"c1","object":"chat.completion","model":"m","choices":[{"index":0,"message":{"role":"assistant",)"
    R"("content":"4"},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":1,"total_tokens":6}})";

inline void reply_ok(httplib::Response& res) {
  res.status = 200;
  res.set_content(kCompletion, "application/json");
}

// An error in the OpenAI shape: {"error": {"message", "type", "code"}}.
inline void reply_error(httplib::Response& res, int status, const std::string& message) {
  res.status = status;
  const json body = {{"error", {{"message", message}, {"type", "invalid_request_error"}, {"code", nullptr}}}};
  res.set_content(body.dump(), "application/json");
}

inline const json kRequest = {
    {"model", "m"}, {"messages", {{{"role", "user"}, {"content", "2+2?"}}}}, {"stream", false}};

// Fast backoff so that retries cost milliseconds.
inline EndpointOptions fast_options(const std::string& url) {
  return {.url = url,
          .model = "m",
          .api_key = "",
          .timeout = 5s,
          .max_retries = 4,
          .backoff_initial = 5ms,
          .backoff_max = 50ms};
}

inline std::unique_ptr<EndpointBackend> make_backend(const EndpointOptions& options) {
  Result<std::unique_ptr<EndpointBackend>> backend = EndpointBackend::create(options);
  if (!backend) {
    ADD_FAILURE() << backend.message();
    return nullptr;
  }
  return std::move(backend).value();
}

inline double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Waits (bounded) until the server has seen `n` requests.
inline void wait_for_requests(const ScriptedServer& server, int n) {
  const auto give_up = Clock::now() + 5s;
  while (server.requests() < n && Clock::now() < give_up) std::this_thread::sleep_for(1ms);
}

}  // namespace r1::eval::endpoint_test
