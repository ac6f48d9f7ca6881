// The runner against a scripted backend: every sample drawn exactly once, records whole and in the file, resume
// after a failure or an interruption redoes nothing that was recorded, and the metrics follow the replies.
#include "eval/runner.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "eval/math_answer.h"
#include "test_util.h"

namespace r1::eval {
namespace {

using json = nlohmann::json;
using test::TempDir;

// Problem i asks "q<i>" with reference answer 10 * i.
std::vector<Problem> make_problems(int n) {
  std::vector<Problem> out;
  for (int i = 0; i < n; ++i)
    out.push_back({.id = fmt::format("p{}", i), .index = i, .question = fmt::format("q{}", i),
                   .reference = std::to_string(10 * i)});
  return out;
}

// Answers right when the seed is not a multiple of 3, wrong (reference + 1) otherwise; every request logged.
class ScriptedBackend : public ChatBackend {
 public:
  struct Call {
    std::string question;
    uint64_t seed;
    bool right;
  };
  std::function<std::optional<ChatReply>(const Call&, int64_t n)> fault = nullptr;  // may replace a reply
  std::chrono::milliseconds delay{0};

  ChatReply complete(const json& request) override {
    const std::string prompt = request["messages"][0]["content"];
    Call call{.question = prompt.substr(0, prompt.find('\n')), .seed = request["seed"], .right = false};
    call.right = call.seed % 3 != 0;
    int64_t n;
    {
      std::lock_guard lock(mu_);
      n = int64_t(calls_.size());
      calls_.push_back(call);
    }
    if (delay.count()) std::this_thread::sleep_for(delay);
    if (fault)
      if (auto r = fault(call, n)) return *r;
    const int64_t ref = 10 * std::stoll(call.question.substr(1));
    const std::string answer = std::to_string(call.right ? ref : ref + 1);
    json body = {{"choices", json::array({{{"index", 0},
                                           {"finish_reason", "stop"},
                                           {"message", {{"role", "assistant"},
                                                        {"reasoning_content", "thinking"},
                                                        {"content", "so \\boxed{" + answer + "}"}}}}})},
                 {"usage", {{"completion_tokens", 12}, {"completion_tokens_details", {{"reasoning_tokens", 9}}}}}};
    return ChatReply{.outcome = ChatReply::Outcome::kOk, .body = body, .error = "", .attempts = 1};
  }
  void cancel() override {}
  std::string model_name() const override { return "scripted"; }
  std::vector<Call> calls() {
    std::lock_guard lock(mu_);
    return calls_;
  }

 private:
  std::mutex mu_;
  std::vector<Call> calls_;
};

RunOptions options(int64_t k, int64_t concurrency) {
  return RunOptions{.settings = {.model = "scripted", .k = k, .temperature = 0.6, .top_p = 0.95, .max_tokens = {},
                                 .seed = 42},
                    .concurrency = concurrency};
}

TEST(EvalRunner, DrawsEverySampleOnceAndScoresTheReplies) {
  const auto problems = make_problems(10);
  ScriptedBackend backend;
  const RunOutcome out = run_eval(backend, problems, nullptr, options(4, 5));
  ASSERT_TRUE(out.complete()) << out.error.message();
  const auto calls = backend.calls();
  ASSERT_EQ(calls.size(), 40u);
  std::set<std::pair<std::string, uint64_t>> distinct;
  std::map<std::string, int> right;
  for (const auto& c : calls) {
    distinct.emplace(c.question, c.seed);
    right[c.question] += c.right;
  }
  EXPECT_EQ(distinct.size(), 40u);  // four different seeds per problem, none repeated
  ASSERT_EQ(out.results.size(), 10u);
  for (size_t i = 0; i < 10; ++i) {
    const ProblemResult& r = out.results[i];
    EXPECT_EQ(r.problem.id, problems[i].id);  // data set order, whatever order they finished in
    EXPECT_EQ(r.correct(), right[r.problem.question]) << r.problem.id;
    EXPECT_EQ(r.samples[0].reasoning_tokens, 9);
    EXPECT_EQ(r.samples[0].answer_tokens, 3);
  }
  EXPECT_EQ(out.progress.samples_done, 40);
  EXPECT_EQ(out.progress.problems_done, 10);
  EXPECT_EQ(out.progress.output_tokens, 40 * 12);
}

TEST(EvalRunner, SeedsAreFixedByTheRunSeed) {
  std::set<uint64_t> seen;
  for (int64_t i = 0; i < 1000; ++i)
    for (int64_t s = 0; s < 16; ++s) {
      const uint64_t seed = sample_seed(7, i, s);
      EXPECT_LT(seed, uint64_t(1) << 31);
      EXPECT_EQ(seed, sample_seed(7, i, s));
      seen.insert(seed);
    }
  EXPECT_GT(seen.size(), 15990u);  // 16,000 draws from 2^31 values: a few collisions at most
  EXPECT_NE(sample_seed(7, 3, 1), sample_seed(8, 3, 1));

  const Problem p{.id = "x", .index = 3, .question = "What is 1+1?", .reference = "2"};
  EvalSettings settings{.model = "m", .k = 2, .temperature = 0.6, .top_p = 0.95, .max_tokens = 100, .seed = 7};
  const json body = sample_request(p, settings, 1);
  EXPECT_EQ(body["model"], "m");
  ASSERT_EQ(body["messages"].size(), 1u);  // no system prompt
  EXPECT_EQ(body["messages"][0]["role"], "user");
  EXPECT_EQ(body["messages"][0]["content"],
            "What is 1+1?\nPlease reason step by step, and put your final answer within \\boxed{}.");
  EXPECT_DOUBLE_EQ(body["temperature"].get<double>(), 0.6);
  EXPECT_DOUBLE_EQ(body["top_p"].get<double>(), 0.95);
  EXPECT_EQ(body["max_tokens"], 100);
  EXPECT_EQ(body["seed"], sample_seed(7, 3, 1));
  settings.max_tokens.reset();
  EXPECT_FALSE(sample_request(p, settings, 1).contains("max_tokens"));
}

TEST(EvalRunner, ResumesAfterAFatalErrorWithoutRedoingRecordedProblems) {
  TempDir dir;
  const auto problems = make_problems(12);
  const RunOptions opts = options(3, 4);
  {
    ScriptedBackend failing;
    failing.fault = [](const ScriptedBackend::Call&, int64_t n) -> std::optional<ChatReply> {
      if (n < 14) return std::nullopt;
      return ChatReply{.outcome = ChatReply::Outcome::kFatal, .body = {}, .error = "HTTP 500 forever", .attempts = 9};
    };
    auto file = ResultsFile::open(dir.file("r.jsonl"), opts.settings, problems);
    ASSERT_TRUE(file);
    const RunOutcome out = run_eval(failing, problems, &*file, opts);
    EXPECT_FALSE(out.complete());
    EXPECT_NE(out.error.message().find("HTTP 500 forever"), std::string::npos);
    EXPECT_GE(out.results.size(), 1u);
    EXPECT_LT(out.results.size(), 12u);
  }
  auto file = ResultsFile::open(dir.file("r.jsonl"), opts.settings, problems);
  ASSERT_TRUE(file);
  std::set<std::string> recorded;
  for (const auto& [id, r] : file->done()) recorded.insert(r.problem.question);
  ASSERT_FALSE(recorded.empty());
  ScriptedBackend backend;
  const RunOutcome out = run_eval(backend, problems, &*file, opts);
  ASSERT_TRUE(out.complete());
  EXPECT_EQ(out.progress.problems_resumed, int64_t(recorded.size()));
  for (const auto& c : backend.calls()) EXPECT_EQ(recorded.count(c.question), 0u) << c.question << " redone";
  EXPECT_EQ(backend.calls().size(), (12 - recorded.size()) * 3);
  ASSERT_EQ(out.results.size(), 12u);

  // Same seeds, same replies: the resumed results equal one uninterrupted run.
  ScriptedBackend fresh;
  const RunOutcome whole = run_eval(fresh, problems, nullptr, opts);
  for (size_t i = 0; i < 12; ++i) EXPECT_EQ(out.results[i].correct(), whole.results[i].correct()) << i;
  std::ifstream in(dir.file("r.jsonl"));
  std::string line;
  std::map<std::string, int> lines_per_id;
  while (std::getline(in, line)) ++lines_per_id[json::parse(line)["id"].get<std::string>()];
  EXPECT_EQ(lines_per_id.size(), 12u);
  for (const auto& [id, n] : lines_per_id) EXPECT_EQ(n, 1) << id;
}

TEST(EvalRunner, RejectedRequestsAreFailedSamplesAndTheRunGoesOn) {
  const auto problems = make_problems(4);
  ScriptedBackend backend;
  backend.fault = [](const ScriptedBackend::Call& c, int64_t) -> std::optional<ChatReply> {
    if (c.question != "q2") return std::nullopt;
    return ChatReply{.outcome = ChatReply::Outcome::kRejected, .body = {}, .error = "HTTP 400: too long",
                     .attempts = 1};
  };
  const RunOutcome out = run_eval(backend, problems, nullptr, options(2, 3));
  ASSERT_TRUE(out.complete());
  ASSERT_EQ(out.results.size(), 4u);
  for (const SampleResult& s : out.results[2].samples) {
    EXPECT_EQ(s.finish_reason, "error");
    EXPECT_EQ(s.error, "HTTP 400: too long");
    EXPECT_FALSE(s.correct);
  }
  EXPECT_EQ(summarize({&out.results[2]}, 2).rejected, 2);
}

TEST(EvalRunner, StopsWhenAskedAndKeepsOnlyWholeProblems) {
  TempDir dir;
  const auto problems = make_problems(100);
  const RunOptions base = options(2, 2);
  ScriptedBackend backend;
  backend.delay = std::chrono::milliseconds(20);
  std::atomic<int> polls{0};
  RunOptions opts = base;
  opts.should_stop = [&] { return ++polls >= 3; };  // about 0.75 s in
  int progress_calls = 0;
  opts.on_progress = [&](const Progress& p) {
    ++progress_calls;
    EXPECT_LE(p.samples_done, p.samples_planned);
  };
  auto file = ResultsFile::open(dir.file("r.jsonl"), opts.settings, problems);
  ASSERT_TRUE(file);
  const RunOutcome out = run_eval(backend, problems, &*file, opts);
  EXPECT_TRUE(out.interrupted);
  EXPECT_GT(progress_calls, 0);
  EXPECT_LT(out.results.size(), 100u);
  for (const ProblemResult& r : out.results) EXPECT_EQ(r.samples.size(), 2u);
  std::ifstream in(dir.file("r.jsonl"));
  std::string line;
  size_t lines = 0;
  while (std::getline(in, line)) ++lines;
  EXPECT_EQ(lines, out.results.size());
}

}  // namespace
}  // namespace r1::eval
