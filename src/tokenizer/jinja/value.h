// The value type of the Jinja engine: a Python-like dynamic value (what a chat template sees of `messages`,
// `tools`, `add_generation_prompt`, ...). Semantics follow Python because Hugging Face renders chat templates with
// Python jinja2: dicts keep insertion order, ints and floats print differently (`1` vs `1.0`), True prints `True`,
// None prints `None`, and an undefined name is its own kind that prints as an empty string.
//
// Values are cheap to copy: strings and containers are shared and immutable (HF renders in jinja2's
// ImmutableSandboxedEnvironment, where templates cannot mutate lists or dicts; only `namespace` objects mutate).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/status.h"

namespace r1::jinja {

class Value;
class Interpreter;  // the evaluator (interpreter.h); host objects receive it when called

// Arguments of a call from template code: `f(1, 2, key=3)`.
struct CallArgs {
  std::vector<Value> args;
  std::vector<std::pair<std::string, Value>> kwargs;
};

// A host object seen by templates: namespaces, loop contexts, macros, bound methods, global functions.
class Object {
 public:
  virtual ~Object() = default;
  virtual std::string type_name() const = 0;  // Python's type(x).__name__, used in error messages
  virtual std::string repr() const = 0;       // what {{ x }} prints
  virtual Value attr(std::string_view name) const;  // `x.name`; undefined when missing
  virtual bool callable() const { return false; }
  virtual Value call(Interpreter& interp, CallArgs& args) const;  // errors unless callable()
};

// An insertion-ordered mapping with Python key equality (1 == 1.0 == True). String keys are indexed.
class Dict {
 public:
  const Value* find(const Value& key) const;
  const Value* find(std::string_view key) const;
  void set(Value key, Value value);  // replaces in place when the key exists, else appends
  size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  const std::vector<std::pair<Value, Value>>& entries() const { return entries_; }

 private:
  // Transparent hashing lets find(string_view) look up without building a std::string.
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::vector<std::pair<Value, Value>> entries_;
  std::unordered_map<std::string, size_t, StringHash, std::equal_to<>> string_index_;  // key -> index in entries_
};

// The remaining items of a Python iterator (a generator from `select`, `map`, a `reverse` of a list, ...).
// Iterators are truthy, have no length and are consumed by iteration, as in Python.
struct IteratorState {
  std::vector<Value> items;
  size_t pos = 0;
  std::string type_name;  // "generator", "list_reverseiterator", ...
};

class Value {
 public:
  enum class Kind : uint8_t {
    kUndefined,
    kNone,
    kBool,
    kInt,
    kFloat,
    kString,
    kList,
    kTuple,
    kDict,
    kIterator,
    kObject,
  };

  Value() = default;  // undefined
  Value(bool b) : kind_(Kind::kBool), b_(b) {}                          // NOLINT: implicit by design
  Value(int i) : kind_(Kind::kInt), i_(i) {}                            // NOLINT
  Value(int64_t i) : kind_(Kind::kInt), i_(i) {}                        // NOLINT
  Value(double f) : kind_(Kind::kFloat), f_(f) {}                       // NOLINT
  Value(std::string s);                                                 // NOLINT
  Value(std::string_view s) : Value(std::string(s)) {}                  // NOLINT
  Value(const char* s) : Value(std::string(s)) {}                       // NOLINT

  // An undefined value; `message` is the error raised when a template uses it ("'foo' is undefined").
  static Value undefined(std::string message);
  static Value none();
  // A string marked safe (markupsafe.Markup): adding a plain string to it HTML-escapes the plain string.
  static Value markup(std::string s);
  static Value list(std::vector<Value> items);
  static Value tuple(std::vector<Value> items);
  static Value dict(Dict d);
  static Value iterator(std::vector<Value> items, std::string type_name);
  static Value object(std::shared_ptr<Object> object);

  // Builds a value from JSON text (objects keep their key order). Errors name the offset of bad JSON.
  static Result<Value> from_json_text(std::string_view json);

  Kind kind() const { return kind_; }
  bool is_undefined() const { return kind_ == Kind::kUndefined; }
  bool is_none() const { return kind_ == Kind::kNone; }
  bool is_bool() const { return kind_ == Kind::kBool; }
  bool is_int() const { return kind_ == Kind::kInt; }
  bool is_float() const { return kind_ == Kind::kFloat; }
  bool is_number() const { return kind_ == Kind::kInt || kind_ == Kind::kFloat || kind_ == Kind::kBool; }
  bool is_string() const { return kind_ == Kind::kString; }
  bool is_markup() const { return kind_ == Kind::kString && markup_; }
  bool is_list() const { return kind_ == Kind::kList; }
  bool is_tuple() const { return kind_ == Kind::kTuple; }
  bool is_sequence() const { return kind_ == Kind::kList || kind_ == Kind::kTuple; }  // list or tuple
  bool is_dict() const { return kind_ == Kind::kDict; }
  bool is_iterator() const { return kind_ == Kind::kIterator; }
  bool is_object() const { return kind_ == Kind::kObject; }

  bool as_bool() const { return b_; }
  int64_t as_int() const { return kind_ == Kind::kBool ? int64_t(b_) : i_; }  // bool is an int, as in Python
  double as_float() const { return kind_ == Kind::kFloat ? f_ : double(as_int()); }
  const std::string& str() const;                    // string content; the message of an undefined
  const std::vector<Value>& items() const;           // list or tuple items
  const Dict& dict() const;
  IteratorState& iterator_state() const { return *iter_; }
  const std::shared_ptr<Object>& object() const { return obj_; }
  // Nesting depth of lists, tuples and dicts (0 for scalars); bounded by the interpreter so that
  // printing, comparing and destroying values never recurses without limit.
  uint32_t depth() const { return depth_; }

 private:
  Kind kind_ = Kind::kUndefined;
  bool markup_ = false;
  uint32_t depth_ = 0;
  union {
    bool b_;
    int64_t i_ = 0;
    double f_;
  };
  std::shared_ptr<const std::string> str_;  // string content, or the message of an undefined
  std::shared_ptr<const std::vector<Value>> items_;
  std::shared_ptr<const Dict> dict_;
  std::shared_ptr<IteratorState> iter_;
  std::shared_ptr<Object> obj_;
};

}  // namespace r1::jinja
