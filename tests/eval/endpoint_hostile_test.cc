// The endpoint backend against servers that misbehave: oversized bodies, broken HTTP, pathological JSON. Each must
// end in a clear error after bounded time, never a crash or a hang.
#include "eval/endpoint.h"

#include <gtest/gtest.h>

#include <string>

#include "eval/endpoint_test_server.h"

namespace r1::eval {
namespace {

using namespace endpoint_test;

// ---- hostile servers ----------------------------------------------------------------------------------------------

TEST(EndpointBackend, AnOversizedBodyIsFatal) {
  // One body announced at 128 MiB, one streamed in 1 MiB chunks with no length until the client hangs up.
  const std::string chunk(1 << 20, ' ');
  ScriptedServer server([&](int n, httplib::Response& res) {
    auto write_chunk = [&](size_t, httplib::DataSink& sink) { return sink.write(chunk.data(), chunk.size()); };
    if (n == 0) {
      auto announced = [=](size_t offset, size_t, httplib::DataSink& sink) { return write_chunk(offset, sink); };
      res.set_content_provider(size_t{128} << 20, "application/json", announced);
    } else {
      res.set_chunked_content_provider("application/json", write_chunk);
    }
  });
  for (int i = 0; i < 2; ++i) {
    auto backend = make_backend(fast_options(server.url()));
    ASSERT_TRUE(backend);
    const ChatReply reply = backend->complete(kRequest);
    EXPECT_EQ(reply.outcome, ChatReply::Outcome::kFatal);
    EXPECT_EQ(reply.attempts, 1);
    EXPECT_NE(reply.error.find("over 64 MiB"), std::string::npos) << reply.error;
  }
}

TEST(EndpointBackend, SurvivesGarbage) {
  struct Case {
    std::string reply;
    int attempts;  // 2: retried once as a transport failure; 1: refused at once as over 64 MiB
  };
  const Case kCases[] = {
      {"", 2},  // closed without a word
      {"not http at all\r\n\r\n", 2},
      {"HTTP/1.1 2OO OK\r\nContent-Length: 2\r\n\r\n{}", 2},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n", 2},
      {"HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n{\"choices\":[", 2},  // cut short
      {"HTTP/1.1 200 OK\r\n" + std::string(100000, 'h') + "\r\n\r\n", 2},
      {"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n{}", 1},
  };
  for (const Case& c : kCases) {
    SCOPED_TRACE(c.reply.substr(0, 60));
    RawServer server(c.reply);
    EndpointOptions options = fast_options(server.url());
    options.max_retries = 1;
    options.timeout = 1s;
    auto backend = make_backend(options);
    ASSERT_TRUE(backend);
    const ChatReply reply = backend->complete(kRequest);
    EXPECT_EQ(reply.outcome, ChatReply::Outcome::kFatal);
    EXPECT_EQ(reply.attempts, c.attempts) << reply.error;
    EXPECT_FALSE(reply.error.empty());
  }
}

TEST(EndpointBackend, HttpsToAPlainServerFailsCleanly) {
  ScriptedServer server([](int, httplib::Response& res) { reply_ok(res); });
  EndpointOptions options = fast_options("https://127.0.0.1:" + std::to_string(server.port()));
  options.max_retries = 1;
  options.timeout = 1s;
  auto backend = make_backend(options);
  ASSERT_TRUE(backend);
  const ChatReply reply = backend->complete(kRequest);
  EXPECT_EQ(reply.outcome, ChatReply::Outcome::kFatal);
  EXPECT_EQ(reply.attempts, 2);  // a failed TLS handshake may be a passing fault, so it is retried
  EXPECT_NE(reply.error.find("https://127.0.0.1:"), std::string::npos) << reply.error;
}

TEST(EndpointBackend, SurvivesDeeplyNestedJson) {
  const std::string nested = std::string(200000, '[') + std::string(200000, ']');
  ScriptedServer server([&](int, httplib::Response& res) { res.set_content(nested, "application/json"); });
  EndpointOptions options = fast_options(server.url());
  options.max_retries = 0;
  auto backend = make_backend(options);
  ASSERT_TRUE(backend);
  const ChatReply reply = backend->complete(kRequest);
  EXPECT_EQ(reply.outcome, ChatReply::Outcome::kFatal);
  EXPECT_NE(reply.error.find("not a chat completion"), std::string::npos) << reply.error;
}

}  // namespace
}  // namespace r1::eval
