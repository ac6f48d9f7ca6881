// The task generators: answers against 128-bit arithmetic, every line of the scratchpads re-checked, the checkers
// on right, wrong and garbage answers, splits disjoint, seeds reproducible, and the JSONL files r1 reads back.
#include "train/tasks.h"

#include <gtest/gtest.h>

#include <fmt/format.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <unordered_set>

#include "eval/dataset.h"
#include "test_util.h"
#include "train/countdown.h"
#include "train/rewards.h"

namespace r1::train {
namespace {

using u128 = unsigned __int128;

u128 parse_u128(std::string_view s) {
  u128 v = 0;
  for (char c : s) v = v * 10 + u128(c - '0');
  return v;
}

std::string to_string(u128 v) {
  std::string s;
  do s.insert(s.begin(), char('0' + int(v % 10)));
  while ((v /= 10) != 0);
  return s;
}

// "What is A op B?" -> A, B.
std::pair<std::string, std::string> operands(const std::string& question, char op) {
  const size_t start = question.find("is ") + 3, mid = question.find(std::string(" ") + op + " ");
  return {question.substr(start, mid - start), question.substr(mid + 3, question.size() - mid - 4)};
}

// The number after the last '=' of the trace's last line, without the final period.
std::string final_number(const std::string& reasoning) {
  std::string last = reasoning.substr(reasoning.rfind('\n') + 1);
  last = last.substr(last.rfind('=') + 2);
  return last.substr(0, last.size() - 1);
}

std::vector<TaskProblem> draw(const TaskOptions& o, Split split, uint64_t seed, int n) {
  auto g = TaskGenerator::create(o, split, seed);
  EXPECT_TRUE(g.is_ok()) << g.message();
  std::vector<TaskProblem> out;
  for (int i = 0; i < n && g.is_ok(); ++i) {
    auto p = g->next();
    EXPECT_TRUE(p.is_ok()) << p.message();
    if (p.is_ok()) out.push_back(std::move(*p));
  }
  return out;
}

TaskOptions options(TaskKind kind, int digits = 3, int digits_b = 2) {
  return {.kind = kind, .digits = digits, .digits_b = digits_b};
}

// ----------------------------------------------------------------------------------------------------- addition

TEST(Tasks, AdditionAnswersAndEveryScratchpadLineAreRight) {
  for (int digits : {1, 3, 18}) {
    for (const TaskProblem& p : draw(options(TaskKind::kAddition, digits), Split::kTrain, 7, 200)) {
      const auto [a, b] = operands(p.question, '+');
      ASSERT_EQ(a.size(), size_t(digits)) << p.question;
      ASSERT_EQ(b.size(), size_t(digits)) << p.question;
      EXPECT_EQ(p.answer, to_string(parse_u128(a) + parse_u128(b))) << p.question;
      // Each column line "x + y + c = s, write w, carry k" is right, and the written digits spell the answer.
      std::istringstream lines(p.reasoning);
      std::string line, written;
      int columns = 0, carry_in = 0;
      while (std::getline(lines, line)) {
        int x, y, c, s, w, k;
        if (std::sscanf(line.c_str(), "%d + %d + %d = %d, write %d, carry %d.", &x, &y, &c, &s, &w, &k) == 6) {
          EXPECT_EQ(x, a[a.size() - 1 - size_t(columns)] - '0') << line;
          EXPECT_EQ(y, b[b.size() - 1 - size_t(columns)] - '0') << line;
          EXPECT_EQ(c, carry_in) << line;
          EXPECT_EQ(s, x + y + c) << line;
          EXPECT_EQ(w, s % 10) << line;
          EXPECT_EQ(k, s / 10) << line;
          written.insert(written.begin(), char('0' + w));
          carry_in = k;
          ++columns;
        } else if (std::sscanf(line.c_str(), "Write the last carry %d.", &k) == 1) {
          written.insert(written.begin(), char('0' + k));
        }
      }
      EXPECT_EQ(columns, digits);
      EXPECT_EQ(written, p.answer) << p.reasoning;
      EXPECT_EQ(final_number(p.reasoning), p.answer);
      EXPECT_TRUE(check_answer(p, final_number(p.reasoning)));
    }
  }
}

// ------------------------------------------------------------------------------------------------ multiplication

TEST(Tasks, MultiplicationPartialProductsAndSumsAreRight) {
  for (auto [da, db] : {std::pair{1, 1}, {3, 2}, {4, 4}, {18, 3}}) {
    for (const TaskProblem& p : draw(options(TaskKind::kMultiplication, da, db), Split::kTrain, 11, 100)) {
      const auto [a, b] = operands(p.question, '*');
      ASSERT_EQ(a.size(), size_t(da));
      ASSERT_EQ(b.size(), size_t(db));
      const u128 x = parse_u128(a);
      EXPECT_EQ(p.answer, to_string(x * parse_u128(b))) << p.question;
      std::istringstream lines(p.reasoning);
      std::string line;
      size_t place = 0;
      while (std::getline(lines, line)) {
        // One line per digit of b from the ones: "… That gives P." (or "a * 0 = 0."), then "Shifted …: P0…".
        const size_t gives = line.find("That gives ");
        if (gives != std::string::npos || line.find(" * 0 = 0.") != std::string::npos) {
          const u128 digit = u128(b[b.size() - 1 - place] - '0');
          if (gives != std::string::npos) {
            const size_t end = line.find('.', gives);
            EXPECT_EQ(line.substr(gives + 11, end - gives - 11), to_string(x * digit)) << line;
          } else {
            EXPECT_EQ(digit, 0u) << line;
          }
          ++place;
        }
        // Running sums "S + P = T." are right.
        char s1[64], s2[64], s3[64];
        if (std::sscanf(line.c_str(), "%63[0-9] + %63[0-9] = %63[0-9].", s1, s2, s3) == 3) {
          EXPECT_EQ(to_string(parse_u128(s1) + parse_u128(s2)), s3) << line;
        }
      }
      EXPECT_EQ(place, b.size()) << p.reasoning;
      EXPECT_EQ(final_number(p.reasoning), p.answer);
      EXPECT_TRUE(check_answer(p, final_number(p.reasoning)));
    }
  }
}

// ---------------------------------------------------------------------------------------------------- countdown

TEST(Tasks, CountdownProblemsAreSolvableAsGenerated) {
  TaskOptions o = options(TaskKind::kCountdown);
  for (const TaskProblem& p : draw(o, Split::kTrain, 3, 200)) {
    ASSERT_GE(p.numbers.size(), 3u);
    ASSERT_LE(p.numbers.size(), 4u);
    for (int64_t n : p.numbers) {
      EXPECT_GE(n, 1);
      EXPECT_LE(n, 99);
      EXPECT_NE(n, p.target);
    }
    EXPECT_GE(p.target, 10);
    EXPECT_LE(p.target, 999);
    EXPECT_TRUE(check_answer(p, p.answer)) << p.question << " " << p.answer;
    // The trace's last line states the expression and the target; each step line is right.
    const std::string last = p.reasoning.substr(p.reasoning.rfind('\n') + 1);
    ASSERT_EQ(last.rfind("So ", 0), 0u) << last;
    EXPECT_TRUE(check_answer(p, last.substr(3, last.size() - 4))) << last;  // "expr = target"
    std::istringstream lines(p.reasoning);
    std::string line;
    while (std::getline(lines, line)) {
      long long x, y, z;
      char op;
      if (std::sscanf(line.c_str(), "%lld %c %lld = %lld.", &x, &op, &y, &z) == 4 && line.rfind("So", 0) != 0) {
        auto step = parse_countdown_expression(line.substr(0, line.size() - 1));
        ASSERT_TRUE(step.is_ok()) << line;
      }
    }
  }
}

// ------------------------------------------------------------------------------------------------------ checkers

TEST(Tasks, ArithmeticCheckerAcceptsTheNumberAndNothingElse) {
  TaskProblem p;
  p.kind = TaskKind::kAddition;
  p.answer = "1419";
  for (const char* ok : {"1419", " 1419 ", "+1419", "01419"}) EXPECT_TRUE(check_answer(p, ok)) << ok;
  for (const char* bad : {"1418", "1420", "14190", "141", "-1419", "1419.5", "1,419", "1 419", "", " ", "+", "-",
                          "abc", "1419a", "0x58B", "1e3", "\\frac{1419}{1}", "--1419"})
    EXPECT_FALSE(check_answer(p, bad)) << bad;
  TaskProblem zero;
  zero.kind = TaskKind::kMultiplication;
  zero.answer = "0";
  EXPECT_TRUE(check_answer(zero, "-0"));
  EXPECT_TRUE(check_answer(zero, "000"));
}

TEST(Tasks, SftCompletionEarnsBothRewards) {
  for (TaskKind kind : {TaskKind::kAddition, TaskKind::kMultiplication, TaskKind::kCountdown}) {
    for (const TaskProblem& p : draw(options(kind), Split::kTrain, 5, 20)) {
      const std::string completion = sft_completion(p);
      EXPECT_EQ(format_reward(completion), 1.0) << completion;
      EXPECT_EQ(accuracy_reward(completion, [&](std::string_view boxed) { return check_answer(p, boxed); }), 1.0);
      if (kind != TaskKind::kCountdown) {
        EXPECT_EQ(accuracy_reward(completion, p.answer), 1.0);  // as r1 eval checks
      }
    }
  }
}

// --------------------------------------------------------------------------------------------- splits and seeds

TEST(Tasks, SplitsAreDisjointOverTenThousandDraws) {
  for (TaskKind kind : {TaskKind::kAddition, TaskKind::kMultiplication}) {
    const TaskOptions o = options(kind, 3, 1);  // 810,000 sums, 8,100 products (so repeats are common)
    std::unordered_set<std::string> train;
    for (const TaskProblem& p : draw(o, Split::kTrain, 1, 10000)) {
      EXPECT_EQ(split_of(p.question, o.held_out_fraction), Split::kTrain);
      train.insert(p.question);
    }
    int held_out = 0;
    for (const TaskProblem& p : draw(o, Split::kHeldOut, 1, 1000)) {
      EXPECT_FALSE(train.count(p.question)) << p.question;
      ++held_out;
    }
    EXPECT_EQ(held_out, 1000);
  }
  // The held-out share of all 8100 three-digit-plus-one-digit sums is close to the fraction asked.
  int held = 0;
  for (int a = 100; a < 1000; ++a)
    for (int b = 1; b < 10; ++b) held += split_of(fmt::format("What is {} * {}?", a, b), 0.1) == Split::kHeldOut;
  EXPECT_NEAR(held / 8100.0, 0.1, 0.015);
}

TEST(Tasks, SameSeedSameProblemsOtherSeedOthers) {
  for (TaskKind kind : {TaskKind::kAddition, TaskKind::kMultiplication, TaskKind::kCountdown}) {
    const auto a = draw(options(kind), Split::kTrain, 42, 50), b = draw(options(kind), Split::kTrain, 42, 50),
               c = draw(options(kind), Split::kTrain, 43, 50);
    ASSERT_EQ(a.size(), 50u);
    int same_as_other_seed = 0;
    for (size_t i = 0; i < a.size(); ++i) {
      EXPECT_EQ(a[i].question, b[i].question);
      EXPECT_EQ(a[i].answer, b[i].answer);
      EXPECT_EQ(a[i].reasoning, b[i].reasoning);
      same_as_other_seed += a[i].question == c[i].question;
    }
    EXPECT_LT(same_as_other_seed, 5) << task_kind_name(kind);
  }
}

TEST(Tasks, BadOptionsAndEmptySplitsAreErrorsNotHangs) {
  TaskOptions o = options(TaskKind::kAddition);
  o.digits = 0;
  EXPECT_FALSE(TaskGenerator::create(o, Split::kTrain, 1).is_ok());
  o = options(TaskKind::kCountdown);
  o.max_numbers = 6;
  EXPECT_FALSE(TaskGenerator::create(o, Split::kTrain, 1).is_ok());
  o = options(TaskKind::kAddition);
  o.held_out_fraction = 0;
  EXPECT_FALSE(TaskGenerator::create(o, Split::kHeldOut, 1).is_ok());
  o.held_out_fraction = 1;
  EXPECT_FALSE(TaskGenerator::create(o, Split::kTrain, 1).is_ok());
  o.held_out_fraction = std::nan("");
  EXPECT_FALSE(TaskGenerator::create(o, Split::kTrain, 1).is_ok());
  // One-digit sums: 81 problems; a held-out share of 1e-12 almost surely holds none of them.
  o = options(TaskKind::kAddition, 1);
  o.held_out_fraction = 1e-12;
  auto g = TaskGenerator::create(o, Split::kHeldOut, 1);
  ASSERT_TRUE(g.is_ok());
  EXPECT_FALSE(g->next().is_ok());
  // Countdown targets nothing can reach.
  o = options(TaskKind::kCountdown);
  o.max_number = 2;
  o.min_target = 500;
  o.max_target = 600;
  auto cd = TaskGenerator::create(o, Split::kTrain, 1);
  ASSERT_TRUE(cd.is_ok());
  EXPECT_FALSE(cd->next().is_ok());
}

TEST(Tasks, DistinctProblemsOrAnError) {
  const TaskOptions o = options(TaskKind::kAddition, 1);
  auto fifty = generate_problems(o, Split::kTrain, 9, 50, /*distinct=*/true);
  ASSERT_TRUE(fifty.is_ok()) << fifty.message();
  std::unordered_set<std::string> questions;
  for (const TaskProblem& p : *fifty) questions.insert(p.question);
  EXPECT_EQ(questions.size(), 50u);
  EXPECT_FALSE(generate_problems(o, Split::kTrain, 9, 100, true).is_ok());  // only 81 one-digit sums exist
  EXPECT_TRUE(generate_problems(o, Split::kTrain, 9, 100, false).is_ok());
}

// -------------------------------------------------------------------------------------------------------- JSONL

TEST(Tasks, JsonlFilesReadBackAsSftAndEvalData) {
  test::TempDir dir;
  std::vector<TaskProblem> problems = draw(options(TaskKind::kAddition), Split::kHeldOut, 2, 3);
  const std::vector<TaskProblem> countdown = draw(options(TaskKind::kCountdown), Split::kHeldOut, 2, 2);
  problems.insert(problems.end(), countdown.begin(), countdown.end());

  ASSERT_TRUE(write_sft_jsonl(dir.file("sft.jsonl"), problems).is_ok());
  std::ifstream sft(dir.file("sft.jsonl"));
  std::string line;
  size_t i = 0;
  for (; std::getline(sft, line); ++i) {
    const nlohmann::json j = nlohmann::json::parse(line);
    ASSERT_LT(i, problems.size());
    EXPECT_EQ(j.at("prompt"), problems[i].question + "\n" + std::string(eval::kR1MathInstruction));
    EXPECT_EQ(j.at("completion"), sft_completion(problems[i]));
    EXPECT_EQ(j.at("answer"), problems[i].answer);
  }
  EXPECT_EQ(i, problems.size());

  ASSERT_TRUE(write_eval_jsonl(dir.file("eval.jsonl"), problems).is_ok());
  auto loaded = eval::load_problems(dir.file("eval.jsonl"));  // what r1 eval reads
  ASSERT_TRUE(loaded.is_ok()) << loaded.message();
  ASSERT_EQ(loaded->size(), problems.size());
  for (size_t k = 0; k < problems.size(); ++k) {
    EXPECT_EQ((*loaded)[k].question, problems[k].question);
    EXPECT_EQ((*loaded)[k].reference, problems[k].answer);
  }
  EXPECT_FALSE(write_eval_jsonl(dir.file("no/such/dir/eval.jsonl"), problems).is_ok());
}

TEST(Tasks, PlainFractionOfSftPromptsIsTheBareQuestion) {
  test::TempDir dir;
  const std::vector<TaskProblem> problems = draw(options(TaskKind::kAddition), Split::kTrain, 4, 40);
  for (double f : {0.0, 0.25, 1.0}) {
    SCOPED_TRACE(f);
    ASSERT_TRUE(write_sft_jsonl(dir.file("sft.jsonl"), problems, f).is_ok());
    std::ifstream in(dir.file("sft.jsonl"));
    std::string line;
    int plain = 0, longest_run = 0, run = 0;
    for (size_t i = 0; std::getline(in, line); ++i) {
      const std::string prompt = nlohmann::json::parse(line).at("prompt");
      const bool is_plain = prompt == problems[i].question;
      EXPECT_TRUE(is_plain || prompt == eval::r1_user_prompt(problems[i].question)) << prompt;
      plain += is_plain;
      run = is_plain ? 0 : run + 1;
      longest_run = std::max(longest_run, run);
    }
    EXPECT_EQ(plain, int(f * 40));
    if (f == 0.25) {
      EXPECT_LE(longest_run, 3) << "spread evenly";
    }
  }
  EXPECT_FALSE(write_sft_jsonl(dir.file("sft.jsonl"), problems, 1.5).is_ok());
}

}  // namespace
}  // namespace r1::train
