#include "eval/metrics.h"

#include <gtest/gtest.h>

#include <cmath>

namespace r1::eval {
namespace {

// The probability that k samples drawn without replacement from n, c of them right, hold a right one: counted over
// every k-subset of the n samples.
double pass_at_k_by_enumeration(int n, int c, int k) {
  int64_t subsets = 0, hit = 0;
  for (uint32_t mask = 0; mask < (1u << n); ++mask) {
    if (__builtin_popcount(mask) != k) continue;
    ++subsets;
    hit += (mask & ((1u << c) - 1)) != 0;  // samples 0..c-1 are the right ones
  }
  return double(hit) / double(subsets);
}

TEST(EvalMetrics, PassAtKIsTheUnbiasedEstimator) {
  for (int n = 1; n <= 12; ++n)
    for (int c = 0; c <= n; ++c)
      for (int k = 1; k <= n; ++k)
        EXPECT_NEAR(pass_at_k(n, c, k), pass_at_k_by_enumeration(n, c, k), 1e-12) << n << " " << c << " " << k;
  // pass@1 is the fraction right; with n = k it is whether any was right.
  EXPECT_DOUBLE_EQ(pass_at_k(64, 16, 1), 0.25);
  EXPECT_DOUBLE_EQ(pass_at_k(8, 0, 8), 0.0);
  EXPECT_DOUBLE_EQ(pass_at_k(8, 1, 8), 1.0);
  // Large n stays finite and in range (no binomials).
  const double big = pass_at_k(100000, 3, 1000);
  EXPECT_GT(big, 0.0);
  EXPECT_LT(big, 1.0);
  EXPECT_NEAR(big, 1.0 - std::pow(1.0 - 1000.0 / 100000.0, 3), 1e-3);
}

TEST(EvalMetrics, MajorityVote) {
  using A = std::vector<std::optional<std::string>>;
  EXPECT_EQ(majority_answer(A{"3", "4", "4"}), "4");
  EXPECT_EQ(majority_answer(A{std::nullopt, std::nullopt}), std::nullopt);
  EXPECT_EQ(majority_answer(A{}), std::nullopt);
  // Samples without an answer do not vote.
  EXPECT_EQ(majority_answer(A{std::nullopt, std::nullopt, "7"}), "7");
  // A tie goes to the answer reached first.
  EXPECT_EQ(majority_answer(A{"5", "6", "6", "5"}), "5");
  EXPECT_EQ(majority_answer(A{"6", "5", "5", "6"}), "6");
  // Votes count by meaning: 0.5 and \frac{1}{2} are one answer with two votes.
  EXPECT_EQ(majority_answer(A{"3", "0.5", "\\frac{1}{2}"}), "0.5");
  EXPECT_EQ(majority_answer(A{"3", "1,000", "1000"}), "1,000");
}

}  // namespace
}  // namespace r1::eval
