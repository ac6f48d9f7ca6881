// Python's json.dumps over template values, for HF's `tojson` filter, which is
// json.dumps(x, ensure_ascii=False, indent=indent, separators=separators, sort_keys=sort_keys) (transformers
// replaces jinja2's own HTML-escaping tojson). Output matches CPython byte for byte: floats use repr(), non-finite
// floats print as Infinity / NaN, dict keys that are numbers, booleans or None become strings.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "tokenizer/jinja/value.h"

namespace r1::jinja {

struct JsonStyle {
  bool ensure_ascii = false;
  std::optional<std::string> indent;  // per-level indent text; nullopt prints everything on one line
  std::string item_separator = ", ";  // json.dumps default; "," when indent is set and separators is None
  std::string key_separator = ": ";
  bool sort_keys = false;
};

// Throws jinja::Error for values JSON cannot hold (undefined, namespaces, ...) and past max_depth nesting.
std::string json_dumps(const Value& v, const JsonStyle& style, uint32_t max_depth);

}  // namespace r1::jinja
