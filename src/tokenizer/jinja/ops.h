// Python semantics of Jinja values: truthiness, str()/repr(), ==, <, arithmetic, `in`, iteration, len(), and
// jinja2's sandboxed attribute / item lookup. Every function throws jinja::Error (error.h) where Python raises, e.g.
// `1 + 'a'` or any use of an undefined value other than printing, testing or iterating it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/jinja/value.h"

namespace r1::jinja {

// Bounds on what one render may build, so that hostile templates fail fast instead of exhausting memory.
struct Limits {
  size_t max_string_bytes = size_t(64) << 20;  // any single string, and the whole output
  size_t max_items = size_t(1) << 20;           // any single list / tuple / dict
  uint32_t max_depth = 256;                     // nesting of lists / dicts (printing, comparing, JSON)
};

std::string type_name(const Value& v);  // Python's type(v).__name__: "int", "str", "NoneType", ...
bool truthy(const Value& v);
std::string to_str(const Value& v);  // str(v); an undefined value is ""
std::string repr(const Value& v);    // repr(v)
[[noreturn]] void fail_undefined(const Value& v);  // raises the undefined value's own message
inline const Value& defined(const Value& v) {
  if (v.is_undefined()) fail_undefined(v);
  return v;
}

bool equal(const Value& a, const Value& b);
// Python's rich comparison for "<", "<=", ">", ">="; raises TypeError for unorderable operands.
bool compare(std::string_view op, const Value& a, const Value& b);
void check_hashable(const Value& key);  // dict keys: raises "unhashable type: 'list'"

Value add(const Value& a, const Value& b, const Limits& limits);
Value sub(const Value& a, const Value& b);
Value mul(const Value& a, const Value& b, const Limits& limits);
Value truediv(const Value& a, const Value& b);
Value floordiv(const Value& a, const Value& b);
Value mod(const Value& a, const Value& b, const Limits& limits);  // numbers, or printf-style str % args
Value power(const Value& a, const Value& b);
Value negate(const Value& a);
Value unary_plus(const Value& a);

bool contains(const Value& container, const Value& item);  // `item in container`
std::vector<Value> iterate(const Value& v);                 // consumes iterators; undefined is empty
int64_t length(const Value& v);                             // len(v)

// obj.name: attribute first, then item (jinja2's sandbox getattr).
Value get_attr(const Value& obj, std::string_view name);
// obj[key]: item first, then attribute when key is a string (jinja2's sandbox getitem).
Value get_item(const Value& obj, const Value& key);
Value get_slice(const Value& obj, const Value& start, const Value& stop, const Value& step);

// Builds containers, enforcing Limits (size and nesting depth).
Value new_list(std::vector<Value> items, const Limits& limits);
Value new_tuple(std::vector<Value> items, const Limits& limits);

// printf-style formatting (`"%s" % x`, the `format` filter); args is a tuple, a dict or a single value.
// Both fail as soon as the result would exceed max_bytes.
std::string percent_format(std::string_view format, const Value& args, size_t max_bytes);
// str.format(*args, **kwargs) with automatic / numbered / named fields and simple format specs.
// With escape_fields (Markup.format) each replacement field is HTML-escaped unless its value is Markup.
std::string brace_format(std::string_view format, const CallArgs& args, size_t max_bytes, bool escape_fields);

}  // namespace r1::jinja
