// Countdown: the solver against an independent subset-based enumeration, and the expression checker on valid
// forms and a table of hostile inputs.
#include "train/countdown.h"

#include <gtest/gtest.h>

#include <bit>
#include <set>
#include <string>

namespace r1::train {
namespace {

// The reference: the values of every subset (bit mask) of the numbers, built from all splits of the subset into
// two non-empty parts, with the solver's rules (positive results, exact division, no x 1 or / 1).
std::map<int64_t, int> reachable_by_subsets(const std::vector<int64_t>& numbers) {
  const uint32_t n = uint32_t(numbers.size()), full = (1u << n) - 1;
  std::vector<std::set<int64_t>> values(full + 1);
  for (uint32_t i = 0; i < n; ++i) values[1u << i] = {numbers[i]};
  for (uint32_t mask = 1; mask <= full; ++mask) {
    if (std::popcount(mask) < 2) continue;
    for (uint32_t a = (mask - 1) & mask; a; a = (a - 1) & mask) {
      const uint32_t b = mask ^ a;
      for (int64_t x : values[a])
        for (int64_t y : values[b]) {
          values[mask].insert(x + y);
          if (x > 1 && y > 1) values[mask].insert(x * y);
          if (x > y) values[mask].insert(x - y);
          if (y > 1 && x % y == 0) values[mask].insert(x / y);
        }
    }
  }
  std::map<int64_t, int> fewest;  // value -> fewest numbers that make it
  for (uint32_t mask = 1; mask <= full; ++mask) {
    if (std::popcount(mask) < 2) continue;
    for (int64_t v : values[mask]) {
      auto [it, fresh] = fewest.emplace(v, std::popcount(mask));
      if (!fresh) it->second = std::min(it->second, std::popcount(mask));
    }
  }
  for (int64_t x : numbers) fewest.erase(x);
  return fewest;
}

TEST(Countdown, SolverMatchesSubsetEnumerationAndItsSolutionsCheck) {
  const std::vector<std::vector<int64_t>> cases = {
      {2, 3}, {1, 1}, {4, 2, 3}, {75, 25, 3, 4}, {7, 7, 7, 7}, {1, 2, 3, 4, 5}, {100, 6, 9, 50, 2}};
  for (const auto& numbers : cases) {
    auto got = countdown_reachable(numbers);
    ASSERT_TRUE(got.is_ok()) << got.message();
    const std::map<int64_t, int> want = reachable_by_subsets(numbers);
    ASSERT_EQ(got->size(), want.size()) << ::testing::PrintToString(numbers);
    for (const auto& [value, solution] : *got) {
      ASSERT_TRUE(want.count(value)) << value;
      EXPECT_EQ(solution.numbers_used, want.at(value)) << value;  // the fewest numbers
      EXPECT_TRUE(check_countdown(numbers, value, solution.expression)) << solution.expression << " = " << value;
      ASSERT_EQ(solution.steps.size(), size_t(solution.numbers_used - 1)) << solution.expression;
      EXPECT_EQ(solution.steps.back().result, value);
    }
  }
  // Small cases by hand: {2, 3} makes 5, 6 and 1 (3 / 2 is not exact); {1, 1} only 2 (no x 1, no 0, no / 1).
  auto two_three = countdown_reachable(std::vector<int64_t>{2, 3});
  EXPECT_EQ(two_three->size(), 3u);
  EXPECT_EQ(two_three->at(6).expression, "3 * 2");
  auto ones = countdown_reachable(std::vector<int64_t>{1, 1});
  ASSERT_EQ(ones->size(), 1u);
  EXPECT_EQ(ones->begin()->first, 2);
}

// Minimal parentheses: dropping any pair from a rendered solution changes its value (or makes it invalid).
TEST(Countdown, EveryPairOfParenthesesIsNeeded) {
  int pairs = 0;
  for (const std::vector<int64_t>& numbers : {std::vector<int64_t>{75, 25, 3, 4}, {9, 8, 6, 2, 3}}) {
    auto r = countdown_reachable(numbers);
    ASSERT_TRUE(r.is_ok());
    for (const auto& [value, s] : *r) {
      const std::string& e = s.expression;
      for (size_t open = e.find('('); open != std::string::npos; open = e.find('(', open + 1)) {
        size_t close = open;
        for (int depth = 0;; ++close) {
          depth += e[close] == '(' ? 1 : e[close] == ')' ? -1 : 0;
          if (depth == 0) break;
        }
        std::string dropped = e;
        dropped.erase(close, 1);
        dropped.erase(open, 1);
        auto parsed = parse_countdown_expression(dropped);
        EXPECT_TRUE(!parsed.is_ok() || parsed->value != value) << e << " -> " << dropped;
        ++pairs;
      }
    }
  }
  EXPECT_GT(pairs, 100);  // the property was exercised
}

TEST(Countdown, SolverRejectsBadNumbers) {
  EXPECT_FALSE(countdown_reachable(std::vector<int64_t>{5}).is_ok());
  EXPECT_FALSE(countdown_reachable(std::vector<int64_t>{1, 2, 3, 4, 5, 6}).is_ok());
  EXPECT_FALSE(countdown_reachable(std::vector<int64_t>{0, 2}).is_ok());
  EXPECT_FALSE(countdown_reachable(std::vector<int64_t>{2, 10001}).is_ok());
}

TEST(Countdown, ParserReadsValidForms) {
  struct Valid {
    const char* text;
    int64_t value;
    std::vector<int64_t> numbers;
  };
  const Valid cases[] = {
      {"(75 - 25) * 3 + 4", 154, {75, 25, 3, 4}},
      {"75-25*3+4", 4, {75, 25, 3, 4}},  // precedence: 75 - 75 + 4
      {"100 / 4 / 5", 5, {100, 4, 5}},   // left to right
      {"2 \xC3\x97 3 \xC3\xB7 6", 1, {2, 3, 6}},
      {"2 \\times (3 + 1) \\div 4", 2, {2, 3, 1, 4}},
      {"\\left(8 \xE2\x88\x92 2\\right) \\cdot 7", 42, {8, 2, 7}},
      {" 6 * 7 = 42 ", 42, {6, 7}},
      {"5 - 9", -4, {5, 9}},  // a negative intermediate is an integer: allowed
      {"007", 7, {7}},
  };
  for (const Valid& c : cases) {
    auto r = parse_countdown_expression(c.text);
    ASSERT_TRUE(r.is_ok()) << c.text << ": " << r.message();
    EXPECT_EQ(r->value, c.value) << c.text;
    EXPECT_EQ(r->numbers, c.numbers) << c.text;
  }
}

TEST(Countdown, ParserRejectsHostileInput) {
  const std::string deep_ok = std::string(32, '(') + "1" + std::string(32, ')');
  const std::string too_deep = std::string(33, '(') + "1" + std::string(33, ')');
  std::string long_sum = "1";
  while (long_sum.size() < 300) long_sum += "+1";
  ASSERT_TRUE(parse_countdown_expression(deep_ok).is_ok());
  const std::string hostile[] = {
      "", " ", "(", ")", "()", "(1", "1)", "1 +", "+ 1", "-1", "1 - - 1", "1 ** 2", "2 ^ 3", "1.5", "1e3",
      "1/0", "3 / 2", "(1 + 2) / (3 - 3)", "1 = 2", "1 + 2 = ", "1 + 2 = 3 = 3", "12a", "a",
      "9999999999", "99999999999999999999", "999999999 * 999999999 * 999999999",
      too_deep, long_sum, std::string(100000, '('), std::string("1\0+2", 4), "\xff\xfe", "\\times 3",
      "\\left(1 + 2", "\xC3", "1 \xE2\x88", "=3",
  };
  for (const std::string& text : hostile) {
    auto r = parse_countdown_expression(text);
    EXPECT_FALSE(r.is_ok()) << "accepted: " << text.substr(0, 60);
  }
}

TEST(Countdown, CheckerWantsASubMultisetAndTheTarget) {
  const std::vector<int64_t> numbers = {75, 25, 3, 4, 4};
  EXPECT_TRUE(check_countdown(numbers, 154, "(75 - 25) * 3 + 4"));
  EXPECT_TRUE(check_countdown(numbers, 154, "(75 - 25) * 3 + 4 = 154"));
  EXPECT_TRUE(check_countdown(numbers, 8, "4 + 4"));       // 4 is given twice
  EXPECT_TRUE(check_countdown(numbers, 100, "75 + 25"));   // not every number is needed
  EXPECT_FALSE(check_countdown(numbers, 12, "4 + 4 + 4"));  // but only twice
  EXPECT_FALSE(check_countdown(numbers, 155, "(75 - 25) * 3 + 4"));
  EXPECT_FALSE(check_countdown(numbers, 154, "(75 - 25) * 3 + 4 = 155"));
  EXPECT_FALSE(check_countdown(numbers, 50, "(100 - 50)"));  // numbers not given
  EXPECT_FALSE(check_countdown(numbers, 150, "150"));
  EXPECT_FALSE(check_countdown(numbers, 154, "154"));
  EXPECT_FALSE(check_countdown(numbers, 154, "the answer is 154"));
}

}  // namespace
}  // namespace r1::train
