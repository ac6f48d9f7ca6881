#include "eval/results.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "test_util.h"

namespace r1::eval {
namespace {

using json = nlohmann::json;
using test::TempDir;
using test::write_file;

json chat_reply(json message, json usage = nullptr, const char* finish = "stop") {
  json body = {{"object", "chat.completion"},
               {"choices", json::array({{{"index", 0}, {"message", message}, {"finish_reason", finish}}})}};
  if (!usage.is_null()) body["usage"] = usage;
  return body;
}

TEST(EvalResults, ReadsDeepSeekShapedReplies) {
  const json usage = {{"completion_tokens", 30}, {"completion_tokens_details", {{"reasoning_tokens", 20}}}};
  SampleResult s = sample_from_reply(
      chat_reply({{"role", "assistant"}, {"reasoning_content", "2+2 is \\boxed{5}?"}, {"content", "It is \\boxed{4}."}},
                 usage),
      "4");
  EXPECT_EQ(s.reasoning, "2+2 is \\boxed{5}?");
  EXPECT_EQ(s.content, "It is \\boxed{4}.");
  EXPECT_EQ(s.answer, "4");  // from the content, never from the reasoning
  EXPECT_TRUE(s.correct);
  EXPECT_EQ(s.finish_reason, "stop");
  EXPECT_EQ(s.reasoning_tokens, 20);
  EXPECT_EQ(s.answer_tokens, 10);

  // vLLM's newer field name.
  s = sample_from_reply(chat_reply({{"reasoning", "r"}, {"content", "\\boxed{3}"}}), "4");
  EXPECT_EQ(s.reasoning, "r");
  EXPECT_EQ(s.answer, "3");
  EXPECT_FALSE(s.correct);
  EXPECT_FALSE(s.reasoning_tokens);  // no usage: unknown, not zero
}

TEST(EvalResults, SplitsThinkBlocksLeftInTheContent) {
  SampleResult s = sample_from_reply(chat_reply({{"content", "<think>\nso \\boxed{1}\n</think>\n\nAnswer: \\boxed{2}"}}), "2");
  EXPECT_EQ(s.reasoning, "\nso \\boxed{1}\n");
  EXPECT_EQ(s.content, "\n\nAnswer: \\boxed{2}");
  EXPECT_TRUE(s.correct);
  // R1 templates open <think> in the prompt, so the reply starts inside it.
  s = sample_from_reply(chat_reply({{"content", "thinking \\boxed{2}</think>The answer is 3."}}), "2");
  EXPECT_EQ(s.reasoning, "thinking \\boxed{2}");
  EXPECT_FALSE(s.answer);  // a boxed answer only inside the reasoning is a format failure
  EXPECT_FALSE(s.correct);
  // Cut off while thinking.
  s = sample_from_reply(chat_reply({{"content", "<think>still going \\boxed{2}"}}, nullptr, "length"), "2");
  EXPECT_EQ(s.content, "");
  EXPECT_FALSE(s.answer);
  EXPECT_EQ(s.finish_reason, "length");
  // Usage without reasoning details and no reasoning: all tokens are the answer's.
  s = sample_from_reply(chat_reply({{"content", "\\boxed{2}"}}, {{"completion_tokens", 7}}), "2");
  EXPECT_EQ(s.reasoning_tokens, 0);
  EXPECT_EQ(s.answer_tokens, 7);
  // With reasoning but no details: unknown.
  s = sample_from_reply(chat_reply({{"reasoning_content", "r"}, {"content", "\\boxed{2}"}}, {{"completion_tokens", 7}}),
                        "2");
  EXPECT_FALSE(s.reasoning_tokens);
}

TEST(EvalResults, MalformedRepliesAreFailedSamples) {
  for (const json& body : {json::object(), json{{"choices", json::array()}}, json{{"choices", "x"}},
                           json{{"choices", json::array({1})}}}) {
    SampleResult s = sample_from_reply(body, "1");
    EXPECT_FALSE(s.correct);
    EXPECT_FALSE(s.answer);
    EXPECT_EQ(s.finish_reason, "error");
  }
  // content null (a refusal or tool call): no answer, no crash.
  SampleResult s = sample_from_reply(chat_reply({{"content", nullptr}}), "1");
  EXPECT_FALSE(s.answer);
}

SampleResult sample(std::optional<std::string> answer, bool correct, std::optional<int64_t> reasoning = 10,
                    std::optional<int64_t> answer_tokens = 5, const char* finish = "stop") {
  SampleResult s;
  s.answer = std::move(answer);
  s.correct = correct;
  s.reasoning_tokens = reasoning;
  s.answer_tokens = answer_tokens;
  s.finish_reason = finish;
  return s;
}

TEST(EvalResults, SummaryByHand) {
  // Three problems, k = 4.
  ProblemResult a{.problem = {.id = "a", .index = 0, .question = "qa", .reference = "1"},
                  .samples = {sample("1", true), sample("2", false), sample("1", true), sample(std::nullopt, false)}};
  ProblemResult b{.problem = {.id = "b", .index = 1, .question = "qb", .reference = "7"},
                  .samples = {sample("3", false), sample("3", false), sample("7", true), sample("8", false)}};
  ProblemResult c{.problem = {.id = "c", .index = 2, .question = "qc", .reference = "9"},
                  .samples = {sample(std::nullopt, false, std::nullopt, std::nullopt, "length"),
                              sample("5", false, 30, 0), sample("6", false, 30, 0), sample("5", false, 30, 0)}};
  Summary s = summarize({&a, &b, &c}, 4);
  EXPECT_EQ(s.problems, 3);
  EXPECT_EQ(s.samples, 12);
  // pass@1 per problem 2/4, 1/4, 0 -> mean 0.25; standard error sqrt(var/n) with var = 0.0625.
  EXPECT_DOUBLE_EQ(s.pass1, 0.25);
  EXPECT_NEAR(s.pass1_stderr, std::sqrt(0.0625 / 3.0), 1e-12);
  // pass@2 = 1 - C(n-c,2)/C(4,2): a 1 - 1/6, b 1 - 3/6, c 0.
  EXPECT_NEAR(s.pass_at.at(2), (5.0 / 6 + 0.5) / 3, 1e-12);
  EXPECT_NEAR(s.pass_at.at(4), 2.0 / 3, 1e-12);
  EXPECT_NEAR(s.pass_at.at(1), 0.25, 1e-12);
  // Majorities: a "1" (right), b "3" (wrong), c "5" (wrong).
  EXPECT_NEAR(s.cons, 1.0 / 3, 1e-12);
  EXPECT_EQ(s.format_failures, 2);
  EXPECT_EQ(s.truncated, 1);
  EXPECT_EQ(s.token_counts_known, 11);
  EXPECT_NEAR(s.mean_reasoning_tokens, (8 * 10 + 3 * 30) / 11.0, 1e-9);
  EXPECT_NEAR(s.mean_answer_tokens, 8 * 5 / 11.0, 1e-9);
  json j = s.to_json();
  EXPECT_DOUBLE_EQ(j["cons@4"].get<double>(), s.cons);
  EXPECT_DOUBLE_EQ(j["pass@k"]["pass@2"].get<double>(), s.pass_at.at(2));
}

std::vector<Problem> three_problems() {
  return {{.id = "a", .index = 0, .question = "qa", .reference = "1"},
          {.id = "b", .index = 1, .question = "qb", .reference = "2"},
          {.id = "c", .index = 2, .question = "qc", .reference = "3"}};
}

ProblemResult result_for(const Problem& p, int64_t k) {
  ProblemResult r{.problem = p, .samples = {}};
  for (int64_t i = 0; i < k; ++i) r.samples.push_back(sample(p.reference, i == 0));
  r.samples[0].content = "ünïcode \\boxed{" + p.reference + "}";
  return r;
}

TEST(EvalResults, FileRoundTripsAndResumes) {
  TempDir dir;
  const std::string path = dir.file("r.jsonl");
  const EvalSettings settings{.model = "m", .k = 2, .temperature = 0.6, .top_p = 0.95, .max_tokens = 64, .seed = 1};
  const auto problems = three_problems();
  {
    auto f = ResultsFile::open(path, settings, problems);
    ASSERT_TRUE(f) << f.message();
    EXPECT_TRUE(f->done().empty());
    ASSERT_TRUE(f->append(result_for(problems[0], 2), settings));
    ASSERT_TRUE(f->append(result_for(problems[2], 2), settings));
  }
  // An interrupted writer left half a record behind.
  {
    std::ofstream o(path, std::ios::app | std::ios::binary);
    o << R"({"id":"b","index":1,"question":"qb","refer)";
  }
  auto f = ResultsFile::open(path, settings, problems);
  ASSERT_TRUE(f) << f.message();
  EXPECT_GT(f->dropped_partial_bytes(), 0);
  ASSERT_EQ(f->done().size(), 2u);
  const ProblemResult& a = f->done().at("a");
  EXPECT_EQ(a.samples.size(), 2u);
  EXPECT_EQ(a.samples[0].content, "ünïcode \\boxed{1}");
  EXPECT_TRUE(a.samples[0].correct);
  EXPECT_EQ(a.samples[0].reasoning_tokens, 10);
  EXPECT_TRUE(f->done().count("c"));
  ASSERT_TRUE(f->append(result_for(problems[1], 2), settings));
  // The file holds exactly three whole records now.
  std::ifstream in(path);
  std::string line;
  int lines = 0;
  while (std::getline(in, line)) {
    ++lines;
    EXPECT_FALSE(json::parse(line, nullptr, false).is_discarded()) << line;
  }
  EXPECT_EQ(lines, 3);
}

TEST(EvalResults, ResumeRefusesOtherSettingsOrData) {
  TempDir dir;
  const std::string path = dir.file("r.jsonl");
  const EvalSettings settings{.model = "m", .k = 2, .temperature = 0.6, .top_p = 0.95, .max_tokens = {}, .seed = 0};
  auto problems = three_problems();
  {
    auto f = ResultsFile::open(path, settings, problems);
    ASSERT_TRUE(f);
    ASSERT_TRUE(f->append(result_for(problems[0], 2), settings));
  }
  EvalSettings other = settings;
  other.k = 4;
  auto f = ResultsFile::open(path, other, problems);
  ASSERT_FALSE(f);
  EXPECT_NE(f.message().find("k 2 vs 4"), std::string::npos) << f.message();
  other = settings;
  other.temperature = 0.0;
  EXPECT_FALSE(ResultsFile::open(path, other, problems));
  other = settings;
  other.model = "n";
  EXPECT_FALSE(ResultsFile::open(path, other, problems));

  auto changed = problems;
  changed[0].question = "another question";
  f = ResultsFile::open(path, settings, changed);
  ASSERT_FALSE(f);
  EXPECT_NE(f.message().find("another data set"), std::string::npos) << f.message();

  // Records of problems outside the selection are kept but not counted.
  std::vector<Problem> subset{problems[1]};
  f = ResultsFile::open(path, settings, subset);
  ASSERT_TRUE(f) << f.message();
  EXPECT_TRUE(f->done().empty());
  EXPECT_EQ(f->foreign_records(), 1);

  write_file(dir.file("junk.jsonl"), "{\"hello\": 1}\n");
  f = ResultsFile::open(dir.file("junk.jsonl"), settings, problems);
  ASSERT_FALSE(f);
  EXPECT_NE(f.message().find(":1:"), std::string::npos) << f.message();
}

}  // namespace
}  // namespace r1::eval
