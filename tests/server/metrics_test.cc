// /metrics text: every sample belongs to a family announced by HELP and TYPE lines, names and labels follow the
// Prometheus exposition format, and the values are the ones given.
#include <gtest/gtest.h>

#include <map>
#include <regex>
#include <sstream>

#include "server/metrics.h"

namespace r1::server {
namespace {

TEST(Metrics, ExpositionFormatAndValues) {
  EngineStats s;
  s.prompt_tokens = 400;
  s.cached_prompt_tokens = 100;
  s.generated_tokens = 77;
  s.waiting = 3;
  s.running = 2;
  s.last_batch_sequences = 2;
  s.last_batch_tokens = 130;
  s.kv_blocks_total = 64;
  s.kv_blocks_used = 10;
  s.kv_blocks_cached = 5;
  s.disk_blocks = 9;
  s.disk_bytes = uint64_t(5) << 32;  // past 32 bits
  s.disk_hits = 4;
  s.disk_rejected = 1;
  ServerCounters counters;
  counters.count(Outcome::kSuccess);
  counters.count(Outcome::kSuccess);
  counters.count(Outcome::kRejected);

  const std::string text = render_metrics(s, counters);
  ASSERT_FALSE(text.empty());
  ASSERT_EQ(text.back(), '\n');
  const std::regex help(R"(# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) .+)");
  const std::regex type(R"(# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge))");
  const std::regex sample(R"(([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-z_]+="[a-z]+"\})? (-?[0-9.e+]+))");
  std::map<std::string, double> values;
  std::string helped, typed;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    std::smatch m;
    if (std::regex_match(line, m, help)) {
      helped = m[1];
    } else if (std::regex_match(line, m, type)) {
      typed = m[1];
      EXPECT_EQ(typed, helped) << "TYPE without its HELP: " << line;
      if (m[2] == "counter") {
        EXPECT_TRUE(typed.ends_with("_total")) << typed;
      }
    } else if (std::regex_match(line, m, sample)) {
      EXPECT_EQ(m[1], typed) << "sample outside its family: " << line;
      values[m[1].str() + m[2].str()] = std::stod(m[3]);
    } else {
      ADD_FAILURE() << "not exposition format: " << line;
    }
  }
  EXPECT_EQ(values["r1_requests_total{outcome=\"success\"}"], 2);
  EXPECT_EQ(values["r1_requests_total{outcome=\"rejected\"}"], 1);
  EXPECT_EQ(values["r1_requests_total{outcome=\"cancelled\"}"], 0);
  EXPECT_EQ(values["r1_prompt_tokens_total"], 400);
  EXPECT_EQ(values["r1_generation_tokens_total"], 77);
  EXPECT_EQ(values["r1_queue_depth"], 3);
  EXPECT_EQ(values["r1_requests_running"], 2);
  EXPECT_EQ(values["r1_batch_sequences"], 2);
  EXPECT_EQ(values["r1_batch_tokens"], 130);
  EXPECT_EQ(values["r1_prefix_cache_hit_tokens_total"], 100);
  EXPECT_DOUBLE_EQ(values["r1_prefix_cache_hit_rate"], 0.25);
  EXPECT_EQ(values["r1_kv_blocks_total"], 64);
  EXPECT_EQ(values["r1_kv_blocks_used"], 10);
  EXPECT_EQ(values["r1_kv_blocks_cached"], 5);
  EXPECT_EQ(values["r1_disk_cache_blocks"], 9);
  EXPECT_EQ(values["r1_disk_cache_bytes"], double(uint64_t(5) << 32));
  EXPECT_EQ(values["r1_disk_cache_hits_total"], 4);
  EXPECT_EQ(values["r1_disk_cache_rejected_total"], 1);
}

TEST(Metrics, HitRateIsZeroBeforeAnyPrompt) {
  const std::string text = render_metrics(EngineStats{}, ServerCounters{});
  EXPECT_NE(text.find("\nr1_prefix_cache_hit_rate 0\n"), std::string::npos) << text;
}

}  // namespace
}  // namespace r1::server
