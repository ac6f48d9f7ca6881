#include "tokenizer/jinja/ops.h"

#include <cmath>
#include <limits>

#include "tokenizer/jinja/error.h"
#include "tokenizer/jinja/methods.h"
#include "tokenizer/jinja/text.h"

namespace r1::jinja {

using Kind = Value::Kind;

// ---------------------------------------------------------------------------------------------------------------
// Printing
// ---------------------------------------------------------------------------------------------------------------

std::string type_name(const Value& v) {
  switch (v.kind()) {
    case Kind::kUndefined: return "Undefined";
    case Kind::kNone: return "NoneType";
    case Kind::kBool: return "bool";
    case Kind::kInt: return "int";
    case Kind::kFloat: return "float";
    case Kind::kString: return v.is_markup() ? "Markup" : "str";
    case Kind::kList: return "list";
    case Kind::kTuple: return "tuple";
    case Kind::kDict: return "dict";
    case Kind::kIterator: return v.iterator_state().type_name;
    case Kind::kObject: return v.object()->type_name();
  }
  return "object";
}

bool truthy(const Value& v) {
  switch (v.kind()) {
    case Kind::kUndefined:
    case Kind::kNone: return false;
    case Kind::kBool: return v.as_bool();
    case Kind::kInt: return v.as_int() != 0;
    case Kind::kFloat: return v.as_float() != 0.0;
    case Kind::kString: return !v.str().empty();
    case Kind::kList:
    case Kind::kTuple: return !v.items().empty();
    case Kind::kDict: return !v.dict().empty();
    case Kind::kIterator:
    case Kind::kObject: return true;
  }
  return true;
}

std::string to_str(const Value& v) {
  if (v.is_string()) return v.str();
  if (v.is_undefined()) return "";
  return repr(v);
}

std::string repr(const Value& v) {
  switch (v.kind()) {
    case Kind::kUndefined: return "Undefined";
    case Kind::kNone: return "None";
    case Kind::kBool: return v.as_bool() ? "True" : "False";
    case Kind::kInt: return std::to_string(v.as_int());
    case Kind::kFloat: return text::float_repr(v.as_float());
    case Kind::kString: return v.is_markup() ? "Markup(" + text::repr(v.str()) + ")" : text::repr(v.str());
    case Kind::kList:
    case Kind::kTuple: {
      const bool tuple = v.is_tuple();
      std::string out = tuple ? "(" : "[";
      const auto& items = v.items();
      for (size_t i = 0; i < items.size(); ++i) {
        if (i) out += ", ";
        out += repr(items[i]);
      }
      if (tuple && items.size() == 1) out += ",";
      out += tuple ? ")" : "]";
      return out;
    }
    case Kind::kDict: {
      std::string out = "{";
      bool first = true;
      for (const auto& [key, value] : v.dict().entries()) {
        if (!first) out += ", ";
        first = false;
        out += repr(key) + ": " + repr(value);
      }
      return out + "}";
    }
    case Kind::kIterator: return "<" + v.iterator_state().type_name + " object>";
    case Kind::kObject: return v.object()->repr();
  }
  return "";
}

void fail_undefined(const Value& v) { fail(v.str().empty() ? "undefined value" : v.str()); }

// ---------------------------------------------------------------------------------------------------------------
// Comparison
// ---------------------------------------------------------------------------------------------------------------

namespace {

bool is_numeric(const Value& v) { return v.is_number(); }

bool numeric_equal(const Value& a, const Value& b) {
  if (a.is_float() || b.is_float()) return a.as_float() == b.as_float();
  return a.as_int() == b.as_int();
}

}  // namespace

bool equal(const Value& a, const Value& b) {
  if (is_numeric(a) && is_numeric(b)) return numeric_equal(a, b);
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case Kind::kUndefined:
    case Kind::kNone: return true;
    case Kind::kString: return a.str() == b.str();
    case Kind::kList:
    case Kind::kTuple: {
      const auto& x = a.items();
      const auto& y = b.items();
      if (x.size() != y.size()) return false;
      for (size_t i = 0; i < x.size(); ++i) {
        if (!equal(x[i], y[i])) return false;
      }
      return true;
    }
    case Kind::kDict: {
      if (a.dict().size() != b.dict().size()) return false;
      for (const auto& [key, value] : a.dict().entries()) {
        const Value* other = b.dict().find(key);
        if (!other || !equal(value, *other)) return false;
      }
      return true;
    }
    case Kind::kIterator: return &a.iterator_state() == &b.iterator_state();
    case Kind::kObject: return a.object() == b.object();
    default: return false;
  }
}

namespace {

// Three-way comparison for orderable pairs; raises TypeError like Python for the rest.
int order(std::string_view op, const Value& a, const Value& b) {
  defined(a);
  defined(b);
  if (is_numeric(a) && is_numeric(b)) {
    if (a.is_float() || b.is_float()) {
      double x = a.as_float(), y = b.as_float();
      if (std::isnan(x) || std::isnan(y)) return 2;  // unordered: every comparison is false
      return x < y ? -1 : x > y ? 1 : 0;
    }
    return a.as_int() < b.as_int() ? -1 : a.as_int() > b.as_int() ? 1 : 0;
  }
  if (a.is_string() && b.is_string()) {
    int c = a.str().compare(b.str());  // UTF-8 byte order is code point order
    return c < 0 ? -1 : c > 0 ? 1 : 0;
  }
  if ((a.is_list() && b.is_list()) || (a.is_tuple() && b.is_tuple())) {
    const auto& x = a.items();
    const auto& y = b.items();
    for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
      if (!equal(x[i], y[i])) return order(op, x[i], y[i]);
    }
    return x.size() < y.size() ? -1 : x.size() > y.size() ? 1 : 0;
  }
  failf("'{}' not supported between instances of '{}' and '{}'", op, type_name(a), type_name(b));
}

}  // namespace

bool compare(std::string_view op, const Value& a, const Value& b) {
  int c = order(op, a, b);
  if (c == 2) return false;
  if (op == "<") return c < 0;
  if (op == "<=") return c <= 0;
  if (op == ">") return c > 0;
  return c >= 0;
}

void check_hashable(const Value& key) {
  switch (key.kind()) {
    case Kind::kList:
    case Kind::kDict: failf("unhashable type: '{}'", type_name(key));
    case Kind::kTuple:
      for (const Value& item : key.items()) check_hashable(item);
      return;
    default: return;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Arithmetic
// ---------------------------------------------------------------------------------------------------------------

namespace {

[[noreturn]] void fail_operands(std::string_view op, const Value& a, const Value& b) {
  failf("unsupported operand type(s) for {}: '{}' and '{}'", op, type_name(a), type_name(b));
}

void check_size(size_t bytes, const Limits& limits) {
  if (bytes > limits.max_string_bytes) failf("string of {} bytes exceeds the limit of {}", bytes, limits.max_string_bytes);
}

void check_items(size_t n, const Limits& limits) {
  if (n > limits.max_items) failf("container of {} items exceeds the limit of {}", n, limits.max_items);
}

[[noreturn]] void fail_overflow() { fail("integer overflow (r1 integers are 64-bit)"); }

Value concat_strings(const Value& a, const Value& b, const Limits& limits) {
  check_size(a.str().size() + b.str().size(), limits);
  if (a.is_markup() || b.is_markup()) {  // Markup escapes the plain operand (markupsafe semantics)
    std::string l = a.is_markup() ? a.str() : text::html_escape(a.str());
    std::string r = b.is_markup() ? b.str() : text::html_escape(b.str());
    return Value::markup(l + r);
  }
  return Value(a.str() + b.str());
}

Value repeat(const Value& seq, int64_t n, const Limits& limits) {
  if (n < 0) n = 0;
  if (seq.is_string()) {
    if (n > 0 && seq.str().size() > limits.max_string_bytes / size_t(n)) check_size(limits.max_string_bytes + 1, limits);
    std::string out;
    out.reserve(seq.str().size() * size_t(n));
    for (int64_t i = 0; i < n; ++i) out += seq.str();
    return seq.is_markup() ? Value::markup(std::move(out)) : Value(std::move(out));
  }
  const auto& items = seq.items();
  if (n > 0 && items.size() > limits.max_items / size_t(n)) check_items(limits.max_items + 1, limits);
  std::vector<Value> out;
  out.reserve(items.size() * size_t(n));
  for (int64_t i = 0; i < n; ++i) out.insert(out.end(), items.begin(), items.end());
  return seq.is_tuple() ? Value::tuple(std::move(out)) : Value::list(std::move(out));
}

bool is_int_like(const Value& v) { return v.is_int() || v.is_bool(); }

// CPython's float floor division and modulo (result of % has the sign of the divisor).
void float_divmod(double x, double y, double* div_out, double* mod_out) {
  double m = std::fmod(x, y);
  double div = (x - m) / y;
  if (m != 0.0) {
    if ((y < 0) != (m < 0)) {
      m += y;
      div -= 1.0;
    }
  } else {
    m = std::copysign(0.0, y);
  }
  double floordiv;
  if (div != 0.0) {
    floordiv = std::floor(div);
    if (div - floordiv > 0.5) floordiv += 1.0;
  } else {
    floordiv = std::copysign(0.0, x / y);
  }
  *div_out = floordiv;
  *mod_out = m;
}

}  // namespace

Value add(const Value& a, const Value& b, const Limits& limits) {
  defined(a);
  defined(b);
  if (is_numeric(a) && is_numeric(b)) {
    if (a.is_float() || b.is_float()) return Value(a.as_float() + b.as_float());
    int64_t r;
    if (__builtin_add_overflow(a.as_int(), b.as_int(), &r)) fail_overflow();
    return Value(r);
  }
  if (a.is_string() && b.is_string()) return concat_strings(a, b, limits);
  if ((a.is_list() && b.is_list()) || (a.is_tuple() && b.is_tuple())) {
    check_items(a.items().size() + b.items().size(), limits);
    std::vector<Value> out = a.items();
    out.insert(out.end(), b.items().begin(), b.items().end());
    return a.is_tuple() ? new_tuple(std::move(out), limits) : new_list(std::move(out), limits);
  }
  if (a.is_string() || a.is_list() || a.is_tuple()) {
    failf("can only concatenate {} (not \"{}\") to {}", type_name(a), type_name(b), type_name(a));
  }
  fail_operands("+", a, b);
}

Value sub(const Value& a, const Value& b) {
  defined(a);
  defined(b);
  if (!is_numeric(a) || !is_numeric(b)) fail_operands("-", a, b);
  if (a.is_float() || b.is_float()) return Value(a.as_float() - b.as_float());
  int64_t r;
  if (__builtin_sub_overflow(a.as_int(), b.as_int(), &r)) fail_overflow();
  return Value(r);
}

Value mul(const Value& a, const Value& b, const Limits& limits) {
  defined(a);
  defined(b);
  if (is_numeric(a) && is_numeric(b)) {
    if (a.is_float() || b.is_float()) return Value(a.as_float() * b.as_float());
    int64_t r;
    if (__builtin_mul_overflow(a.as_int(), b.as_int(), &r)) fail_overflow();
    return Value(r);
  }
  if ((a.is_string() || a.is_sequence()) && is_int_like(b)) return repeat(a, b.as_int(), limits);
  if ((b.is_string() || b.is_sequence()) && is_int_like(a)) return repeat(b, a.as_int(), limits);
  if (a.is_string() || a.is_sequence() || b.is_string() || b.is_sequence()) {
    const Value& other = (a.is_string() || a.is_sequence()) ? b : a;
    failf("can't multiply sequence by non-int of type '{}'", type_name(other));
  }
  fail_operands("*", a, b);
}

Value truediv(const Value& a, const Value& b) {
  defined(a);
  defined(b);
  if (!is_numeric(a) || !is_numeric(b)) fail_operands("/", a, b);
  if (b.as_float() == 0.0) fail(a.is_float() || b.is_float() ? "float division by zero" : "division by zero");
  return Value(a.as_float() / b.as_float());
}

Value floordiv(const Value& a, const Value& b) {
  defined(a);
  defined(b);
  if (!is_numeric(a) || !is_numeric(b)) fail_operands("//", a, b);
  if (a.is_float() || b.is_float()) {
    if (b.as_float() == 0.0) fail("float floor division by zero");
    double div, m;
    float_divmod(a.as_float(), b.as_float(), &div, &m);
    return Value(div);
  }
  int64_t x = a.as_int(), y = b.as_int();
  if (y == 0) fail("integer division or modulo by zero");
  if (x == std::numeric_limits<int64_t>::min() && y == -1) fail_overflow();
  int64_t q = x / y;
  if ((x % y != 0) && ((x < 0) != (y < 0))) --q;
  return Value(q);
}

Value mod(const Value& a, const Value& b, const Limits& limits) {
  defined(a);
  if (a.is_string()) {  // str.__mod__ runs first, so even an undefined argument is formatted (as "")
    return Value(percent_format(a.str(), b, limits.max_string_bytes));
  }
  defined(b);
  if (!is_numeric(a) || !is_numeric(b)) fail_operands("%", a, b);
  if (a.is_float() || b.is_float()) {
    if (b.as_float() == 0.0) fail("float modulo");
    double div, m;
    float_divmod(a.as_float(), b.as_float(), &div, &m);
    return Value(m);
  }
  int64_t x = a.as_int(), y = b.as_int();
  if (y == 0) fail("integer division or modulo by zero");
  if (y == -1) return Value(int64_t(0));
  int64_t r = x % y;
  if (r != 0 && ((r < 0) != (y < 0))) r += y;
  return Value(r);
}

Value power(const Value& a, const Value& b) {
  defined(a);
  defined(b);
  if (!is_numeric(a) || !is_numeric(b)) fail_operands("** or pow()", a, b);
  if (!a.is_float() && !b.is_float() && b.as_int() >= 0) {
    int64_t base = a.as_int(), e = b.as_int(), r = 1;
    while (e > 0) {  // square-and-multiply with overflow checks
      if ((e & 1) && __builtin_mul_overflow(r, base, &r)) fail_overflow();
      e >>= 1;
      if (e > 0 && __builtin_mul_overflow(base, base, &base)) fail_overflow();
    }
    return Value(r);
  }
  double x = a.as_float(), y = b.as_float();
  if (x == 0.0 && y < 0) fail("0.0 cannot be raised to a negative power");
  if (x < 0 && y != std::floor(y)) fail("complex results are not supported");
  return Value(std::pow(x, y));
}

Value negate(const Value& a) {
  defined(a);
  if (a.is_float()) return Value(-a.as_float());
  if (!is_numeric(a)) failf("bad operand type for unary -: '{}'", type_name(a));
  if (a.as_int() == std::numeric_limits<int64_t>::min()) fail_overflow();
  return Value(-a.as_int());
}

Value unary_plus(const Value& a) {
  defined(a);
  if (a.is_float()) return a;
  if (!is_numeric(a)) failf("bad operand type for unary +: '{}'", type_name(a));
  return Value(a.as_int());
}

// ---------------------------------------------------------------------------------------------------------------
// Containers
// ---------------------------------------------------------------------------------------------------------------

bool contains(const Value& container, const Value& item) {
  switch (container.kind()) {
    case Kind::kUndefined: return false;
    case Kind::kString:
      if (!item.is_string()) failf("'in <string>' requires string as left operand, not {}", type_name(item));
      return container.str().find(item.str()) != std::string::npos;
    case Kind::kList:
    case Kind::kTuple:
      for (const Value& v : container.items()) {
        if (equal(v, item)) return true;
      }
      return false;
    case Kind::kDict:
      check_hashable(item);
      return container.dict().find(item) != nullptr;
    case Kind::kIterator: {
      IteratorState& it = container.iterator_state();
      while (it.pos < it.items.size()) {
        if (equal(it.items[it.pos++], item)) return true;
      }
      return false;
    }
    default: failf("argument of type '{}' is not iterable", type_name(container));
  }
}

std::vector<Value> iterate(const Value& v) {
  switch (v.kind()) {
    case Kind::kUndefined: return {};
    case Kind::kList:
    case Kind::kTuple: return v.items();
    case Kind::kString: {
      std::vector<Value> out;
      const std::string& s = v.str();
      for (size_t i = 0; i < s.size();) {
        size_t n = text::decode_at(s, i).len;
        out.emplace_back(s.substr(i, n));
        i += n;
      }
      return out;
    }
    case Kind::kDict: {
      std::vector<Value> out;
      out.reserve(v.dict().size());
      for (const auto& entry : v.dict().entries()) out.push_back(entry.first);
      return out;
    }
    case Kind::kIterator: {
      IteratorState& it = v.iterator_state();
      std::vector<Value> out(it.items.begin() + std::ptrdiff_t(it.pos), it.items.end());
      it.pos = it.items.size();
      return out;
    }
    default: failf("'{}' object is not iterable", type_name(v));
  }
}

int64_t length(const Value& v) {
  switch (v.kind()) {
    case Kind::kUndefined: return 0;
    case Kind::kString: return static_cast<int64_t>(text::length(v.str()));
    case Kind::kList:
    case Kind::kTuple: return static_cast<int64_t>(v.items().size());
    case Kind::kDict: return static_cast<int64_t>(v.dict().size());
    default: failf("object of type '{}' has no len()", type_name(v));
  }
}

namespace {

// jinja2's object_type_repr: "dict object", "None", ...
std::string object_type_repr(const Value& v) { return v.is_none() ? "None" : type_name(v) + " object"; }

Value no_attribute(const Value& obj, std::string_view name) {
  return Value::undefined(fmt::format("'{}' has no attribute '{}'", object_type_repr(obj), name));
}

Value no_element(const Value& obj, const Value& key) {
  return Value::undefined(fmt::format("{} has no element {}", object_type_repr(obj), repr(key)));
}

}  // namespace

Value get_attr(const Value& obj, std::string_view name) {
  defined(obj);
  if (name.size() >= 2 && name.substr(0, 2) == "__") {
    return Value::undefined(fmt::format("access to attribute '{}' of '{}' object is unsafe.", name, type_name(obj)));
  }
  if (obj.is_object()) return obj.object()->attr(name);
  if (std::optional<Value> method = find_method(obj, name)) return *method;
  if (obj.is_dict()) {
    if (const Value* v = obj.dict().find(name)) return *v;
  }
  return no_attribute(obj, name);
}

namespace {

// Python index normalisation: -1 is the last item; nullopt when out of range.
std::optional<size_t> normalize_index(int64_t i, size_t n) {
  if (i < 0) i += static_cast<int64_t>(n);
  if (i < 0 || i >= static_cast<int64_t>(n)) return std::nullopt;
  return static_cast<size_t>(i);
}

}  // namespace

Value get_item(const Value& obj, const Value& key) {
  defined(obj);
  if (is_int_like(key) && (obj.is_sequence() || obj.is_string())) {
    if (obj.is_string()) {
      std::vector<uint32_t> cps = text::code_points(obj.str());
      auto i = normalize_index(key.as_int(), cps.size());
      if (!i) return no_element(obj, key);
      std::string ch = text::encode(cps, *i, *i + 1);
      return obj.is_markup() ? Value::markup(std::move(ch)) : Value(std::move(ch));
    }
    auto i = normalize_index(key.as_int(), obj.items().size());
    return i ? obj.items()[*i] : no_element(obj, key);
  }
  if (obj.is_dict()) {
    bool hashable = key.kind() != Kind::kList && key.kind() != Kind::kDict;
    if (hashable) {
      if (const Value* v = obj.dict().find(key)) return *v;
    }
  }
  if (key.is_string()) {
    if (obj.is_object()) return obj.object()->attr(key.str());
    if (std::optional<Value> method = find_method(obj, key.str())) return *method;
    return no_attribute(obj, key.str());
  }
  return no_element(obj, key);
}

namespace {

std::optional<int64_t> slice_bound(const Value& v) {
  if (v.is_none() || v.is_undefined()) return std::nullopt;
  if (!is_int_like(v)) fail("slice indices must be integers or None or have an __index__ method");
  return v.as_int();
}

// Python's slice.indices(): the concrete positions a slice visits.
std::vector<size_t> slice_positions(size_t n_, std::optional<int64_t> start, std::optional<int64_t> stop,
                                    std::optional<int64_t> step_opt) {
  const auto n = static_cast<int64_t>(n_);
  int64_t step = step_opt.value_or(1);
  if (step == 0) fail("slice step cannot be zero");
  int64_t lower = step > 0 ? 0 : -1, upper = step > 0 ? n : n - 1;
  auto fix = [&](std::optional<int64_t> v, int64_t dflt) {
    if (!v) return dflt;
    int64_t x = *v < 0 ? *v + n : *v;
    return x < lower ? lower : x > upper ? upper : x;
  };
  int64_t b = fix(start, step > 0 ? lower : upper);
  int64_t e = fix(stop, step > 0 ? upper : lower);
  std::vector<size_t> out;
  for (int64_t i = b; step > 0 ? i < e : i > e; i += step) out.push_back(static_cast<size_t>(i));
  return out;
}

}  // namespace

Value get_slice(const Value& obj, const Value& start, const Value& stop, const Value& step) {
  defined(obj);
  auto b = slice_bound(start), e = slice_bound(stop), s = slice_bound(step);
  if (obj.is_string()) {
    std::vector<uint32_t> cps = text::code_points(obj.str());
    std::string out;
    for (size_t i : slice_positions(cps.size(), b, e, s)) text::append_utf8(out, cps[i]);
    return obj.is_markup() ? Value::markup(std::move(out)) : Value(std::move(out));
  }
  if (obj.is_sequence()) {
    std::vector<Value> out;
    for (size_t i : slice_positions(obj.items().size(), b, e, s)) out.push_back(obj.items()[i]);
    return obj.is_tuple() ? Value::tuple(std::move(out)) : Value::list(std::move(out));
  }
  // jinja2 compiles slices to a plain Python subscript (not the sandbox's getitem), so bad slicing raises.
  if (obj.is_dict()) fail("unhashable type: 'slice'");
  failf("'{}' object is not subscriptable", type_name(obj));
}

Value new_list(std::vector<Value> items, const Limits& limits) {
  check_items(items.size(), limits);
  Value v = Value::list(std::move(items));
  if (v.depth() > limits.max_depth) failf("values nested deeper than {} levels", limits.max_depth);
  return v;
}

Value new_tuple(std::vector<Value> items, const Limits& limits) {
  check_items(items.size(), limits);
  Value v = Value::tuple(std::move(items));
  if (v.depth() > limits.max_depth) failf("values nested deeper than {} levels", limits.max_depth);
  return v;
}

}  // namespace r1::jinja
