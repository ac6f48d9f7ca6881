#include "sampling/sampler.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>

namespace r1 {
namespace {

std::vector<float> logits_of(std::vector<double> probs) {
  std::vector<float> l;
  for (double p : probs) l.push_back(p > 0 ? float(std::log(p)) : -INFINITY);
  return l;
}

// Frequencies of `n` draws.
std::map<int32_t, double> histogram(const SamplingParams& p, const std::vector<float>& logits, int n) {
  Sampler s(p, int64_t(logits.size()));
  std::map<int32_t, double> h;
  for (int i = 0; i < n; ++i) {
    auto l = logits;
    h[s.sample(l.data())] += 1.0 / n;
  }
  return h;
}

SamplingParams plain(uint64_t seed) {
  SamplingParams p;
  p.seed = seed;
  p.temperature = 1.0f;
  return p;
}

TEST(Sampler, GreedyTakesArgmax) {
  SamplingParams p;
  p.greedy = true;
  Sampler s(p, 4);
  std::vector<float> l = {0.1f, 3.0f, 2.9f, -1.0f};
  EXPECT_EQ(s.sample(l.data()), 1);
  p.greedy = false;
  p.temperature = 0.0f;  // temperature 0 is greedy too
  Sampler t(p, 4);
  l = {0.1f, 3.0f, 2.9f, -1.0f};
  EXPECT_EQ(t.sample(l.data()), 1);
}

TEST(Sampler, DrawsFollowTheDistribution) {
  const auto l = logits_of({0.5, 0.3, 0.15, 0.05});
  const auto h = histogram(plain(1), l, 40000);
  EXPECT_NEAR(h.at(0), 0.5, 0.01);
  EXPECT_NEAR(h.at(1), 0.3, 0.01);
  EXPECT_NEAR(h.at(2), 0.15, 0.01);
  EXPECT_NEAR(h.at(3), 0.05, 0.01);
}

TEST(Sampler, TemperatureSharpens) {
  auto p = plain(2);
  p.temperature = 0.5f;  // p^2 renormalised: 0.25/0.34, 0.09/0.34
  const auto h = histogram(p, logits_of({0.5, 0.3, 0.0}), 40000);
  EXPECT_NEAR(h.at(0), 0.25 / 0.34, 0.01);
  EXPECT_EQ(h.count(2), 0u);
}

TEST(Sampler, TopKTopPMinP) {
  const auto l = logits_of({0.4, 0.3, 0.2, 0.1});
  auto p = plain(3);
  p.top_k = 2;
  auto h = histogram(p, l, 20000);
  EXPECT_EQ(h.size(), 2u);
  EXPECT_NEAR(h.at(0), 0.4 / 0.7, 0.015);
  p = plain(4);
  p.top_p = 0.65f;  // 0.4 + 0.3 reaches 0.65: two tokens stay
  h = histogram(p, l, 20000);
  EXPECT_EQ(h.size(), 2u);
  p = plain(5);
  p.top_p = 0.35f;  // the first token alone reaches it
  h = histogram(p, l, 1000);
  EXPECT_EQ(h.size(), 1u);
  p = plain(6);
  p.min_p = 0.6f;  // keeps p >= 0.24: tokens 0 and 1
  h = histogram(p, l, 20000);
  EXPECT_EQ(h.size(), 2u);
  EXPECT_NEAR(h.at(1), 0.3 / 0.7, 0.015);
}

TEST(Sampler, TopPOverALargeVocabulary) {
  // 2000 equally likely tokens: top_p 0.5001 keeps the first 1001 (ties broken by id), beyond the first sorted
  // prefix of 64.
  std::vector<float> l(2000, 0.0f);
  auto p = plain(7);
  p.top_p = 0.5001f;
  const auto h = histogram(p, l, 3000);
  for (const auto& [id, _] : h) EXPECT_LE(id, 1000);
  EXPECT_GT(h.size(), 800u);  // about 1001 * (1 - e^-3) distinct ids expected
}

TEST(Sampler, SeedReproducesAndDiffers) {
  const auto l = logits_of({0.25, 0.25, 0.25, 0.25});
  auto run = [&](uint64_t seed) {
    Sampler s(plain(seed), 4);
    std::vector<int32_t> out;
    for (int i = 0; i < 64; ++i) {
      auto c = l;
      out.push_back(s.sample(c.data()));
    }
    return out;
  };
  EXPECT_EQ(run(42), run(42));
  EXPECT_NE(run(42), run(43));
}

TEST(Sampler, Penalties) {
  SamplingParams p;
  p.greedy = true;
  p.repetition_penalty = 2.0f;
  Sampler s(p, 3);
  const int32_t ctx[] = {0};
  s.add_context(ctx);
  std::vector<float> l = {3.0f, 2.0f, 1.0f};  // token 0 is penalised to 1.5: token 1 wins
  EXPECT_EQ(s.sample(l.data()), 1);
  EXPECT_FLOAT_EQ(l[0], 1.5f);
  std::vector<float> neg = {-1.0f, -3.0f, -2.5f};  // negative logits are multiplied: token 0 -> -2, token 1 -> -6
  EXPECT_EQ(s.sample(neg.data()), 0);
  EXPECT_FLOAT_EQ(neg[1], -6.0f);

  SamplingParams q;
  q.greedy = true;
  q.presence_penalty = 0.5f;
  q.frequency_penalty = 1.0f;
  Sampler f(q, 2);
  std::vector<float> a = {5.0f, 4.0f};
  EXPECT_EQ(f.sample(a.data()), 0);  // no output yet: no penalty
  std::vector<float> b = {5.0f, 4.0f};
  EXPECT_EQ(f.sample(b.data()), 1);  // token 0 once in the output: 5 - 0.5 - 1 = 3.5 < 4
  EXPECT_FLOAT_EQ(b[0], 3.5f);
}

TEST(Sampler, ValidatesParams) {
  SamplingParams p;
  p.top_p = 0.0f;
  EXPECT_FALSE(p.validate().is_ok());
  p = {};
  p.temperature = -1.0f;
  EXPECT_FALSE(p.validate().is_ok());
  p = {};
  EXPECT_TRUE(p.validate().is_ok());
}

}  // namespace
}  // namespace r1
