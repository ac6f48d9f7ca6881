// Tree-walking evaluator of a parsed template (statements in interpreter.cc, expressions in eval_expr.cc).
//
// Scoping follows jinja2: `if` does not open a scope; each `for` iteration, macro call, `with` and block body runs
// in a fresh child scope, so `{% set %}` inside a loop is invisible after it (templates use `namespace` for that);
// lookups walk outwards, then to the render context, then to the globals. Macros resolve free names in the scope
// they were defined in, at call time.
//
// Every render is bounded (output bytes, work steps, recursion depth), so hostile templates end with an error.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tokenizer/jinja/ast.h"
#include "tokenizer/jinja/ops.h"

namespace r1::jinja {

struct Scope {
  std::shared_ptr<Scope> parent;
  std::vector<std::pair<std::string, Value>> vars;

  Value* find_local(std::string_view name);
  void set(std::string_view name, Value value);
};
using ScopePtr = std::shared_ptr<Scope>;

struct InterpreterLimits {
  Limits values;
  uint64_t max_steps = 5'000'000;  // statements executed + loop iterations + items processed by filters
  int max_call_depth = 100;         // nested macro calls
  int max_eval_depth = 1500;        // nested evaluation frames (expressions, statements, calls together)
};

class MacroObject;
class NamespaceObject;

class Interpreter {
 public:
  // `source` is the normalised template text, used to turn offsets into line numbers in messages.
  Interpreter(std::string_view source, InterpreterLimits limits);
  ~Interpreter();
  Interpreter(const Interpreter&) = delete;
  Interpreter& operator=(const Interpreter&) = delete;

  // Renders the template body with `context` (a dict) as the outermost variables. Throws jinja::Error.
  std::string render(const Body& body, const Value& context);

  // ---- services for filters, tests, methods and host objects ----
  const Limits& limits() const { return limits_.values; }
  void charge(uint64_t steps);  // counts work against max_steps
  Value call(const Value& callee, CallArgs& args);
  Value call_filter(std::string_view name, const Value& input, CallArgs& args);  // map('lower'), ...
  bool call_test(std::string_view name, const Value& input, CallArgs& args);     // select('odd'), ...
  Value call_macro(const MacroObject& macro, CallArgs& args);
  // Creates a namespace object; the interpreter keeps every namespace so it can break reference cycles at the end.
  Value new_namespace(Dict attrs);
  int line_of(uint32_t offset) const;

  // ---- constant folding (fold.cc) ----
  // True when jinja2's optimizer would try to fold `expr` (literals combined by operators, tests and filters that
  // do not need the render context); names and calls are never constant.
  static bool is_constant(const Expr& expr);
  // Evaluates a constant expression the way jinja2's as_const does (slices go through the sandbox's getitem).
  Value eval_constant(const Expr& expr);

 private:
  enum class Flow { kNormal, kBreak, kContinue };

  Flow exec_body(const Body& body, const ScopePtr& scope);
  Flow exec(const Stmt& stmt, const ScopePtr& scope);
  Flow exec_stmt(const Stmt& stmt, const ScopePtr& scope);
  Flow exec_for(const Stmt& stmt, const ScopePtr& scope);
  void exec_call_block(const Stmt& stmt, const ScopePtr& scope);
  void assign(const Target& target, Value value, Scope& scope);
  std::string capture(const Body& body, const ScopePtr& scope);
  void emit(std::string_view text);

  // eval_expr.cc
  Value eval(const Expr& expr, const ScopePtr& scope);
  Value eval_expr(const Expr& expr, const ScopePtr& scope);
  Value eval_literal(const Expr& expr, const ScopePtr& scope);  // list, tuple, dict
  Value eval_slice(const Expr& expr, const ScopePtr& scope);
  Value eval_binary(const Expr& expr, const ScopePtr& scope);
  Value eval_compare(const Expr& expr, const ScopePtr& scope);
  Value eval_filter(const Expr& expr, const ScopePtr& scope, const Value* block_input);
  CallArgs eval_args(const CallSyntax& call, const ScopePtr& scope);
  Value lookup(std::string_view name, const Scope& scope) const;
  // Evaluates a filter chain from {% filter %} / {% set x | f %}, whose innermost input is the block output.
  Value apply_filter_chain(const Expr& chain, const ScopePtr& scope, Value block_output);

  struct DepthGuard {
    Interpreter* in;
    explicit DepthGuard(Interpreter* interp);
    ~DepthGuard() { --in->depth_; }
  };

  std::string_view source_;
  InterpreterLimits limits_;
  Value context_;
  ScopePtr root_;
  std::vector<std::string> buffers_;  // output, with one more buffer per capture (macro call, set block, ...)
  std::vector<std::shared_ptr<NamespaceObject>> namespaces_;
  uint64_t steps_ = 0;
  int depth_ = 0;
  int call_depth_ = 0;
  bool folding_ = false;  // evaluating at parse time for constant folding
};

// A macro (or the `caller` of a {% call %} block) as a callable value.
class MacroObject : public Object {
 public:
  MacroObject(const MacroDef* def, std::weak_ptr<Scope> closure) : def_(def), closure_(std::move(closure)) {}
  std::string type_name() const override { return "Macro"; }
  std::string repr() const override { return "<Macro '" + def_->name + "'>"; }
  bool callable() const override { return true; }
  Value call(Interpreter& interp, CallArgs& args) const override { return interp.call_macro(*this, args); }
  const MacroDef& def() const { return *def_; }
  // Weak, because the scope usually holds the macro: a strong pointer would be a reference cycle.
  const std::weak_ptr<Scope>& closure() const { return closure_; }

 private:
  const MacroDef* def_;
  std::weak_ptr<Scope> closure_;
};

// HF's TemplateNamespace: the one mutable object templates have (`{% set ns.x = 1 %}`).
class NamespaceObject : public Object {
 public:
  explicit NamespaceObject(Dict attrs) : attrs_(std::move(attrs)) {}
  std::string type_name() const override { return "Namespace"; }
  std::string repr() const override;
  Value attr(std::string_view name) const override;
  void set(std::string_view name, Value value);
  void clear() { attrs_ = Dict(); }

 private:
  Dict attrs_;
};

}  // namespace r1::jinja
