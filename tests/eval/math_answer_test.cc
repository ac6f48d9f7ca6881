#include "eval/math_answer.h"

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <numeric>
#include <random>

namespace r1::eval {
namespace {

// ---------------------------------------------------------------------------------------------------------------
// answers_match: a table of tricky cases. Expected values are what a human grader would say (and, where
// graders differ, the choice documented at the top of src/eval/math_answer.cc).
// ---------------------------------------------------------------------------------------------------------------

struct MatchCase {
  const char* predicted;
  const char* reference;
  bool match;
};

const MatchCase kMatchCases[] = {
    // Thousands commas, but not tuples or lists.
    {"58,500", "58500", true},
    {"58{,}500", "58500", true},
    {"\\$32,\\!348", "32348", true},
    {"11,\\! 111,\\! 111,\\! 100", "11111111100", true},
    {"1,000", "1000", true},
    {"(1,2)", "12", false},
    {"1, 2", "12", false},
    {"100, 200", "100200", false},
    {"1,00", "100", false},
    // Signs and decimals.
    {"-5", "- 5", true},
    {"+7", "7", true},
    {"-0", "0", true},
    {".35625", "0.35625", true},
    {"0.50", "0.5", true},
    {"5.", "5", true},
    {"12", "1.2", false},
    {"-3", "3", false},
    // Fractions in every spelling, equal as numbers.
    {"\\frac{1}{2}", "0.5", true},
    {"\\dfrac{1}{2}", "1/2", true},
    {"\\tfrac{1}{2}", "\\frac12", true},
    {"\\frac 59", "\\frac{5}{9}", true},
    {"\\frac{270}7", "\\frac{270}{7}", true},
    {"-\\frac{1}{2}", "\\frac{-1}{2}", true},
    {"-\\frac{1}{2}", "-0.5", true},
    {"\\frac{1}{-2}", "-1/2", true},
    {"2", "2.0", true},
    {"2", "\\frac{4}{2}", true},
    {"1/2", "2", false},
    {"1/2", "\\frac{2}{1}", false},
    {"0.333333", "\\frac{1}{3}", false},      // exact rationals, no tolerance
    {"1\\frac{4}{5}", "\\frac{9}{5}", true},  // a mixed number
    {"\\frac{1}{0}", "\\frac{2}{0}", false},
    // Percent (dropped), degrees, dollars, units.
    {"50\\%", "50", true},
    {"50%", "50", true},
    {"10\\%", "0.1", false},
    {"55^\\circ", "55", true},
    {"120^{\\circ}", "120", true},
    {"30°", "30", true},
    {"\\$18", "18", true},
    {"$18$", "18", true},
    {"\\$18.90", "18.9", true},
    {"5.4 \\text{ cents}", "5.4", true},
    {"864 \\mbox{ inches}^2", "864", true},
    {"15\\mbox{ cm}^2", "15", true},
    {"15\\text{cm}^{2}", "15", true},
    {"\\frac{270}7\\text{ degrees}", "\\frac{270}{7}", true},
    {"18 dollars", "18", true},
    {"5 square feet", "5", true},
    // Delimiters and spacing.
    {"\\left( 3, \\frac{\\pi}{2} \\right)", "(3,\\frac{\\pi}{2})", true},
    {"\\left[ 1, 2 \\right)", "[1,2)", true},
    {"1\\!000", "1000", true},
    {"3\\,5", "35", true},
    {"288 \\pi", "288\\pi", true},
    {"3 \\pm 2 \\sqrt{2}", "3\\pm2\\sqrt{2}", true},
    {"6 - 5i", "6-5i", true},
    {"\\pi r", "\\pir", false},  // \pir would be one (unknown) command
    {"{5}", "5", true},
    {"{{\\frac{1}{2}}}", "0.5", true},
    {"\\(5\\)", "5", true},
    {"\\[ 5 \\]", "5", true},
    {"18.", "18", true},
    // One-variable assignments.
    {"x = 5", "5", true},
    {"k=3", "3", true},
    {"\\theta = \\frac{\\pi}{2}", "\\frac\\pi2", true},
    {"x_1 = 2", "2", true},
    {"y = 2x + 3", "2x+3", true},
    {"x + y = 5", "5", false},
    {"x=5", "x=6", false},
    // Choices and words.
    {"\\text{(E)}", "E", true},
    {"(E)", "\\text{(E)}", true},
    {"\\textbf{(C)}", "C", true},
    {"(C)", "(D)", false},
    {"\\text{Evelyn}", "Evelyn", true},
    {"\\text{ Evelyn }.", "Evelyn", true},
    {"\\text{east}", "\\text{west}", false},
    // Tuples, intervals and lists.
    {"(1,2)", "(2,1)", false},
    {"(1, 2)", "(1,2)", true},
    {"(\\frac{1}{2}, 0.25)", "(0.5,\\frac14)", true},
    {"(3,4]", "(3,4)", false},
    {"[3,4]", "(3,4]", false},
    {"(2,12) \\cup (12,102)", "(2,12)\\cup(12,102)", true},
    {"(2,12) \\cup (12,102)", "(12,102)\\cup(2,12)", false},
    {"(-\\infty, 3]", "(-\\infty,3]", true},
    {"3, 5, 7", "7,5,3", true},  // a set of solutions
    {"1,-2", "-2, 1", true},
    {"1, 2", "1, 3", false},
    {"\\{1,2\\}", "\\{2,1\\}", true},
    {"(6,31,-1)", "(6, 31, -1)", true},
    // Radicals.
    {"\\sqrt{51}", "\\sqrt51", true},
    {"\\sqrt2", "\\sqrt{2}", true},
    {"\\sqrt{51}", "\\sqrt{15}", false},
    {"2\\sqrt{3}", "2 \\sqrt 3", true},
    // Expressions compared as text.
    {"x+1", "x-1", false},
    {"\\infty", "\\infty", true},
    {"-\\infty", "\\infty", false},
    // Nothing matches an empty answer, not even another empty one.
    {"", "", false},
    {"", "5", false},
    {"5", "", false},
    {"\\text{}", "\\text{}", false},
    {"$ $", "", false},
    // Numbers too large for 128 bits are compared as text, without overflow.
    {"123456789012345678901234567890123456789012345678901234567890",
     "123456789012345678901234567890123456789012345678901234567890", true},
    {"123456789012345678901234567890123456789012345678901234567890",
     "123456789012345678901234567890123456789012345678901234567891", false},
};

TEST(MathAnswer, MatchTable) {
  for (const MatchCase& c : kMatchCases) {
    EXPECT_EQ(answers_match(c.predicted, c.reference), c.match)
        << "predicted \"" << c.predicted << "\" (-> \"" << normalize_answer(c.predicted)
        << "\"), reference \"" << c.reference << "\" (-> \"" << normalize_answer(c.reference) << "\")";
    // The relation is symmetric: the key of each side does not depend on the other.
    EXPECT_EQ(answers_match(c.reference, c.predicted), c.match) << c.predicted << " | " << c.reference;
  }
}

// The majority-vote key must be stable: normalising a key again gives the same key.
TEST(MathAnswer, NormalizeIsIdempotent) {
  for (const MatchCase& c : kMatchCases) {
    for (const char* s : {c.predicted, c.reference}) {
      std::string key = normalize_answer(s);
      EXPECT_EQ(normalize_answer(key), key) << s;
    }
  }
}

TEST(MathAnswer, NormalizeCanonicalForms) {
  EXPECT_EQ(normalize_answer("0.50"), "1/2");
  EXPECT_EQ(normalize_answer("\\frac{4}{2}"), "2");
  EXPECT_EQ(normalize_answer("1,000"), "1000");
  EXPECT_EQ(normalize_answer("-\\frac12"), "-1/2");
  EXPECT_EQ(normalize_answer("\\text{Evelyn}"), "Evelyn");
  EXPECT_EQ(normalize_answer(""), "");
  // Brackets that do not pair with each other make no tuple: "(0.5,1)(2,3)" is not split at its commas (that
  // would give elements such as "1)(2"), so it stays text, and so does 0.5 in it.
  EXPECT_EQ(normalize_answer("(0.5, 1)(2,3)"), "(0.5,1)(2,3)");
  EXPECT_EQ(normalize_answer("\\left( 0.5, 3 \\right)"), "(1/2,3)");
}

// The expected key of num/den (den > 0), reduced here with std::gcd: "n" or "n/d".
std::string reduced(int64_t num, int64_t den) {
  int64_t g = std::gcd(num, den);
  std::string out = std::to_string(num / g);
  if (den / g != 1) out.append("/").append(std::to_string(den / g));
  return out;
}

// Numbers against a plain reference: random fractions written four ways must normalise to the fraction
// reduced with std::gcd here.
TEST(MathAnswer, RandomFractionsAgainstGcd) {
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<int64_t> num_dist(-1'000'000, 1'000'000), den_dist(1, 100'000);
  for (int trial = 0; trial < 2000; ++trial) {
    int64_t n = num_dist(rng), d = den_dist(rng);
    std::string sign = n < 0 ? "-" : "", sn = std::to_string(n), sd = std::to_string(d);
    std::string magnitude = std::to_string(n < 0 ? -n : n);
    EXPECT_EQ(normalize_answer(std::string("\\frac{").append(sn).append("}{").append(sd).append("}")),
              reduced(n, d));
    EXPECT_EQ(normalize_answer(sn + "/" + sd), reduced(n, d));
    EXPECT_EQ(normalize_answer(sign + "\\dfrac{" + magnitude + "}{" + sd + "}"), reduced(n, d));
    // A decimal with k places is n / 10^k.
    int places = trial % 6;
    std::string digits = std::string(static_cast<size_t>(places) + 1, '0') + magnitude;
    std::string decimal =
        sign + digits.substr(0, digits.size() - places) + "." + digits.substr(digits.size() - places);
    int64_t p10 = 1;
    for (int k = 0; k < places; ++k) p10 *= 10;
    EXPECT_EQ(normalize_answer(decimal), reduced(n, p10)) << decimal;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// extract_boxed and gsm8k_reference
// ---------------------------------------------------------------------------------------------------------------

TEST(MathAnswer, ExtractBoxed) {
  const std::pair<const char*, std::optional<std::string>> cases[] = {
      {"so $\\boxed{5}$.", "5"},
      {"\\boxed{\\frac{1}{2}}", "\\frac{1}{2}"},
      {"first \\boxed{1} then \\boxed{2}", "2"},
      {"\\boxed{\\{1, 2\\}}", "\\{1, 2\\}"},  // escaped braces are not grouping
      {"\\boxed{\\}}", "\\}"},
      {"\\boxed{a{b{c}}d}", "a{b{c}}d"},
      {"\\fbox{7}", "7"},
      {"\\boxed{3} or \\fbox{4}", "4"},
      {"\\boxed 5 apples", "5"},
      {"$\\boxed 5$", "5"},
      {"\\boxed{}", ""},
      {"no box here", std::nullopt},
      {"\\boxed{1} and then \\boxed{2", std::nullopt},  // the last box never closes: no answer
      {"\\boxed", std::nullopt},
      {"\\boxedfoo", std::nullopt},
      {"\\(\\boxed{x = 3}\\)", "x = 3"},
      {"Réponse : \\boxed{π/2} — fin", "π/2"},
  };
  for (const auto& [text, expected] : cases) EXPECT_EQ(extract_boxed(text), expected) << text;
}

TEST(MathAnswer, Gsm8kReference) {
  EXPECT_EQ(gsm8k_reference("She makes 9 * 2 = $<<9*2=18>>18 every day.\n#### 18"), "18");
  EXPECT_EQ(gsm8k_reference("#### 1,000\n"), "1000");
  EXPECT_EQ(gsm8k_reference("a #### 3\n#### -4 "), "-4");
  EXPECT_EQ(gsm8k_reference("no marker"), std::nullopt);
  EXPECT_EQ(gsm8k_reference("####   "), std::nullopt);
}

// ---------------------------------------------------------------------------------------------------------------
// MATH-500: reference answers against the boxes of the reference solutions (tests/fixtures/eval/README.md)
// ---------------------------------------------------------------------------------------------------------------

TEST(MathAnswer, Math500SampleAgrees) {
  std::ifstream in(std::string(R1_FIXTURES_DIR) + "/eval/math500_answers.jsonl");
  ASSERT_TRUE(in) << "missing tests/fixtures/eval/math500_answers.jsonl";
  int rows = 0, self = 0, boxed = 0;
  for (std::string line; std::getline(in, line);) {
    nlohmann::json row = nlohmann::json::parse(line);
    std::string answer = row["answer"], box = row["boxed"];
    ++rows;
    self += answers_match(answer, answer);
    // The C++ extraction must find the same box as the fixture's independent Python one.
    std::optional<std::string> found = extract_boxed("Hence $\\boxed{" + box + "}$.");
    EXPECT_EQ(found, box);
    bool ok = answers_match(box, answer);
    boxed += ok;
    EXPECT_TRUE(ok) << row["unique_id"] << ": boxed \"" << box << "\" vs answer \"" << answer << "\"";
  }
  EXPECT_GE(rows, 60);
  EXPECT_EQ(self, rows);
  EXPECT_GE(boxed * 100, rows * 97);
}

// ---------------------------------------------------------------------------------------------------------------
// Robustness: any bytes, huge and deeply nested input
// ---------------------------------------------------------------------------------------------------------------

// Runs every entry point on `s`; what is checked is that they return (no crash, hang or sanitizer report).
void exercise(const std::string& s) {
  (void)extract_boxed(s);
  (void)gsm8k_reference(s);
  std::string key = normalize_answer(s);
  EXPECT_EQ(answers_match(s, s), !key.empty());
}

TEST(MathAnswer, RandomInputDoesNotCrash) {
  const std::vector<std::string> pieces = {
      "\\boxed{", "\\fbox",  "{",       "}",        "\\{",    "\\}", "\\frac", "\\dfrac", "\\sqrt",
      "\\text{",  "\\mbox{", "\\left(", "\\right)", "(",      ")",   "[",      "]",       ",",
      ".",        "-",       "+",       "/",        "=",      "x",   "E",      "1",       "9",
      "0",        " ",       "\\",      "^",        "\\circ", "\\%", "$",      "\\cup",   "\\!",
      "####",     "\xff",    "\xc2",    "\xb0",     "\\pi"};
  std::mt19937 rng(1234);
  for (int trial = 0; trial < 3000; ++trial) {
    std::string s;
    int n = static_cast<int>(rng() % 40);
    for (int k = 0; k < n; ++k) s += pieces[rng() % pieces.size()];
    exercise(s);
  }
  // Raw random bytes, invalid UTF-8 and NULs included.
  for (int trial = 0; trial < 1000; ++trial) {
    std::string s(rng() % 64, '\0');
    for (char& c : s) c = static_cast<char>(rng());
    exercise(s);
  }
}

TEST(MathAnswer, HugeAndDeepInputStaysFast) {
  auto start = std::chrono::steady_clock::now();
  const size_t kDepth = 10'000;
  std::string nested = std::string(kDepth, '{') + "5" + std::string(kDepth, '}');
  EXPECT_EQ(normalize_answer(nested), "5");
  EXPECT_EQ(extract_boxed("\\boxed" + nested),
            std::string(kDepth - 1, '{') + "5" + std::string(kDepth - 1, '}'));
  std::string fracs;
  for (size_t k = 0; k < kDepth; ++k) fracs += "\\frac{";
  fracs += "1";
  for (size_t k = 0; k < kDepth; ++k) fracs += "}{2}";
  exercise(fracs);
  std::string texts;
  for (size_t k = 0; k < kDepth; ++k) texts += "\\text{";
  exercise(texts + "a" + std::string(kDepth, '}'));
  exercise(texts);                      // never closes
  exercise(std::string(1 << 20, '('));  // 1 MB, unbalanced
  exercise(std::string(1 << 20, '1'));  // a 1 MB number
  std::string list;
  while (list.size() < (1 << 20)) list += "1, ";
  exercise(list);
  std::string boxes;
  while (boxes.size() < (1 << 20)) boxes += "\\boxed{1} \\boxed{";
  EXPECT_EQ(extract_boxed(boxes), std::nullopt);
  EXPECT_EQ(normalize_answer(std::string(500, '7')), std::string(500, '7'));
  EXPECT_EQ(normalize_answer("0." + std::string(500, '3')), "0." + std::string(500, '3'));
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(seconds, 30.0);  // linear work; a quadratic pass would take minutes on these inputs
}

}  // namespace
}  // namespace r1::eval
