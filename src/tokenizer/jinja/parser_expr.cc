// Expression parsing (see parser_impl.h): jinja2's precedence from loosest to tightest is
// conditional `a if b else c`, or, and, not, comparisons / in / not in, + -, ~, * / // %, **, unary - +,
// then postfix (.attr, [item], call), filters and tests.
#include "tokenizer/jinja/builtins.h"
#include "tokenizer/jinja/parser_impl.h"

namespace r1::jinja {

ExprPtr Parser::parse_tuple(bool simplified, bool with_condexpr, const std::vector<std::string_view>& extra_end,
                            bool explicit_parens) {
  const uint32_t offset = cur().offset;
  std::vector<ExprPtr> args;
  bool is_tuple = false;
  while (true) {
    if (!args.empty()) expect_op(",");
    if (is_tuple_end(extra_end)) break;
    args.push_back(simplified ? parse_primary() : parse_expression(with_condexpr));
    if (!cur().is_op(",")) break;
    is_tuple = true;
  }
  if (!is_tuple) {
    if (!args.empty()) return std::move(args[0]);
    if (!explicit_parens) fail_at(cur(), fmt::format("expected an expression, got '{}'", describe(cur())));
  }
  auto e = make(ExprKind::kTuple, offset);
  e->items = std::move(args);
  return e;
}

bool Parser::is_tuple_end(const std::vector<std::string_view>& extra_end) const {
  const Token& t = cur();
  if (t.type == Tok::kVarEnd || t.type == Tok::kBlockEnd || t.type == Tok::kEof || t.is_op(")")) return true;
  for (std::string_view name : extra_end) {
    if (t.is_name(name)) return true;
  }
  return false;
}

ExprPtr Parser::parse_condexpr() {
  Nest nest(this);
  uint32_t offset = cur().offset;
  ExprPtr expr = parse_or();
  Chain chain(this);
  while (skip_name("if")) {
    chain.link();
    auto e = make(ExprKind::kCond, offset);
    e->b = parse_or();
    if (skip_name("else")) e->c = parse_condexpr();
    e->a = std::move(expr);
    expr = std::move(e);
    offset = cur().offset;
  }
  return expr;
}

ExprPtr Parser::binary(Op op, ExprPtr l, ExprPtr r, uint32_t offset) {
  auto e = make(ExprKind::kBinary, offset);
  e->op = op;
  e->a = std::move(l);
  e->b = std::move(r);
  return e;
}

ExprPtr Parser::parse_or() {
  ExprPtr left = parse_and();
  Chain chain(this);
  while (cur().is_name("or")) {
    chain.link();
    uint32_t offset = next().offset;
    left = binary(Op::kOr, std::move(left), parse_and(), offset);
  }
  return left;
}

ExprPtr Parser::parse_and() {
  ExprPtr left = parse_not();
  Chain chain(this);
  while (cur().is_name("and")) {
    chain.link();
    uint32_t offset = next().offset;
    left = binary(Op::kAnd, std::move(left), parse_not(), offset);
  }
  return left;
}

ExprPtr Parser::parse_not() {
  if (cur().is_name("not")) {
    Nest nest(this);
    auto e = make(ExprKind::kUnary, next().offset);
    e->op = Op::kNot;
    e->a = parse_not();
    return e;
  }
  return parse_compare();
}

ExprPtr Parser::parse_compare() {
  const uint32_t offset = cur().offset;
  ExprPtr expr = parse_math1();
  ExprPtr cmp;
  while (true) {
    const Token& t = cur();
    Op op = Op::kNone;
    if (t.type == Tok::kOperator) {
      if (t.text == "==") op = Op::kEq;
      if (t.text == "!=") op = Op::kNe;
      if (t.text == "<") op = Op::kLt;
      if (t.text == "<=") op = Op::kLe;
      if (t.text == ">") op = Op::kGt;
      if (t.text == ">=") op = Op::kGe;
      if (op != Op::kNone) next();
    } else if (t.is_name("in")) {
      op = Op::kIn;
      next();
    } else if (t.is_name("not") && look().is_name("in")) {
      op = Op::kNotIn;
      next(), next();
    }
    if (op == Op::kNone) break;
    if (!cmp) {
      cmp = make(ExprKind::kCompare, offset);
      cmp->a = std::move(expr);
    }
    cmp->ops.push_back(op);
    cmp->items.push_back(parse_math1());
  }
  return cmp ? std::move(cmp) : std::move(expr);
}

ExprPtr Parser::parse_math1() {
  ExprPtr left = parse_concat();
  Chain chain(this);
  while (cur().is_op("+") || cur().is_op("-")) {
    chain.link();
    Op op = cur().text == "+" ? Op::kAdd : Op::kSub;
    uint32_t offset = next().offset;
    left = binary(op, std::move(left), parse_concat(), offset);
  }
  return left;
}

ExprPtr Parser::parse_concat() {
  const uint32_t offset = cur().offset;
  ExprPtr first = parse_math2();
  if (!cur().is_op("~")) return first;
  auto e = make(ExprKind::kConcat, offset);
  e->items.push_back(std::move(first));
  while (skip_op("~")) e->items.push_back(parse_math2());
  return e;
}

ExprPtr Parser::parse_math2() {
  ExprPtr left = parse_pow();
  Chain chain(this);
  while (true) {
    const Token& t = cur();
    Op op = t.is_op("*") ? Op::kMul : t.is_op("/") ? Op::kDiv : t.is_op("//") ? Op::kFloorDiv
                                                                 : t.is_op("%")  ? Op::kMod
                                                                                 : Op::kNone;
    if (op == Op::kNone) return left;
    chain.link();
    uint32_t offset = next().offset;
    left = binary(op, std::move(left), parse_pow(), offset);
  }
}

ExprPtr Parser::parse_pow() {
  ExprPtr left = parse_unary(true);
  Chain chain(this);
  while (cur().is_op("**")) {
    chain.link();
    uint32_t offset = next().offset;
    left = binary(Op::kPow, std::move(left), parse_unary(true), offset);
  }
  return left;
}

ExprPtr Parser::parse_unary(bool with_filter) {
  Nest nest(this);
  ExprPtr node;
  if (cur().is_op("-") || cur().is_op("+")) {
    auto e = make(ExprKind::kUnary, cur().offset);
    e->op = next().text == "-" ? Op::kNeg : Op::kPos;
    e->a = parse_unary(false);
    node = std::move(e);
  } else {
    node = parse_primary();
  }
  node = parse_postfix(std::move(node));
  if (with_filter) node = parse_filter_expr(std::move(node));
  return node;
}

ExprPtr Parser::parse_primary() {
  Nest nest(this);
  const Token& t = cur();
  if (t.type == Tok::kName) {
    next();
    auto e = make(ExprKind::kConst, t.offset);
    if (t.text == "true" || t.text == "True") {
      e->value = Value(true);
    } else if (t.text == "false" || t.text == "False") {
      e->value = Value(false);
    } else if (t.text == "none" || t.text == "None") {
      e->value = Value::none();
    } else {
      e->kind = ExprKind::kName;
      e->name = t.text;
      note_name(t.text);
    }
    return e;
  }
  if (t.type == Tok::kString) {
    auto e = make(ExprKind::kConst, t.offset);
    std::string s;
    while (cur().type == Tok::kString) s += next().text;  // adjacent literals concatenate
    e->value = Value(std::move(s));
    return e;
  }
  if (t.type == Tok::kInt || t.type == Tok::kFloat) {
    next();
    auto e = make(ExprKind::kConst, t.offset);
    e->value = t.type == Tok::kInt ? Value(t.int_value) : Value(t.float_value);
    return e;
  }
  if (t.is_op("(")) {
    next();
    ExprPtr e = parse_tuple(false, true, {}, true);
    expect_op(")");
    return e;
  }
  if (t.is_op("[")) return parse_list();
  if (t.is_op("{")) return parse_dict();
  fail_at(t, fmt::format("unexpected '{}'", describe(t)));
}

void Parser::note_name(const std::string& name) {
  for (MacroDef* m : macros_) {
    if (name == "varargs") m->catch_varargs = true;
    if (name == "kwargs") m->catch_kwargs = true;
    if (name == "caller") m->catch_caller = true;
  }
}

ExprPtr Parser::parse_list() {
  auto e = make(ExprKind::kList, next().offset);
  while (!cur().is_op("]")) {
    if (!e->items.empty()) expect_op(",");
    if (cur().is_op("]")) break;
    e->items.push_back(parse_expression(true));
  }
  expect_op("]");
  return e;
}

ExprPtr Parser::parse_dict() {
  auto e = make(ExprKind::kDict, next().offset);
  while (!cur().is_op("}")) {
    if (!e->items.empty()) expect_op(",");
    if (cur().is_op("}")) break;
    e->items.push_back(parse_expression(true));
    expect_op(":");
    e->items.push_back(parse_expression(true));
  }
  expect_op("}");
  return e;
}

ExprPtr Parser::parse_postfix(ExprPtr node) {
  Chain chain(this);
  while (true) {
    chain.link();
    if (cur().is_op(".") || cur().is_op("[")) {
      node = parse_subscript(std::move(node));
    } else if (cur().is_op("(")) {
      node = parse_call(std::move(node));
    } else {
      return node;
    }
  }
}

ExprPtr Parser::parse_filter_expr(ExprPtr node) {
  Chain chain(this);
  while (true) {
    chain.link();
    if (cur().is_op("|")) {
      node = parse_filter_chain(std::move(node), false);
    } else if (cur().is_name("is")) {
      node = parse_test(std::move(node));
    } else if (cur().is_op("(")) {
      node = parse_call(std::move(node));
    } else {
      return node;
    }
  }
}

ExprPtr Parser::parse_subscript(ExprPtr node) {
  const Token& t = next();
  if (t.is_op(".")) {
    const Token& attr = next();
    if (attr.type == Tok::kName) {
      auto e = make(ExprKind::kGetAttr, node->offset);
      e->a = std::move(node);
      e->name = attr.text;
      return e;
    }
    if (attr.type != Tok::kInt) fail_at(attr, "expected name or number");
    auto e = make(ExprKind::kGetItem, node->offset);
    e->a = std::move(node);
    e->b = make(ExprKind::kConst, attr.offset);
    e->b->value = Value(attr.int_value);
    return e;
  }
  std::vector<ExprPtr> args;
  while (!cur().is_op("]")) {
    if (!args.empty()) expect_op(",");
    args.push_back(parse_subscribed());
  }
  expect_op("]");
  if (args.size() == 1 && args[0]->kind == ExprKind::kSlice) {
    args[0]->offset = node->offset;
    args[0]->a = std::move(node);
    return std::move(args[0]);
  }
  auto e = make(ExprKind::kGetItem, node->offset);
  e->a = std::move(node);
  if (args.size() == 1) {
    e->b = std::move(args[0]);
  } else {
    e->b = make(ExprKind::kTuple, t.offset);
    for (ExprPtr& arg : args) {
      if (arg->kind == ExprKind::kSlice) fail_at(t, "tuples of slices are not supported");
      e->b->items.push_back(std::move(arg));
    }
  }
  return e;
}

ExprPtr Parser::parse_subscribed() {
  const uint32_t offset = cur().offset;
  ExprPtr start;
  if (!cur().is_op(":")) {
    start = parse_expression(true);
    if (!cur().is_op(":")) return start;
  }
  next();  // ':'
  auto e = make(ExprKind::kSlice, offset);
  e->items.resize(3);
  e->items[0] = std::move(start);
  if (!cur().is_op(":") && !cur().is_op("]") && !cur().is_op(",")) e->items[1] = parse_expression(true);
  if (skip_op(":")) {
    if (!cur().is_op("]") && !cur().is_op(",")) e->items[2] = parse_expression(true);
  }
  return e;
}

void Parser::parse_call_args(CallSyntax* call) {
  const Token& open = expect_op("(");
  bool require_comma = false;
  auto ensure = [&](bool ok) {
    if (!ok) fail_at(open, "invalid syntax for function call expression");
  };
  while (!cur().is_op(")")) {
    if (require_comma) {
      expect_op(",");
      if (cur().is_op(")")) break;  // trailing comma
    }
    if (cur().is_op("*")) {
      ensure(!call->dyn_args && !call->dyn_kwargs);
      next();
      call->dyn_args = parse_expression(true);
    } else if (cur().is_op("**")) {
      ensure(!call->dyn_kwargs);
      next();
      call->dyn_kwargs = parse_expression(true);
    } else if (cur().type == Tok::kName && look().is_op("=")) {
      ensure(!call->dyn_kwargs);
      std::string key = next().text;
      next();
      call->kwargs.emplace_back(std::move(key), parse_expression(true));
    } else {
      ensure(!call->dyn_args && !call->dyn_kwargs && call->kwargs.empty());
      call->args.push_back(parse_expression(true));
    }
    require_comma = true;
  }
  expect_op(")");
}

ExprPtr Parser::parse_call(ExprPtr callee) {
  auto e = make(ExprKind::kCall, callee->offset);
  e->a = std::move(callee);
  parse_call_args(&e->call);
  return e;
}

std::string Parser::parse_dotted_name() {
  std::string name = expect_name().text;
  while (cur().is_op(".")) {
    next();
    name += "." + expect_name().text;
  }
  return name;
}

// `| f(args) | g ...`; with start_inline the first filter has no leading pipe ({% filter f %}).
ExprPtr Parser::parse_filter_chain(ExprPtr node, bool start_inline) {
  Chain chain(this);
  while (cur().is_op("|") || start_inline) {
    chain.link();
    if (!start_inline) next();
    start_inline = false;
    const Token& name_tok = cur();
    auto e = make(ExprKind::kFilter, name_tok.offset);
    e->name = parse_dotted_name();
    e->filter = find_filter(e->name);
    if (!e->filter) fail_at(name_tok, fmt::format("unknown filter '{}'", e->name));
    if (cur().is_op("(")) parse_call_args(&e->call);
    e->a = std::move(node);
    node = std::move(e);
  }
  return node;
}

ExprPtr Parser::parse_test(ExprPtr node) {
  const Token& is_tok = next();
  const bool negated = skip_name("not");
  const Token& name_tok = cur();
  auto e = make(ExprKind::kTest, is_tok.offset);
  e->name = parse_dotted_name();
  e->test = find_test(e->name);
  if (!e->test) fail_at(name_tok, fmt::format("unknown test '{}'", e->name));
  const Token& t = cur();
  if (t.is_op("(")) {
    parse_call_args(&e->call);
  } else if ((t.type == Tok::kName || t.type == Tok::kString || t.type == Tok::kInt || t.type == Tok::kFloat ||
              t.is_op("(") || t.is_op("[") || t.is_op("{")) &&
             !t.is_name("else") && !t.is_name("or") && !t.is_name("and")) {
    if (t.is_name("is")) fail_at(t, "you cannot chain multiple tests with is");
    e->call.args.push_back(parse_postfix(parse_primary()));
  }
  e->a = std::move(node);
  if (!negated) return e;
  auto n = make(ExprKind::kUnary, is_tok.offset);
  n->op = Op::kNot;
  n->a = std::move(e);
  return n;
}

}  // namespace r1::jinja
