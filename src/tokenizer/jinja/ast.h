// Syntax tree of a parsed template. Nodes are plain structs evaluated by one switch each (interpreter.cc,
// eval_expr.cc); every node keeps the byte offset where it starts so errors can name line and column.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tokenizer/jinja/value.h"

namespace r1::jinja {

// Built-in filters (`x | trim`) and tests (`x is defined`), resolved at parse time like jinja2 does.
using FilterFn = Value (*)(Interpreter& interp, const Value& input, CallArgs& args);
using TestFn = bool (*)(Interpreter& interp, const Value& input, CallArgs& args);

struct Expr;
struct Stmt;
using ExprPtr = std::unique_ptr<Expr>;
using StmtPtr = std::unique_ptr<Stmt>;
using Body = std::vector<StmtPtr>;

enum class ExprKind : uint8_t {
  kConst,    // value
  kName,     // name
  kList,     // items
  kTuple,    // items
  kDict,     // items: key, value, key, value, ...
  kGetAttr,  // a.name
  kGetItem,  // a[b]
  kSlice,    // a[b:c:d] as (object a, items = start, stop, step; each may be null)
  kCall,     // a(call)
  kFilter,   // a | name(call); a is null inside {% filter %} and {% set x | f %} (the block output)
  kTest,     // a is name(call)
  kUnary,    // op a
  kBinary,   // a op b
  kConcat,   // items joined with ~
  kCompare,  // a ops[0] items[0] ops[1] items[1] ... (chained like Python)
  kCond,     // a if b else c (c may be null)
};

enum class Op : uint8_t {
  kNone, kNeg, kPos, kNot,
  kAdd, kSub, kMul, kDiv, kFloorDiv, kMod, kPow, kAnd, kOr,
  kEq, kNe, kLt, kLe, kGt, kGe, kIn, kNotIn,
};

// Arguments as written at a call site: f(1, x, key=2, *rest, **more).
struct CallSyntax {
  std::vector<ExprPtr> args;
  std::vector<std::pair<std::string, ExprPtr>> kwargs;
  ExprPtr dyn_args;
  ExprPtr dyn_kwargs;
};

struct Expr {
  ExprKind kind = ExprKind::kConst;
  uint32_t offset = 0;
  Op op = Op::kNone;
  std::string name;
  Value value;
  ExprPtr a, b, c;
  std::vector<ExprPtr> items;
  std::vector<Op> ops;
  CallSyntax call;
  FilterFn filter = nullptr;
  TestFn test = nullptr;
};

// Left-hand side of set / for: a name, a tuple of targets, or `ns.attr` (set only).
struct Target {
  enum class Kind : uint8_t { kName, kTuple, kNamespaceAttr };
  Kind kind = Kind::kName;
  uint32_t offset = 0;
  std::string name;
  std::string attr;
  std::vector<Target> items;
};

// A macro, or the body of a {% call %} block (which becomes the `caller` macro).
struct MacroDef {
  std::string name;
  uint32_t offset = 0;
  std::vector<std::string> params;
  std::vector<ExprPtr> defaults;  // defaults of the last defaults.size() params
  Body body;
  // jinja2 gives a macro these extras only when its body mentions them; otherwise extra arguments are errors.
  bool catch_varargs = false;
  bool catch_kwargs = false;
  bool catch_caller = false;
};

enum class StmtKind : uint8_t {
  kText,         // text
  kPrint,        // {{ expr }}
  kIf,           // if expr: body else else_body (elif is an If inside else_body)
  kFor,          // for target in expr [if cond]: body else else_body
  kSet,          // set target = expr
  kSetBlock,     // set target [| filter expr]: body
  kMacro,        // macro
  kCallBlock,    // call [(params)] expr: macro is the caller
  kFilterBlock,  // filter expr: body
  kWith,         // with targets = values: body
  kScope,        // body in a child scope ({% generation %} of HF's AssistantTracker)
  kBreak,
  kContinue,
};

struct Stmt {
  StmtKind kind = StmtKind::kText;
  uint32_t offset = 0;
  std::string text;
  ExprPtr expr;
  ExprPtr cond;
  Target target;
  Body body;
  Body else_body;
  std::unique_ptr<MacroDef> macro;
  std::vector<Target> targets;
  std::vector<ExprPtr> values;
};

}  // namespace r1::jinja
