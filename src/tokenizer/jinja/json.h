// Conversion from nlohmann::json (the chat request as the server parsed it) to template values. Kept out of
// value.h so that only callers that already use nlohmann include it; Value::from_json_text takes JSON text.
#pragma once

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "tokenizer/jinja/value.h"

namespace r1::jinja {

// Objects keep their key order (nlohmann::ordered_json preserves it; nlohmann::json sorts keys, which changes
// the output of templates that iterate over dicts or apply tojson). Integers that fit int64 stay integers,
// larger ones become floats. Errors when the document nests deeper than max_depth.
Result<Value> from_json(const nlohmann::ordered_json& json, uint32_t max_depth = 256);
Result<Value> from_json(const nlohmann::json& json, uint32_t max_depth = 256);

}  // namespace r1::jinja
