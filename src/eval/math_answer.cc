// Final-answer extraction and comparison for math benchmarks (GSM8K, MATH-500, AIME).
//
// Everything here is a hand-written linear scan over bytes: no regex, no recursion deeper than a small fixed
// bound, no assumption that the input is valid UTF-8 (bytes >= 0x80 are copied through untouched). Decisions
// taken where graders differ (each is pinned by a row of tests/eval/math_answer_test.cc):
//   * an unclosed last \boxed{ gives nullopt, never an earlier box: the model's final answer is the last one;
//   * "10\%" equals "10" (R1-style graders drop the percent sign; "0.1" does not equal "10\%");
//   * numbers are exact rationals over 128-bit integers; a literal too large for that is compared as text;
//   * "1\frac{4}{5}" is the mixed number 9/5, as in MATH's reference answers;
//   * "\sqrt51" is read as \sqrt{51} (no one means sqrt(5)*1); "\frac59" follows TeX: \frac{5}{9};
//   * a comma list without brackets ("3, 5, 7") is a set of solutions: order does not matter. Tuples and
//     intervals keep their order and brackets ("(1,2)" != "(2,1)", "(3,4]" != "(3,4)");
//   * a \text{...} group after other content at the end of the answer is a unit and is dropped; a
//     \text{...} that is the whole answer is unwrapped ("\text{Evelyn}" == "Evelyn").
#include "eval/math_answer.h"

#include <algorithm>
#include <array>
#include <vector>

namespace r1::eval {
namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_letter(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

// The letters of the control word starting at s[i] == '\\' ("\frac" -> "frac"); empty for a control symbol.
std::string_view command_name(std::string_view s, size_t i) {
  size_t j = i + 1;
  while (j < s.size() && is_letter(s[j])) ++j;
  return s.substr(i + 1, j - i - 1);
}

// Index just past the brace group opening at s[open] == '{', or npos when it never closes. `\{` and `\}` are
// escaped braces, not grouping.
size_t skip_group(std::string_view s, size_t open) {
  size_t depth = 0;
  for (size_t i = open; i < s.size(); ++i) {
    if (s[i] == '\\') {
      ++i;
    } else if (s[i] == '{') {
      ++depth;
    } else if (s[i] == '}' && --depth == 0) {
      return i + 1;
    }
  }
  return std::string_view::npos;
}

// Calls visit(i) for every byte outside all (), [] and {} (the splitters only split there). Intervals pair
// brackets of different kinds ("(3,4]"), so one shared depth counts all three; escaped \{ \} count too (they
// delimit sets).
template <typename Visit>
void for_each_top_level(std::string_view s, Visit visit) {
  int depth = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '\\' && i + 1 < s.size() && (s[i + 1] == '{' || s[i + 1] == '}')) c = s[++i];
    if (c == '(' || c == '[' || c == '{') {
      ++depth;
    } else if (c == ')' || c == ']' || c == '}') {
      --depth;
    } else if (depth == 0) {
      visit(i);
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Exact rationals
// ---------------------------------------------------------------------------------------------------------------

// A reduced fraction over 128-bit integers; every operation reports overflow instead of wrapping (500-digit
// literals must not be UB, they become text).
struct Rational {
  __int128 num = 0;
  __int128 den = 1;  // > 0
};

__int128 gcd128(__int128 a, __int128 b) {
  if (a < 0) a = -a;
  if (b < 0) b = -b;
  while (b != 0) {
    __int128 t = a % b;
    a = b;
    b = t;
  }
  return a;
}

std::optional<Rational> make_rational(__int128 num, __int128 den) {
  if (den == 0) return std::nullopt;
  constexpr __int128 kMin = static_cast<__int128>(static_cast<unsigned __int128>(1) << 127);
  if (num == kMin || den == kMin) return std::nullopt;  // negating it would overflow
  if (den < 0) num = -num, den = -den;
  __int128 g = gcd128(num, den);
  if (g > 1) num /= g, den /= g;
  return Rational{num, den};
}

std::optional<Rational> divide(Rational a, Rational b) {
  __int128 num, den;
  if (__builtin_mul_overflow(a.num, b.den, &num) || __builtin_mul_overflow(a.den, b.num, &den))
    return std::nullopt;
  return make_rational(num, den);
}

std::optional<Rational> add(Rational a, Rational b) {
  __int128 x, y, num, den;
  if (__builtin_mul_overflow(a.num, b.den, &x) || __builtin_mul_overflow(b.num, a.den, &y) ||
      __builtin_add_overflow(x, y, &num) || __builtin_mul_overflow(a.den, b.den, &den)) {
    return std::nullopt;
  }
  return make_rational(num, den);
}

std::string to_string(__int128 v) {
  if (v == 0) return "0";
  bool negative = v < 0;
  unsigned __int128 u = negative ? -static_cast<unsigned __int128>(v) : static_cast<unsigned __int128>(v);
  std::string out;
  for (; u != 0; u /= 10) out.push_back(static_cast<char>('0' + static_cast<int>(u % 10)));
  if (negative) out.push_back('-');
  std::reverse(out.begin(), out.end());
  return out;
}

std::string to_string(Rational r) {
  return r.den == 1 ? to_string(r.num) : to_string(r.num) + "/" + to_string(r.den);
}

// Reads numbers written in the ways answers are written, after clean_latex: "-12", ".35625", "5.", "1,000",
// "3/4", "\frac{-1}{2}", "-\frac{3}{4}", "1\frac{4}{5}" (mixed). Each parse_* advances `pos` only on success.
class NumberParser {
 public:
  explicit NumberParser(std::string_view s) : s_(s) {}

  // The whole of s_ as one number, or nullopt.
  std::optional<Rational> parse_all(int depth) {
    std::optional<Rational> r = parse_signed(depth);
    return r && pos_ == s_.size() ? r : std::nullopt;
  }

 private:
  static constexpr int kMaxDepth = 4;  // \frac inside \frac inside ...: a bound, not a need

  std::optional<Rational> parse_signed(int depth) {
    bool negative = false;
    while (pos_ < s_.size() && (s_[pos_] == '+' || s_[pos_] == '-')) negative ^= s_[pos_++] == '-';
    std::optional<Rational> r = parse_unsigned(depth);
    if (r && negative) r->num = -r->num;
    return r;
  }

  std::optional<Rational> parse_unsigned(int depth) {
    if (s_.substr(pos_).starts_with("\\frac{")) return parse_frac(depth);
    size_t start = pos_;
    std::optional<Rational> whole = parse_decimal();
    if (!whole) return std::nullopt;
    if (pos_ < s_.size() && s_[pos_] == '/') {
      ++pos_;
      std::optional<Rational> den = parse_decimal();
      if (!den) return std::nullopt;
      return divide(*whole, *den);
    }
    // A mixed number: an integer written right before a proper fraction of integers.
    bool integer = whole->den == 1 && s_.substr(start, pos_ - start).find('.') == std::string_view::npos;
    if (integer && s_.substr(pos_).starts_with("\\frac{")) {
      std::optional<Rational> part = parse_frac(depth);
      if (!part || part->num <= 0 || part->num >= part->den) return std::nullopt;
      return add(*whole, *part);
    }
    return whole;
  }

  // "\frac{A}{B}" with both arguments numbers (arguments are braced by fix_command_arguments).
  std::optional<Rational> parse_frac(int depth) {
    if (depth >= kMaxDepth) return std::nullopt;
    size_t open_a = pos_ + 5;
    size_t end_a = skip_group(s_, open_a);
    if (end_a == std::string_view::npos || end_a >= s_.size() || s_[end_a] != '{') return std::nullopt;
    size_t end_b = skip_group(s_, end_a);
    if (end_b == std::string_view::npos) return std::nullopt;
    std::optional<Rational> a = NumberParser(s_.substr(open_a + 1, end_a - open_a - 2)).parse_all(depth + 1);
    std::optional<Rational> b = NumberParser(s_.substr(end_a + 1, end_b - end_a - 2)).parse_all(depth + 1);
    if (!a || !b) return std::nullopt;
    pos_ = end_b;
    return divide(*a, *b);
  }

  // Digits with an optional point and thousands commas ("58,500": groups of exactly three after the first).
  std::optional<Rational> parse_decimal() {
    __int128 num = 0, den = 1;
    size_t i = pos_, digits = 0, group = 0;
    bool point = false, commas = false, overflow = false;
    auto take_digit = [&](char c) {
      overflow |= __builtin_mul_overflow(num, 10, &num) || __builtin_add_overflow(num, c - '0', &num);
      if (point) overflow |= __builtin_mul_overflow(den, 10, &den);
      ++digits, ++group;
    };
    for (; i < s_.size(); ++i) {
      char c = s_[i];
      if (is_digit(c)) {
        take_digit(c);
      } else if (c == '.' && !point) {
        if (commas && group != 3) return std::nullopt;
        point = true;
      } else if (c == ',' && !point && digits > 0 && (commas ? group == 3 : group <= 3) &&
                 i + 3 < s_.size() && is_digit(s_[i + 1]) && is_digit(s_[i + 2]) && is_digit(s_[i + 3])) {
        commas = true;
        group = 0;
      } else {
        break;
      }
    }
    if (digits == 0 || overflow || (commas && !point && group != 3)) return std::nullopt;
    pos_ = i;
    return make_rational(num, den);
  }

  std::string_view s_;
  size_t pos_ = 0;
};

// ---------------------------------------------------------------------------------------------------------------
// Cleaning passes
// ---------------------------------------------------------------------------------------------------------------

// Where the "decoration" at the end of an answer begins: spaces, a final period, '$', and the exponent of
// a unit ("\text{cm}^2"). A \text{} group ending at or after this index is a trailing unit.
size_t decoration_start(std::string_view s) {
  size_t i = s.size();
  for (;;) {
    std::string_view head = s.substr(0, i);
    if (i > 0 && (is_space(s[i - 1]) || s[i - 1] == '.' || s[i - 1] == '$')) {
      --i;
    } else if (head.ends_with("^2") || head.ends_with("^3")) {
      i -= 2;
    } else if (head.ends_with("^{2}") || head.ends_with("^{3}")) {
      i -= 4;
    } else {
      return i;
    }
  }
}

bool is_text_command(std::string_view name) {
  static constexpr std::array<std::string_view, 9> kNames = {
      "text", "textbf", "textit", "textrm", "mbox", "mathrm", "mathbf", "textnormal", "textsf"};
  return std::find(kNames.begin(), kNames.end(), name) != kNames.end();
}

// Commands that change only the look of an answer, never its value.
bool is_dropped_command(std::string_view name) {
  static constexpr std::array<std::string_view, 17> kNames = {
      "left", "right", "big",  "Big",    "bigl",      "bigr",        "Bigl",    "Bigr",  "displaystyle",
      "quad", "qquad", "circ", "degree", "textstyle", "scriptstyle", "mathord", "limits"};
  return std::find(kNames.begin(), kNames.end(), name) != kNames.end();
}

// One pass over the answer that removes what never carries meaning: math delimiters ($, \( \), \[ \]), dollar
// and percent signs, degree marks, \left/\right and spacing commands, whitespace (kept as one space only
// between a control word and a letter, "\pi r", and after a list comma, "1, 2"), \dfrac/\tfrac (-> \frac),
// {,} (a LaTeX thousands separator), and \text{} groups (unwrapped, or dropped when they are a trailing
// unit). \text{} inside \text{} is cleaned recursively up to kMaxTextDepth; deeper nesting is copied.
constexpr int kMaxTextDepth = 4;

std::string clean_latex(std::string_view s, int depth = 0) {
  std::string out;
  out.reserve(s.size());
  const size_t units_from = decoration_start(s);
  bool in_control_word = false;  // out ends with "\letters"
  bool pending_space = false;    // whitespace was skipped since the last byte written
  bool comma_may_space = false;  // out ends with a comma that was not followed by "\!" (then it's 58,\!500)
  auto emit = [&](std::string_view text) {
    if (pending_space && !out.empty() && !text.empty()) {
      if ((in_control_word && is_letter(text.front())) || (comma_may_space && out.back() == ','))
        out.push_back(' ');
    }
    pending_space = false;
    out.append(text);
    comma_may_space = !out.empty() && out.back() == ',';
    in_control_word = false;
  };
  for (size_t i = 0; i < s.size();) {
    char c = s[i];
    if (is_space(c)) {
      pending_space = true;
      ++i;
    } else if (c == '$' || c == '%') {
      ++i;
    } else if (static_cast<unsigned char>(c) == 0xC2 && i + 1 < s.size() &&
               static_cast<unsigned char>(s[i + 1]) == 0xB0) {
      i += 2;  // U+00B0 DEGREE SIGN
    } else if (c == '^' && (s.substr(i).starts_with("^\\circ") || s.substr(i).starts_with("^{\\circ}"))) {
      i += s.substr(i).starts_with("^\\circ") ? 6 : 8;
    } else if (c == '{' && s.substr(i).starts_with("{,}")) {
      emit(",");
      i += 3;
    } else if (c != '\\') {
      emit(s.substr(i, 1));
      ++i;
    } else if (i + 1 < s.size() && !is_letter(s[i + 1])) {
      char next = s[i + 1];
      if (next == '!' && !out.empty() && out.back() == ',') comma_may_space = false;
      bool spacing = next == ',' || next == ';' || next == ':' || next == '!' || is_space(next);
      bool delimiter = next == '(' || next == ')' || next == '[' || next == ']';
      if (spacing) {
        pending_space = pending_space || next != '!';
      } else if (next != '$' && next != '%' && !delimiter) {
        emit(s.substr(i, 2));  // \{ \} \| \\ ...
      }
      i += 2;
    } else {
      std::string_view name = command_name(s, i);
      size_t after = i + 1 + name.size();
      if (is_text_command(name) && after < s.size() && s[after] == '{') {
        size_t end = skip_group(s, after);
        bool closed = end != std::string_view::npos;
        if (!closed) end = s.size();
        if (end >= units_from && !out.empty()) break;  // a trailing unit: the rest is decoration
        std::string_view inner = trim(s.substr(after + 1, end - after - 1 - (closed ? 1 : 0)));
        emit(depth < kMaxTextDepth ? clean_latex(inner, depth + 1) : std::string(inner));
        i = end;
      } else if (is_dropped_command(name)) {
        pending_space = true;
        i = after;
      } else {
        emit(name == "dfrac" || name == "tfrac" ? "\\frac" : s.substr(i, after - i));
        in_control_word = !name.empty();
        i = after;
      }
    }
  }
  return out;
}

// match[i] = index of the '}' closing the '{' at i (npos for other bytes and unclosed groups). One stack
// pass, so 10k nested braces stay linear; escaped \{ \} are skipped.
std::vector<size_t> match_braces(std::string_view s) {
  std::vector<size_t> match(s.size(), std::string_view::npos);
  std::vector<size_t> open;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\') {
      ++i;
    } else if (s[i] == '{') {
      open.push_back(i);
    } else if (s[i] == '}' && !open.empty()) {
      match[open.back()] = i;
      open.pop_back();
    }
  }
  return match;
}

// Braces the single-token arguments TeX allows: "\frac12" -> "\frac{1}{2}", "\frac 59" (spaces are gone
// by now) -> "\frac{5}{9}", "\frac\pi2" -> "\frac{\pi}{2}", "\frac{270}7" -> "\frac{270}{7}", "\sqrt2" ->
// "\sqrt{2}", and "\sqrt51" -> "\sqrt{51}" (a digit run, see the file comment). First marks where to wrap
// (wrap[i] = bytes to enclose), then copies.
std::string fix_command_arguments(std::string_view s) {
  std::vector<size_t> match = match_braces(s);
  std::vector<size_t> wrap(s.size() + 1, 0);
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\') continue;
    std::string_view name = command_name(s, i);
    size_t p = i + 1 + name.size();
    int arguments = name == "frac" ? 2 : name == "sqrt" ? 1 : 0;
    for (int a = 0; a < arguments && p < s.size(); ++a) {
      if (s[p] == '{') {
        if (match[p] == std::string_view::npos) break;
        p = match[p] + 1;
      } else if (is_digit(s[p]) || is_letter(s[p])) {
        size_t end = p + 1;
        if (name == "sqrt" && is_digit(s[p])) {
          while (end < s.size() && is_digit(s[end])) ++end;
        }
        wrap[p] = end - p;
        p = end;
      } else if (s[p] == '\\' && !command_name(s, p).empty()) {  // "\frac\pi2": a control word is one token
        wrap[p] = 1 + command_name(s, p).size();
        p += wrap[p];
      } else {
        break;  // \sqrt[3]{x}, or something that is no argument
      }
    }
    if (name.empty()) ++i;  // a control symbol such as \{ is two bytes
  }
  std::string out;
  out.reserve(s.size() + 8);
  for (size_t i = 0; i < s.size();) {
    if (wrap[i] > 0) {
      out.push_back('{');
      out.append(s.substr(i, wrap[i]));
      out.push_back('}');
      i += wrap[i];
    } else {
      out.push_back(s[i++]);
    }
  }
  return out;
}

// "{{5}}" -> "5": drops braces that enclose the whole answer (one stack pass: 10k nested braces are linear).
std::string_view strip_outer_braces(std::string_view s) {
  if (s.size() < 2 || s.front() != '{' || s.back() != '}') return s;
  std::vector<size_t> match = match_braces(s);
  size_t l = 0, r = s.size() - 1;
  while (l < r && s[l] == '{' && match[l] == r) ++l, --r;
  return s.substr(l, r + 1 - l);
}

// "18 dollars", "5 square feet" -> "18", "5": plain words after a number are a unit. Runs on the raw answer,
// where the space that separates the words is still there; "\pi r" or "3 i" (one letter) are not touched.
std::string_view strip_unit_words(std::string_view s) {
  std::string_view kept = s;
  for (;;) {
    size_t i = kept.size();
    while (i > 0 && is_letter(kept[i - 1])) --i;
    if (kept.size() - i < 2 || i == 0 || !is_space(kept[i - 1])) break;
    kept = trim(kept.substr(0, i));
    if (!kept.empty() && is_digit(kept.back())) return kept;
  }
  return s;
}

// "x=5", "k = 3", "\theta=\frac{\pi}{2}", "x_1=2" -> the right-hand side: the answer names one variable.
std::string_view strip_assignment(std::string_view s) {
  size_t eq = std::string_view::npos, count = 0;
  for_each_top_level(s, [&](size_t i) {
    if (s[i] == '=') eq = i, ++count;
  });
  if (count != 1) return s;
  std::string_view lhs = trim(s.substr(0, eq));
  size_t i = 0;
  if (!lhs.empty() && is_letter(lhs[0])) {
    i = 1;
  } else if (!lhs.empty() && lhs[0] == '\\') {
    i = 1 + command_name(lhs, 0).size();
    if (i == 1) return s;
  } else {
    return s;
  }
  if (i < lhs.size() && lhs[i] == '_') {
    ++i;
    if (i < lhs.size() && lhs[i] == '{')
      i = skip_group(lhs, i);
    else if (i < lhs.size() && (is_digit(lhs[i]) || is_letter(lhs[i])))
      ++i;
  }
  return i == lhs.size() ? trim(s.substr(eq + 1)) : s;
}

// ---------------------------------------------------------------------------------------------------------------
// Normalisation
// ---------------------------------------------------------------------------------------------------------------

constexpr int kMaxSplitDepth = 3;  // (1,(2,[3,4])) is as deep as answers go; deeper input is compared as text

std::string normalize_at(std::string_view answer, int depth);

// The top-level pieces of `s` between separators; separator_length(i) is the length of the separator at byte
// i (0: none there).
template <typename IsSeparator>
std::vector<std::string_view> split_top_level(std::string_view s, IsSeparator separator_length) {
  std::vector<std::string_view> parts;
  size_t start = 0, skip_until = 0;
  for_each_top_level(s, [&](size_t i) {
    if (i < skip_until) return;
    if (size_t n = separator_length(i); n > 0) {
      parts.push_back(s.substr(start, i - start));
      start = skip_until = i + n;
    }
  });
  parts.push_back(s.substr(start));
  return parts;
}

std::optional<std::string> normalize_union(std::string_view s, int depth) {
  std::vector<std::string_view> parts =
      split_top_level(s, [&](size_t i) -> size_t { return s.substr(i).starts_with("\\cup") ? 4 : 0; });
  if (parts.size() < 2) return std::nullopt;
  std::string out;
  for (size_t k = 0; k < parts.size(); ++k) out += (k ? "\\cup" : "") + normalize_at(parts[k], depth + 1);
  return out;
}

// "(1, 2)", "[3,4)", "\{1,2\}" keep order and brackets; "3, 5, 7" is a set of solutions, sorted.
std::optional<std::string> normalize_sequence(std::string_view s, int depth) {
  std::string_view open, close, body = s;
  auto bracket = [](std::string_view x) { return x == "(" || x == "[" || x == "\\{"; };
  auto closing = [](std::string_view x) { return x == ")" || x == "]" || x == "\\}"; };
  size_t open_len = s.starts_with("\\{") ? 2 : 1, close_len = s.ends_with("\\}") ? 2 : 1;
  bool bracketed = s.size() >= open_len + close_len && bracket(s.substr(0, open_len)) &&
                   closing(s.substr(s.size() - close_len));
  if (bracketed) {
    // Only when the outer brackets pair with each other: "(1,2)\cdot(3,4)" is not a tuple.
    int level = 0;
    for (size_t i = 0; i + close_len < s.size(); ++i) {
      if (s[i] == '(' || s[i] == '[' || s[i] == '{')
        ++level;
      else if (s[i] == ')' || s[i] == ']' || s[i] == '}')
        --level;
      if (level == 0 && i > 0) bracketed = false;
    }
  }
  if (bracketed) {
    open = s.substr(0, open_len);
    close = s.substr(s.size() - close_len);
    body = s.substr(open_len, s.size() - open_len - close_len);
  }
  std::vector<std::string_view> parts =
      split_top_level(body, [&](size_t i) -> size_t { return body[i] == ',' ? 1 : 0; });
  if (parts.size() < 2) return std::nullopt;
  std::vector<std::string> elements;
  for (std::string_view p : parts) elements.push_back(normalize_at(p, depth + 1));
  bool is_set = !bracketed || open == "\\{";
  if (is_set) std::sort(elements.begin(), elements.end());
  std::string out(open);
  for (size_t k = 0; k < elements.size(); ++k) out += (k ? (bracketed ? "," : ", ") : "") + elements[k];
  return out + std::string(close);
}

std::string normalize_at(std::string_view answer, int depth) {
  std::string cleaned = clean_latex(strip_unit_words(trim(answer)));
  std::string_view s = trim(cleaned);
  s = strip_outer_braces(s);
  while (!s.empty() && s.back() == '.') s.remove_suffix(1);  // "18." and "5." (a sentence's period)
  s = strip_outer_braces(strip_assignment(s));
  // "(E)" -> "E": a multiple-choice letter.
  if (s.size() == 3 && s[0] == '(' && s[2] == ')' && s[1] >= 'A' && s[1] <= 'Z') s = s.substr(1, 1);
  std::string fixed = fix_command_arguments(s);
  if (std::optional<Rational> r = NumberParser(fixed).parse_all(0)) return to_string(*r);
  if (depth < kMaxSplitDepth) {
    if (std::optional<std::string> u = normalize_union(fixed, depth)) return *u;
    if (std::optional<std::string> q = normalize_sequence(fixed, depth)) return *q;
  }
  // Text. The space kept after a comma told a list ("1, 200") from a number ("1,200"); top-level commas were
  // split above, so the commas left are inside brackets ("f(1, 2)") and the space goes.
  std::string text;
  text.reserve(fixed.size());
  for (size_t i = 0; i < fixed.size(); ++i) {
    if (!(fixed[i] == ' ' && i > 0 && fixed[i - 1] == ',')) text.push_back(fixed[i]);
  }
  return text;
}

}  // namespace

std::optional<std::string> extract_boxed(std::string_view text) {
  size_t boxed = text.rfind("\\boxed");
  size_t fbox = text.rfind("\\fbox");
  size_t at = boxed == std::string_view::npos  ? fbox
              : fbox == std::string_view::npos ? boxed
                                               : std::max(boxed, fbox);
  if (at == std::string_view::npos) return std::nullopt;
  size_t i = at + (at == boxed ? 6 : 5);
  while (i < text.size() && is_space(text[i])) ++i;
  if (i < text.size() && text[i] == '{') {
    size_t end = skip_group(text, i);
    if (end == std::string_view::npos) return std::nullopt;
    return std::string(text.substr(i + 1, end - i - 2));
  }
  // "\boxed 5": TeX takes the next token; answers written this way run to the next space or '$'.
  if (i == at + (at == boxed ? 6 : 5)) return std::nullopt;  // "\boxedx" is another command
  size_t end = i;
  while (end < text.size() && !is_space(text[end]) && text[end] != '$') ++end;
  if (end == i) return std::nullopt;
  return std::string(text.substr(i, end - i));
}

std::optional<std::string> gsm8k_reference(std::string_view solution) {
  size_t at = solution.rfind("####");
  if (at == std::string_view::npos) return std::nullopt;
  std::string out;
  for (char c : trim(solution.substr(at + 4))) {
    if (c != ',') out.push_back(c);
  }
  if (out.empty()) return std::nullopt;
  return out;
}

std::string normalize_answer(std::string_view answer) {
  return normalize_at(answer, 0);
}

bool answers_match(std::string_view predicted, std::string_view reference) {
  std::string p = normalize_answer(predicted);
  return !p.empty() && p == normalize_answer(reference);
}

}  // namespace r1::eval
