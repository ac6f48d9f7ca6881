#include "tokenizer/jinja/parser.h"

#include <algorithm>

#include "tokenizer/jinja/parser_impl.h"

namespace r1::jinja {

namespace {

// Tags HF's environment does not offer or that r1 does not implement, named in the error.
constexpr std::string_view kUnsupportedTags[] = {"block", "extends", "include", "import", "from", "autoescape"};

}  // namespace

// ---------------------------------------------------------------------------------------------------------------
// Statements
// ---------------------------------------------------------------------------------------------------------------

Body Parser::subparse(const std::vector<std::string_view>& end_tags) {
  Nest nest(this);
  Body body;
  while (cur().type != Tok::kEof) {
    const Token& t = cur();
    if (t.type == Tok::kData) {
      auto s = std::make_unique<Stmt>();
      s->kind = StmtKind::kText;
      s->offset = t.offset;
      s->text = t.text;
      body.push_back(std::move(s));
      next();
    } else if (t.type == Tok::kVarBegin) {
      next();
      auto s = std::make_unique<Stmt>();
      s->kind = StmtKind::kPrint;
      s->offset = t.offset;
      s->expr = parse_tuple(false, true, {}, false);
      expect(Tok::kVarEnd, "end of print statement");
      body.push_back(std::move(s));
    } else {  // kBlockBegin
      next();
      for (std::string_view tag : end_tags) {
        if (cur().is_name(tag)) return body;
      }
      parse_statement(&body);
      expect(Tok::kBlockEnd, "end of statement block");
    }
  }
  return body;
}

void Parser::fail_eof(const std::vector<std::string_view>& end_tags) {
  std::string tags;
  for (size_t i = 0; i < end_tags.size(); ++i) tags += (i ? " or '" : "'") + std::string(end_tags[i]) + "'";
  fail_at(cur(), fmt::format("unexpected end of template, expected {} (the innermost open block is '{}')", tags,
                             tag_stack_.empty() ? "" : tag_stack_.back()));
}

// Parses the statement body up to one of end_tags; leaves the stream at the end tag name, or after it when
// drop_needle. Matches jinja2's parse_statements.
Body Parser::parse_body(const std::vector<std::string_view>& end_tags, bool drop_needle) {
  skip_op(":");
  expect(Tok::kBlockEnd, "end of statement block");
  Body body = subparse(end_tags);
  if (cur().type == Tok::kEof) fail_eof(end_tags);
  if (drop_needle) next();
  return body;
}

StmtPtr Parser::new_stmt(StmtKind kind, uint32_t offset) {
  auto s = std::make_unique<Stmt>();
  s->kind = kind;
  s->offset = offset;
  return s;
}

void Parser::parse_statement(Body* out) {
  const Token& t = cur();
  if (t.type != Tok::kName) fail_at(t, "tag name expected");
  const std::string tag = t.text;
  for (std::string_view unsupported : kUnsupportedTags) {
    if (tag == unsupported) fail_at(t, fmt::format("the '{}' tag is not supported", tag));
  }
  tag_stack_.push_back(tag);
  if (tag == "for") {
    out->push_back(parse_for());
  } else if (tag == "if") {
    out->push_back(parse_if());
  } else if (tag == "set") {
    out->push_back(parse_set());
  } else if (tag == "macro") {
    out->push_back(parse_macro());
  } else if (tag == "call") {
    out->push_back(parse_call_block());
  } else if (tag == "filter") {
    out->push_back(parse_filter_block());
  } else if (tag == "with") {
    out->push_back(parse_with());
  } else if (tag == "print") {
    parse_print(out);
  } else if (tag == "generation") {
    auto s = new_stmt(StmtKind::kScope, next().offset);
    s->body = parse_body({"endgeneration"}, true);
    out->push_back(std::move(s));
  } else if (tag == "break" || tag == "continue") {
    if (loop_depth_ == 0) fail_at(t, fmt::format("'{}' outside of a loop", tag));
    out->push_back(new_stmt(tag == "break" ? StmtKind::kBreak : StmtKind::kContinue, next().offset));
  } else {
    tag_stack_.pop_back();
    std::string msg = fmt::format("encountered unknown tag '{}'", tag);
    if (!tag_stack_.empty()) msg += fmt::format(" (the innermost open block is '{}')", tag_stack_.back());
    fail_at(t, msg);
  }
  tag_stack_.pop_back();
}

StmtPtr Parser::parse_for() {
  auto s = new_stmt(StmtKind::kFor, next().offset);
  s->target = parse_assign_target({"in"}, false);
  expect_name("in");
  s->expr = parse_tuple(false, false, {"recursive"}, false);
  if (skip_name("if")) s->cond = parse_expression(true);
  if (cur().is_name("recursive")) fail_at(cur(), "recursive loops are not supported");
  ++loop_depth_;
  s->body = parse_body({"endfor", "else"}, false);
  --loop_depth_;
  if (next().text == "else") s->else_body = parse_body({"endfor"}, true);
  return s;
}

// After `if` or `elif`: the test, the body and what follows; an elif becomes an If inside else_body.
StmtPtr Parser::parse_if_rest(uint32_t offset) {
  Nest nest(this);  // an elif chain nests in the tree
  auto s = new_stmt(StmtKind::kIf, offset);
  s->expr = parse_tuple(false, false, {}, false);
  s->body = parse_body({"elif", "else", "endif"}, false);
  const Token& t = next();
  if (t.text == "elif") {
    s->else_body.push_back(parse_if_rest(t.offset));
  } else if (t.text == "else") {
    s->else_body = parse_body({"endif"}, true);
  }
  return s;
}

StmtPtr Parser::parse_set() {
  const uint32_t offset = next().offset;
  Target target = parse_assign_target({}, true);
  if (skip_op("=")) {
    auto s = new_stmt(StmtKind::kSet, offset);
    s->target = std::move(target);
    s->expr = parse_tuple(false, true, {}, false);
    return s;
  }
  auto s = new_stmt(StmtKind::kSetBlock, offset);
  s->target = std::move(target);
  s->expr = parse_filter_chain(nullptr, false);
  s->body = parse_body({"endset"}, true);
  return s;
}

void Parser::parse_signature(MacroDef* m) {
  expect_op("(");
  while (!cur().is_op(")")) {
    if (!m->params.empty()) expect_op(",");
    const Token& name = expect_name();
    check_assignable(name);
    if (skip_op("=")) {
      m->defaults.push_back(parse_expression(true));
    } else if (!m->defaults.empty()) {
      fail_at(name, "non-default argument follows default argument");
    }
    m->params.push_back(name.text);
  }
  expect_op(")");
}

// Parses a macro-like body with break/continue scoping reset (they cannot cross a macro boundary).
Body Parser::parse_macro_body(MacroDef* m, std::string_view end_tag) {
  macros_.push_back(m);
  int saved_loops = loop_depth_;
  loop_depth_ = 0;
  Body body = parse_body({end_tag}, true);
  loop_depth_ = saved_loops;
  macros_.pop_back();
  return body;
}

StmtPtr Parser::parse_macro() {
  auto s = new_stmt(StmtKind::kMacro, next().offset);
  s->macro = std::make_unique<MacroDef>();
  const Token& name = expect_name();
  check_assignable(name);
  s->macro->name = name.text;
  s->macro->offset = s->offset;
  parse_signature(s->macro.get());
  s->macro->body = parse_macro_body(s->macro.get(), "endmacro");
  return s;
}

StmtPtr Parser::parse_call_block() {
  auto s = new_stmt(StmtKind::kCallBlock, next().offset);
  s->macro = std::make_unique<MacroDef>();
  s->macro->name = "caller";
  s->macro->offset = s->offset;
  if (cur().is_op("(")) parse_signature(s->macro.get());
  s->expr = parse_expression(true);
  if (s->expr->kind != ExprKind::kCall) fail_at(toks_[pos_ - 1], "expected call");
  s->macro->body = parse_macro_body(s->macro.get(), "endcall");
  return s;
}

StmtPtr Parser::parse_filter_block() {
  auto s = new_stmt(StmtKind::kFilterBlock, next().offset);
  s->expr = parse_filter_chain(nullptr, true);
  s->body = parse_body({"endfilter"}, true);
  return s;
}

StmtPtr Parser::parse_with() {
  auto s = new_stmt(StmtKind::kWith, next().offset);
  while (cur().type != Tok::kBlockEnd) {
    if (!s->targets.empty()) expect_op(",");
    s->targets.push_back(parse_assign_target({}, false));
    expect_op("=");
    s->values.push_back(parse_expression(true));
  }
  s->body = parse_body({"endwith"}, true);
  return s;
}

void Parser::parse_print(Body* out) {
  const uint32_t offset = next().offset;
  bool first = true;
  while (cur().type != Tok::kBlockEnd) {
    if (!first) expect_op(",");
    first = false;
    auto s = new_stmt(StmtKind::kPrint, offset);
    s->expr = parse_expression(true);
    out->push_back(std::move(s));
  }
}

void Parser::check_assignable(const Token& name) {
  static constexpr std::string_view kConstants[] = {"true", "false", "none", "True", "False", "None"};
  for (std::string_view c : kConstants) {
    if (name.text == c) fail_at(name, "can't assign to 'const'");
  }
}

// Names, tuples of names, and (for set) `ns.attr`, as jinja2's parse_assign_target(simplified tuple).
Target Parser::parse_assign_target(const std::vector<std::string_view>& extra_end, bool with_namespace) {
  const uint32_t offset = cur().offset;
  std::vector<Target> items;
  bool is_tuple = false;
  while (true) {
    if (!items.empty()) expect_op(",");
    if (is_tuple_end(extra_end)) break;
    items.push_back(parse_target_primary(with_namespace));
    if (!cur().is_op(",")) break;
    is_tuple = true;
  }
  if (items.empty()) fail_at(cur(), fmt::format("expected an expression, got '{}'", describe(cur())));
  if (!is_tuple) return std::move(items[0]);
  for (const Target& t : items) {
    if (t.kind == Target::Kind::kNamespaceAttr) fail_at(toks_[pos_ - 1], "can't assign to 'tuple'");
  }
  Target t;
  t.kind = Target::Kind::kTuple;
  t.offset = offset;
  t.items = std::move(items);
  return t;
}

Target Parser::parse_target_primary(bool with_namespace) {
  const Token& t = cur();
  if (t.type != Tok::kName) fail_at(t, fmt::format("can't assign to '{}'", describe(t)));
  check_assignable(t);
  next();
  Target target;
  target.offset = t.offset;
  target.name = t.text;
  if (with_namespace && cur().is_op(".")) {
    next();
    target.kind = Target::Kind::kNamespaceAttr;
    target.attr = expect_name().text;
  }
  return target;
}

Body parse_template(const std::vector<Token>& tokens, int max_nesting) {
  return Parser(tokens, max_nesting).parse();
}

}  // namespace r1::jinja
