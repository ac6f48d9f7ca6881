#include "eval/dataset.h"

#include <gtest/gtest.h>

#include "eval/math_answer.h"
#include "test_util.h"

namespace r1::eval {
namespace {

using test::TempDir;
using test::write_file;

TEST(EvalDataset, ReadsTheThreeShapes) {
  TempDir dir;
  // One row in each benchmark's own shape (GSM8K test.jsonl, MATH-500 test.jsonl, AIME 2024 test.jsonl).
  write_file(dir.file("d.jsonl"),
             R"({"question": "Janet has 3 ducks. How many?", "answer": "She has <<1+2=3>>3.\n#### 1,003"})" "\n"
             "\n"
             R"({"problem": "Compute $\\frac12$.", "solution": "It is $\\boxed{\\frac{1}{2}}$.", "answer": "\\frac{1}{2}", "unique_id": "test/algebra/1.json"})" "\r\n"
             R"({"id": 60, "problem": "Find $t$.", "answer": "204", "question": "Find t (plain)."})" "\n"
             R"({"prompt": "What is 2+2?", "answer": 4})" "\n");
  auto p = load_problems(dir.file("d.jsonl"));
  ASSERT_TRUE(p) << p.message();
  ASSERT_EQ(p->size(), 4u);
  EXPECT_EQ((*p)[0].id, "line:1");
  EXPECT_EQ((*p)[0].reference, "1003");
  EXPECT_EQ((*p)[0].index, 0);
  EXPECT_EQ((*p)[1].id, "test/algebra/1.json");
  EXPECT_EQ((*p)[1].question, "Compute $\\frac12$.");
  EXPECT_EQ((*p)[1].reference, "\\frac{1}{2}");
  EXPECT_EQ((*p)[1].index, 1);
  EXPECT_EQ((*p)[2].id, "60");
  EXPECT_EQ((*p)[2].question, "Find $t$.");  // "problem" wins over AIME's duplicate "question"
  EXPECT_EQ((*p)[2].reference, "204");
  EXPECT_EQ((*p)[3].question, "What is 2+2?");
  EXPECT_EQ((*p)[3].reference, "4");
}

TEST(EvalDataset, BadFilesNameTheLine) {
  TempDir dir;
  const std::pair<const char*, const char*> cases[] = {
      {"{\"question\": \"q\", \"answer\": \"1\"}\nnot json\n", ":2: not a JSON object"},
      {"[1, 2]\n", ":1: not a JSON object"},
      {"{\"answer\": \"1\"}\n", ":1: no \"problem\", \"question\" or \"prompt\""},
      {"{\"question\": \"q\"}\n", ":1: no \"answer\""},
      {"{\"question\": \"q\", \"answer\": [1]}\n", "neither a string nor a number"},
      {"{\"question\": \"q\", \"answer\": \"  \"}\n", "\"answer\" is empty"},
      {"{\"question\": \"q\", \"answer\": \"x ####  \"}\n", "no answer after it"},
      {"{\"id\": 1, \"question\": \"q\", \"answer\": \"1\"}\n{\"id\": 1, \"question\": \"r\", \"answer\": \"2\"}\n",
       ":2: id \"1\" was already used on line 1"},
      {"\n\n", "no problems"},
  };
  for (const auto& [text, want] : cases) {
    write_file(dir.file("bad.jsonl"), text);
    auto p = load_problems(dir.file("bad.jsonl"));
    ASSERT_FALSE(p) << text;
    EXPECT_NE(p.message().find(want), std::string::npos) << p.message();
  }
  auto missing = load_problems(dir.file("nope.jsonl"));
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.message().find("cannot open"), std::string::npos);
}

TEST(EvalDataset, R1Prompt) {
  EXPECT_EQ(r1_user_prompt("What is 1+1?"),
            "What is 1+1?\nPlease reason step by step, and put your final answer within \\boxed{}.");
}

}  // namespace
}  // namespace r1::eval

namespace r1::eval {
namespace {

// The data sets shipped in data/eval: all rows load, and every reference answer is one the checker can read.
TEST(EvalDataset, BundledSets) {
  auto gsm8k = load_problems(std::string(R1_SOURCE_DIR) + "/data/eval/gsm8k_test.jsonl");
  ASSERT_TRUE(gsm8k) << gsm8k.message();
  EXPECT_EQ(gsm8k->size(), 1319u);
  for (const Problem& p : *gsm8k) {
    // GSM8K answers are integers (some negative); after "####" and without commas.
    ASSERT_FALSE(p.reference.empty()) << p.id;
    EXPECT_EQ(p.reference.find(','), std::string::npos) << p.reference;
    EXPECT_TRUE(answers_match(p.reference, p.reference)) << p.reference;
  }
  EXPECT_EQ((*gsm8k)[0].reference, "18");  // Janet's ducks

  auto math500 = load_problems(std::string(R1_SOURCE_DIR) + "/data/eval/math500_test.jsonl");
  ASSERT_TRUE(math500) << math500.message();
  EXPECT_EQ(math500->size(), 500u);
  EXPECT_EQ((*math500)[0].id, "test/precalculus/807.json");
  EXPECT_EQ((*math500)[0].reference, "\\left( 3, \\frac{\\pi}{2} \\right)");
  for (const Problem& p : *math500) EXPECT_TRUE(answers_match(p.reference, p.reference)) << p.reference;
}

}  // namespace
}  // namespace r1::eval
