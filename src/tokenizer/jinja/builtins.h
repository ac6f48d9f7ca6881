// The built-in filters and tests of the engine (filters.cc, predicates.cc), the global functions HF puts into
// the template environment (globals in methods.cc), and the argument binding they share.
#pragma once

#include <initializer_list>
#include <optional>
#include <string_view>
#include <vector>

#include "tokenizer/jinja/ast.h"

namespace r1::jinja {

FilterFn find_filter(std::string_view name);  // nullptr when jinja2 (with HF's tojson) has no such filter here
TestFn find_test(std::string_view name);      // nullptr when unknown
std::optional<Value> find_global(std::string_view name);  // range, namespace, dict, raise_exception, ...

// Binds call arguments to a parameter list the way Python binds them to `def f(a, b=..., c=...)`: positionals
// first, then keywords; too many positionals, unknown or repeated keywords raise TypeError-like errors.
class Params {
 public:
  Params(std::string_view function, const CallArgs& args, std::initializer_list<std::string_view> names);
  bool has(size_t i) const { return values_[i] != nullptr; }
  const Value& get(size_t i) const;       // an undefined value when not supplied
  const Value& required(size_t i) const;  // raises "f() missing required argument 'x'" when not supplied
  Value get_or(size_t i, Value fallback) const { return has(i) ? *values_[i] : std::move(fallback); }

 private:
  std::string_view function_;
  std::vector<std::string_view> names_;
  std::vector<const Value*> values_;
};

}  // namespace r1::jinja
