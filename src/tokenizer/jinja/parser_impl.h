// The parser's class, shared by parser.cc (statements) and parser_expr.cc (expressions). Internal to jinja/.
#pragma once

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/jinja/ast.h"
#include "tokenizer/jinja/error.h"
#include "tokenizer/jinja/lexer.h"

namespace r1::jinja {

class Parser {
 public:
  Parser(const std::vector<Token>& tokens, int max_nesting) : toks_(tokens), max_nesting_(max_nesting) {}

  Body parse() {
    Body body = subparse({});
    if (cur().type != Tok::kEof) fail_at(cur(), fmt::format("unexpected '{}'", describe(cur())));
    return body;
  }

 private:
  const std::vector<Token>& toks_;
  size_t pos_ = 0;
  int max_nesting_;
  int nesting_ = 0;
  int loop_depth_ = 0;                 // for break/continue checks
  std::vector<MacroDef*> macros_;      // macros being parsed, to detect use of varargs/kwargs/caller
  std::vector<std::string> tag_stack_;  // open block tags, for end-of-template messages

  // ---- token stream --------------------------------------------------------------------------------------------

  const Token& cur() const { return toks_[pos_]; }
  const Token& look() const { return toks_[std::min(pos_ + 1, toks_.size() - 1)]; }
  const Token& next() {
    const Token& t = toks_[pos_];
    if (pos_ + 1 < toks_.size()) ++pos_;
    return t;
  }
  bool skip_op(std::string_view op) {
    if (!cur().is_op(op)) return false;
    next();
    return true;
  }
  bool skip_name(std::string_view name) {
    if (!cur().is_name(name)) return false;
    next();
    return true;
  }

  [[noreturn]] static void fail_at(const Token& t, std::string message) { throw Error{std::move(message), t.offset}; }

  static std::string describe(const Token& t) {
    switch (t.type) {
      case Tok::kData: return "template data / text";
      case Tok::kBlockBegin: return "begin of statement block";
      case Tok::kBlockEnd: return "end of statement block";
      case Tok::kVarBegin: return "begin of print statement";
      case Tok::kVarEnd: return "end of print statement";
      case Tok::kString: return "string";
      case Tok::kInt: return "integer";
      case Tok::kFloat: return "float";
      case Tok::kEof: return "end of template";
      default: return t.text;
    }
  }

  const Token& expect_op(std::string_view op) {
    if (!cur().is_op(op)) fail_at(cur(), fmt::format("expected token '{}', got '{}'", op, describe(cur())));
    return next();
  }
  const Token& expect_name() {
    if (cur().type != Tok::kName) fail_at(cur(), fmt::format("expected token 'name', got '{}'", describe(cur())));
    return next();
  }
  void expect_name(std::string_view name) {
    if (!cur().is_name(name)) fail_at(cur(), fmt::format("expected token '{}', got '{}'", name, describe(cur())));
    next();
  }
  void expect(Tok type, std::string_view what) {
    if (cur().type == Tok::kEof && type != Tok::kEof) {
      fail_at(cur(), fmt::format("unexpected end of template, expected '{}'", what));
    }
    if (cur().type != type) fail_at(cur(), fmt::format("expected token '{}', got '{}'", what, describe(cur())));
    next();
  }

  // Bounds recursion so that hostile nesting ("((((...", "{% if %}" x 10^5) fails instead of overflowing the stack.
  struct Nest {
    Parser* p;
    explicit Nest(Parser* parser) : p(parser) {
      if (++p->nesting_ > p->max_nesting_) {
        fail_at(p->cur(), fmt::format("template nested deeper than {} levels", p->max_nesting_));
      }
    }
    ~Nest() { --p->nesting_; }
  };

  // Left-associative chains (`a + b + c`, `x.y.z`, `x | f | g`) deepen the tree without recursing in the parser;
  // each link counts as one level of nesting, so the tree depth (and its recursive destruction) stays bounded.
  struct Chain {
    Parser* p;
    int links = 0;
    explicit Chain(Parser* parser) : p(parser) {}
    void link() {
      ++links;
      if (++p->nesting_ > p->max_nesting_) {
        fail_at(p->cur(), fmt::format("template nested deeper than {} levels", p->max_nesting_));
      }
    }
    ~Chain() { p->nesting_ -= links; }
  };

  static ExprPtr make(ExprKind kind, uint32_t offset) {
    auto e = std::make_unique<Expr>();
    e->kind = kind;
    e->offset = offset;
    return e;
  }

  StmtPtr parse_if() { return parse_if_rest(next().offset); }
  ExprPtr parse_expression(bool with_condexpr) { return with_condexpr ? parse_condexpr() : parse_or(); }

  // ---- statements (parser.cc) ------------------------------------------------------------------------------------
  Body subparse(const std::vector<std::string_view>& end_tags);
  [[noreturn]] void fail_eof(const std::vector<std::string_view>& end_tags);
  // Parses the statement body up to one of end_tags; leaves the stream at the end tag name, or after it when
  // drop_needle. Matches jinja2's parse_statements.
  Body parse_body(const std::vector<std::string_view>& end_tags, bool drop_needle);
  StmtPtr new_stmt(StmtKind kind, uint32_t offset);
  void parse_statement(Body* out);
  StmtPtr parse_for();
  // After `if` or `elif`: the test, the body and what follows; an elif becomes an If inside else_body.
  StmtPtr parse_if_rest(uint32_t offset);
  StmtPtr parse_set();
  void parse_signature(MacroDef* m);
  // Parses a macro-like body with break/continue scoping reset (they cannot cross a macro boundary).
  Body parse_macro_body(MacroDef* m, std::string_view end_tag);
  StmtPtr parse_macro();
  StmtPtr parse_call_block();
  StmtPtr parse_filter_block();
  StmtPtr parse_with();
  void parse_print(Body* out);
  static void check_assignable(const Token& name);
  // Names, tuples of names, and (for set) `ns.attr`, as jinja2's parse_assign_target(simplified tuple).
  Target parse_assign_target(const std::vector<std::string_view>& extra_end, bool with_namespace);
  Target parse_target_primary(bool with_namespace);

  // ---- expressions (parser_expr.cc) -----------------------------------------------------------------------------
  // jinja2's parse_tuple: an expression, or a tuple when commas follow; extra_end names end the tuple (`in`).
  ExprPtr parse_tuple(bool simplified, bool with_condexpr, const std::vector<std::string_view>& extra_end,
                      bool explicit_parens);
  bool is_tuple_end(const std::vector<std::string_view>& extra_end) const;
  ExprPtr parse_condexpr();
  ExprPtr binary(Op op, ExprPtr l, ExprPtr r, uint32_t offset);
  ExprPtr parse_or();
  ExprPtr parse_and();
  ExprPtr parse_not();
  ExprPtr parse_compare();
  ExprPtr parse_math1();
  ExprPtr parse_concat();
  ExprPtr parse_math2();
  ExprPtr parse_pow();
  ExprPtr parse_unary(bool with_filter);
  ExprPtr parse_primary();
  void note_name(const std::string& name);
  ExprPtr parse_list();
  ExprPtr parse_dict();
  ExprPtr parse_postfix(ExprPtr node);
  ExprPtr parse_filter_expr(ExprPtr node);
  ExprPtr parse_subscript(ExprPtr node);
  ExprPtr parse_subscribed();
  void parse_call_args(CallSyntax* call);
  ExprPtr parse_call(ExprPtr callee);
  std::string parse_dotted_name();
  // `| f(args) | g ...`; with start_inline the first filter has no leading pipe ({% filter f %}).
  ExprPtr parse_filter_chain(ExprPtr node, bool start_inline);
  ExprPtr parse_test(ExprPtr node);
};

}  // namespace r1::jinja
