#include "tokenizer/jinja/methods.h"

#include <algorithm>
#include <ctime>
#include <iterator>

#include "tokenizer/jinja/builtins.h"
#include "tokenizer/jinja/error.h"
#include "tokenizer/jinja/interpreter.h"
#include "tokenizer/jinja/text.h"

namespace r1::jinja {

// ---------------------------------------------------------------------------------------------------------------
// Argument binding
// ---------------------------------------------------------------------------------------------------------------

Params::Params(std::string_view function, const CallArgs& args, std::initializer_list<std::string_view> names)
    : function_(function), names_(names), values_(names.size(), nullptr) {
  if (args.args.size() > names.size()) {
    failf("{}() takes at most {} argument(s) ({} given)", function, names.size(), args.args.size());
  }
  for (size_t i = 0; i < args.args.size(); ++i) values_[i] = &args.args[i];
  for (const auto& [key, value] : args.kwargs) {
    size_t i = 0;
    for (std::string_view name : names) {
      if (name == key) break;
      ++i;
    }
    if (i == names.size()) failf("{}() got an unexpected keyword argument '{}'", function, key);
    if (values_[i]) failf("{}() got multiple values for argument '{}'", function, key);
    values_[i] = &value;
  }
}

const Value& Params::required(size_t i) const {
  if (!values_[i]) failf("{}() missing required argument '{}'", function_, names_[i]);
  return *values_[i];
}

const Value& Params::get(size_t i) const {
  static const Value kUndefined;
  return values_[i] ? *values_[i] : kUndefined;
}

namespace {

using MethodFn = Value (*)(Interpreter& interp, const Value& self, const CallArgs& args);

class BoundMethod : public Object {
 public:
  BoundMethod(Value self, std::string_view name, MethodFn fn) : self_(std::move(self)), name_(name), fn_(fn) {}
  std::string type_name() const override { return "builtin_function_or_method"; }
  std::string repr() const override { return fmt::format("<built-in method {} of {} object>", name_, jinja::type_name(self_)); }
  bool callable() const override { return true; }
  Value call(Interpreter& interp, CallArgs& args) const override {
    if (self_.is_markup()) return call_on_markup(interp, args);
    return fn_(interp, self_, args);
  }

 private:
  Value self_;
  std::string name_;
  MethodFn fn_;

  Value call_on_markup(Interpreter& interp, CallArgs& args) const;
};

// markupsafe.Markup overrides most str methods so that string results stay Markup; replace (the new text),
// ljust / rjust / center (the fill), join (the items) and format (each field) HTML-escape what they insert. Methods it
// does not override (find, startswith, ...) behave as on str.
Value BoundMethod::call_on_markup(Interpreter& interp, CallArgs& args) const {
  static constexpr std::string_view kWrapped[] = {
      "capitalize", "title", "lower", "upper", "lstrip", "rstrip", "strip", "zfill", "removeprefix", "removesuffix",
      "partition", "rpartition", "split", "rsplit", "splitlines", "replace", "ljust", "rjust", "center", "join"};
  const Value plain(self_.str());
  if (name_ == "format") return Value::markup(brace_format(self_.str(), args, interp.limits().max_string_bytes, true));
  if (std::find(std::begin(kWrapped), std::end(kWrapped), name_) == std::end(kWrapped)) return fn_(interp, plain, args);
  auto escape = [](Value& v) {
    if (v.is_string() && !v.is_markup()) v = Value::markup(text::html_escape(v.str()));
  };
  if ((name_ == "replace" || name_ == "ljust" || name_ == "rjust" || name_ == "center") && args.args.size() >= 2) {
    escape(args.args[1]);
  }
  for (auto& [key, value] : args.kwargs) {
    if (key == "fillchar") escape(value);
  }
  if (name_ == "join" && !args.args.empty()) {
    std::vector<Value> items = iterate(args.args[0]);
    for (Value& item : items) escape(item);
    args.args[0] = Value::list(std::move(items));
  }
  Value out = fn_(interp, plain, args);
  if (out.is_string()) return Value::markup(out.str());
  if (!out.is_sequence()) return out;
  std::vector<Value> items = out.items();
  for (Value& item : items) {
    if (item.is_string()) item = Value::markup(item.str());
  }
  return out.is_tuple() ? Value::tuple(std::move(items)) : Value::list(std::move(items));
}

struct Method {
  std::string_view name;
  MethodFn fn;
};

// ---- helpers ----

const std::string& str_arg(const Value& v, std::string_view what) {
  if (!v.is_string()) failf("{} must be str, not {}", what, type_name(v));
  return v.str();
}

std::optional<std::string> opt_str(const Value& v, std::string_view what) {
  if (v.is_none() || v.is_undefined()) return std::nullopt;
  return str_arg(v, what);
}

int64_t int_arg(const Value& v, int64_t fallback) {
  if (v.is_undefined() || v.is_none()) return fallback;
  if (!v.is_int() && !v.is_bool()) failf("'{}' object cannot be interpreted as an integer", type_name(v));
  return v.as_int();
}

std::optional<int64_t> opt_int(const Value& v) {
  if (v.is_undefined() || v.is_none()) return std::nullopt;
  return int_arg(v, 0);
}

Value string_list(std::vector<std::string> parts) {
  std::vector<Value> out;
  out.reserve(parts.size());
  for (std::string& p : parts) out.emplace_back(std::move(p));
  return Value::list(std::move(out));
}

// ---- str ----

Value str_split(Interpreter&, const Value& self, const CallArgs& args, bool reverse) {
  Params p(reverse ? "rsplit" : "split", args, {"sep", "maxsplit"});
  std::optional<std::string> sep = opt_str(p.get(0), "sep");
  if (sep && sep->empty()) fail("empty separator");
  int64_t maxsplit = int_arg(p.get(1), -1);
  return string_list(reverse ? text::rsplit(self.str(), sep, maxsplit) : text::split(self.str(), sep, maxsplit));
}

Value str_strip(const Value& self, const CallArgs& args, bool left, bool right) {
  Params p("strip", args, {"chars"});
  return Value(text::strip(self.str(), opt_str(p.get(0), "chars"), left, right));
}

Value str_affix(const Value& self, const CallArgs& args, bool at_start) {
  Params p(at_start ? "startswith" : "endswith", args, {"prefix", "start", "end"});
  std::vector<uint32_t> cps = text::code_points(self.str());
  const auto n = static_cast<int64_t>(cps.size());
  auto clamp = [n](int64_t v) { return v < 0 ? std::max<int64_t>(0, v + n) : std::min(v, n); };
  int64_t b = p.has(1) ? clamp(int_arg(p.get(1), 0)) : 0;
  int64_t e = p.has(2) ? clamp(int_arg(p.get(2), n)) : n;
  std::string window = b <= e ? text::encode(cps, size_t(b), size_t(e)) : std::string();
  std::vector<Value> candidates;
  const Value& arg = p.required(0);
  if (arg.is_tuple()) {
    candidates = arg.items();
  } else if (arg.is_string()) {
    candidates.push_back(arg);
  } else {
    failf("{} first arg must be str or a tuple of str, not {}", at_start ? "startswith" : "endswith", type_name(arg));
  }
  if (b > e) return Value(false);
  for (const Value& c : candidates) {
    const std::string& s = str_arg(c, "tuple item");
    if (s.size() > window.size()) continue;
    if (at_start ? window.compare(0, s.size(), s) == 0 : window.compare(window.size() - s.size(), s.size(), s) == 0) {
      return Value(true);
    }
  }
  return Value(false);
}

Value str_find(const Value& self, const CallArgs& args, bool reverse, bool raise) {
  Params p(reverse ? "rfind" : "find", args, {"sub", "start", "end"});
  int64_t i = text::find(self.str(), str_arg(p.required(0), "sub"), opt_int(p.get(1)), opt_int(p.get(2)), reverse);
  if (i < 0 && raise) fail("substring not found");
  return Value(i);
}

Value str_replace(Interpreter& interp, const Value& self, const CallArgs& args) {
  Params p("replace", args, {"old", "new", "count"});
  auto out = text::replace(self.str(), str_arg(p.required(0), "old"), str_arg(p.required(1), "new"),
                           int_arg(p.get(2), -1), interp.limits().max_string_bytes);
  if (!out) fail("string exceeds the size limit");
  return Value(std::move(*out));
}

Value str_join(Interpreter& interp, const Value& self, const CallArgs& args) {
  Params p("join", args, {"iterable"});
  std::vector<Value> items = iterate(p.required(0));
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (!items[i].is_string()) failf("sequence item {}: expected str instance, {} found", i, type_name(items[i]));
    if (i) out += self.str();
    out += items[i].str();
    if (out.size() > interp.limits().max_string_bytes) fail("string exceeds the size limit");
  }
  return Value(std::move(out));
}

Value str_partition(const Value& self, const CallArgs& args, bool reverse) {
  Params p(reverse ? "rpartition" : "partition", args, {"sep"});
  const std::string& sep = str_arg(p.required(0), "sep");
  if (sep.empty()) fail("empty separator");
  const std::string& s = self.str();
  size_t k = reverse ? s.rfind(sep) : s.find(sep);
  if (k == std::string::npos) {
    return reverse ? Value::tuple({Value(""), Value(""), self}) : Value::tuple({self, Value(""), Value("")});
  }
  return Value::tuple({Value(s.substr(0, k)), Value(sep), Value(s.substr(k + sep.size()))});
}

Value str_pad(const Value& self, const CallArgs& args, char how) {
  Params p(how == 'c' ? "center" : how == 'l' ? "ljust" : "rjust", args, {"width", "fillchar"});
  int64_t width = int_arg(p.required(0), 0);
  std::string fill = p.has(1) ? str_arg(p.get(1), "fillchar") : " ";
  if (text::length(fill) != 1) fail("The fill character must be exactly one character long");
  const auto len = static_cast<int64_t>(text::length(self.str()));
  if (width <= len) return self;
  if (width > (int64_t(1) << 24)) fail("width too large");
  int64_t marg = width - len;
  int64_t left = how == 'l' ? 0 : how == 'r' ? marg : marg / 2 + (marg & width & 1);  // CPython's centering
  std::string out;
  for (int64_t i = 0; i < left; ++i) out += fill;
  out += self.str();
  for (int64_t i = 0; i < marg - left; ++i) out += fill;
  return Value(std::move(out));
}

Value str_zfill(const Value& self, const CallArgs& args) {
  Params p("zfill", args, {"width"});
  int64_t width = int_arg(p.required(0), 0);
  const std::string& s = self.str();
  const auto len = static_cast<int64_t>(text::length(s));
  if (width <= len) return self;
  if (width > (int64_t(1) << 24)) fail("width too large");
  size_t sign = (!s.empty() && (s[0] == '+' || s[0] == '-')) ? 1 : 0;
  return Value(s.substr(0, sign) + std::string(size_t(width - len), '0') + s.substr(sign));
}

Value str_affix_remove(const Value& self, const CallArgs& args, bool prefix) {
  Params p(prefix ? "removeprefix" : "removesuffix", args, {"affix"});
  const std::string& a = str_arg(p.required(0), "argument");
  const std::string& s = self.str();
  if (a.empty() || a.size() > s.size()) return self;
  if (prefix && s.compare(0, a.size(), a) == 0) return Value(s.substr(a.size()));
  if (!prefix && s.compare(s.size() - a.size(), a.size(), a) == 0) return Value(s.substr(0, s.size() - a.size()));
  return self;
}

template <std::string (*F)(std::string_view)>
Value str_map(Interpreter&, const Value& self, const CallArgs& args) {
  Params p("method", args, {});
  return Value(F(self.str()));
}

template <bool (*F)(std::string_view)>
Value str_pred(Interpreter&, const Value& self, const CallArgs& args) {
  Params p("method", args, {});
  return Value(F(self.str()));
}

const Method kStrMethods[] = {
    {"split", [](Interpreter& i, const Value& s, const CallArgs& a) { return str_split(i, s, a, false); }},
    {"rsplit", [](Interpreter& i, const Value& s, const CallArgs& a) { return str_split(i, s, a, true); }},
    {"strip", [](Interpreter&, const Value& s, const CallArgs& a) { return str_strip(s, a, true, true); }},
    {"lstrip", [](Interpreter&, const Value& s, const CallArgs& a) { return str_strip(s, a, true, false); }},
    {"rstrip", [](Interpreter&, const Value& s, const CallArgs& a) { return str_strip(s, a, false, true); }},
    {"startswith", [](Interpreter&, const Value& s, const CallArgs& a) { return str_affix(s, a, true); }},
    {"endswith", [](Interpreter&, const Value& s, const CallArgs& a) { return str_affix(s, a, false); }},
    {"find", [](Interpreter&, const Value& s, const CallArgs& a) { return str_find(s, a, false, false); }},
    {"rfind", [](Interpreter&, const Value& s, const CallArgs& a) { return str_find(s, a, true, false); }},
    {"index", [](Interpreter&, const Value& s, const CallArgs& a) { return str_find(s, a, false, true); }},
    {"rindex", [](Interpreter&, const Value& s, const CallArgs& a) { return str_find(s, a, true, true); }},
    {"count",
     [](Interpreter&, const Value& s, const CallArgs& a) {
       Params p("count", a, {"sub"});
       return Value(text::count(s.str(), str_arg(p.required(0), "sub")));
     }},
    {"replace", str_replace},
    {"join", str_join},
    {"format",
     [](Interpreter& i, const Value& s, const CallArgs& a) {
       return Value(brace_format(s.str(), a, i.limits().max_string_bytes, false));
     }},
    {"upper", str_map<text::upper>},
    {"lower", str_map<text::lower>},
    {"title", str_map<text::title>},
    {"capitalize", str_map<text::capitalize>},
    {"isupper", str_pred<text::is_upper>},
    {"islower", str_pred<text::is_lower>},
    {"isdigit", str_pred<text::is_digit>},
    {"isalpha", str_pred<text::is_alpha>},
    {"isalnum", str_pred<text::is_alnum>},
    {"isspace", str_pred<text::is_space_string>},
    {"splitlines",
     [](Interpreter&, const Value& s, const CallArgs& a) {
       Params p("splitlines", a, {"keepends"});
       return string_list(text::splitlines(s.str(), truthy(p.get(0))));
     }},
    {"partition", [](Interpreter&, const Value& s, const CallArgs& a) { return str_partition(s, a, false); }},
    {"rpartition", [](Interpreter&, const Value& s, const CallArgs& a) { return str_partition(s, a, true); }},
    {"center", [](Interpreter&, const Value& s, const CallArgs& a) { return str_pad(s, a, 'c'); }},
    {"ljust", [](Interpreter&, const Value& s, const CallArgs& a) { return str_pad(s, a, 'l'); }},
    {"rjust", [](Interpreter&, const Value& s, const CallArgs& a) { return str_pad(s, a, 'r'); }},
    {"zfill", [](Interpreter&, const Value& s, const CallArgs& a) { return str_zfill(s, a); }},
    {"removeprefix", [](Interpreter&, const Value& s, const CallArgs& a) { return str_affix_remove(s, a, true); }},
    {"removesuffix", [](Interpreter&, const Value& s, const CallArgs& a) { return str_affix_remove(s, a, false); }},
};

// ---- dict, list, tuple ----

Value dict_get(Interpreter&, const Value& self, const CallArgs& args) {
  Params p("get", args, {"key", "default"});
  check_hashable(p.required(0));
  const Value* v = self.dict().find(p.get(0));
  return v ? *v : p.get_or(1, Value::none());
}

Value dict_view(const Value& self, const CallArgs& args, int which) {
  Params p(which == 0 ? "keys" : which == 1 ? "values" : "items", args, {});
  std::vector<Value> out;
  out.reserve(self.dict().size());
  for (const auto& [key, value] : self.dict().entries()) {
    out.push_back(which == 0 ? key : which == 1 ? value : Value::tuple({key, value}));
  }
  return Value::list(std::move(out));
}

const Method kDictMethods[] = {
    {"get", dict_get},
    {"keys", [](Interpreter&, const Value& s, const CallArgs& a) { return dict_view(s, a, 0); }},
    {"values", [](Interpreter&, const Value& s, const CallArgs& a) { return dict_view(s, a, 1); }},
    {"items", [](Interpreter&, const Value& s, const CallArgs& a) { return dict_view(s, a, 2); }},
    {"copy", [](Interpreter&, const Value& s, const CallArgs&) { return s; }},
};

Value seq_index(const Value& self, const CallArgs& args) {
  Params p("index", args, {"value", "start", "stop"});
  const auto& items = self.items();
  const auto n = static_cast<int64_t>(items.size());
  auto clamp = [n](int64_t v) { return v < 0 ? std::max<int64_t>(0, v + n) : std::min(v, n); };
  int64_t b = p.has(1) ? clamp(int_arg(p.get(1), 0)) : 0;
  int64_t e = p.has(2) ? clamp(int_arg(p.get(2), n)) : n;
  for (int64_t i = b; i < e; ++i) {
    if (equal(items[size_t(i)], p.required(0))) return Value(i);
  }
  failf("{} is not in {}", repr(p.get(0)), type_name(self));
}

const Method kSeqMethods[] = {
    {"index", [](Interpreter&, const Value& s, const CallArgs& a) { return seq_index(s, a); }},
    {"count",
     [](Interpreter&, const Value& s, const CallArgs& a) {
       Params p("count", a, {"value"});
       int64_t n = 0;
       const Value& x = p.required(0);
       for (const Value& v : s.items()) n += equal(v, x) ? 1 : 0;
       return Value(n);
     }},
    {"copy", [](Interpreter&, const Value& s, const CallArgs&) { return Value::list(s.items()); }},
};

// Methods that exist but mutate: the immutable sandbox refuses them.
constexpr std::string_view kUnsafeListMethods[] = {"append", "clear", "extend", "insert", "pop", "remove", "reverse",
                                                   "sort"};
constexpr std::string_view kUnsafeDictMethods[] = {"clear", "pop", "popitem", "setdefault", "update"};

template <size_t N>
std::optional<Value> lookup(const Method (&table)[N], const Value& self, std::string_view name) {
  for (const Method& m : table) {
    if (m.name == name) return Value::object(std::make_shared<BoundMethod>(self, name, m.fn));
  }
  return std::nullopt;
}

template <size_t N>
std::optional<Value> unsafe(const std::string_view (&names)[N], const Value& self, std::string_view name) {
  for (std::string_view n : names) {
    if (n == name) {
      return Value::undefined(fmt::format("access to attribute '{}' of '{}' object is unsafe.", name, type_name(self)));
    }
  }
  return std::nullopt;
}

}  // namespace

std::optional<Value> find_method(const Value& self, std::string_view name) {
  switch (self.kind()) {
    case Value::Kind::kString: return lookup(kStrMethods, self, name);
    case Value::Kind::kDict:
      if (auto m = lookup(kDictMethods, self, name)) return m;
      return unsafe(kUnsafeDictMethods, self, name);
    case Value::Kind::kList:
      if (auto m = lookup(kSeqMethods, self, name)) return m;
      return unsafe(kUnsafeListMethods, self, name);
    case Value::Kind::kTuple:
      if (name == "copy") return std::nullopt;
      return lookup(kSeqMethods, self, name);
    default: return std::nullopt;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Globals: jinja2's `range`, `dict`, `namespace` and HF's `raise_exception`, `strftime_now`
// ---------------------------------------------------------------------------------------------------------------

namespace {

using GlobalFn = Value (*)(Interpreter& interp, const CallArgs& args);

class GlobalFunction : public Object {
 public:
  GlobalFunction(std::string_view name, GlobalFn fn) : name_(name), fn_(fn) {}
  std::string type_name() const override { return "function"; }
  std::string repr() const override { return "<function " + name_ + ">"; }
  bool callable() const override { return true; }
  Value call(Interpreter& interp, CallArgs& args) const override { return fn_(interp, args); }

 private:
  std::string name_;
  GlobalFn fn_;
};

// jinja2's sandbox refuses ranges longer than this (sandbox.MAX_RANGE).
constexpr int64_t kMaxRange = 100000;

Value range_fn(Interpreter& interp, const CallArgs& args) {
  if (!args.kwargs.empty()) fail("range() takes no keyword arguments");
  if (args.args.empty() || args.args.size() > 3) failf("range expected 1 to 3 arguments, got {}", args.args.size());
  int64_t start = 0, stop, step = 1;
  if (args.args.size() == 1) {
    stop = int_arg(args.args[0], 0);
  } else {
    start = int_arg(args.args[0], 0);
    stop = int_arg(args.args[1], 0);
    if (args.args.size() == 3) step = int_arg(args.args[2], 1);
  }
  if (step == 0) fail("range() arg 3 must not be zero");
  // Length in 128-bit arithmetic so that extreme bounds cannot overflow.
  __int128 span = step > 0 ? __int128(stop) - start : __int128(start) - stop;
  __int128 len = span <= 0 ? 0 : (span + (step > 0 ? step : -__int128(step)) - 1) / (step > 0 ? step : -__int128(step));
  if (len > kMaxRange) {
    failf("Range too big. The sandbox blocks ranges larger than MAX_RANGE ({}).", kMaxRange);
  }
  interp.charge(uint64_t(len));
  std::vector<Value> out;
  out.reserve(size_t(len));
  for (int64_t i = 0, v = start; i < int64_t(len); ++i, v += step) out.emplace_back(v);
  return Value::list(std::move(out));
}

// dict(*args, **kwargs): one optional mapping or iterable of pairs, then keyword entries.
Dict dict_from_args(const CallArgs& args, std::string_view fn) {
  if (args.args.size() > 1) failf("{} expected at most 1 argument, got {}", fn, args.args.size());
  Dict d;
  if (!args.args.empty()) {
    const Value& src = args.args[0];
    if (src.is_dict()) {
      d = src.dict();
    } else {
      size_t i = 0;
      for (const Value& pair : iterate(src)) {
        if (!pair.is_sequence() && !pair.is_string()) {
          failf("cannot convert dictionary update sequence element #{} to a sequence", i);
        }
        std::vector<Value> kv = iterate(pair);
        if (kv.size() != 2) {
          failf("dictionary update sequence element #{} has length {}; 2 is required", i, kv.size());
        }
        check_hashable(kv[0]);
        d.set(kv[0], kv[1]);
        ++i;
      }
    }
  }
  for (const auto& [key, value] : args.kwargs) d.set(Value(key), value);
  return d;
}

Value dict_fn(Interpreter& interp, const CallArgs& args) {
  Value v = Value::dict(dict_from_args(args, "dict"));
  if (v.depth() > interp.limits().max_depth) fail("values nested too deeply");
  return v;
}

Value namespace_fn(Interpreter& interp, const CallArgs& args) {
  return interp.new_namespace(dict_from_args(args, "namespace"));
}

Value raise_exception_fn(Interpreter&, const CallArgs& args) {
  Params p("raise_exception", args, {"message"});
  fail(to_str(p.required(0)));
}

Value strftime_now_fn(Interpreter&, const CallArgs& args) {
  Params p("strftime_now", args, {"format"});
  const std::string& format = str_arg(p.required(0), "format");
  if (format.empty()) return Value("");
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  localtime_r(&now, &tm);
  std::string buf(format.size() * 8 + 64, '\0');
  size_t n = std::strftime(buf.data(), buf.size(), format.c_str(), &tm);
  if (n == 0) fail("strftime_now: format produced no output or is too long");
  buf.resize(n);
  return Value(std::move(buf));
}

}  // namespace

std::optional<Value> find_global(std::string_view name) {
  static const std::pair<std::string_view, Value> kGlobals[] = {
      {"range", Value::object(std::make_shared<GlobalFunction>("range", range_fn))},
      {"dict", Value::object(std::make_shared<GlobalFunction>("dict", dict_fn))},
      {"namespace", Value::object(std::make_shared<GlobalFunction>("namespace", namespace_fn))},
      {"raise_exception", Value::object(std::make_shared<GlobalFunction>("raise_exception", raise_exception_fn))},
      {"strftime_now", Value::object(std::make_shared<GlobalFunction>("strftime_now", strftime_now_fn))},
  };
  for (const auto& [key, value] : kGlobals) {
    if (key == name) return value;
  }
  return std::nullopt;
}

}  // namespace r1::jinja
