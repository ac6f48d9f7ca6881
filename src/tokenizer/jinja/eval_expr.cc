// Expression evaluation of the Interpreter (see interpreter.h).
#include "tokenizer/jinja/error.h"
#include "tokenizer/jinja/interpreter.h"

namespace r1::jinja {

Value Interpreter::eval(const Expr& expr, const ScopePtr& scope) {
  try {
    DepthGuard guard(this);
    return eval_expr(expr, scope);
  } catch (Error& e) {
    if (e.offset == kNoOffset) e.offset = expr.offset;
    throw;
  }
}

Value Interpreter::eval_expr(const Expr& e, const ScopePtr& scope) {
  switch (e.kind) {
    case ExprKind::kConst: return e.value;
    case ExprKind::kName:
      if (folding_) fail("not a constant");
      return lookup(e.name, *scope);
    case ExprKind::kList:
    case ExprKind::kTuple:
    case ExprKind::kDict: return eval_literal(e, scope);
    case ExprKind::kGetAttr: return get_attr(eval(*e.a, scope), e.name);
    case ExprKind::kGetItem: {
      Value obj = eval(*e.a, scope);
      return get_item(obj, eval(*e.b, scope));
    }
    case ExprKind::kSlice: return eval_slice(e, scope);
    case ExprKind::kCall: {
      if (folding_) fail("not a constant");
      Value callee = eval(*e.a, scope);
      CallArgs args = eval_args(e.call, scope);
      return call(callee, args);
    }
    case ExprKind::kFilter: return eval_filter(e, scope, nullptr);
    case ExprKind::kTest: {
      Value input = eval(*e.a, scope);
      CallArgs args = eval_args(e.call, scope);
      return Value(e.test(*this, input, args));
    }
    case ExprKind::kUnary: {
      Value v = eval(*e.a, scope);
      if (e.op == Op::kNot) return Value(!truthy(v));
      return e.op == Op::kNeg ? negate(v) : unary_plus(v);
    }
    case ExprKind::kBinary: return eval_binary(e, scope);
    case ExprKind::kConcat: {
      std::string out;
      for (const ExprPtr& item : e.items) {
        out += to_str(eval(*item, scope));
        if (out.size() > limits().max_string_bytes) failf("string exceeds the limit of {} bytes", limits().max_string_bytes);
      }
      return Value(std::move(out));
    }
    case ExprKind::kCompare: return eval_compare(e, scope);
    case ExprKind::kCond: {
      if (truthy(eval(*e.b, scope))) return eval(*e.a, scope);
      if (e.c) return eval(*e.c, scope);
      return Value::undefined(fmt::format(
          "the inline if-expression on line {} evaluated to false and no else section was defined.", line_of(e.offset)));
    }
  }
  fail("unknown expression");
}

namespace {

// Filters jinja2 cannot fold at compile time because they need the render context.
bool is_context_filter(const std::string& name) {
  return name == "map" || name == "select" || name == "reject" || name == "selectattr" || name == "rejectattr";
}

}  // namespace

bool Interpreter::is_constant(const Expr& e) {
  switch (e.kind) {
    case ExprKind::kConst: return true;
    case ExprKind::kName:
    case ExprKind::kCall: return false;
    case ExprKind::kFilter:
      if (!e.a || is_context_filter(e.name)) return false;
      break;
    // Like Python's `and` / `or` and the conditional, as_const only evaluates the operands it needs, so these can
    // fold even when the other operand is not constant; evaluation decides (names raise while folding).
    case ExprKind::kCond: return is_constant(*e.b);
    case ExprKind::kBinary:
      if (e.op == Op::kAnd || e.op == Op::kOr) return is_constant(*e.a);
      break;
    default: break;
  }
  for (const Expr* child : {e.a.get(), e.b.get(), e.c.get()}) {
    if (child && !is_constant(*child)) return false;
  }
  for (const ExprPtr& item : e.items) {
    if (item && !is_constant(*item)) return false;
  }
  for (const ExprPtr& arg : e.call.args) {
    if (!is_constant(*arg)) return false;
  }
  for (const auto& kw : e.call.kwargs) {
    if (!is_constant(*kw.second)) return false;
  }
  return !e.call.dyn_args && !e.call.dyn_kwargs;
}

Value Interpreter::eval_constant(const Expr& expr) {
  folding_ = true;
  context_ = Value();
  root_ = std::make_shared<Scope>();
  buffers_.assign(1, std::string());
  try {
    Value v = eval(expr, root_);
    folding_ = false;
    return v;
  } catch (...) {
    folding_ = false;
    throw;
  }
}

Value Interpreter::eval_literal(const Expr& e, const ScopePtr& scope) {
  if (e.kind != ExprKind::kDict) {
    std::vector<Value> items;
    items.reserve(e.items.size());
    for (const ExprPtr& item : e.items) items.push_back(eval(*item, scope));
    return e.kind == ExprKind::kList ? new_list(std::move(items), limits()) : new_tuple(std::move(items), limits());
  }
  Dict d;
  for (size_t i = 0; i + 1 < e.items.size(); i += 2) {
    Value key = eval(*e.items[i], scope);
    check_hashable(key);
    d.set(std::move(key), eval(*e.items[i + 1], scope));
  }
  Value v = Value::dict(std::move(d));
  if (v.depth() > limits().max_depth) failf("values nested deeper than {} levels", limits().max_depth);
  return v;
}

Value Interpreter::eval_slice(const Expr& e, const ScopePtr& scope) {
  Value obj = eval(*e.a, scope);
  Value parts[3];
  for (int i = 0; i < 3; ++i) parts[i] = e.items[size_t(i)] ? eval(*e.items[size_t(i)], scope) : Value::none();
  // jinja2 folds constant expressions at compile time through the sandbox's getitem, which turns a bad slice into
  // an undefined value; at run time the same slice raises (fold.cc). `{{ 10[1:] }}` is '', `{{ n[1:] }}` fails.
  if (folding_ && !obj.is_string() && !obj.is_sequence() && !obj.is_undefined()) {
    return Value::undefined(fmt::format("{} object has no element slice", type_name(obj)));
  }
  return get_slice(obj, parts[0], parts[1], parts[2]);
}

Value Interpreter::eval_binary(const Expr& e, const ScopePtr& scope) {
  Value left = eval(*e.a, scope);
  // `and` / `or` return one of their operands, as in Python.
  if (e.op == Op::kAnd) return truthy(left) ? eval(*e.b, scope) : left;
  if (e.op == Op::kOr) return truthy(left) ? left : eval(*e.b, scope);
  Value right = eval(*e.b, scope);
  switch (e.op) {
    case Op::kAdd: return add(left, right, limits());
    case Op::kSub: return sub(left, right);
    case Op::kMul: return mul(left, right, limits());
    case Op::kDiv: return truediv(left, right);
    case Op::kFloorDiv: return floordiv(left, right);
    case Op::kMod: return mod(left, right, limits());
    case Op::kPow: return power(left, right);
    default: fail("unknown operator");
  }
}

Value Interpreter::eval_compare(const Expr& e, const ScopePtr& scope) {
  Value left = eval(*e.a, scope);
  for (size_t i = 0; i < e.ops.size(); ++i) {
    Value right = eval(*e.items[i], scope);
    bool ok = false;
    switch (e.ops[i]) {
      case Op::kEq: ok = equal(left, right); break;
      case Op::kNe: ok = !equal(left, right); break;
      case Op::kLt: ok = compare("<", left, right); break;
      case Op::kLe: ok = compare("<=", left, right); break;
      case Op::kGt: ok = compare(">", left, right); break;
      case Op::kGe: ok = compare(">=", left, right); break;
      case Op::kIn: ok = contains(right, left); break;
      case Op::kNotIn: ok = !contains(right, left); break;
      default: fail("unknown comparison");
    }
    if (!ok) return Value(false);  // chained comparisons stop at the first false link, like Python
    left = std::move(right);
  }
  return Value(true);
}

Value Interpreter::eval_filter(const Expr& e, const ScopePtr& scope, const Value* block_input) {
  if (folding_ && (!e.a || is_context_filter(e.name))) fail("not a constant");
  Value input;
  if (e.a) {
    input = e.a->kind == ExprKind::kFilter ? eval_filter(*e.a, scope, block_input) : eval(*e.a, scope);
  } else if (block_input) {
    input = *block_input;
  }
  CallArgs args = eval_args(e.call, scope);
  try {
    return e.filter(*this, input, args);
  } catch (Error& err) {
    if (err.offset == kNoOffset) err.offset = e.offset;
    throw;
  }
}

Value Interpreter::apply_filter_chain(const Expr& chain, const ScopePtr& scope, Value block_output) {
  return eval_filter(chain, scope, &block_output);
}

CallArgs Interpreter::eval_args(const CallSyntax& call, const ScopePtr& scope) {
  CallArgs out;
  for (const ExprPtr& arg : call.args) out.args.push_back(eval(*arg, scope));
  if (call.dyn_args) {
    for (Value& v : iterate(eval(*call.dyn_args, scope))) out.args.push_back(std::move(v));
  }
  for (const auto& [name, arg] : call.kwargs) out.kwargs.emplace_back(name, eval(*arg, scope));
  if (call.dyn_kwargs) {
    Value d = eval(*call.dyn_kwargs, scope);
    if (!d.is_dict()) failf("argument after ** must be a mapping, not {}", type_name(d));
    for (const auto& [key, value] : d.dict().entries()) {
      if (!key.is_string()) fail("keywords must be strings");
      out.kwargs.emplace_back(key.str(), value);
    }
  }
  return out;
}

}  // namespace r1::jinja
