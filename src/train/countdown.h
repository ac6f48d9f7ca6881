// Countdown (the TinyZero / "Countdown" RL task): reach a target from given numbers with + − × ÷, each number used
// at most once, every intermediate result a positive or negative integer (division must be exact). Two halves:
// a solver that lists every target reachable from a set of numbers with its shortest expression, and a checker
// that parses a model's expression safely and verifies it.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace r1::train {

// One arithmetic step of a solution: `lhs op rhs = result`.
struct CountdownStep {
  int64_t lhs = 0;
  char op = '+';  // '+', '-', '*' or '/'
  int64_t rhs = 0;
  int64_t result = 0;
};

// A way to make one value: the expression ("(75 - 25) * 3 + 4", minimal parentheses, ASCII operators) and its
// steps in the order they are computed.
struct CountdownSolution {
  std::string expression;
  std::vector<CountdownStep> steps;
  int numbers_used = 0;
};

// Every value reachable from `numbers` (2 to 5 of them, each in [1, 10000]) by combining two numbers at a time,
// with the solution using the fewest numbers (ties: the first found, in a fixed search order, so the result is
// deterministic). Only positive intermediate results are searched (a − b with a > b, exact a / b with b > 1, no
// × 1), which keeps solutions natural; the inputs themselves are not listed.
Result<std::map<int64_t, CountdownSolution>> countdown_reachable(std::span<const int64_t> numbers);

// A parsed expression: its value and the numbers it used, in order of appearance.
struct CountdownExpression {
  int64_t value = 0;
  std::vector<int64_t> numbers;
};

// Parses an expression of non-negative integer literals, + - * / (also × ÷ \times \div \cdot), parentheses and
// spaces, optionally followed by "= N" (N must then equal the value). No unary minus (numbers come from the list).
// Bounded (256 bytes, nesting 32, literals of 9 digits) and overflow-checked: hostile input is an error, never a
// crash or a hang. A division that is not exact, or by zero, is an error (intermediate results must be integers).
Result<CountdownExpression> parse_countdown_expression(std::string_view text);

// True when `expression` parses, uses a sub-multiset of `numbers`, and equals `target`.
bool check_countdown(std::span<const int64_t> numbers, int64_t target, std::string_view expression);

}  // namespace r1::train
