#include "tokenizer/jinja/interpreter.h"

#include <algorithm>

#include "tokenizer/jinja/builtins.h"
#include "tokenizer/jinja/error.h"

namespace r1::jinja {

// ---------------------------------------------------------------------------------------------------------------
// Scope and host objects
// ---------------------------------------------------------------------------------------------------------------

Value* Scope::find_local(std::string_view name) {
  for (auto& [key, value] : vars) {
    if (key == name) return &value;
  }
  return nullptr;
}

void Scope::set(std::string_view name, Value value) {
  if (Value* v = find_local(name)) {
    *v = std::move(value);
  } else {
    vars.emplace_back(std::string(name), std::move(value));
  }
}

std::string NamespaceObject::repr() const {
  // A namespace may contain itself. Python's dict repr prints a dict that is already being printed as {...}.
  static thread_local std::vector<const NamespaceObject*> active;
  if (std::find(active.begin(), active.end(), this) != active.end()) return "<Namespace {...}>";
  active.push_back(this);
  std::string inner;
  try {
    inner = jinja::repr(Value::dict(attrs_));
  } catch (...) {
    active.pop_back();
    throw;
  }
  active.pop_back();
  return "<Namespace " + inner + ">";
}

Value NamespaceObject::attr(std::string_view name) const {
  if (const Value* v = attrs_.find(name)) return *v;
  return Value::undefined(fmt::format("'Namespace object' has no attribute '{}'", name));
}

void NamespaceObject::set(std::string_view name, Value value) {
  if (!name.empty() && name[0] == '_') {  // HF's TemplateNamespace guards CPython internals
    failf("Chat templates cannot store underscore-prefixed attributes on a namespace, but got '{}'. Please "
          "rename the attribute.", name);
  }
  attrs_.set(Value(name), std::move(value));
}

namespace {

// jinja2's LoopContext: `loop.index`, `loop.last`, `loop.cycle(...)`, ...
class LoopObject : public Object, public std::enable_shared_from_this<LoopObject> {
 public:
  explicit LoopObject(std::shared_ptr<const std::vector<Value>> items) : items_(std::move(items)) {}
  std::string type_name() const override { return "LoopContext"; }
  std::string repr() const override { return fmt::format("<LoopContext {}/{}>", index0_ + 1, items_->size()); }
  void set_index(size_t i) { index0_ = i; }
  Value attr(std::string_view name) const override;

 private:
  class Method;
  std::shared_ptr<const std::vector<Value>> items_;
  size_t index0_ = 0;
  mutable std::vector<Value> last_changed_;
  mutable bool changed_called_ = false;
};

class LoopObject::Method : public Object {
 public:
  Method(std::shared_ptr<const LoopObject> loop, bool cycle) : loop_(std::move(loop)), cycle_(cycle) {}
  std::string type_name() const override { return "method"; }
  std::string repr() const override { return cycle_ ? "<bound method cycle>" : "<bound method changed>"; }
  bool callable() const override { return true; }
  Value call(Interpreter&, CallArgs& args) const override {
    if (cycle_) {
      if (args.args.empty()) fail("no items for cycling given");
      return args.args[loop_->index0_ % args.args.size()];
    }
    bool same = loop_->changed_called_ && loop_->last_changed_.size() == args.args.size();
    for (size_t i = 0; same && i < args.args.size(); ++i) same = equal(loop_->last_changed_[i], args.args[i]);
    loop_->changed_called_ = true;
    loop_->last_changed_ = args.args;
    return Value(!same);
  }

 private:
  std::shared_ptr<const LoopObject> loop_;
  bool cycle_;
};

Value LoopObject::attr(std::string_view name) const {
  const auto n = static_cast<int64_t>(items_->size());
  const auto i = static_cast<int64_t>(index0_);
  if (name == "index") return Value(i + 1);
  if (name == "index0") return Value(i);
  if (name == "revindex") return Value(n - i);
  if (name == "revindex0") return Value(n - i - 1);
  if (name == "first") return Value(i == 0);
  if (name == "last") return Value(i + 1 == n);
  if (name == "length") return Value(n);
  if (name == "depth") return Value(int64_t(1));
  if (name == "depth0") return Value(int64_t(0));
  if (name == "previtem") return i > 0 ? (*items_)[size_t(i - 1)] : Value::undefined("there is no previous item");
  if (name == "nextitem") return i + 1 < n ? (*items_)[size_t(i + 1)] : Value::undefined("there is no next item");
  if (name == "cycle" || name == "changed") {
    return Value::object(std::make_shared<Method>(shared_from_this(), name == "cycle"));
  }
  return Object::attr(name);
}

}  // namespace

// ---------------------------------------------------------------------------------------------------------------
// Interpreter
// ---------------------------------------------------------------------------------------------------------------

Interpreter::Interpreter(std::string_view source, InterpreterLimits limits) : source_(source), limits_(limits) {}

Interpreter::~Interpreter() {
  // Namespaces can reference each other (even themselves); clearing them one by one breaks every cycle and
  // keeps destruction iterative however long a chain a template built.
  for (auto& ns : namespaces_) ns->clear();
}

Interpreter::DepthGuard::DepthGuard(Interpreter* interp) : in(interp) {
  if (++in->depth_ > in->limits_.max_eval_depth) {
    --in->depth_;
    failf("template recursion deeper than {} levels", in->limits_.max_eval_depth);
  }
}

int Interpreter::line_of(uint32_t offset) const {
  size_t end = std::min<size_t>(offset, source_.size());
  return 1 + static_cast<int>(std::count(source_.begin(), source_.begin() + std::ptrdiff_t(end), '\n'));
}

void Interpreter::charge(uint64_t steps) {
  steps_ += steps;
  if (steps_ > limits_.max_steps) failf("template exceeded the limit of {} evaluation steps", limits_.max_steps);
}

std::string Interpreter::render(const Body& body, const Value& context) {
  context_ = context;
  root_ = std::make_shared<Scope>();
  buffers_.assign(1, std::string());
  exec_body(body, root_);
  std::string out = std::move(buffers_[0]);
  buffers_.clear();
  root_.reset();
  return out;
}

void Interpreter::emit(std::string_view text) {
  std::string& buf = buffers_.back();
  if (buf.size() + text.size() > limits_.values.max_string_bytes) {
    failf("template output exceeds the limit of {} bytes", limits_.values.max_string_bytes);
  }
  buf.append(text);
}

std::string Interpreter::capture(const Body& body, const ScopePtr& scope) {
  buffers_.emplace_back();
  try {
    exec_body(body, scope);
  } catch (...) {
    buffers_.pop_back();
    throw;
  }
  std::string out = std::move(buffers_.back());
  buffers_.pop_back();
  return out;
}

Value Interpreter::new_namespace(Dict attrs) {
  charge(1);
  for (const auto& entry : attrs.entries()) {
    if (entry.first.is_string() && !entry.first.str().empty() && entry.first.str()[0] == '_') {
      failf("Chat templates cannot store underscore-prefixed attributes on a namespace, but got '{}'. Please "
            "rename the attribute.", entry.first.str());
    }
  }
  auto ns = std::make_shared<NamespaceObject>(std::move(attrs));
  namespaces_.push_back(ns);
  return Value::object(ns);
}

Value Interpreter::call(const Value& callee, CallArgs& args) {
  defined(callee);
  if (!callee.is_object() || !callee.object()->callable()) failf("'{}' object is not callable", type_name(callee));
  return callee.object()->call(*this, args);
}

Value Interpreter::call_filter(std::string_view name, const Value& input, CallArgs& args) {
  FilterFn f = find_filter(name);
  if (!f) failf("no filter named '{}'", name);
  return f(*this, input, args);
}

bool Interpreter::call_test(std::string_view name, const Value& input, CallArgs& args) {
  TestFn t = find_test(name);
  if (!t) failf("no test named '{}'", name);
  return t(*this, input, args);
}

// ---------------------------------------------------------------------------------------------------------------
// Macros
// ---------------------------------------------------------------------------------------------------------------

Value Interpreter::call_macro(const MacroObject& macro, CallArgs& args) {
  const MacroDef& def = macro.def();
  if (call_depth_ >= limits_.max_call_depth) failf("macro calls nested deeper than {}", limits_.max_call_depth);
  ScopePtr closure = macro.closure().lock();
  auto scope = std::make_shared<Scope>();
  scope->parent = closure ? closure : root_;
  const size_t n = def.params.size();
  std::vector<const Value*> bound(n, nullptr);
  std::vector<Value> varargs;
  Dict kwargs;
  Value caller = Value::undefined("No caller defined");
  for (size_t i = 0; i < args.args.size(); ++i) {
    if (i < n) {
      bound[i] = &args.args[i];
    } else if (def.catch_varargs) {
      varargs.push_back(args.args[i]);
    } else {
      failf("macro '{}' takes not more than {} argument(s)", def.name, n);
    }
  }
  for (auto& [key, value] : args.kwargs) {
    auto it = std::find(def.params.begin(), def.params.end(), key);
    if (it != def.params.end()) {
      size_t i = size_t(it - def.params.begin());
      if (bound[i]) failf("macro '{}' got multiple values for argument '{}'", def.name, key);
      bound[i] = &value;
    } else if (key == "caller" && def.catch_caller) {
      caller = value;
    } else if (def.catch_kwargs) {
      kwargs.set(Value(key), value);
    } else {
      failf("macro '{}' takes no keyword argument '{}'", def.name, key);
    }
  }
  const size_t first_default = n - def.defaults.size();
  for (size_t i = 0; i < n; ++i) {
    Value v;
    if (bound[i]) {
      v = *bound[i];
    } else if (i >= first_default) {
      v = eval(*def.defaults[i - first_default], scope);
    } else {
      v = Value::undefined(fmt::format("parameter '{}' was not provided", def.params[i]));
    }
    scope->set(def.params[i], std::move(v));
  }
  if (def.catch_varargs) scope->set("varargs", new_tuple(std::move(varargs), limits_.values));
  if (def.catch_kwargs) scope->set("kwargs", Value::dict(std::move(kwargs)));
  if (def.catch_caller) scope->set("caller", caller);
  ++call_depth_;
  std::string out;
  try {
    out = capture(def.body, scope);
  } catch (...) {
    --call_depth_;
    throw;
  }
  --call_depth_;
  return Value(std::move(out));
}

// ---------------------------------------------------------------------------------------------------------------
// Statements
// ---------------------------------------------------------------------------------------------------------------

Interpreter::Flow Interpreter::exec_body(const Body& body, const ScopePtr& scope) {
  for (const StmtPtr& stmt : body) {
    Flow flow = exec(*stmt, scope);
    if (flow != Flow::kNormal) return flow;
  }
  return Flow::kNormal;
}

Interpreter::Flow Interpreter::exec(const Stmt& stmt, const ScopePtr& scope) {
  try {
    DepthGuard guard(this);
    charge(1);
    return exec_stmt(stmt, scope);
  } catch (Error& e) {
    if (e.offset == kNoOffset) e.offset = stmt.offset;
    throw;
  }
}

namespace {

ScopePtr child_of(const ScopePtr& parent) {
  auto s = std::make_shared<Scope>();
  s->parent = parent;
  return s;
}

}  // namespace

Interpreter::Flow Interpreter::exec_stmt(const Stmt& stmt, const ScopePtr& scope) {
  switch (stmt.kind) {
    case StmtKind::kText: emit(stmt.text); break;
    case StmtKind::kPrint: emit(to_str(eval(*stmt.expr, scope))); break;
    case StmtKind::kIf: return exec_body(truthy(eval(*stmt.expr, scope)) ? stmt.body : stmt.else_body, scope);
    case StmtKind::kFor: return exec_for(stmt, scope);
    case StmtKind::kSet: assign(stmt.target, eval(*stmt.expr, scope), *scope); break;
    case StmtKind::kSetBlock: {
      Value out(capture(stmt.body, child_of(scope)));
      if (stmt.expr) out = apply_filter_chain(*stmt.expr, scope, std::move(out));
      assign(stmt.target, std::move(out), *scope);
      break;
    }
    case StmtKind::kMacro:
      scope->set(stmt.macro->name, Value::object(std::make_shared<MacroObject>(stmt.macro.get(), scope)));
      break;
    case StmtKind::kCallBlock: exec_call_block(stmt, scope); break;
    case StmtKind::kFilterBlock: {
      Value out(capture(stmt.body, child_of(scope)));
      emit(to_str(apply_filter_chain(*stmt.expr, scope, std::move(out))));
      break;
    }
    case StmtKind::kWith: {
      ScopePtr inner = child_of(scope);
      for (size_t i = 0; i < stmt.targets.size(); ++i) assign(stmt.targets[i], eval(*stmt.values[i], scope), *inner);
      return exec_body(stmt.body, inner);
    }
    case StmtKind::kScope: return exec_body(stmt.body, child_of(scope));
    case StmtKind::kBreak: return Flow::kBreak;
    case StmtKind::kContinue: return Flow::kContinue;
  }
  return Flow::kNormal;
}

Interpreter::Flow Interpreter::exec_for(const Stmt& stmt, const ScopePtr& scope) {
  std::vector<Value> all = iterate(eval(*stmt.expr, scope));
  charge(all.size());
  auto items = std::make_shared<std::vector<Value>>();
  if (stmt.cond) {  // `for x in xs if cond`: the filter runs before the loop, so loop.length counts kept items
    for (Value& item : all) {
      ScopePtr probe = child_of(scope);
      assign(stmt.target, item, *probe);
      if (truthy(eval(*stmt.cond, probe))) items->push_back(std::move(item));
    }
  } else {
    *items = std::move(all);
  }
  auto loop = std::make_shared<LoopObject>(items);
  const Value loop_value = Value::object(loop);
  for (size_t i = 0; i < items->size(); ++i) {
    charge(1);
    ScopePtr iteration = child_of(scope);
    assign(stmt.target, (*items)[i], *iteration);
    loop->set_index(i);
    iteration->set("loop", loop_value);
    if (exec_body(stmt.body, iteration) == Flow::kBreak) break;
  }
  if (items->empty()) return exec_body(stmt.else_body, child_of(scope));
  return Flow::kNormal;
}

void Interpreter::exec_call_block(const Stmt& stmt, const ScopePtr& scope) {
  const Expr& call = *stmt.expr;
  Value callee = eval(*call.a, scope);
  CallArgs args = eval_args(call.call, scope);
  args.kwargs.emplace_back("caller", Value::object(std::make_shared<MacroObject>(stmt.macro.get(), scope)));
  emit(to_str(this->call(callee, args)));
}

void Interpreter::assign(const Target& target, Value value, Scope& scope) {
  switch (target.kind) {
    case Target::Kind::kName: scope.set(target.name, std::move(value)); return;
    case Target::Kind::kNamespaceAttr: {
      Value ns = lookup(target.name, scope);
      auto* obj = ns.is_object() ? dynamic_cast<NamespaceObject*>(ns.object().get()) : nullptr;
      if (!obj) throw Error{"cannot assign attribute on non-namespace object", target.offset};
      obj->set(target.attr, std::move(value));
      return;
    }
    case Target::Kind::kTuple: {
      if (!value.is_string() && !value.is_sequence() && !value.is_dict() && !value.is_iterator() &&
          !value.is_undefined()) {
        failf("cannot unpack non-iterable {} object", type_name(value));
      }
      std::vector<Value> items = iterate(value);
      const size_t n = target.items.size();
      if (items.size() < n) failf("not enough values to unpack (expected {}, got {})", n, items.size());
      if (items.size() > n) failf("too many values to unpack (expected {})", n);
      for (size_t i = 0; i < n; ++i) assign(target.items[i], std::move(items[i]), scope);
      return;
    }
  }
}

Value Interpreter::lookup(std::string_view name, const Scope& scope) const {
  for (const Scope* s = &scope; s; s = s->parent.get()) {
    for (const auto& [key, value] : s->vars) {
      if (key == name) return value;
    }
  }
  if (context_.is_dict()) {
    if (const Value* v = context_.dict().find(name)) return *v;
  }
  if (std::optional<Value> g = find_global(name)) return *g;
  return Value::undefined(fmt::format("'{}' is undefined", name));
}

}  // namespace r1::jinja
