// Verifiable tasks for SFT and GRPO, generated in C++: multi-digit addition and multiplication with a worked
// digit-by-digit scratchpad, and Countdown. Each problem carries its question, its exact answer and a reasoning
// trace; each task has an exact checker of a model's boxed answer.
//
// Determinism: problems come from r1::Rng (xoshiro256**) through our own bounded draw, never a std distribution
// (implementation-defined), so a seed gives the same problems on every platform and standard library.
// Splits: a hash of the question text puts every possible problem in exactly one of train / held-out, and a
// generator for one split skips the other's problems, so a held-out problem can never appear in training.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "sampling/sampler.h"

namespace r1::train {

enum class TaskKind { kAddition, kMultiplication, kCountdown };

Result<TaskKind> parse_task_kind(std::string_view name);  // "addition" | "multiplication" | "countdown"
std::string_view task_kind_name(TaskKind kind);

enum class Split { kTrain, kHeldOut };

struct TaskOptions {
  TaskKind kind = TaskKind::kAddition;
  int digits = 3;                  // addition: digits of each operand; multiplication: of the first factor
  int digits_b = 2;                // multiplication: digits of the second factor (partial products: one per digit)
  int min_numbers = 3;             // countdown: how many numbers are given, drawn in [min_numbers, max_numbers]
  int max_numbers = 4;             //   (2 to 5)
  int max_number = 99;             // countdown: the numbers are drawn from [1, max_number]
  int64_t min_target = 10;         // countdown: the target is drawn among reachable values in [min, max]
  int64_t max_target = 999;
  double held_out_fraction = 0.1;  // the share of all problems (by question hash) that is held out

  Status validate() const;
};

struct TaskProblem {
  TaskKind kind = TaskKind::kAddition;
  std::string question;          // as asked, without the R1 instruction (eval::r1_user_prompt appends it)
  std::string answer;            // what belongs in \boxed{}: the number, or for Countdown one solving expression
  std::string reasoning;         // a worked trace ending in the answer, for SFT
  std::vector<int64_t> numbers;  // countdown: the numbers given
  int64_t target = 0;            // countdown: the value to reach
};

// The split a question belongs to: a 64-bit hash of its text, mapped to [0, 1), below held_out_fraction is held out.
Split split_of(std::string_view question, double held_out_fraction);

// An endless, deterministic stream of problems of one kind from one split.
class TaskGenerator {
 public:
  // Errors: invalid options; a split that is empty by construction (held_out_fraction 0 or 1).
  static Result<TaskGenerator> create(const TaskOptions& options, Split split, uint64_t seed);

  // The next problem. An error only when thousands of draws in a row fall in the other split (a problem space too
  // small for the fraction asked), never a hang.
  Result<TaskProblem> next();

 private:
  TaskGenerator(const TaskOptions& options, Split split, uint64_t seed);
  Result<TaskProblem> draw();

  TaskOptions options_;
  Split split_;
  Rng rng_;
};

// `count` problems, all different when `distinct` (an error when the split has fewer after many draws).
Result<std::vector<TaskProblem>> generate_problems(const TaskOptions& options, Split split, uint64_t seed,
                                                   int64_t count, bool distinct);

// True when `boxed` (the content of the model's \boxed{}) answers `problem` exactly: for arithmetic the same
// integer (digits, optionally signed, surrounding spaces allowed); for Countdown a valid expression over the given
// numbers equal to the target (check_countdown).
bool check_answer(const TaskProblem& problem, std::string_view boxed);

// The assistant text SFT trains on: the trace, "\n</think>\n\n", and a sentence with the answer in \boxed{}. It
// starts inside the think block, as the R1 chat template leaves it, and earns format_reward 1.
std::string sft_completion(const TaskProblem& problem);

// JSONL for `r1 train sft`: {"prompt": eval::r1_user_prompt(question) (the user turn, before the chat template),
// "completion": sft_completion, "answer"}. A share `plain_fraction` of the prompts, spread evenly, is the bare
// question without R1's instruction, as a chat user types it.
Status write_sft_jsonl(const std::string& path, std::span<const TaskProblem> problems, double plain_fraction = 0.0);

// JSONL for `r1 eval`: {"question", "answer"} plus "task" (and "numbers", "target" for Countdown). r1 eval compares
// boxed answers with answers_match, which is exact for arithmetic; a Countdown expression other than the reference
// one needs check_answer.
Status write_eval_jsonl(const std::string& path, std::span<const TaskProblem> problems);

}  // namespace r1::train
