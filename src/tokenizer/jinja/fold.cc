#include "tokenizer/jinja/fold.h"

#include "tokenizer/jinja/error.h"
#include "tokenizer/jinja/interpreter.h"

namespace r1::jinja {

namespace {

// jinja2's nodes.has_safe_repr: the values Const.from_untrusted accepts.
bool has_safe_repr(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kNone:
    case Value::Kind::kBool:
    case Value::Kind::kInt:
    case Value::Kind::kFloat:
    case Value::Kind::kString: return true;
    case Value::Kind::kList:
    case Value::Kind::kTuple:
      for (const Value& item : v.items()) {
        if (!has_safe_repr(item)) return false;
      }
      return true;
    case Value::Kind::kDict:
      for (const auto& [key, value] : v.dict().entries()) {
        if (!has_safe_repr(key) || !has_safe_repr(value)) return false;
      }
      return true;
    default: return false;
  }
}

class Folder {
 public:
  Folder() : interp_("", InterpreterLimits{}) {}

  // Folds bottom-up like jinja2's Optimizer.generic_visit; `output` marks the expression of a {{ }} tag.
  void fold(ExprPtr& e, bool output) {
    if (!e) return;
    fold(e->a, false);
    fold(e->b, false);
    fold(e->c, false);
    for (ExprPtr& item : e->items) fold(item, false);
    for (ExprPtr& arg : e->call.args) fold(arg, false);
    for (auto& kw : e->call.kwargs) fold(kw.second, false);
    fold(e->call.dyn_args, false);
    fold(e->call.dyn_kwargs, false);
    if (e->kind == ExprKind::kConst || !Interpreter::is_constant(*e)) return;
    Value v;
    try {
      v = interp_.eval_constant(*e);
    } catch (const Error&) {
      return;  // jinja2 leaves it to fail (again) at run time
    } catch (const std::bad_alloc&) {
      return;
    }
    if (!output && !has_safe_repr(v)) return;
    auto folded = std::make_unique<Expr>();
    folded->kind = ExprKind::kConst;
    folded->offset = e->offset;
    folded->value = std::move(v);
    e = std::move(folded);
  }

  void fold_body(Body& body) {
    for (StmtPtr& s : body) {
      fold(s->expr, s->kind == StmtKind::kPrint);
      fold(s->cond, false);
      for (ExprPtr& v : s->values) fold(v, false);
      if (s->macro) {
        for (ExprPtr& d : s->macro->defaults) fold(d, false);
        fold_body(s->macro->body);
      }
      fold_body(s->body);
      fold_body(s->else_body);
    }
  }

 private:
  Interpreter interp_;
};

}  // namespace

void fold_constants(Body& body) { Folder().fold_body(body); }

}  // namespace r1::jinja
