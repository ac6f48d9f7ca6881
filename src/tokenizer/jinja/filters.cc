// jinja2's built-in filters (with HF's tojson), reimplemented from the jinja2 documentation and checked against
// Python jinja2 output (tests/fixtures/templates/language_cases.json). Filters that return generators in
// Python (select, map, unique, batch, ...) return iterator values here, so `xs | select | length` fails exactly
// like it does under HF.
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <unordered_set>

#include "tokenizer/jinja/builtins.h"
#include "tokenizer/jinja/error.h"
#include "tokenizer/jinja/interpreter.h"
#include "tokenizer/jinja/json_dump.h"
#include "tokenizer/jinja/methods.h"
#include "tokenizer/jinja/text.h"

namespace r1::jinja {

namespace {

// ---------------------------------------------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------------------------------------------

int64_t as_int_arg(const Value& v, std::string_view what) {
  if (!v.is_int() && !v.is_bool()) failf("{} must be an integer, not {}", what, type_name(v));
  return v.as_int();
}

// jinja2's soft_str: str(value), keeping Markup as Markup.
Value soft_str(const Value& v) { return v.is_markup() ? v : Value(to_str(v)); }

// Filters that call a str method on soft_str(value) keep Markup as Markup.
Value same_kind(const Value& in, std::string s) { return in.is_markup() ? Value::markup(std::move(s)) : Value(std::move(s)); }

Value generator(std::vector<Value> items) { return Value::iterator(std::move(items), "generator"); }

Value lower_if_string(const Value& v) { return v.is_string() ? Value(text::lower(v.str())) : v; }

// jinja2's make_attrgetter: "a.b.0" looks up item a, then b, then index 0 (getitem semantics).
struct AttrPath {
  std::vector<Value> parts;
  static AttrPath parse(const Value& attribute) {
    AttrPath p;
    if (attribute.is_none() || attribute.is_undefined()) return p;
    if (!attribute.is_string()) {
      p.parts.push_back(attribute);
      return p;
    }
    for (const std::string& part : text::split(attribute.str(), std::string("."), -1)) {
      bool digits = !part.empty() && part.find_first_not_of("0123456789") == std::string::npos;
      p.parts.push_back(digits ? Value(int64_t(std::strtoll(part.c_str(), nullptr, 10))) : Value(part));
    }
    return p;
  }
  Value get(Value item, const Value* fallback = nullptr) const {
    for (const Value& part : parts) {
      item = get_item(item, part);
      if (fallback && item.is_undefined()) item = *fallback;
    }
    return item;
  }
};

// A sort / min / max key: the attribute(s) of an item, lowercased unless case-sensitive.
Value sort_key(const Value& item, const std::vector<AttrPath>& paths, bool case_sensitive) {
  if (paths.size() == 1) {
    Value v = paths[0].get(item);
    return case_sensitive ? v : lower_if_string(v);
  }
  std::vector<Value> parts;
  for (const AttrPath& p : paths) {
    Value v = p.get(item);
    parts.push_back(case_sensitive ? v : lower_if_string(v));
  }
  return Value::list(std::move(parts));
}

std::vector<AttrPath> attr_paths(const Value& attribute) {
  std::vector<AttrPath> paths;
  if (attribute.is_string()) {
    for (const std::string& a : text::split(attribute.str(), std::string(","), -1)) paths.push_back(AttrPath::parse(Value(a)));
  } else {
    paths.push_back(AttrPath::parse(attribute));
  }
  return paths;
}

// ---------------------------------------------------------------------------------------------------------------
// Strings
// ---------------------------------------------------------------------------------------------------------------

Value f_upper(Interpreter&, const Value& in, CallArgs& a) {
  Params p("upper", a, {});
  return same_kind(in, text::upper(to_str(in)));
}
Value f_lower(Interpreter&, const Value& in, CallArgs& a) {
  Params p("lower", a, {});
  return same_kind(in, text::lower(to_str(in)));
}
Value f_capitalize(Interpreter&, const Value& in, CallArgs& a) {
  Params p("capitalize", a, {});
  return same_kind(in, text::capitalize(to_str(in)));
}

// The title filter is not str.title(): words start after runs of spaces, '-', '(', '{', '[' or '<'.
Value f_title(Interpreter&, const Value& in, CallArgs& a) {
  Params p("title", a, {});
  std::vector<uint32_t> cps = text::code_points(to_str(in));
  auto is_boundary = [](uint32_t c) { return text::is_space(c) || c == '-' || c == '(' || c == '{' || c == '[' || c == '<'; };
  std::string out;
  for (size_t i = 0; i < cps.size();) {
    size_t j = i;
    const bool boundary = is_boundary(cps[i]);
    while (j < cps.size() && is_boundary(cps[j]) == boundary) ++j;
    if (boundary) {
      out += text::encode(cps, i, j);
    } else {
      out += text::upper(text::encode(cps, i, i + 1)) + text::lower(text::encode(cps, i + 1, j));
    }
    i = j;
  }
  return Value(std::move(out));
}

Value f_trim(Interpreter&, const Value& in, CallArgs& a) {
  Params p("trim", a, {"chars"});
  std::optional<std::string> chars;
  if (p.has(0) && !p.get(0).is_none()) chars = to_str(p.get(0));
  return same_kind(in, text::strip(to_str(in), chars, true, true));
}

Value f_replace(Interpreter& interp, const Value& in, CallArgs& a) {
  Params p("replace", a, {"old", "new", "count"});
  int64_t count = p.has(2) && !p.get(2).is_none() ? as_int_arg(p.get(2), "count") : -1;
  auto out = text::replace(to_str(in), to_str(p.get(0)), to_str(p.get(1)), count, interp.limits().max_string_bytes);
  if (!out) fail("string exceeds the size limit");
  return Value(std::move(*out));
}

Value f_string(Interpreter&, const Value& in, CallArgs& a) {
  Params p("string", a, {});
  return soft_str(in);
}

Value f_safe(Interpreter&, const Value& in, CallArgs& a) {
  Params p("safe", a, {});
  return in.is_markup() ? in : Value::markup(to_str(in));
}

Value f_escape(Interpreter&, const Value& in, CallArgs& a) {
  Params p("escape", a, {});
  return in.is_markup() ? in : Value::markup(text::html_escape(to_str(in)));
}

Value f_forceescape(Interpreter&, const Value& in, CallArgs& a) {
  Params p("forceescape", a, {});
  return Value::markup(text::html_escape(to_str(in)));
}

Value f_indent(Interpreter& interp, const Value& in, CallArgs& a) {
  Params p("indent", a, {"width", "first", "blank"});
  if (!in.is_string()) {
    defined(in);
    failf("unsupported operand type(s) for +=: '{}' and 'str'", type_name(in));
  }
  std::string indention;
  const Value& width = p.get_or(0, Value(int64_t(4)));
  if (width.is_string()) {
    indention = width.str();
  } else {
    int64_t w = as_int_arg(width, "width");
    if (w > 10000) fail("indent width too large");
    indention = std::string(size_t(std::max<int64_t>(0, w)), ' ');
  }
  std::vector<std::string> lines = text::splitlines(in.str() + "\n", false);
  std::string rv;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i) rv += "\n";
    bool indent_line = i > 0 && (truthy(p.get(2)) || !lines[i].empty());
    if (indent_line) rv += indention;
    rv += lines[i];
    if (rv.size() > interp.limits().max_string_bytes) fail("string exceeds the size limit");
  }
  if (truthy(p.get(1))) rv = indention + rv;
  return in.is_markup() ? Value::markup(std::move(rv)) : Value(std::move(rv));
}

Value f_center(Interpreter&, const Value& in, CallArgs& a) {
  Params p("center", a, {"width"});
  std::string s = to_str(in);
  int64_t width = p.has(0) ? as_int_arg(p.get(0), "width") : 80;
  const auto len = static_cast<int64_t>(text::length(s));
  if (width <= len) return same_kind(in, s);
  if (width > (int64_t(1) << 24)) fail("width too large");
  int64_t marg = width - len;
  int64_t left = marg / 2 + (marg & width & 1);  // CPython's str.center
  return same_kind(in, std::string(size_t(left), ' ') + s + std::string(size_t(marg - left), ' '));
}

Value f_truncate(Interpreter&, const Value& in, CallArgs& a) {
  Params p("truncate", a, {"length", "killwords", "end", "leeway"});
  int64_t length = p.has(0) ? as_int_arg(p.get(0), "length") : 255;
  bool killwords = truthy(p.get(1));
  std::string end = p.has(2) ? to_str(p.get(2)) : "...";
  int64_t leeway = p.has(3) && !p.get(3).is_none() ? as_int_arg(p.get(3), "leeway") : 5;  // truncate.leeway policy
  const auto end_len = static_cast<int64_t>(text::length(end));
  if (length < end_len) failf("expected length >= {}, got {}", end_len, length);
  if (leeway < 0) failf("expected leeway >= 0, got {}", leeway);
  if (!in.is_string()) {  // jinja2 measures len(value) and returns short values unchanged, whatever their type
    if (jinja::length(in) <= length + leeway) return in;
    failf("truncate of a long {} value is not supported", type_name(in));
  }
  std::vector<uint32_t> cps = text::code_points(in.str());
  if (static_cast<int64_t>(cps.size()) <= length + leeway) return in;
  std::string head = text::encode(cps, 0, size_t(length - end_len));
  if (in.is_markup()) end = text::html_escape(end);  // Markup + str escapes the str
  if (!killwords) head = text::rsplit(head, std::string(" "), 1)[0];
  return same_kind(in, head + end);
}

Value f_wordcount(Interpreter&, const Value& in, CallArgs& a) {
  Params p("wordcount", a, {});
  int64_t n = 0;
  bool in_word = false;
  for (uint32_t cp : text::code_points(to_str(in))) {
    std::string ch;
    text::append_utf8(ch, cp);
    bool word = cp == '_' || text::is_alnum(ch);
    if (word && !in_word) ++n;
    in_word = word;
  }
  return Value(n);
}

Value f_format(Interpreter& interp, const Value& in, CallArgs& a) {
  if (!a.args.empty() && !a.kwargs.empty()) fail("can't handle positional and keyword arguments at the same time");
  Value args;
  if (!a.kwargs.empty()) {
    Dict d;
    for (const auto& [key, value] : a.kwargs) d.set(Value(key), value);
    args = Value::dict(std::move(d));
  } else {
    args = Value::tuple(a.args);
  }
  return mod(soft_str(in), args, interp.limits());
}

// ---------------------------------------------------------------------------------------------------------------
// Numbers
// ---------------------------------------------------------------------------------------------------------------

// Python's float(str): optional sign, digits with single underscores, fraction, exponent, inf / nan; surrounding
// whitespace allowed.
std::optional<double> parse_py_float(const std::string& s_in) {
  std::string s = text::strip(s_in, std::nullopt, true, true);
  std::string clean;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '_') {
      bool ok = i > 0 && i + 1 < s.size() && std::isdigit(static_cast<unsigned char>(s[i - 1])) &&
                std::isdigit(static_cast<unsigned char>(s[i + 1]));
      if (!ok) return std::nullopt;
      continue;
    }
    clean.push_back(s[i]);
  }
  if (clean.empty()) return std::nullopt;
  std::string lower = text::lower(clean);
  std::string body = (lower[0] == '+' || lower[0] == '-') ? lower.substr(1) : lower;
  if (body == "inf" || body == "infinity" || body == "nan") {
    double v = body == "nan" ? NAN : INFINITY;
    return lower[0] == '-' ? -v : v;
  }
  if (body.empty() || body.find_first_not_of("0123456789.e+-") != std::string::npos || body[0] == 'e') return std::nullopt;
  if (body.find('x') != std::string::npos) return std::nullopt;
  char* end = nullptr;
  double v = std::strtod(clean.c_str(), &end);
  if (end != clean.c_str() + clean.size()) return std::nullopt;
  return v;
}

// Python's int(str, base): optional sign, prefix 0x/0o/0b (when base matches or is 0), single underscores.
std::optional<int64_t> parse_py_int(const std::string& s_in, int64_t base) {
  std::string s = text::strip(s_in, std::nullopt, true, true);
  bool neg = false;
  size_t i = 0;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) neg = s[i++] == '-';
  std::string rest = s.substr(i);
  std::string low = text::lower(rest);
  auto has_prefix = [&](char c) { return low.size() > 2 && low[0] == '0' && low[1] == c; };
  if (base == 0) {
    base = has_prefix('x') ? 16 : has_prefix('o') ? 8 : has_prefix('b') ? 2 : 10;
    if (base == 10 && low.size() > 1 && low[0] == '0' && low.find_first_not_of("0_") != std::string::npos) {
      return std::nullopt;  // "010" is invalid with base 0
    }
  }
  if ((base == 16 && has_prefix('x')) || (base == 8 && has_prefix('o')) || (base == 2 && has_prefix('b'))) {
    low = low.substr(2);
    if (!low.empty() && low[0] == '_') low = low.substr(1);
  }
  if (base < 2 || base > 36 || low.empty() || low[0] == '_' || low.back() == '_') return std::nullopt;
  std::string digits;
  for (size_t k = 0; k < low.size(); ++k) {
    if (low[k] == '_') {
      if (low[k + 1] == '_') return std::nullopt;
      continue;
    }
    digits.push_back(low[k]);
  }
  errno = 0;
  char* end = nullptr;
  long long v = std::strtoll(digits.c_str(), &end, int(base));
  if (end != digits.c_str() + digits.size() || digits.find_first_of("+- ") != std::string::npos) return std::nullopt;
  if (errno == ERANGE) fail("integer overflow (r1 integers are 64-bit)");
  return neg ? -v : v;
}

Value f_int(Interpreter&, const Value& in, CallArgs& a) {
  Params p("int", a, {"default", "base"});
  Value fallback = p.get_or(0, Value(int64_t(0)));
  int64_t base = p.has(1) ? as_int_arg(p.get(1), "base") : 10;
  defined(in);
  if (in.is_string()) {
    if (auto v = parse_py_int(in.str(), base)) return Value(*v);
    if (auto f = parse_py_float(in.str())) {
      if (std::isnan(*f) || std::isinf(*f)) return fallback;
      if (std::fabs(*f) >= 9.2e18) fail("integer overflow (r1 integers are 64-bit)");
      return Value(static_cast<int64_t>(std::trunc(*f)));
    }
    return fallback;
  }
  if (in.is_float()) {
    double f = in.as_float();
    if (std::isinf(f)) fail("cannot convert float infinity to integer");
    if (std::isnan(f)) return fallback;
    if (std::fabs(f) >= 9.2e18) fail("integer overflow (r1 integers are 64-bit)");
    return Value(static_cast<int64_t>(std::trunc(f)));
  }
  if (in.is_int() || in.is_bool()) return Value(in.as_int());
  return fallback;
}

Value f_float(Interpreter&, const Value& in, CallArgs& a) {
  Params p("float", a, {"default"});
  Value fallback = p.get_or(0, Value(0.0));
  defined(in);
  if (in.is_string()) {
    if (auto f = parse_py_float(in.str())) return Value(*f);
    return fallback;
  }
  if (in.is_number()) return Value(in.as_float());
  return fallback;
}

Value f_abs(Interpreter&, const Value& in, CallArgs& a) {
  Params p("abs", a, {});
  defined(in);
  if (in.is_float()) return Value(std::fabs(in.as_float()));
  if (!in.is_number()) failf("bad operand type for abs(): '{}'", type_name(in));
  if (in.as_int() == INT64_MIN) fail("integer overflow (r1 integers are 64-bit)");
  return Value(in.as_int() < 0 ? -in.as_int() : in.as_int());
}

// Python's round(x, n) for floats: the correctly rounded decimal value (round-half-even on the exact binary value),
// which is what printf's %.nf computes.
double round_float(double x, int64_t n) {
  if (!std::isfinite(x) || n > 330) return x;
  if (n >= 0) {
    std::string buf(size_t(n) + 400, '\0');
    int len = std::snprintf(buf.data(), buf.size(), "%.*f", int(n), x);
    buf.resize(size_t(len));
    return std::strtod(buf.c_str(), nullptr);
  }
  if (n < -330) return std::copysign(0.0, x);
  double scale = std::pow(10.0, double(-n));
  return std::nearbyint(x / scale) * scale;
}

Value f_round(Interpreter&, const Value& in, CallArgs& a) {
  Params p("round", a, {"precision", "method"});
  int64_t precision = p.has(0) ? as_int_arg(p.get(0), "precision") : 0;
  std::string method = p.has(1) ? to_str(p.get(1)) : "common";
  if (method != "common" && method != "ceil" && method != "floor") fail("method must be common, ceil or floor");
  defined(in);
  if (!in.is_number()) failf("type {} doesn't define __round__ method", type_name(in));
  if (method == "common") {
    if (!in.is_float()) {
      if (precision >= 0) return Value(in.as_int());
      return Value(static_cast<int64_t>(round_float(double(in.as_int()), precision)));
    }
    return Value(round_float(in.as_float(), precision));
  }
  double scale = std::pow(10.0, double(precision));
  double v = in.as_float() * scale;
  v = method == "ceil" ? std::ceil(v) : std::floor(v);
  return Value(v / scale);
}

// ---------------------------------------------------------------------------------------------------------------
// Sequences
// ---------------------------------------------------------------------------------------------------------------

Value f_length(Interpreter&, const Value& in, CallArgs& a) {
  Params p("length", a, {});
  return Value(length(in));
}

Value f_list(Interpreter& interp, const Value& in, CallArgs& a) {
  Params p("list", a, {});
  return new_list(iterate(in), interp.limits());
}

Value f_first(Interpreter&, const Value& in, CallArgs& a) {
  Params p("first", a, {});
  if (in.is_iterator()) {
    IteratorState& it = in.iterator_state();
    if (it.pos < it.items.size()) return it.items[it.pos++];
  } else {
    std::vector<Value> items = iterate(in);
    if (!items.empty()) return items.front();
  }
  return Value::undefined("No first item, sequence was empty.");
}

Value f_last(Interpreter&, const Value& in, CallArgs& a) {
  Params p("last", a, {});
  if (!in.is_undefined() && !in.is_string() && !in.is_sequence() && !in.is_dict()) {
    failf("'{}' object is not reversible", type_name(in));
  }
  std::vector<Value> items = iterate(in);
  if (!items.empty()) return items.back();
  return Value::undefined("No last item, sequence was empty.");
}

Value f_reverse(Interpreter&, const Value& in, CallArgs& a) {
  Params p("reverse", a, {});
  if (in.is_string()) {
    std::vector<uint32_t> cps = text::code_points(in.str());
    std::reverse(cps.begin(), cps.end());
    return same_kind(in, text::encode(cps, 0, cps.size()));
  }
  if (in.is_iterator()) {  // Python: reversed() fails on a generator, so jinja2 reverses list(value)
    std::vector<Value> items = iterate(in);
    std::reverse(items.begin(), items.end());
    return Value::list(std::move(items));
  }
  if (!in.is_undefined() && !in.is_sequence() && !in.is_dict()) fail("argument must be iterable");
  std::vector<Value> items = iterate(in);
  std::reverse(items.begin(), items.end());
  const char* kind = in.is_list() ? "list_reverseiterator" : in.is_dict() ? "dict_reversekeyiterator" : "reversed";
  return Value::iterator(std::move(items), kind);
}

Value f_join(Interpreter& interp, const Value& in, CallArgs& a) {
  Params p("join", a, {"d", "attribute"});
  std::string sep = p.has(0) ? to_str(p.get(0)) : "";
  AttrPath path = AttrPath::parse(p.get(1));
  std::string out;
  bool first = true;
  for (const Value& item : iterate(in)) {
    if (!first) out += sep;
    first = false;
    out += to_str(path.get(item));
    if (out.size() > interp.limits().max_string_bytes) fail("string exceeds the size limit");
  }
  return Value(std::move(out));
}

Value f_unique(Interpreter& interp, const Value& in, CallArgs& a) {
  Params p("unique", a, {"case_sensitive", "attribute"});
  const bool case_sensitive = truthy(p.get(0));
  AttrPath path = AttrPath::parse(p.get(1));
  std::vector<Value> items = iterate(in);
  interp.charge(items.size());
  std::unordered_set<std::string> seen_strings;
  std::vector<Value> seen_other;
  std::vector<Value> out;
  for (const Value& item : items) {
    Value key = path.get(item);
    if (!case_sensitive) key = lower_if_string(key);
    check_hashable(key);
    bool fresh;
    if (key.is_string()) {
      fresh = seen_strings.insert(key.str()).second;
    } else {
      fresh = std::none_of(seen_other.begin(), seen_other.end(), [&](const Value& s) { return equal(s, key); });
      if (fresh) seen_other.push_back(key);
      interp.charge(seen_other.size());
    }
    if (fresh) out.push_back(item);
  }
  return generator(std::move(out));
}

Value f_sort(Interpreter& interp, const Value& in, CallArgs& a) {
  Params p("sort", a, {"reverse", "case_sensitive", "attribute"});
  const bool reverse = truthy(p.get(0));
  std::vector<AttrPath> paths = attr_paths(p.get(2));
  std::vector<Value> items = iterate(in);
  interp.charge(items.size() * 8);
  std::vector<std::pair<Value, size_t>> keyed;
  for (size_t i = 0; i < items.size(); ++i) keyed.emplace_back(sort_key(items[i], paths, truthy(p.get(1))), i);
  // Python's sorted(reverse=True) keeps equal items in their original order, so reverse the comparison, not the
  // result.
  std::stable_sort(keyed.begin(), keyed.end(), [&](const auto& x, const auto& y) {
    return reverse ? compare("<", y.first, x.first) : compare("<", x.first, y.first);
  });
  std::vector<Value> out;
  for (const auto& k : keyed) out.push_back(items[k.second]);
  return Value::list(std::move(out));
}

Value f_dictsort(Interpreter& interp, const Value& in, CallArgs& a) {
  Params p("dictsort", a, {"case_sensitive", "by", "reverse"});
  const bool case_sensitive = truthy(p.get(0));
  std::string by = p.has(1) ? to_str(p.get(1)) : "key";
  if (by != "key" && by != "value") fail("You can only sort by either \"key\" or \"value\"");
  const bool reverse = truthy(p.get(2));
  defined(in);
  if (!in.is_dict()) failf("'{}' object has no attribute 'items'", type_name(in));
  std::vector<Value> pairs;
  for (const auto& [key, value] : in.dict().entries()) pairs.push_back(Value::tuple({key, value}));
  interp.charge(pairs.size() * 8);
  const size_t pos = by == "key" ? 0 : 1;
  auto key_of = [&](const Value& pair) {
    const Value& v = pair.items()[pos];
    return case_sensitive ? v : lower_if_string(v);
  };
  std::stable_sort(pairs.begin(), pairs.end(), [&](const Value& x, const Value& y) {
    return reverse ? compare("<", key_of(y), key_of(x)) : compare("<", key_of(x), key_of(y));
  });
  return Value::list(std::move(pairs));
}

Value f_items(Interpreter&, const Value& in, CallArgs& a) {
  Params p("items", a, {});
  if (in.is_undefined()) return generator({});
  if (!in.is_dict()) fail("Can only get item pairs from a mapping.");
  std::vector<Value> out;
  for (const auto& [key, value] : in.dict().entries()) out.push_back(Value::tuple({key, value}));
  return generator(std::move(out));
}

Value min_max(Interpreter& interp, const Value& in, CallArgs& a, bool want_max) {
  Params p(want_max ? "max" : "min", a, {"case_sensitive", "attribute"});
  std::vector<Value> items = iterate(in);
  if (items.empty()) return Value::undefined("No aggregated item, sequence was empty.");
  interp.charge(items.size());
  std::vector<AttrPath> paths{AttrPath::parse(p.get(1))};
  const bool cs = truthy(p.get(0));
  size_t best = 0;
  Value best_key = sort_key(items[0], paths, cs);
  for (size_t i = 1; i < items.size(); ++i) {
    Value k = sort_key(items[i], paths, cs);
    if (want_max ? compare(">", k, best_key) : compare("<", k, best_key)) best = i, best_key = k;
  }
  return items[best];
}

Value f_max(Interpreter& interp, const Value& in, CallArgs& a) { return min_max(interp, in, a, true); }
Value f_min(Interpreter& interp, const Value& in, CallArgs& a) { return min_max(interp, in, a, false); }

Value f_sum(Interpreter& interp, const Value& in, CallArgs& a) {
  Params p("sum", a, {"attribute", "start"});
  AttrPath path = AttrPath::parse(p.get(0));
  Value total = p.get_or(1, Value(int64_t(0)));
  if (total.is_string()) fail("sum() can't sum strings [use ''.join(seq) instead]");
  for (const Value& item : iterate(in)) {
    interp.charge(1);
    total = add(total, path.get(item), interp.limits());
  }
  return total;
}

Value f_batch(Interpreter& interp, const Value& in, CallArgs& a) {
  Params p("batch", a, {"linecount", "fill_with"});
  int64_t n = as_int_arg(p.get(0), "linecount");
  if (n <= 0) fail("batch size must be positive");
  if (n > int64_t(interp.limits().max_items)) fail("batch size exceeds the container size limit");
  std::vector<Value> items = iterate(in), rows, row;
  interp.charge(items.size());
  for (Value& item : items) {
    if (int64_t(row.size()) == n) rows.push_back(Value::list(std::exchange(row, {})));
    row.push_back(std::move(item));
  }
  if (!row.empty()) {
    if (p.has(1) && !p.get(1).is_none()) {
      while (int64_t(row.size()) < n) row.push_back(p.get(1));
    }
    rows.push_back(Value::list(std::move(row)));
  }
  return generator(std::move(rows));
}

Value f_slice(Interpreter& interp, const Value& in, CallArgs& a) {
  Params p("slice", a, {"slices", "fill_with"});
  int64_t slices = as_int_arg(p.get(0), "slices");
  if (slices <= 0) fail("slices must be positive");
  std::vector<Value> seq = iterate(in), out;
  interp.charge(seq.size() + size_t(std::min<int64_t>(slices, 1 << 20)));
  if (slices > int64_t(interp.limits().max_items)) fail("too many slices");
  const int64_t length = static_cast<int64_t>(seq.size());
  const int64_t per = length / slices, extra = length % slices;
  int64_t offset = 0;
  for (int64_t i = 0; i < slices; ++i) {
    int64_t start = offset + i * per;
    if (i < extra) ++offset;
    int64_t end = offset + (i + 1) * per;
    std::vector<Value> part(seq.begin() + start, seq.begin() + end);
    if (p.has(1) && !p.get(1).is_none() && i >= extra) part.push_back(p.get(1));
    out.push_back(Value::list(std::move(part)));
  }
  return generator(std::move(out));
}

// map(attribute='x', default=...) or map('filter', *args, **kwargs).
Value f_map(Interpreter& interp, const Value& in, CallArgs& a) {
  if (!truthy(in)) return generator({});
  std::vector<Value> items = iterate(in), out;
  interp.charge(items.size());
  const Value* attribute = nullptr;
  const Value* fallback = nullptr;
  for (const auto& [key, value] : a.kwargs) {
    if (key == "attribute") attribute = &value;
    if (key == "default") fallback = &value;
  }
  if (a.args.empty() && attribute) {
    for (const auto& [key, value] : a.kwargs) {
      if (key != "attribute" && key != "default") failf("Unexpected keyword argument '{}'", key);
    }
    AttrPath path = AttrPath::parse(*attribute);
    const Value* fb = fallback && !fallback->is_none() ? fallback : nullptr;  // default=None means no default
    for (const Value& item : items) out.push_back(path.get(item, fb));
    return generator(std::move(out));
  }
  if (a.args.empty()) fail("map requires a filter argument");
  std::string name = to_str(a.args[0]);
  CallArgs rest{std::vector<Value>(a.args.begin() + 1, a.args.end()), a.kwargs};
  for (const Value& item : items) {
    CallArgs call = rest;
    out.push_back(interp.call_filter(name, item, call));
  }
  return generator(std::move(out));
}

// select / reject / selectattr / rejectattr share jinja2's select_or_reject.
Value select_or_reject(Interpreter& interp, const Value& in, CallArgs& a, bool keep_if, bool by_attr) {
  if (!truthy(in)) return generator({});
  std::vector<Value> items = iterate(in), out;
  interp.charge(items.size());
  size_t off = 0;
  AttrPath path;
  if (by_attr) {
    if (a.args.empty()) fail("Missing parameter for attribute name");
    path = AttrPath::parse(a.args[0]);
    off = 1;
  }
  const bool has_test = a.args.size() > off;
  std::string test = has_test ? to_str(a.args[off]) : "";
  CallArgs rest{has_test ? std::vector<Value>(a.args.begin() + std::ptrdiff_t(off) + 1, a.args.end()) : std::vector<Value>{},
                a.kwargs};
  for (const Value& item : items) {
    Value subject = path.get(item);
    bool result;
    if (has_test) {
      CallArgs call = rest;
      result = interp.call_test(test, subject, call);
    } else {
      result = truthy(subject);
    }
    if (result == keep_if) out.push_back(item);
  }
  return generator(std::move(out));
}

Value f_select(Interpreter& i, const Value& in, CallArgs& a) { return select_or_reject(i, in, a, true, false); }
Value f_reject(Interpreter& i, const Value& in, CallArgs& a) { return select_or_reject(i, in, a, false, false); }
Value f_selectattr(Interpreter& i, const Value& in, CallArgs& a) { return select_or_reject(i, in, a, true, true); }
Value f_rejectattr(Interpreter& i, const Value& in, CallArgs& a) { return select_or_reject(i, in, a, false, true); }

// ---------------------------------------------------------------------------------------------------------------
// Misc
// ---------------------------------------------------------------------------------------------------------------

Value f_default(Interpreter&, const Value& in, CallArgs& a) {
  Params p("default", a, {"default_value", "boolean"});
  if (in.is_undefined() || (truthy(p.get(1)) && !truthy(in))) return p.get_or(0, Value(""));
  return in;
}

// attr() is getattr without the fallback to items: on a dict only its methods are attributes.
Value f_attr(Interpreter&, const Value& in, CallArgs& a) {
  Params p("attr", a, {"name"});
  std::string name = to_str(p.required(0));
  defined(in);
  if (in.is_object()) return in.object()->attr(name);
  if (std::optional<Value> method = find_method(in, name)) return *method;
  return Value::undefined(fmt::format("'{} object' has no attribute '{}'", type_name(in), name));
}

// HF's tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False).
Value f_tojson(Interpreter& interp, const Value& in, CallArgs& a) {
  Params p("tojson", a, {"ensure_ascii", "indent", "separators", "sort_keys"});
  JsonStyle style;
  style.ensure_ascii = truthy(p.get(0));
  const Value& indent = p.get(1);
  if (!indent.is_none() && !indent.is_undefined()) {
    if (indent.is_string()) {
      style.indent = indent.str();
    } else {
      int64_t n = as_int_arg(indent, "indent");
      if (n > 1000) fail("indent too large");
      style.indent = std::string(size_t(std::max<int64_t>(0, n)), ' ');
    }
    style.item_separator = ",";
  }
  const Value& seps = p.get(2);
  if (!seps.is_none() && !seps.is_undefined()) {
    std::vector<Value> parts = iterate(seps);
    if (parts.size() != 2 || !parts[0].is_string() || !parts[1].is_string()) {
      fail("separators must be a pair of strings");
    }
    style.item_separator = parts[0].str();
    style.key_separator = parts[1].str();
  }
  style.sort_keys = truthy(p.get(3));
  std::string out = json_dumps(in, style, interp.limits().max_depth);
  if (out.size() > interp.limits().max_string_bytes) fail("string exceeds the size limit");
  return Value(std::move(out));
}

struct FilterEntry {
  std::string_view name;
  FilterFn fn;
};

constexpr FilterEntry kFilters[] = {
    {"abs", f_abs},           {"attr", f_attr},           {"batch", f_batch},       {"capitalize", f_capitalize},
    {"center", f_center},     {"count", f_length},        {"d", f_default},         {"default", f_default},
    {"dictsort", f_dictsort}, {"e", f_escape},            {"escape", f_escape},     {"first", f_first},
    {"float", f_float},       {"forceescape", f_forceescape}, {"format", f_format}, {"indent", f_indent},
    {"int", f_int},           {"items", f_items},         {"join", f_join},         {"last", f_last},
    {"length", f_length},     {"list", f_list},           {"lower", f_lower},       {"map", f_map},
    {"max", f_max},           {"min", f_min},             {"reject", f_reject},     {"rejectattr", f_rejectattr},
    {"replace", f_replace},   {"reverse", f_reverse},     {"round", f_round},       {"safe", f_safe},
    {"select", f_select},     {"selectattr", f_selectattr}, {"slice", f_slice},     {"sort", f_sort},
    {"string", f_string},     {"sum", f_sum},             {"title", f_title},       {"tojson", f_tojson},
    {"trim", f_trim},         {"truncate", f_truncate},   {"unique", f_unique},     {"upper", f_upper},
    {"wordcount", f_wordcount},
};

}  // namespace

FilterFn find_filter(std::string_view name) {
  for (const FilterEntry& f : kFilters) {
    if (f.name == name) return f.fn;
  }
  return nullptr;
}

}  // namespace r1::jinja
