#include "tokenizer/jinja/value.h"

#include <algorithm>

#include "tokenizer/jinja/error.h"
#include "tokenizer/jinja/ops.h"

namespace r1::jinja {

Value Object::attr(std::string_view name) const {
  return Value::undefined(fmt::format("'{}' object has no attribute '{}'", type_name(), name));
}

Value Object::call(Interpreter&, CallArgs&) const { failf("'{}' object is not callable", type_name()); }

// ---------------------------------------------------------------------------------------------------------------
// Dict
// ---------------------------------------------------------------------------------------------------------------

const Value* Dict::find(std::string_view key) const {
  auto it = string_index_.find(key);
  return it == string_index_.end() ? nullptr : &entries_[it->second].second;
}

const Value* Dict::find(const Value& key) const {
  if (key.is_string()) return find(std::string_view(key.str()));
  for (const auto& [k, v] : entries_) {
    if (!k.is_string() && equal(k, key)) return &v;
  }
  return nullptr;
}

void Dict::set(Value key, Value value) {
  if (key.is_string()) {
    auto [it, inserted] = string_index_.emplace(key.str(), entries_.size());
    if (!inserted) {
      entries_[it->second].second = std::move(value);
      return;
    }
    entries_.emplace_back(std::move(key), std::move(value));
    return;
  }
  for (auto& [k, v] : entries_) {
    if (!k.is_string() && equal(k, key)) {  // Python keeps the first key object (1 stays 1 after True: x)
      v = std::move(value);
      return;
    }
  }
  entries_.emplace_back(std::move(key), std::move(value));
}

// ---------------------------------------------------------------------------------------------------------------
// Value
// ---------------------------------------------------------------------------------------------------------------

Value::Value(std::string s) : kind_(Kind::kString), str_(std::make_shared<const std::string>(std::move(s))) {}

Value Value::undefined(std::string message) {
  Value v;
  v.str_ = std::make_shared<const std::string>(std::move(message));
  return v;
}

Value Value::none() {
  Value v;
  v.kind_ = Kind::kNone;
  return v;
}

Value Value::markup(std::string s) {
  Value v(std::move(s));
  v.markup_ = true;
  return v;
}

namespace {

uint32_t max_depth(const std::vector<Value>& items) {
  uint32_t d = 0;
  for (const Value& v : items) d = std::max(d, v.depth());
  return d;
}

}  // namespace

Value Value::list(std::vector<Value> items) {
  Value v;
  v.kind_ = Kind::kList;
  v.depth_ = max_depth(items) + 1;
  v.items_ = std::make_shared<const std::vector<Value>>(std::move(items));
  return v;
}

Value Value::tuple(std::vector<Value> items) {
  Value v = list(std::move(items));
  v.kind_ = Kind::kTuple;
  return v;
}

Value Value::dict(Dict d) {
  Value v;
  v.kind_ = Kind::kDict;
  uint32_t depth = 0;
  for (const auto& [key, value] : d.entries()) depth = std::max({depth, key.depth(), value.depth()});
  v.depth_ = depth + 1;
  v.dict_ = std::make_shared<const Dict>(std::move(d));
  return v;
}

Value Value::iterator(std::vector<Value> items, std::string type_name) {
  Value v;
  v.kind_ = Kind::kIterator;
  v.depth_ = max_depth(items) + 1;
  v.iter_ = std::make_shared<IteratorState>(IteratorState{std::move(items), 0, std::move(type_name)});
  return v;
}

Value Value::object(std::shared_ptr<Object> object) {
  Value v;
  v.kind_ = Kind::kObject;
  v.obj_ = std::move(object);
  return v;
}

const std::string& Value::str() const {
  static const std::string kEmpty;
  return str_ ? *str_ : kEmpty;
}

const std::vector<Value>& Value::items() const {
  static const std::vector<Value> kEmpty;
  return items_ ? *items_ : kEmpty;
}

const Dict& Value::dict() const {
  static const Dict kEmpty;
  return dict_ ? *dict_ : kEmpty;
}

}  // namespace r1::jinja
