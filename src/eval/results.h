// What `r1 eval` records: one JSON line per problem with its k samples (the results file, which is also what a
// resumed run starts from), and the summary over all problems.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "eval/dataset.h"

namespace r1::eval {

// The settings a results file was made with; a resumed run must use the same ones.
struct EvalSettings {
  std::string model;
  int64_t k = 8;
  double temperature = 0.6, top_p = 0.95;
  std::optional<int64_t> max_tokens = std::nullopt;  // unset: the endpoint's default (the rest of the context)
  uint64_t seed = 0;
  std::string api = "chat";  // "chat", or "completions": the user turn as a plain prompt (base models)
  nlohmann::json to_json() const;
  static Result<EvalSettings> from_json(const nlohmann::json& j);
  // Empty when `other` may continue this run; else what differs.
  std::string difference(const EvalSettings& other) const;
};

struct SampleResult {
  std::string reasoning;                // reasoning_content (or the text before </think>)
  std::string content;                  // the answer text
  std::optional<std::string> answer;    // the last \boxed{} of the content; nullopt: a format failure
  bool correct = false;
  std::string finish_reason;            // "stop", "length", or "error" for a request the endpoint rejected
  std::optional<int64_t> reasoning_tokens, answer_tokens;  // from usage; unset when the endpoint does not say
  std::string error;                    // why the endpoint rejected the request
};

// Reads a chat.completion body: message.content and message.reasoning_content (DeepSeek, r1, vLLM) or a
// "<think>...</think>" block inside content; usage.completion_tokens(_details.reasoning_tokens).
SampleResult sample_from_reply(const nlohmann::json& body, const std::string& reference);
SampleResult rejected_sample(const std::string& error);

struct ProblemResult {
  Problem problem;
  std::vector<SampleResult> samples;  // k of them
  int64_t correct() const;
  std::optional<std::string> majority() const;  // the voted answer
  bool majority_correct() const;
  nlohmann::json to_json(const EvalSettings& settings) const;
  static Result<ProblemResult> from_json(const nlohmann::json& j);
};

struct Summary {
  int64_t problems = 0, samples = 0, k = 0;
  double pass1 = 0, pass1_stderr = 0;     // mean of per-problem pass@1, and its standard error over problems
  std::map<int64_t, double> pass_at;      // j -> pass@j for j = 1, 2, 4, ... and k
  double cons = 0;                        // cons@k
  int64_t format_failures = 0, truncated = 0, rejected = 0;
  double mean_reasoning_tokens = 0, mean_answer_tokens = 0;  // over samples whose counts are known
  int64_t token_counts_known = 0;
  nlohmann::json to_json() const;
};
Summary summarize(const std::vector<const ProblemResult*>& results, int64_t k);

// The per-problem JSONL file. open() reads the records already there (a run that was interrupted), drops a last
// line cut short by the interruption, checks they were made with the same settings and data set, and keeps the
// file open for appending. append() writes one whole line and syncs it, so a crash loses at most the problems in
// flight.
class ResultsFile {
 public:
  static Result<ResultsFile> open(const std::string& path, const EvalSettings& settings,
                                  const std::vector<Problem>& problems);

  // Problems of the data set that already have a record, by id.
  const std::map<std::string, ProblemResult>& done() const { return done_; }
  int64_t dropped_partial_bytes() const { return dropped_partial_bytes_; }
  int64_t foreign_records() const { return foreign_records_; }  // records for ids not in the data set given
  Status append(const ProblemResult& result, const EvalSettings& settings);

 private:
  ResultsFile() = default;
  std::string path_;
  struct Closer {
    void operator()(std::FILE* f) const { std::fclose(f); }
  };
  std::unique_ptr<std::FILE, Closer> file_;
  std::map<std::string, ProblemResult> done_;
  int64_t dropped_partial_bytes_ = 0, foreign_records_ = 0;
};

}  // namespace r1::eval
