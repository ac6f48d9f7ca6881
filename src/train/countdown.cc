#include "train/countdown.h"

#include <algorithm>

namespace r1::train {

// -------------------------------------------------------------------------------------------------------- solver

namespace {

constexpr int64_t kMaxNumber = 10000;  // with at most 5 numbers, every product fits in int64

// An expression tree in an arena: leaves are the given numbers, inner nodes one operation on two earlier nodes.
struct Node {
  int64_t value = 0;
  char op = 0;  // 0 for a leaf
  int32_t left = -1, right = -1;
  int uses = 1;  // numbers under this node
};

class Solver {
 public:
  explicit Solver(std::span<const int64_t> numbers) {
    std::vector<int32_t> items;
    for (int64_t n : numbers) {
      items.push_back(int32_t(nodes_.size()));
      nodes_.push_back({.value = n});
    }
    search(items);
  }

  std::map<int64_t, CountdownSolution> solutions() const {
    std::map<int64_t, CountdownSolution> out;
    for (const auto& [value, node] : best_) {
      CountdownSolution s;
      s.expression = render(node);
      s.numbers_used = nodes_[size_t(node)].uses;
      collect_steps(node, s.steps);
      out.emplace(value, std::move(s));
    }
    return out;
  }

 private:
  // Depth-first over "pick two of the remaining items, replace them by one result".
  void search(const std::vector<int32_t>& items) {
    for (size_t i = 0; i < items.size(); ++i) {
      for (size_t j = i + 1; j < items.size(); ++j) {
        // The larger value goes on the left, so that − and ÷ are tried in the only order that can stay positive.
        int32_t a = items[i], b = items[j];
        if (nodes_[size_t(a)].value < nodes_[size_t(b)].value) std::swap(a, b);
        const int64_t x = nodes_[size_t(a)].value, y = nodes_[size_t(b)].value;
        std::vector<int32_t> rest;
        for (size_t k = 0; k < items.size(); ++k)
          if (k != i && k != j) rest.push_back(items[k]);
        try_op(rest, a, b, '+', x + y);
        if (x > 1 && y > 1) try_op(rest, a, b, '*', x * y);
        if (x > y) try_op(rest, a, b, '-', x - y);
        if (y > 1 && x % y == 0) try_op(rest, a, b, '/', x / y);
      }
    }
  }

  void try_op(std::vector<int32_t> rest, int32_t a, int32_t b, char op, int64_t value) {
    const int32_t id = int32_t(nodes_.size());
    nodes_.push_back({.value = value, .op = op, .left = a, .right = b,
                      .uses = nodes_[size_t(a)].uses + nodes_[size_t(b)].uses});
    auto [it, fresh] = best_.emplace(value, id);
    if (!fresh && nodes_[size_t(id)].uses < nodes_[size_t(it->second)].uses) it->second = id;
    rest.push_back(id);
    if (rest.size() >= 2) search(rest);
  }

  static int precedence(char op) { return op == '+' || op == '-' ? 1 : op == '*' || op == '/' ? 2 : 3; }

  std::string render(int32_t id) const {
    const Node& n = nodes_[size_t(id)];
    if (n.op == 0) return std::to_string(n.value);
    const int p = precedence(n.op), pl = precedence(nodes_[size_t(n.left)].op),
              pr = precedence(nodes_[size_t(n.right)].op);
    std::string left = render(n.left), right = render(n.right);
    if (pl < p) left = "(" + left + ")";
    // a − (b + c) and a / (b * c) keep their parentheses; a + (b − c) and a * (b / c) need none.
    if (pr < p || (pr == p && (n.op == '-' || n.op == '/'))) right = "(" + right + ")";
    return left + " " + n.op + " " + right;
  }

  void collect_steps(int32_t id, std::vector<CountdownStep>& steps) const {
    const Node& n = nodes_[size_t(id)];
    if (n.op == 0) return;
    collect_steps(n.left, steps);
    collect_steps(n.right, steps);
    steps.push_back({.lhs = nodes_[size_t(n.left)].value, .op = n.op, .rhs = nodes_[size_t(n.right)].value,
                     .result = n.value});
  }

  std::vector<Node> nodes_;
  std::map<int64_t, int32_t> best_;  // value -> the node making it with the fewest numbers
};

}  // namespace

Result<std::map<int64_t, CountdownSolution>> countdown_reachable(std::span<const int64_t> numbers) {
  if (numbers.size() < 2 || numbers.size() > 5)
    return Status::errorf("countdown: {} numbers, expected 2 to 5", numbers.size());
  for (int64_t n : numbers)
    if (n < 1 || n > kMaxNumber) return Status::errorf("countdown: number {} outside [1, {}]", n, kMaxNumber);
  std::map<int64_t, CountdownSolution> out = Solver(numbers).solutions();
  for (int64_t n : numbers) out.erase(n);  // reaching a given number is no puzzle
  return out;
}

// -------------------------------------------------------------------------------------------------------- parser

namespace {

constexpr size_t kMaxExpressionBytes = 256;
constexpr int kMaxDepth = 32;
constexpr int kMaxLiteralDigits = 9;

// Recursive descent over  expr := term (('+' | '-') term)*,  term := factor (('*' | '/') factor)*,
// factor := literal | '(' expr ')'. Every failure is a Status; depth and length are bounded up front.
class ExpressionParser {
 public:
  explicit ExpressionParser(std::string_view text) : s_(text) {}

  Result<CountdownExpression> parse() {
    if (s_.size() > kMaxExpressionBytes)
      return Status::errorf("expression of {} bytes, more than {}", s_.size(), kMaxExpressionBytes);
    R1_ASSIGN_OR_RETURN(int64_t value, expr(0));
    skip_space();
    if (match("=")) {
      skip_space();
      R1_ASSIGN_OR_RETURN(int64_t stated, literal());
      if (stated != value) return Status::errorf("expression is {}, not the stated {}", value, stated);
      skip_space();
    }
    if (pos_ != s_.size()) return Status::errorf("unexpected '{}' at byte {}", s_[pos_], pos_);
    return CountdownExpression{.value = value, .numbers = std::move(numbers_)};
  }

 private:
  Result<int64_t> expr(int depth) {
    R1_ASSIGN_OR_RETURN(int64_t value, term(depth));
    for (;;) {
      skip_space();
      if (match("+")) {
        R1_ASSIGN_OR_RETURN(int64_t rhs, term(depth));
        if (__builtin_add_overflow(value, rhs, &value)) return Status::error("overflow in +");
      } else if (match("-") || match("\xE2\x88\x92")) {  // ASCII or Unicode minus
        R1_ASSIGN_OR_RETURN(int64_t rhs, term(depth));
        if (__builtin_sub_overflow(value, rhs, &value)) return Status::error("overflow in -");
      } else {
        return value;
      }
    }
  }

  Result<int64_t> term(int depth) {
    R1_ASSIGN_OR_RETURN(int64_t value, factor(depth));
    for (;;) {
      skip_space();
      if (match("*") || match("\xC3\x97") || match("\\times") || match("\\cdot")) {
        R1_ASSIGN_OR_RETURN(int64_t rhs, factor(depth));
        if (__builtin_mul_overflow(value, rhs, &value)) return Status::error("overflow in *");
      } else if (match("/") || match("\xC3\xB7") || match("\\div")) {
        R1_ASSIGN_OR_RETURN(int64_t rhs, factor(depth));
        if (rhs == 0) return Status::error("division by zero");
        if (value % rhs != 0) return Status::errorf("{} / {} is not an integer", value, rhs);
        value /= rhs;
      } else {
        return value;
      }
    }
  }

  Result<int64_t> factor(int depth) {
    skip_space();
    if (match("(") || match("\\left(")) {
      if (depth + 1 > kMaxDepth) return Status::errorf("parentheses nested deeper than {}", kMaxDepth);
      R1_ASSIGN_OR_RETURN(int64_t value, expr(depth + 1));
      skip_space();
      if (!match(")") && !match("\\right)")) return Status::errorf("expected ')' at byte {}", pos_);
      return value;
    }
    R1_ASSIGN_OR_RETURN(int64_t value, literal());
    numbers_.push_back(value);
    return value;
  }

  Result<int64_t> literal() {
    const size_t start = pos_;
    int64_t value = 0;
    while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') {
      if (pos_ - start == kMaxLiteralDigits) return Status::errorf("number at byte {} is too long", start);
      value = value * 10 + (s_[pos_++] - '0');
    }
    if (pos_ == start) {
      if (pos_ == s_.size()) return Status::error("expression ends where a number was expected");
      return Status::errorf("expected a number at byte {}, found '{}'", pos_, s_[pos_]);
    }
    return value;
  }

  void skip_space() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) ++pos_;
  }

  bool match(std::string_view token) {
    if (s_.substr(pos_).starts_with(token)) {
      pos_ += token.size();
      return true;
    }
    return false;
  }

  std::string_view s_;
  size_t pos_ = 0;
  std::vector<int64_t> numbers_;
};

}  // namespace

Result<CountdownExpression> parse_countdown_expression(std::string_view text) {
  return ExpressionParser(text).parse();
}

bool check_countdown(std::span<const int64_t> numbers, int64_t target, std::string_view expression) {
  Result<CountdownExpression> parsed = parse_countdown_expression(expression);
  if (!parsed.is_ok() || parsed->value != target) return false;
  // A sub-multiset: each literal consumes one copy of itself from the given numbers.
  std::vector<int64_t> available(numbers.begin(), numbers.end());
  for (int64_t used : parsed->numbers) {
    auto it = std::find(available.begin(), available.end(), used);
    if (it == available.end()) return false;
    available.erase(it);
  }
  return true;
}

}  // namespace r1::train
