// The endpoint backend against scripted in-process servers: what goes on the wire, which answers are retried,
// rejected or fatal, backoff and Retry-After, cancel(), many threads at once.
#include "eval/endpoint.h"

#include <gtest/gtest.h>

#include <future>
#include <thread>
#include <vector>

#include "eval/endpoint_test_server.h"

namespace r1::eval {
namespace {

using namespace endpoint_test;

// ---- what goes on the wire ----------------------------------------------------------------------------------------

TEST(EndpointBackend, PostsTheRequestWithKeyAndHeaders) {
  ScriptedServer server([](int, httplib::Response& res) { reply_ok(res); });
  EndpointOptions options = fast_options(server.url());
  options.api_key = "sk-test";
  auto backend = make_backend(options);
  ASSERT_TRUE(backend);

  const ChatReply reply = backend->complete(kRequest);
  ASSERT_EQ(reply.outcome, ChatReply::Outcome::kOk) << reply.error;
  EXPECT_EQ(reply.attempts, 1);
  EXPECT_EQ(reply.body, json::parse(kCompletion));
  EXPECT_EQ(backend->retries(), 0);
  EXPECT_EQ(backend->model_name(), "m");

  ASSERT_EQ(server.requests(), 1);
  const Seen seen = server.seen(0);
  EXPECT_EQ(seen.path, "/v1/chat/completions");
  EXPECT_EQ(json::parse(seen.body), kRequest);
  auto header = [&](const char* key) {
    auto it = seen.headers.find(key);
    return it == seen.headers.end() ? std::string("<none>") : it->second;
  };
  EXPECT_EQ(header("Authorization"), "Bearer sk-test");
  EXPECT_EQ(header("Content-Type"), "application/json");
  EXPECT_EQ(header("User-Agent"), "r1-eval");
}

TEST(EndpointBackend, NoKeyNoAuthorizationAndTheModelFilledIn) {
  ScriptedServer server([](int, httplib::Response& res) { reply_ok(res); });
  auto backend = make_backend(fast_options(server.url()));
  ASSERT_TRUE(backend);
  json request = kRequest;
  request.erase("model");
  ASSERT_EQ(backend->complete(request).outcome, ChatReply::Outcome::kOk);
  const Seen seen = server.seen(0);
  EXPECT_EQ(seen.headers.count("Authorization"), 0u);
  EXPECT_EQ(json::parse(seen.body), kRequest);  // kRequest carries model "m", the options' model
}

TEST(EndpointBackend, CompletionsApiSendsThePlainPromptAndReadsTheText) {
  ScriptedServer server([](int, httplib::Response& res) {
    res.set_content(R"({"object": "text_completion", "choices": [{"index": 0, "text": "It is \\boxed{2}.",
                        "finish_reason": "stop"}], "usage": {"completion_tokens": 5}})",
                    "application/json");
  });
  EndpointOptions options = fast_options(server.url("/v1"));
  options.completions = true;
  auto backend = make_backend(options);
  ASSERT_TRUE(backend);
  const json request = {{"model", "m"},
                        {"messages", json::array({{{"role", "user"}, {"content", "What is 1+1?"}}})},
                        {"temperature", 0.6},
                        {"max_tokens", 32}};
  const ChatReply reply = backend->complete(request);
  ASSERT_EQ(reply.outcome, ChatReply::Outcome::kOk) << reply.error;
  EXPECT_EQ(reply.body["choices"][0]["message"]["content"], "It is \\boxed{2}.");
  EXPECT_FALSE(reply.body["choices"][0].contains("text"));
  EXPECT_EQ(reply.body["usage"]["completion_tokens"], 5);
  const Seen seen = server.seen(0);
  EXPECT_EQ(seen.path, "/v1/completions");
  const json sent = json::parse(seen.body);
  EXPECT_EQ(sent["prompt"], "What is 1+1?\n");
  EXPECT_FALSE(sent.contains("messages"));
  EXPECT_EQ(sent["max_tokens"], 32);
  EXPECT_EQ(sent["temperature"], 0.6);
  EXPECT_EQ(sent["model"], "m");
}

TEST(EndpointBackend, EveryUrlFormPostsToChatCompletions) {
  ScriptedServer server([](int, httplib::Response& res) { reply_ok(res); });
  const std::pair<const char*, const char*> kForms[] = {
      {"", "/v1/chat/completions"},
      {"/", "/v1/chat/completions"},
      {"/v1", "/v1/chat/completions"},
      {"/v1/", "/v1/chat/completions"},
      {"/v1/chat/completions", "/v1/chat/completions"},
      {"/api/v1", "/api/v1/chat/completions"},
      {"/api/v1//", "/api/v1/chat/completions"},
      {"/api", "/api/v1/chat/completions"},
  };
  int n = 0;
  for (const auto& [suffix, path] : kForms) {
    SCOPED_TRACE(suffix);
    auto backend = make_backend(fast_options(server.url(suffix)));
    ASSERT_TRUE(backend);
    EXPECT_EQ(backend->complete(kRequest).outcome, ChatReply::Outcome::kOk);
    ASSERT_EQ(server.requests(), ++n);
    EXPECT_EQ(server.seen(n - 1).path, path);
  }
}

TEST(EndpointBackend, ReachesAnIpv6Literal) {
  ScriptedServer server([](int, httplib::Response& res) { reply_ok(res); }, "::1");
  if (!server.bound()) GTEST_SKIP() << "no IPv6 loopback here";
  auto backend = make_backend(fast_options("http://[::1]:" + std::to_string(server.port()) + "/v1"));
  ASSERT_TRUE(backend);
  const ChatReply reply = backend->complete(kRequest);
  EXPECT_EQ(reply.outcome, ChatReply::Outcome::kOk) << reply.error;
}

// ---- retries ------------------------------------------------------------------------------------------------------

TEST(EndpointBackend, RetriesA429) {
  ScriptedServer server([](int n, httplib::Response& res) {
    if (n == 0) return reply_error(res, 429, "slow down");
    reply_ok(res);
  });
  auto backend = make_backend(fast_options(server.url()));
  ASSERT_TRUE(backend);
  const ChatReply reply = backend->complete(kRequest);
  EXPECT_EQ(reply.outcome, ChatReply::Outcome::kOk) << reply.error;
  EXPECT_EQ(reply.attempts, 2);
  EXPECT_EQ(backend->retries(), 1);
  EXPECT_EQ(server.requests(), 2);
}

TEST(EndpointBackend, Retries5xxThenSucceeds) {
  const int kStatuses[] = {503, 502, 500};
  ScriptedServer server([&](int n, httplib::Response& res) {
    if (n < 3) return reply_error(res, kStatuses[n], "overloaded");
    reply_ok(res);
  });
  auto backend = make_backend(fast_options(server.url()));
  ASSERT_TRUE(backend);
  const auto start = Clock::now();
  const ChatReply reply = backend->complete(kRequest);
  EXPECT_EQ(reply.outcome, ChatReply::Outcome::kOk) << reply.error;
  EXPECT_EQ(reply.attempts, 4);
  EXPECT_EQ(backend->retries(), 3);
  // The waits are at least half of 5, 10 and 20 ms.
  EXPECT_GE(seconds_since(start), 0.0175);
}

TEST(EndpointBackend, GivesUpAfterMaxRetries) {
  ScriptedServer server([](int, httplib::Response& res) { reply_error(res, 500, "boom"); });
  EndpointOptions options = fast_options(server.url());
  options.max_retries = 3;
  auto backend = make_backend(options);
  ASSERT_TRUE(backend);
  const ChatReply reply = backend->complete(kRequest);
  EXPECT_EQ(reply.outcome, ChatReply::Outcome::kFatal);
  EXPECT_EQ(reply.attempts, 4);
  EXPECT_EQ(server.requests(), 4);
  EXPECT_EQ(backend->retries(), 3);
  EXPECT_NE(reply.error.find("4 attempts"), std::string::npos) << reply.error;
  EXPECT_NE(reply.error.find("HTTP 500: boom"), std::string::npos) << reply.error;
}

TEST(EndpointBackend, BackoffDoublesAndIsCapped) {
  ScriptedServer server([](int, httplib::Response& res) { reply_error(res, 503, "busy"); });
  // Doubling: waits of at least half of 20, 40 and 80 ms.
  EndpointOptions options = fast_options(server.url());
  options.max_retries = 3;
  options.backoff_initial = 20ms;
  options.backoff_max = 1s;
  auto doubling = make_backend(options);
  ASSERT_TRUE(doubling);
  auto start = Clock::now();
  EXPECT_EQ(doubling->complete(kRequest).attempts, 4);
  EXPECT_GE(seconds_since(start), 0.070);
  // Capped: uncapped waits from a 2 s start would take at least 1 + 2 + 4 s.
  options.backoff_initial = 2s;
  options.backoff_max = 10ms;
  auto capped = make_backend(options);
  ASSERT_TRUE(capped);
  start = Clock::now();
  EXPECT_EQ(capped->complete(kRequest).attempts, 4);
  EXPECT_LT(seconds_since(start), 2.0);
}

TEST(EndpointBackend, HonoursRetryAfter) {
  ScriptedServer server([](int n, httplib::Response& res) {
    if (n > 0) return reply_ok(res);
    reply_error(res, 429, "rate limited");
    res.set_header("Retry-After", "1");
  });
  EndpointOptions options = fast_options(server.url());
  options.backoff_max = 5s;
  auto backend = make_backend(options);
  ASSERT_TRUE(backend);
  const auto start = Clock::now();
  const ChatReply reply = backend->complete(kRequest);
  EXPECT_EQ(reply.outcome, ChatReply::Outcome::kOk) << reply.error;
  EXPECT_EQ(reply.attempts, 2);
  EXPECT_GE(seconds_since(start), 0.9);  // the jittered backoff alone would be under 8 ms
}

TEST(EndpointBackend, CapsRetryAfterAtBackoffMax) {
  ScriptedServer server([](int n, httplib::Response& res) {
    if (n > 0) return reply_ok(res);
    reply_error(res, 503, "maintenance");
    res.set_header("Retry-After", "5");
  });
  auto backend = make_backend(fast_options(server.url()));  // backoff_max 50 ms
  ASSERT_TRUE(backend);
  const auto start = Clock::now();
  EXPECT_EQ(backend->complete(kRequest).outcome, ChatReply::Outcome::kOk);
  EXPECT_LT(seconds_since(start), 2.0);
}

TEST(EndpointBackend, RetriesA200ThatIsNotAChatCompletion) {
  ScriptedServer server([](int n, httplib::Response& res) {
    if (n == 0) return res.set_content("<html>502 Bad Gateway</html>", "text/html");
    if (n == 1) return res.set_content(R"({"object":"error","message":"try later"})", "application/json");
    if (n == 2) return res.set_content(R"({"choices":{"0":"not an array"}})", "application/json");
    reply_ok(res);
  });
  auto backend = make_backend(fast_options(server.url()));
  ASSERT_TRUE(backend);
  const ChatReply reply = backend->complete(kRequest);
  EXPECT_EQ(reply.outcome, ChatReply::Outcome::kOk) << reply.error;
  EXPECT_EQ(reply.attempts, 4);
}

TEST(EndpointBackend, RetriesARefusedConnectionThenGivesUp) {
  EndpointOptions options = fast_options("http://127.0.0.1:" + std::to_string(free_port()));
  options.max_retries = 2;
  auto backend = make_backend(options);
  ASSERT_TRUE(backend);
  const ChatReply reply = backend->complete(kRequest);
  EXPECT_EQ(reply.outcome, ChatReply::Outcome::kFatal);
  EXPECT_EQ(reply.attempts, 3);
  EXPECT_EQ(backend->retries(), 2);
  EXPECT_NE(reply.error.find("3 attempts"), std::string::npos) << reply.error;
}
TEST(EndpointBackend, TimesOutAStalledServer) {
  ScriptedServer* self = nullptr;
  ScriptedServer server([&](int, httplib::Response& res) {
    self->hold();
    reply_ok(res);
  });
  self = &server;
  EndpointOptions options = fast_options(server.url());
  options.timeout = 100ms;
  options.max_retries = 1;
  auto backend = make_backend(options);
  ASSERT_TRUE(backend);
  const auto start = Clock::now();
  const ChatReply reply = backend->complete(kRequest);
  const double elapsed = seconds_since(start);
  EXPECT_EQ(reply.outcome, ChatReply::Outcome::kFatal);
  EXPECT_EQ(reply.attempts, 2);
  EXPECT_GE(elapsed, 0.2);  // two reads that waited out their timeout
  EXPECT_LT(elapsed, 2.0);
}
// ---- refusals -----------------------------------------------------------------------------------------------------

TEST(EndpointBackend, RejectsThisRequestOnA400ClassAnswer) {
  const std::string kLong(5000, 'x');
  struct Case {
    int status;
    bool openai_shaped;
    std::string body;
    std::string expected;  // in the error
  };
  const Case kCases[] = {
      {400, true, "This model's maximum context length is 65536 tokens",
       "HTTP 400: This model's maximum context length is 65536 tokens"},
      {422, true, "messages: field required", "HTTP 422: messages: field required"},
      {413, false, "request entity too large", "HTTP 413: request entity too large"},
      {400, false, kLong, "HTTP 400: " + kLong.substr(0, 300)},
  };
  for (const Case& c : kCases) {
    SCOPED_TRACE(c.status);
    ScriptedServer server([&](int, httplib::Response& res) {
      if (c.openai_shaped) return reply_error(res, c.status, c.body);
      res.status = c.status;
      res.set_content(c.body, "text/plain");
    });
    auto backend = make_backend(fast_options(server.url()));
    ASSERT_TRUE(backend);
    const ChatReply reply = backend->complete(kRequest);
    EXPECT_EQ(reply.outcome, ChatReply::Outcome::kRejected);
    EXPECT_EQ(reply.attempts, 1);
    EXPECT_EQ(server.requests(), 1);
    EXPECT_NE(reply.error.find(c.expected), std::string::npos) << reply.error;
    EXPECT_LT(reply.error.size(), 500u);  // a long body is quoted only in part
  }
}

TEST(EndpointBackend, StopsAtOnceOnOther4xx) {
  struct Case {
    int status;
    std::vector<std::string> expected;  // all in the error
  };
  const Case kCases[] = {
      {401, {"API key", "HTTP 401: bad key"}},
      {403, {"refused access", "HTTP 403: bad key"}},
      {404, {"'m'", "/v1/chat/completions", "HTTP 404: bad key"}},
      {418, {"HTTP 418: bad key"}},
  };
  for (const Case& c : kCases) {
    SCOPED_TRACE(c.status);
    ScriptedServer server([&](int, httplib::Response& res) { reply_error(res, c.status, "bad key"); });
    EndpointOptions options = fast_options(server.url());
    options.api_key = "sk-wrong";
    auto backend = make_backend(options);
    ASSERT_TRUE(backend);
    const ChatReply reply = backend->complete(kRequest);
    EXPECT_EQ(reply.outcome, ChatReply::Outcome::kFatal);
    EXPECT_EQ(reply.attempts, 1);
    EXPECT_EQ(server.requests(), 1);
    for (const std::string& part : c.expected) EXPECT_NE(reply.error.find(part), std::string::npos) << reply.error;
  }
}

// ---- cancel -------------------------------------------------------------------------------------------------------

TEST(EndpointBackend, CancelEndsALongBackoffAtOnce) {
  ScriptedServer server([](int, httplib::Response& res) { reply_error(res, 503, "busy"); });
  EndpointOptions options = fast_options(server.url());
  options.backoff_initial = 10s;
  options.backoff_max = 10s;
  auto backend = make_backend(options);
  ASSERT_TRUE(backend);
  auto call = std::async(std::launch::async, [&] {
    ChatReply reply = backend->complete(kRequest);
    return std::make_pair(reply, Clock::now());
  });
  wait_for_requests(server, 1);
  std::this_thread::sleep_for(20ms);  // into the wait
  const auto cancelled_at = Clock::now();
  backend->cancel();
  ASSERT_EQ(call.wait_for(2s), std::future_status::ready);
  const auto [reply, returned_at] = call.get();
  EXPECT_LT(std::chrono::duration<double>(returned_at - cancelled_at).count(), 0.1);
  EXPECT_EQ(reply.outcome, ChatReply::Outcome::kFatal);
  EXPECT_EQ(reply.error, "cancelled");
  EXPECT_EQ(reply.attempts, 1);
  EXPECT_EQ(backend->retries(), 0);  // the retry was never sent

  const ChatReply later = backend->complete(kRequest);
  EXPECT_EQ(later.error, "cancelled");
  EXPECT_EQ(later.attempts, 0);
  EXPECT_EQ(server.requests(), 1);
}

TEST(EndpointBackend, CancelStopsARequestOnTheWire) {
  ScriptedServer* self = nullptr;
  ScriptedServer server([&](int, httplib::Response& res) {
    self->hold();
    reply_ok(res);
  });
  self = &server;
  EndpointOptions options = fast_options(server.url());
  options.timeout = 10s;
  auto backend = make_backend(options);
  ASSERT_TRUE(backend);
  auto call = std::async(std::launch::async, [&] { return backend->complete(kRequest); });
  wait_for_requests(server, 1);
  const auto start = Clock::now();
  backend->cancel();
  ASSERT_EQ(call.wait_for(2s), std::future_status::ready);
  EXPECT_LT(seconds_since(start), 0.5);  // the read timeout is 10 s
  const ChatReply reply = call.get();
  EXPECT_EQ(reply.error, "cancelled");
  EXPECT_EQ(reply.attempts, 1);
}

// ---- many threads -------------------------------------------------------------------------------------------------

TEST(EndpointBackend, SixteenThreadsAtOnceWithEveryOtherRequestThrottled) {
  std::atomic<int> throttled{0};
  ScriptedServer server([&](int n, httplib::Response& res) {
    if (n % 2 == 0) return reply_ok(res);
    ++throttled;
    reply_error(res, 429, "slow down");
  });
  EndpointOptions options = fast_options(server.url());
  options.max_retries = 30;  // a call is throttled 31 times in a row with no real chance
  auto backend = make_backend(options);
  ASSERT_TRUE(backend);
  constexpr int kThreads = 16;
  std::vector<ChatReply> replies(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) threads.emplace_back([&, i] { replies[i] = backend->complete(kRequest); });
  for (std::thread& thread : threads) thread.join();

  int attempts = 0;
  for (const ChatReply& reply : replies) {
    EXPECT_EQ(reply.outcome, ChatReply::Outcome::kOk) << reply.error;
    EXPECT_EQ(reply.body, json::parse(kCompletion));
    attempts += reply.attempts;
  }
  // Every request sent was counted once, and every 429 led to exactly one retry.
  EXPECT_EQ(attempts, server.requests());
  EXPECT_EQ(backend->retries(), attempts - kThreads);
  EXPECT_EQ(backend->retries(), throttled.load());
  EXPECT_GT(throttled.load(), 0);
}

}  // namespace
}  // namespace r1::eval
