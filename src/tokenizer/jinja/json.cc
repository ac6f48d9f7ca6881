#include "tokenizer/jinja/json.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "tokenizer/jinja/error.h"
#include "tokenizer/jinja/json_dump.h"
#include "tokenizer/jinja/ops.h"
#include "tokenizer/jinja/text.h"

namespace r1::jinja {

// ---------------------------------------------------------------------------------------------------------------
// JSON -> Value
// ---------------------------------------------------------------------------------------------------------------

namespace {

template <typename Json>
Value convert(const Json& j, uint32_t depth, uint32_t max_depth) {
  if (depth > max_depth) failf("JSON nested deeper than {} levels", max_depth);
  switch (j.type()) {
    case nlohmann::json::value_t::null: return Value::none();
    case nlohmann::json::value_t::boolean: return Value(j.template get<bool>());
    case nlohmann::json::value_t::number_integer: return Value(j.template get<int64_t>());
    case nlohmann::json::value_t::number_unsigned: {
      auto u = j.template get<uint64_t>();
      return u <= uint64_t(INT64_MAX) ? Value(int64_t(u)) : Value(double(u));
    }
    case nlohmann::json::value_t::number_float: return Value(j.template get<double>());
    case nlohmann::json::value_t::string: return Value(j.template get_ref<const std::string&>());
    case nlohmann::json::value_t::array: {
      std::vector<Value> items;
      items.reserve(j.size());
      for (const auto& item : j) items.push_back(convert(item, depth + 1, max_depth));
      return Value::list(std::move(items));
    }
    case nlohmann::json::value_t::object: {
      Dict d;
      for (auto it = j.begin(); it != j.end(); ++it) d.set(Value(it.key()), convert(it.value(), depth + 1, max_depth));
      return Value::dict(std::move(d));
    }
    default: fail("unsupported JSON value (binary or discarded)");
  }
}

template <typename Json>
Result<Value> convert_checked(const Json& j, uint32_t max_depth) {
  try {
    return convert(j, 0, max_depth);
  } catch (const Error& e) {
    return Status::error(e.message);
  }
}

}  // namespace

Result<Value> from_json(const nlohmann::ordered_json& json, uint32_t max_depth) {
  return convert_checked(json, max_depth);
}

Result<Value> from_json(const nlohmann::json& json, uint32_t max_depth) { return convert_checked(json, max_depth); }

Result<Value> Value::from_json_text(std::string_view json) {
  // The SAX depth of nlohmann's parser is iterative, but the DOM it builds is destroyed recursively; the depth
  // check in from_json runs after parsing, so very deep documents are refused before the DOM grows here.
  int depth = 0, max_seen = 0;
  bool in_string = false;
  for (size_t i = 0; i < json.size(); ++i) {
    char c = json[i];
    if (in_string) {
      if (c == '\\') ++i;
      if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') in_string = true;
    if (c == '[' || c == '{') max_seen = std::max(max_seen, ++depth);
    if (c == ']' || c == '}') --depth;
  }
  if (max_seen > 256) return Status::errorf("JSON nested deeper than 256 levels");
  auto parsed = nlohmann::ordered_json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return Status::error("invalid JSON");
  return from_json(parsed);
}

// ---------------------------------------------------------------------------------------------------------------
// Value -> JSON text (json.dumps)
// ---------------------------------------------------------------------------------------------------------------

namespace {

void append_escaped(std::string& out, std::string_view s, bool ensure_ascii) {
  out.push_back('"');
  char buf[16];
  for (size_t i = 0; i < s.size();) {
    text::Decoded d = text::decode_at(s, i);
    std::string_view raw = s.substr(i, d.len);
    i += d.len;
    uint32_t cp = d.cp;
    switch (cp) {
      case '"': out += "\\\""; continue;
      case '\\': out += "\\\\"; continue;
      case '\n': out += "\\n"; continue;
      case '\r': out += "\\r"; continue;
      case '\t': out += "\\t"; continue;
      case '\b': out += "\\b"; continue;
      case '\f': out += "\\f"; continue;
      default: break;
    }
    if (cp < 0x20 || (ensure_ascii && cp > 0x7E)) {
      if (cp > 0xFFFF) {  // UTF-16 surrogate pair, as Python writes it
        uint32_t v = cp - 0x10000;
        std::snprintf(buf, sizeof buf, "\\u%04x\\u%04x", 0xD800 + (v >> 10), 0xDC00 + (v & 0x3FF));
      } else {
        std::snprintf(buf, sizeof buf, "\\u%04x", cp);
      }
      out += buf;
    } else {
      out.append(raw);
    }
  }
  out.push_back('"');
}

std::string float_json(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
  return text::float_repr(d);
}

class Dumper {
 public:
  Dumper(const JsonStyle& style, uint32_t max_depth) : style_(style), max_depth_(max_depth) {}

  void dump(const Value& v, uint32_t level) {
    if (level > max_depth_) failf("value nested deeper than {} levels", max_depth_);
    switch (v.kind()) {
      case Value::Kind::kNone: out_ += "null"; return;
      case Value::Kind::kBool: out_ += v.as_bool() ? "true" : "false"; return;
      case Value::Kind::kInt: out_ += std::to_string(v.as_int()); return;
      case Value::Kind::kFloat: out_ += float_json(v.as_float()); return;
      case Value::Kind::kString: append_escaped(out_, v.str(), style_.ensure_ascii); return;
      case Value::Kind::kList:
      case Value::Kind::kTuple: dump_list(v.items(), level); return;
      case Value::Kind::kDict: dump_dict(v.dict(), level); return;
      default: failf("Object of type {} is not JSON serializable", type_name(v));
    }
  }

  std::string take() { return std::move(out_); }

 private:
  const JsonStyle& style_;
  uint32_t max_depth_;
  std::string out_;

  void newline(uint32_t level) {
    out_.push_back('\n');
    for (uint32_t i = 0; i < level; ++i) out_ += *style_.indent;
  }

  void dump_list(const std::vector<Value>& items, uint32_t level) {
    if (items.empty()) {
      out_ += "[]";
      return;
    }
    out_.push_back('[');
    for (size_t i = 0; i < items.size(); ++i) {
      if (i) out_ += style_.item_separator;
      if (style_.indent) newline(level + 1);
      dump(items[i], level + 1);
    }
    if (style_.indent) newline(level);
    out_.push_back(']');
  }

  static std::string key_text(const Value& key) {
    switch (key.kind()) {
      case Value::Kind::kString: return key.str();
      case Value::Kind::kNone: return "null";
      case Value::Kind::kBool: return key.as_bool() ? "true" : "false";
      case Value::Kind::kInt: return std::to_string(key.as_int());
      case Value::Kind::kFloat: return float_json(key.as_float());
      default: failf("keys must be str, int, float, bool or None, not {}", type_name(key));
    }
  }

  void dump_dict(const Dict& d, uint32_t level) {
    if (d.empty()) {
      out_ += "{}";
      return;
    }
    std::vector<const std::pair<Value, Value>*> entries;
    for (const auto& e : d.entries()) entries.push_back(&e);
    if (style_.sort_keys) {
      std::stable_sort(entries.begin(), entries.end(),
                       [](const auto* a, const auto* b) { return compare("<", a->first, b->first); });
    }
    out_.push_back('{');
    for (size_t i = 0; i < entries.size(); ++i) {
      if (i) out_ += style_.item_separator;
      if (style_.indent) newline(level + 1);
      append_escaped(out_, key_text(entries[i]->first), style_.ensure_ascii);
      out_ += style_.key_separator;
      dump(entries[i]->second, level + 1);
    }
    if (style_.indent) newline(level);
    out_.push_back('}');
  }
};

}  // namespace

std::string json_dumps(const Value& v, const JsonStyle& style, uint32_t max_depth) {
  Dumper dumper(style, max_depth);
  dumper.dump(v, 0);
  return dumper.take();
}

}  // namespace r1::jinja
