// Errors of the Jinja engine: syntax and runtime errors name line and column ("template:12:5: ..."; the line
// numbers agree with the ones Python jinja2 reports for the same templates), and hostile templates (deep nesting,
// runaway recursion, huge loops, exploding strings and lists) end quickly with an error instead of crashing or
// hanging.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "tokenizer/jinja/template.h"

namespace r1::jinja {
namespace {

std::string parse_error(std::string_view source, std::string name = "template") {
  auto tpl = Template::parse(source, std::move(name));
  return tpl.is_ok() ? "parsed" : tpl.message();
}

std::string render_error(std::string_view source, const RenderOptions& options = {}) {
  auto tpl = Template::parse(source);
  if (!tpl.is_ok()) return "parse: " + tpl.message();
  auto out = tpl->render(Value(), options);
  return out.is_ok() ? "rendered " + std::to_string(out->size()) + " bytes" : out.message();
}

TEST(JinjaErrors, SyntaxErrorsNameLineAndColumn) {
  EXPECT_EQ(parse_error("line1\n{{ x | nofilter }}"), "template:2:8: unknown filter 'nofilter'");
  EXPECT_EQ(parse_error("{{ x is nope }}"), "template:1:9: unknown test 'nope'");
  EXPECT_EQ(parse_error("a\n{{ 1 + }}"), "template:2:8: unexpected 'end of print statement'");
  EXPECT_EQ(parse_error("{% if true %}\nabc"),
            "template:2:4: unexpected end of template, expected 'elif' or 'else' or 'endif' (the innermost open "
            "block is 'if')");
  EXPECT_EQ(parse_error("{% for x in y %}\n\n{% endif %}"),
            "template:3:4: encountered unknown tag 'endif' (the innermost open block is 'for')");
  EXPECT_EQ(parse_error("{{ 'abc }}"), "template:1:4: unexpected char '''");
  EXPECT_EQ(parse_error("x\n{# never"), "template:2:1: missing end of comment tag");
  EXPECT_EQ(parse_error("{% raw %}x"), "template:1:10: missing end of raw directive");
  EXPECT_EQ(parse_error("{{ (1, 2 }}"), "template:1:10: unexpected '}', expected ')'");
  EXPECT_EQ(parse_error("{%- macro m(a=1, b) %}{% endmacro %}"),
            "template:1:18: non-default argument follows default argument");
  EXPECT_EQ(parse_error("{% do x %}"), "template:1:4: encountered unknown tag 'do'");
  EXPECT_EQ(parse_error("{% include 'x.jinja' %}"), "template:1:4: the 'include' tag is not supported");
  EXPECT_EQ(parse_error("{% break %}"), "template:1:4: 'break' outside of a loop");
  EXPECT_EQ(parse_error("{{ x", "qwen.jinja"), "qwen.jinja:1:5: unexpected end of template, expected 'end of print "
                                               "statement'");
  // Columns count characters, not bytes.
  EXPECT_EQ(parse_error("ééé {{ x|nope }}"), "template:1:10: unknown filter 'nope'");
  // Windows newlines are normalised before lines are counted.
  EXPECT_EQ(parse_error("a\r\nb\r\n{{ x|nope }}"), "template:3:6: unknown filter 'nope'");
}

TEST(JinjaErrors, RuntimeErrorsNameLineAndColumn) {
  EXPECT_EQ(render_error("a\n\n  {{ raise_exception('boom') }}"), "template:3:6: boom");
  EXPECT_EQ(render_error("{{ 1 +\n 'a' }}"), "template:1:6: unsupported operand type(s) for +: 'int' and 'str'");
  EXPECT_EQ(render_error("{{\n  foo(\n   1) }}"), "template:2:3: 'foo' is undefined");
  EXPECT_EQ(render_error("{% for x in 5 %}{% endfor %}"), "template:1:4: 'int' object is not iterable");
  EXPECT_EQ(render_error("{{ [1, 2]|select('odd')|length }}"),
            "template:1:25: object of type 'generator' has no len()");
  EXPECT_EQ(render_error("{% set d = {} %}\n{% set d.x = 1 %}"),
            "template:2:8: cannot assign attribute on non-namespace object");
}

// Hostile templates must end with an error well within a second or two, even under sanitizers.
class JinjaHostile : public ::testing::Test {
 protected:
  void expect_fast_error(const std::string& source, std::string_view message_part, const RenderOptions& options = {}) {
    auto start = std::chrono::steady_clock::now();
    std::string message;
    auto tpl = Template::parse(source);
    if (!tpl.is_ok()) {
      message = tpl.message();
    } else {
      auto out = tpl->render(Value(), options);
      ASSERT_FALSE(out.is_ok()) << "rendered " << out->size() << " bytes";
      message = out.message();
    }
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EXPECT_NE(message.find(message_part), std::string::npos) << message;
    EXPECT_LT(seconds, 30.0);
  }
  static std::string repeat(std::string_view s, int n) {
    std::string out;
    for (int i = 0; i < n; ++i) out += s;
    return out;
  }
};

TEST_F(JinjaHostile, DeepNesting) {
  expect_fast_error("{{ " + repeat("(", 100000) + "1" + repeat(")", 100000) + " }}", "nested deeper");
  expect_fast_error("{{ " + repeat("[", 100000) + repeat("]", 100000) + " }}", "nested deeper");
  expect_fast_error(repeat("{% if true %}", 100000), "nested deeper");
  expect_fast_error("{{ " + repeat("not ", 100000) + "x }}", "nested deeper");
  expect_fast_error("{{ " + repeat("-", 100000) + "1 }}", "nested deeper");
  expect_fast_error("{{ 1" + repeat(" + 1", 100000) + " }}", "nested deeper");
  expect_fast_error("{{ x" + repeat("|trim", 100000) + " }}", "nested deeper");
  expect_fast_error("{{ x" + repeat(".a", 100000) + " }}", "nested deeper");
  expect_fast_error("{% if a %}" + repeat("{% elif b %}", 100000) + "{% endif %}", "nested deeper");
}

TEST_F(JinjaHostile, RunawayRecursion) {
  expect_fast_error("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", "macro calls nested deeper");
  expect_fast_error("{% macro f() %}{% call f() %}{% endcall %}{{ caller() }}{% endmacro %}{{ f() }}",
                    "nested deeper");
}

TEST_F(JinjaHostile, HugeLoops) {
  expect_fast_error("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
                    "evaluation steps");
  expect_fast_error("{% for i in range(1000000) %}{% endfor %}", "Range too big");
  RenderOptions small;
  small.max_steps = 10000;
  expect_fast_error("{% for i in range(100000) %}{% endfor %}", "evaluation steps", small);
}

TEST_F(JinjaHostile, ExplodingOutputAndValues) {
  expect_fast_error("{% for i in range(100000) %}{{ 'x' * 100000 }}{% endfor %}", "output exceeds");
  expect_fast_error("{{ 'x' * 1000000000000 }}", "exceeds the limit");
  expect_fast_error("{{ [1] * 1000000000000 }}", "exceeds the limit");
  expect_fast_error("{% set ns = namespace(s='x') %}{% for i in range(100) %}{% set ns.s = ns.s + ns.s %}{% endfor %}",
                    "exceeds the limit");
  expect_fast_error("{% set ns = namespace(l=[1]) %}{% for i in range(100) %}{% set ns.l = ns.l + ns.l %}{% endfor %}",
                    "exceeds the limit");
  expect_fast_error("{% set ns = namespace(l=[]) %}{% for i in range(100000) %}{% set ns.l = [ns.l] %}{% endfor %}",
                    "nested deeper");
  // Results that multiply their input are refused before they are built.
  expect_fast_error("{% set s = 'a' * 1000000 %}{{ s.replace('a', s) }}", "exceeds the size limit");
  expect_fast_error("{% set s = 'a' * 1000000 %}{{ s|replace('a', s) }}", "exceeds the size limit");
  expect_fast_error("{{ ('%99999s' * 100000) % ((1,) * 100000) }}", "exceeds the limit");
  expect_fast_error("{{ ('{:>99999}' * 100000).format(*((1,) * 100000)) }}", "exceeds the limit");
  expect_fast_error("{{ [1]|batch(1000000000000, 0)|list }}", "size limit");
  RenderOptions small;
  small.max_output_bytes = 1000;
  expect_fast_error("{% for i in range(2000) %}x{% endfor %}", "output exceeds", small);
}

TEST_F(JinjaHostile, ReferenceCyclesAndLongChainsAreFreed) {
  // Namespaces can point at themselves and at each other; the render must neither leak (LeakSanitizer) nor overflow
  // the stack when it frees a chain of 100000 namespaces.
  auto tpl = Template::parse(
      "{% set ns = namespace(n=none) %}{% set ns.self = ns %}"
      "{% for i in range(100000) %}{% set ns.n = namespace(next=ns.n, owner=ns) %}{% endfor %}"
      "{% macro m() %}{{ m }}{% endmacro %}{{ m() }}");
  ASSERT_TRUE(tpl.is_ok()) << tpl.message();
  auto out = tpl->render(Value());
  ASSERT_TRUE(out.is_ok()) << out.message();
  EXPECT_EQ(*out, "<Macro 'm'>");
}

}  // namespace
}  // namespace r1::jinja
