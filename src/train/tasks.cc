#include "train/tasks.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <fstream>
#include <nlohmann/json.hpp>
#include <unordered_set>

#include "eval/dataset.h"
#include "train/countdown.h"

namespace r1::train {

namespace {

constexpr int kMaxDigits = 40;
constexpr int kMaxDrawsPerProblem = 10000;  // draws that may land in the other split before next() gives up

// A uniform draw in [0, n) that is the same on every platform: reject the top sliver of the 64-bit range that
// would bias `r % n` (the threshold is 2^64 mod n).
uint64_t draw_below(Rng& rng, uint64_t n) {
  const uint64_t threshold = (0 - n) % n;
  uint64_t r = rng.next();
  while (r < threshold) r = rng.next();
  return r % n;
}

int64_t draw_in(Rng& rng, int64_t lo, int64_t hi) { return lo + int64_t(draw_below(rng, uint64_t(hi - lo + 1))); }

// ---- decimal digit strings (most significant digit first), so operands may have any number of digits -----------

std::string draw_number(Rng& rng, int digits) {
  std::string s(1, char('1' + draw_below(rng, 9)));  // no leading zero
  for (int i = 1; i < digits; ++i) s.push_back(char('0' + draw_below(rng, 10)));
  return s;
}

int digit_from_right(const std::string& s, size_t i) { return i < s.size() ? s[s.size() - 1 - i] - '0' : 0; }

// a + b, and the scratchpad: one line per column from the ones place, then the final carry.
std::string add_with_trace(const std::string& a, const std::string& b, std::string* trace) {
  std::string sum;
  int carry = 0;
  for (size_t i = 0; i < std::max(a.size(), b.size()); ++i) {
    const int x = digit_from_right(a, i), y = digit_from_right(b, i), s = x + y + carry;
    if (trace) *trace += fmt::format("{} + {} + {} = {}, write {}, carry {}.\n", x, y, carry, s, s % 10, s / 10);
    sum.push_back(char('0' + s % 10));
    carry = s / 10;
  }
  if (carry) {
    sum.push_back(char('0' + carry));
    if (trace) *trace += fmt::format("Write the last carry {}.\n", carry);
  }
  std::reverse(sum.begin(), sum.end());
  return sum;
}

// a × d for one digit d, and its scratchpad on one line.
std::string multiply_digit_with_trace(const std::string& a, int d, std::string& trace) {
  if (d == 0) {
    trace += fmt::format("{} * 0 = 0.", a);
    return "0";
  }
  std::string product;
  int carry = 0;
  trace += fmt::format("{} * {}: ", a, d);
  for (size_t i = 0; i < a.size(); ++i) {
    const int x = digit_from_right(a, i), p = x * d + carry;
    const bool last = i + 1 == a.size();
    if (i > 0) trace += "; ";
    if (last) {
      trace += fmt::format("{} * {} + {} = {}, write {}", x, d, carry, p, p);
      const std::string digits = std::to_string(p);
      product.append(digits.rbegin(), digits.rend());  // `product` is built ones digit first
    } else {
      trace += fmt::format("{} * {} + {} = {}, write {}, carry {}", x, d, carry, p, p % 10, p / 10);
      product.push_back(char('0' + p % 10));
      carry = p / 10;
    }
  }
  std::reverse(product.begin(), product.end());
  trace += fmt::format(". That gives {}.", product);
  return product;
}

std::string join_numbers(std::span<const int64_t> numbers) {
  std::string s;
  for (size_t i = 0; i < numbers.size(); ++i) s += (i ? ", " : "") + std::to_string(numbers[i]);
  return s;
}

// ---- the three generators --------------------------------------------------------------------------------------

TaskProblem make_addition(Rng& rng, const TaskOptions& o) {
  const std::string a = draw_number(rng, o.digits), b = draw_number(rng, o.digits);
  TaskProblem p;
  p.kind = TaskKind::kAddition;
  p.question = fmt::format("What is {} + {}?", a, b);
  p.reasoning = fmt::format("Add {} and {} digit by digit, starting from the ones place.\n", a, b);
  p.answer = add_with_trace(a, b, &p.reasoning);
  p.reasoning += fmt::format("So {} + {} = {}.", a, b, p.answer);
  return p;
}

TaskProblem make_multiplication(Rng& rng, const TaskOptions& o) {
  const std::string a = draw_number(rng, o.digits), b = draw_number(rng, o.digits_b);
  TaskProblem p;
  p.kind = TaskKind::kMultiplication;
  p.question = fmt::format("What is {} * {}?", a, b);
  p.reasoning = fmt::format("Multiply {} by each digit of {}, starting from the ones digit.\n", a, b);
  std::vector<std::string> partials;
  for (size_t place = 0; place < b.size(); ++place) {
    std::string partial = multiply_digit_with_trace(a, digit_from_right(b, place), p.reasoning);
    if (place > 0 && partial != "0") {
      partial += std::string(place, '0');
      p.reasoning += fmt::format(" Shifted {} place{}: {}.", place, place > 1 ? "s" : "", partial);
    }
    p.reasoning += '\n';
    partials.push_back(std::move(partial));
  }
  std::string total = partials[0];
  if (partials.size() > 1) p.reasoning += "Add the partial products.\n";
  for (size_t k = 1; k < partials.size(); ++k) {
    const std::string next = add_with_trace(total, partials[k], nullptr);
    p.reasoning += fmt::format("{} + {} = {}.\n", total, partials[k], next);
    total = next;
  }
  p.answer = total;
  p.reasoning += fmt::format("So {} * {} = {}.", a, b, p.answer);
  return p;
}

Result<TaskProblem> make_countdown(Rng& rng, const TaskOptions& o) {
  for (int attempt = 0; attempt < 100; ++attempt) {
    std::vector<int64_t> numbers(size_t(draw_in(rng, o.min_numbers, o.max_numbers)));
    for (int64_t& n : numbers) n = draw_in(rng, 1, o.max_number);
    R1_ASSIGN_OR_RETURN(auto reachable, countdown_reachable(numbers));
    auto first = reachable.lower_bound(o.min_target), last = reachable.upper_bound(o.max_target);
    const int64_t candidates = std::distance(first, last);
    if (candidates == 0) continue;  // these numbers reach nothing in range: draw others
    std::advance(first, int64_t(draw_below(rng, uint64_t(candidates))));
    const auto& [target, solution] = *first;
    TaskProblem p;
    p.kind = TaskKind::kCountdown;
    p.question = fmt::format("Using the numbers {}, each at most once, and the operations +, -, *, /, make {}.",
                             join_numbers(numbers), target);
    p.answer = solution.expression;
    p.numbers = numbers;
    p.target = target;
    p.reasoning = fmt::format("Reach {} from {}.\n", target, join_numbers(numbers));
    for (const CountdownStep& s : solution.steps)
      p.reasoning += fmt::format("{} {} {} = {}.\n", s.lhs, s.op, s.rhs, s.result);
    p.reasoning += fmt::format("So {} = {}.", solution.expression, target);
    return p;
  }
  return Status::errorf("countdown: 100 draws of numbers reached no target in [{}, {}]", o.min_target, o.max_target);
}

// FNV-1a, then splitmix64's finaliser so that every output bit depends on every input byte.
uint64_t hash_text(std::string_view text) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : text) h = (h ^ c) * 0x100000001b3ull;
  h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ull;
  h = (h ^ (h >> 27)) * 0x94d049bb133111ebull;
  return h ^ (h >> 31);
}

}  // namespace

Result<TaskKind> parse_task_kind(std::string_view name) {
  if (name == "addition") return TaskKind::kAddition;
  if (name == "multiplication") return TaskKind::kMultiplication;
  if (name == "countdown") return TaskKind::kCountdown;
  return Status::errorf("task \"{}\": expected addition, multiplication or countdown", name);
}

std::string_view task_kind_name(TaskKind kind) {
  switch (kind) {
    case TaskKind::kAddition: return "addition";
    case TaskKind::kMultiplication: return "multiplication";
    case TaskKind::kCountdown: return "countdown";
  }
  return "?";
}

Status TaskOptions::validate() const {
  if (digits < 1 || digits > kMaxDigits) return Status::errorf("digits {}: expected 1 to {}", digits, kMaxDigits);
  if (digits_b < 1 || digits_b > kMaxDigits)
    return Status::errorf("digits_b {}: expected 1 to {}", digits_b, kMaxDigits);
  if (min_numbers < 2 || max_numbers > 5 || min_numbers > max_numbers)
    return Status::errorf("countdown numbers {} to {}: expected 2 <= min <= max <= 5", min_numbers, max_numbers);
  if (max_number < 1 || max_number > 10000) return Status::errorf("max_number {}: expected 1 to 10000", max_number);
  if (min_target < 1 || min_target > max_target)
    return Status::errorf("countdown targets {} to {}: expected 1 <= min <= max", min_target, max_target);
  if (!(held_out_fraction >= 0 && held_out_fraction <= 1))
    return Status::errorf("held_out_fraction {}: expected 0 to 1", held_out_fraction);
  return Status::ok();
}

Split split_of(std::string_view question, double held_out_fraction) {
  const double u = double(hash_text(question) >> 11) * 0x1.0p-53;
  return u < held_out_fraction ? Split::kHeldOut : Split::kTrain;
}

TaskGenerator::TaskGenerator(const TaskOptions& options, Split split, uint64_t seed)
    : options_(options), split_(split), rng_(seed) {}

Result<TaskGenerator> TaskGenerator::create(const TaskOptions& options, Split split, uint64_t seed) {
  R1_RETURN_IF_ERROR(options.validate());
  if (split == Split::kHeldOut && options.held_out_fraction == 0)
    return Status::error("held_out_fraction 0 leaves the held-out split empty");
  if (split == Split::kTrain && options.held_out_fraction == 1)
    return Status::error("held_out_fraction 1 leaves the train split empty");
  return TaskGenerator(options, split, seed);
}

Result<TaskProblem> TaskGenerator::draw() {
  switch (options_.kind) {
    case TaskKind::kAddition: return make_addition(rng_, options_);
    case TaskKind::kMultiplication: return make_multiplication(rng_, options_);
    case TaskKind::kCountdown: return make_countdown(rng_, options_);
  }
  return Status::error("unknown task kind");
}

Result<TaskProblem> TaskGenerator::next() {
  for (int i = 0; i < kMaxDrawsPerProblem; ++i) {
    R1_ASSIGN_OR_RETURN(TaskProblem p, draw());
    if (split_of(p.question, options_.held_out_fraction) == split_) return p;
  }
  return Status::errorf("{}: {} draws in a row fell outside the {} split; the problem space is too small for "
                        "held_out_fraction {}",
                        task_kind_name(options_.kind), kMaxDrawsPerProblem,
                        split_ == Split::kTrain ? "train" : "held-out", options_.held_out_fraction);
}

Result<std::vector<TaskProblem>> generate_problems(const TaskOptions& options, Split split, uint64_t seed,
                                                   int64_t count, bool distinct) {
  if (count < 0) return Status::errorf("count {} is negative", count);
  R1_ASSIGN_OR_RETURN(TaskGenerator generator, TaskGenerator::create(options, split, seed));
  std::vector<TaskProblem> problems;
  std::unordered_set<std::string> seen;
  const int64_t max_draws = 50 * count + 1000;
  for (int64_t draws = 0; int64_t(problems.size()) < count; ++draws) {
    if (draws == max_draws)
      return Status::errorf("{}: only {} distinct problems in {} draws, {} asked", task_kind_name(options.kind),
                            problems.size(), max_draws, count);
    R1_ASSIGN_OR_RETURN(TaskProblem p, generator.next());
    if (distinct && !seen.insert(p.question).second) continue;
    problems.push_back(std::move(p));
  }
  return problems;
}

bool check_answer(const TaskProblem& problem, std::string_view boxed) {
  if (problem.kind == TaskKind::kCountdown) return check_countdown(problem.numbers, problem.target, boxed);
  // An integer: optional spaces, an optional sign, digits; equal as a number to the reference.
  auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\n'; };
  while (!boxed.empty() && is_space(boxed.front())) boxed.remove_prefix(1);
  while (!boxed.empty() && is_space(boxed.back())) boxed.remove_suffix(1);
  bool negative = false;
  if (!boxed.empty() && (boxed[0] == '+' || boxed[0] == '-')) {
    negative = boxed[0] == '-';
    boxed.remove_prefix(1);
  }
  if (boxed.empty() || !std::all_of(boxed.begin(), boxed.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return false;
  const size_t nonzero = boxed.find_first_not_of('0');
  const std::string_view digits = nonzero == std::string_view::npos ? "0" : boxed.substr(nonzero);
  if (negative && digits != "0") return false;  // every reference answer is a non-negative integer
  return digits == problem.answer;
}

std::string sft_completion(const TaskProblem& problem) {
  return problem.reasoning + "\n</think>\n\nThe answer is \\boxed{" + problem.answer + "}.";
}

namespace {

Status write_jsonl(const std::string& path, std::span<const TaskProblem> problems,
                   const std::function<nlohmann::json(size_t, const TaskProblem&)>& record) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return Status::errorf("{}: cannot open for writing", path);
  for (size_t i = 0; i < problems.size(); ++i) out << record(i, problems[i]).dump() << '\n';
  out.flush();
  if (!out) return Status::errorf("{}: write error", path);
  return Status::ok();
}

}  // namespace

Status write_sft_jsonl(const std::string& path, std::span<const TaskProblem> problems, double plain_fraction) {
  if (!(plain_fraction >= 0 && plain_fraction <= 1))
    return Status::errorf("plain_fraction {} outside [0, 1]", plain_fraction);
  return write_jsonl(path, problems, [&](size_t i, const TaskProblem& p) {
    // Problem i is plain when floor((i + 1) f) > floor(i f): exactly the fraction f, evenly spread.
    const bool plain = std::floor(double(i + 1) * plain_fraction) > std::floor(double(i) * plain_fraction);
    return nlohmann::json{{"prompt", plain ? p.question : eval::r1_user_prompt(p.question)},
                          {"completion", sft_completion(p)},
                          {"answer", p.answer}};
  });
}

Status write_eval_jsonl(const std::string& path, std::span<const TaskProblem> problems) {
  return write_jsonl(path, problems, [](size_t, const TaskProblem& p) {
    nlohmann::json j{{"question", p.question}, {"answer", p.answer}, {"task", std::string(task_kind_name(p.kind))}};
    if (p.kind == TaskKind::kCountdown) {
      j["numbers"] = p.numbers;
      j["target"] = p.target;
    }
    return j;
  });
}

}  // namespace r1::train
