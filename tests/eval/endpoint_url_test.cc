// Endpoint URLs: the forms people paste (base URLs with and without /v1, full routes, IPv6 literals) and the ones
// refused, plus the other options create() checks.
#include "eval/endpoint.h"

#include <gtest/gtest.h>

#include <functional>
#include <utility>

#include "eval/endpoint_test_server.h"

namespace r1::eval {
namespace {

using namespace endpoint_test;

// ---- URLs and options ---------------------------------------------------------------------------------------------

TEST(EndpointUrl, ParsesTheUsualForms) {
  struct Case {
    const char* url;
    bool https;
    const char* host;
    int port;
    const char* path;
  };
  const Case kCases[] = {
      {"http://127.0.0.1:8080", false, "127.0.0.1", 8080, "/v1/chat/completions"},
      {"http://localhost", false, "localhost", 80, "/v1/chat/completions"},
      {"https://api.deepseek.com", true, "api.deepseek.com", 443, "/v1/chat/completions"},
      {"https://api.deepseek.com/v1/", true, "api.deepseek.com", 443, "/v1/chat/completions"},
      {"HTTP://Box-1.lan:1/api/v1", false, "Box-1.lan", 1, "/api/v1/chat/completions"},
      {"http://h:65535/v1/chat/completions/", false, "h", 65535, "/v1/chat/completions"},
      {"http://[::1]:9000/v1", false, "::1", 9000, "/v1/chat/completions"},
      {"https://[2001:db8::1]", true, "2001:db8::1", 443, "/v1/chat/completions"},
      {"http://h/v2", false, "h", 80, "/v2/v1/chat/completions"},     // only a final /v1 is the version
      {"http://h/apiv1", false, "h", 80, "/apiv1/v1/chat/completions"},  // ... and only as a whole segment
  };
  for (const Case& c : kCases) {
    SCOPED_TRACE(c.url);
    const Result<EndpointUrl> url = parse_endpoint_url(c.url);
    ASSERT_TRUE(url) << url.message();
    EXPECT_EQ(url->https, c.https);
    EXPECT_EQ(url->host, c.host);
    EXPECT_EQ(url->port, c.port);
    EXPECT_EQ(url->request_path, c.path);
  }
  EXPECT_EQ(parse_endpoint_url("http://[::1]:9000/v1/")->to_string(), "http://[::1]:9000/v1/chat/completions");
  EXPECT_EQ(parse_endpoint_url("https://api.deepseek.com")->to_string(),
            "https://api.deepseek.com:443/v1/chat/completions");
}

TEST(EndpointUrl, RefusesWhatIsNotHttpHostPortPath) {
  const char* kBad[] = {
      "",
      "localhost:8080",  // no scheme: an error rather than a guess at http
      "ftp://x",
      "http://",
      "http://:8080",
      "http://h:",
      "http://h:0",
      "http://h:65536",
      "http://h:80a",
      "http://h:-1",
      "http://h: 80",
      "http://user:pw@h",
      "http://h/v1?x=1",
      "http://h#top",
      "http://h/a b",
      "http://[::1",
      "http://[zz::1]",
      "http://[::1]x",
      "http://h^st",
  };
  for (const char* bad : kBad) {
    const Result<EndpointUrl> url = parse_endpoint_url(bad);
    ASSERT_FALSE(url) << "'" << bad << "' was accepted";
    EXPECT_NE(url.message().find(bad), std::string::npos) << url.message();
  }
}

TEST(EndpointBackend, CreateRefusesBadOptions) {
  const EndpointOptions good = fast_options("http://localhost:8080");
  EXPECT_TRUE(EndpointBackend::create(good));
  const std::pair<const char*, std::function<void(EndpointOptions&)>> kSpoilers[] = {
      {"no scheme", [](EndpointOptions& o) { o.url = "localhost:8080"; }},
      {"no model", [](EndpointOptions& o) { o.model.clear(); }},
      {"negative retries", [](EndpointOptions& o) { o.max_retries = -1; }},
      {"no time at all", [](EndpointOptions& o) { o.timeout = 0ms; }},
      {"negative backoff", [](EndpointOptions& o) { o.backoff_initial = -1ms; }},
  };
  for (const auto& [what, spoil] : kSpoilers) {
    EndpointOptions options = good;
    spoil(options);
    EXPECT_FALSE(EndpointBackend::create(options)) << what;
  }
}

}  // namespace
}  // namespace r1::eval
