// jinja2's built-in tests (`x is defined`, `n is divisibleby 3`, `x is equalto y`), with Python semantics.
#include "tokenizer/jinja/builtins.h"
#include "tokenizer/jinja/error.h"
#include "tokenizer/jinja/interpreter.h"
#include "tokenizer/jinja/text.h"

namespace r1::jinja {

namespace {

const Value& required(const Params& p, size_t i, std::string_view test) {
  if (!p.has(i)) failf("{}() missing 1 required positional argument", test);
  return p.get(i);
}

bool no_args(std::string_view name, const CallArgs& a) {
  Params p(name, a, {});
  return true;
}

bool t_defined(Interpreter&, const Value& v, CallArgs& a) { return no_args("defined", a) && !v.is_undefined(); }
bool t_undefined(Interpreter&, const Value& v, CallArgs& a) { return no_args("undefined", a) && v.is_undefined(); }
bool t_none(Interpreter&, const Value& v, CallArgs& a) { return no_args("none", a) && v.is_none(); }
bool t_boolean(Interpreter&, const Value& v, CallArgs& a) { return no_args("boolean", a) && v.is_bool(); }
bool t_true(Interpreter&, const Value& v, CallArgs& a) { return no_args("true", a) && v.is_bool() && v.as_bool(); }
bool t_false(Interpreter&, const Value& v, CallArgs& a) { return no_args("false", a) && v.is_bool() && !v.as_bool(); }
bool t_integer(Interpreter&, const Value& v, CallArgs& a) { return no_args("integer", a) && v.is_int(); }
bool t_float(Interpreter&, const Value& v, CallArgs& a) { return no_args("float", a) && v.is_float(); }
bool t_number(Interpreter&, const Value& v, CallArgs& a) { return no_args("number", a) && v.is_number(); }
bool t_string(Interpreter&, const Value& v, CallArgs& a) { return no_args("string", a) && v.is_string(); }
bool t_mapping(Interpreter&, const Value& v, CallArgs& a) { return no_args("mapping", a) && v.is_dict(); }
bool t_escaped(Interpreter&, const Value& v, CallArgs& a) { return no_args("escaped", a) && v.is_markup(); }
bool t_lower(Interpreter&, const Value& v, CallArgs& a) { return no_args("lower", a) && text::is_lower(to_str(v)); }
bool t_upper(Interpreter&, const Value& v, CallArgs& a) { return no_args("upper", a) && text::is_upper(to_str(v)); }

// jinja2's Undefined defines __call__ (to raise), so Python's callable() says yes.
bool t_callable(Interpreter&, const Value& v, CallArgs& a) {
  return no_args("callable", a) && (v.is_undefined() || (v.is_object() && v.object()->callable()));
}

// Python: has len() and __getitem__ (str, list, tuple, dict, and jinja2's Undefined).
bool t_sequence(Interpreter&, const Value& v, CallArgs& a) {
  return no_args("sequence", a) && (v.is_undefined() || v.is_string() || v.is_sequence() || v.is_dict());
}

bool t_iterable(Interpreter&, const Value& v, CallArgs& a) {
  no_args("iterable", a);
  if (v.is_object()) return v.object()->type_name() == "LoopContext";
  return v.is_undefined() || v.is_string() || v.is_sequence() || v.is_dict() || v.is_iterator();
}

bool t_odd(Interpreter& interp, const Value& v, CallArgs& a) {
  no_args("odd", a);
  return equal(mod(v, Value(int64_t(2)), interp.limits()), Value(int64_t(1)));
}

bool t_even(Interpreter& interp, const Value& v, CallArgs& a) {
  no_args("even", a);
  return equal(mod(v, Value(int64_t(2)), interp.limits()), Value(int64_t(0)));
}

bool t_divisibleby(Interpreter& interp, const Value& v, CallArgs& a) {
  Params p("divisibleby", a, {"num"});
  return equal(mod(v, required(p, 0, "test_divisibleby"), interp.limits()), Value(int64_t(0)));
}

// Python's `is`: singletons and small ints are shared objects; containers and strings by storage identity.
bool t_sameas(Interpreter&, const Value& v, CallArgs& a) {
  Params p("sameas", a, {"other"});
  const Value& o = required(p, 0, "test_sameas");
  if (v.kind() != o.kind()) return false;
  switch (v.kind()) {
    case Value::Kind::kUndefined: return false;
    case Value::Kind::kNone: return true;
    case Value::Kind::kBool: return v.as_bool() == o.as_bool();
    case Value::Kind::kInt: return v.as_int() == o.as_int() && v.as_int() >= -5 && v.as_int() <= 256;
    case Value::Kind::kFloat: return false;
    case Value::Kind::kString: return &v.str() == &o.str();
    case Value::Kind::kList:
    case Value::Kind::kTuple: return &v.items() == &o.items();
    case Value::Kind::kDict: return &v.dict() == &o.dict();
    default: return equal(v, o);
  }
}

bool t_in(Interpreter&, const Value& v, CallArgs& a) {
  Params p("in", a, {"seq"});
  return contains(required(p, 0, "test_in"), v);
}

template <int kOp>  // 0 ==, 1 !=, 2 <, 3 <=, 4 >, 5 >=
bool t_compare(Interpreter&, const Value& v, CallArgs& a) {
  Params p("compare", a, {"other"});
  const Value& o = required(p, 0, "compare");
  switch (kOp) {
    case 0: return equal(v, o);
    case 1: return !equal(v, o);
    case 2: return compare("<", v, o);
    case 3: return compare("<=", v, o);
    case 4: return compare(">", v, o);
    default: return compare(">=", v, o);
  }
}

bool t_filter(Interpreter&, const Value& v, CallArgs& a) {
  return no_args("filter", a) && v.is_string() && find_filter(v.str()) != nullptr;
}

bool t_test(Interpreter&, const Value& v, CallArgs& a) {
  return no_args("test", a) && v.is_string() && find_test(v.str()) != nullptr;
}

struct TestEntry {
  std::string_view name;
  TestFn fn;
};

constexpr TestEntry kTests[] = {
    {"odd", t_odd},           {"even", t_even},           {"divisibleby", t_divisibleby},
    {"defined", t_defined},   {"undefined", t_undefined}, {"filter", t_filter},
    {"test", t_test},         {"none", t_none},           {"boolean", t_boolean},
    {"false", t_false},       {"true", t_true},           {"integer", t_integer},
    {"float", t_float},       {"lower", t_lower},         {"upper", t_upper},
    {"string", t_string},     {"mapping", t_mapping},     {"number", t_number},
    {"sequence", t_sequence}, {"iterable", t_iterable},   {"callable", t_callable},
    {"sameas", t_sameas},     {"escaped", t_escaped},     {"in", t_in},
    {"==", t_compare<0>},     {"eq", t_compare<0>},       {"equalto", t_compare<0>},
    {"!=", t_compare<1>},     {"ne", t_compare<1>},       {"<", t_compare<2>},
    {"lt", t_compare<2>},     {"lessthan", t_compare<2>}, {"<=", t_compare<3>},
    {"le", t_compare<3>},     {">", t_compare<4>},        {"gt", t_compare<4>},
    {"greaterthan", t_compare<4>}, {">=", t_compare<5>},  {"ge", t_compare<5>},
};

}  // namespace

TestFn find_test(std::string_view name) {
  for (const TestEntry& t : kTests) {
    if (t.name == name) return t.fn;
  }
  return nullptr;
}

}  // namespace r1::jinja
