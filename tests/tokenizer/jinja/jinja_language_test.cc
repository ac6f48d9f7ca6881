// Unit tests of the Jinja engine's language and API. Every expected string below was produced by Python jinja2
// 3.1.6 in the environment HF uses for chat templates (ImmutableSandboxedEnvironment, trim_blocks, lstrip_blocks,
// loopcontrols, HF's tojson); tools/gen_template_fixtures.py builds that environment. The much larger generated
// suites are in jinja_fixtures_test.cc.
#include <gtest/gtest.h>

#include <cctype>
#include <string>

#include <nlohmann/json.hpp>

#include "tokenizer/jinja/json.h"
#include "tokenizer/jinja/template.h"

namespace r1::jinja {
namespace {

// Renders `source` with a JSON context; returns the output or "ERROR: <message>".
std::string render(std::string_view source, std::string_view context_json = "{}") {
  auto ctx = Value::from_json_text(context_json);
  if (!ctx.is_ok()) return "ERROR: context: " + ctx.message();
  auto tpl = Template::parse(source);
  if (!tpl.is_ok()) return "ERROR: " + tpl.message();
  auto out = tpl->render(*ctx);
  return out.is_ok() ? *out : "ERROR: " + out.message();
}

bool is_error(const std::string& s) { return s.rfind("ERROR: ", 0) == 0; }

TEST(JinjaLanguage, WhitespaceControlMatchesHfSettings) {
  // trim_blocks drops the newline after a block tag, lstrip_blocks the indentation before it.
  EXPECT_EQ(render("a\n  {% if true %}\n  b\n  {% endif %}\nc"), "a\n  b\nc");
  EXPECT_EQ(render("a\n  {%- if true -%}\n  b\n  {%- endif -%}\nc"), "abc");
  // `+` turns lstrip_blocks / trim_blocks off for one tag.
  EXPECT_EQ(render("a\n  {%+ if true %}\nb\n  {% endif +%}\nc"), "a\n  b\n\nc");
  // Print tags are not block tags; comments are; one trailing newline of the template is dropped.
  EXPECT_EQ(render("<{{- ' x ' -}}>\n{# c #}\n  {{ 1 }}\n"), "< x >\n  1");
  EXPECT_EQ(render("{{ '{{ x }}' }} and {% raw %}{% if %}{% endraw %}"), "{{ x }} and {% if %}");
}

TEST(JinjaLanguage, LoopVariablesAndControl) {
  const char* ctx = R"({"messages": [{"role": "user"}, {"role": "assistant"}]})";
  EXPECT_EQ(render("{% for m in messages %}{{ loop.index }}/{{ loop.length }}:{{ m.role }}{{ ',' if not loop.last }}"
                   "{% endfor %}",
                   ctx),
            "1/2:user,2/2:assistant");
  EXPECT_EQ(render("{% for x in [1,2,3,4,5] %}{% if x == 2 %}{% continue %}{% endif %}{% if x == 4 %}{% break %}"
                   "{% endif %}{{ x }}{% endfor %}"),
            "13");
  EXPECT_EQ(render("{% for x in [] %}x{% else %}empty{% endfor %}"), "empty");
  EXPECT_EQ(render("{% set a, b = 'xy' %}{{ b }}{{ a }}"), "yx");
  EXPECT_EQ(render("{% for k, v in d.items() %}{{ k }}{{ v }}{% endfor %}", R"({"d": {"a": 1, "b": 2}})"), "a1b2");
}

TEST(JinjaLanguage, ScopingAndNamespace) {
  // A set inside a loop does not leak out; a namespace attribute does.
  EXPECT_EQ(render("{% set x = 'outer' %}{% for i in [1] %}{% set x = 'inner' %}{% endfor %}{{ x }}"), "outer");
  EXPECT_EQ(render("{% set ns = namespace(last='') %}{% for m in messages %}{% set ns.last = m.role %}{% endfor %}"
                   "{{ ns.last }}",
                   R"({"messages": [{"role": "user"}, {"role": "assistant"}]})"),
            "assistant");
  EXPECT_EQ(render("{% set x %}block {{ 1 }}{% endset %}{{ x|upper }}"), "BLOCK 1");
  EXPECT_EQ(render("{% filter upper %}abc{% endfilter %}"), "ABC");
}

TEST(JinjaLanguage, Macros) {
  EXPECT_EQ(render("{% macro tag(name, body='-') %}<{{ name }}>{{ body }}</{{ name }}>{% endmacro %}"
                   "{{ tag('a') }}{{ tag('b', 'x') }}{{ tag(body='y', name='c') }}"),
            "<a>-</a><b>x</b><c>y</c>");
  EXPECT_EQ(render("{% macro m() %}{{ caller() }}!{% endmacro %}{% call m() %}hi{% endcall %}"), "hi!");
}

TEST(JinjaLanguage, UndefinedValues) {
  EXPECT_EQ(render("[{{ nope }}] {{ nope is defined }} {{ nope|default('d') }} {{ nope|length }} "
                   "{% for x in nope %}x{% endfor %}"),
            "[] False d 0 ");
  EXPECT_EQ(render("{{ d.c }}|{{ d['c'] }}|{{ d.c is defined }}", R"({"d": {"a": 1}})"), "||False");
  EXPECT_EQ(render("{{ 'a' if x is defined else 'b' }}{{ x.y if x is defined }}"), "b");
  // jinja2 raises as soon as an undefined value is used for anything but printing, testing or iterating.
  EXPECT_EQ(render("{{ nope.attr }}"), "ERROR: template:1:4: 'nope' is undefined");
  EXPECT_TRUE(is_error(render("{{ nope + 1 }}")));
  EXPECT_TRUE(is_error(render("{{ d.c.x }}", R"({"d": {"a": 1}})")));
}

TEST(JinjaLanguage, PythonPrintingAndArithmetic) {
  EXPECT_EQ(render("{{ 1.0 }} {{ 3 }} {{ True }} {{ none }} {{ [1, 'a', none, 2.5] }} {{ {'k': 'v'} }} {{ 10 / 4 }} "
                   "{{ 10 // 4 }} {{ 2 ** 10 }}"),
            "1.0 3 True None [1, 'a', None, 2.5] {'k': 'v'} 2.5 2 1024");
  EXPECT_EQ(render("{{ 'x' ~ 1 ~ none }} {{ 1 in [1] }} {{ 1 not in [1] }} {{ 'a' < 'b' }} {{ not 0 }} {{ 0 or 'z' }} "
                   "{{ 2 if false else 3 }}"),
            "x1None True False True True z 3");
}

TEST(JinjaLanguage, StringsAreIndexedByCodePoint) {
  EXPECT_EQ(render("{{ 'héllo wörld'[1:4] }} {{ 'héllo'|length }} {{ 'héllo'[::-1] }} {{ 'Ünïcode'|upper }}"),
            "éll 5 olléh ÜNÏCODE");
}

TEST(JinjaLanguage, MethodsUsedByChatTemplates) {
  EXPECT_EQ(render("{{ s.split('</think>')[-1]|trim }}", R"({"s": "<think>\nr\n</think>\n\nanswer"})"), "answer");
  EXPECT_EQ(render("{% set content = message['content'] %}{% if '</think>' in content %}"
                   "{{ content.split('</think>', 1)[1] }}{% endif %}",
                   R"({"message": {"content": "<think>r</think>ans"}})"),
            "ans");
  EXPECT_EQ(render("{{ '%s=%d' % ('a', 3) }} {{ '{}-{}'.format(1, 'b') }} {{ 'Hello'.startswith('He') }} "
                   "{{ 'a,b'.split(',') }} {{ ' x '.strip() }}"),
            "a=3 1-b True ['a', 'b'] x");
  EXPECT_EQ(render("{{ d.get('a') }} {{ d.get('z', 0) }} {{ d.keys()|list }} {{ d.values()|list }}",
                   R"({"d": {"a": 1, "b": 2}})"),
            "1 0 ['a', 'b'] [1, 2]");
}

TEST(JinjaLanguage, Filters) {
  // HF's tojson is json.dumps(ensure_ascii=False) with Python's default separators.
  EXPECT_EQ(render("{{ tools|tojson }}", R"({"tools": [{"name": "f", "parameters": {"b": 1, "a": [true, null, 1.5]}}]})"),
            R"([{"name": "f", "parameters": {"b": 1, "a": [true, null, 1.5]}}])");
  EXPECT_EQ(render("{{ {'a': 1}|tojson(indent=2) }}"), "{\n  \"a\": 1\n}");
  EXPECT_EQ(render("{{ messages|selectattr('role', 'equalto', 'user')|map(attribute='content')|join(' | ') }}",
                   R"({"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"},
                                    {"role": "user", "content": "c"}]})"),
            "a | c");
  EXPECT_EQ(render("{{ d|dictsort }} {{ [3,1,2]|sort(reverse=true) }} {{ ['b','a','b']|unique|list }} "
                   "{{ [1,2,3]|reverse|list }}",
                   R"({"d": {"b": 1, "a": 2}})"),
            "[('a', 2), ('b', 1)] [3, 2, 1] ['b', 'a'] [3, 2, 1]");
  EXPECT_EQ(render("{{ 'abc'|center(7) }}|{{ 'a\nb'|indent(2, true) }}|{{ 3.7|int }}|{{ '2.5'|float }}|{{ -2|abs }}|"
                   "{{ 2.567|round(2) }}"),
            "  abc  |  a\n  b|3|2.5|2|2.57");
  EXPECT_EQ(render("{{ [1,2,3,4,5]|batch(2)|list }}"), "[[1, 2], [3, 4], [5]]");
}

TEST(JinjaLanguage, Tests) {
  EXPECT_EQ(render("{{ 7 is odd }} {{ 8 is divisibleby 4 }} {{ none is none }} {{ 'x' is string }} {{ 1 is number }} "
                   "{{ {} is mapping }} {{ [] is iterable }} {{ 1 is sequence }} {{ true is boolean }} "
                   "{{ 1 is integer }}"),
            "True True True True True True True False True True");
}

TEST(JinjaLanguage, HfEnvironmentSpecifics) {
  // The immutable sandbox refuses list.append even on a namespace's list.
  EXPECT_TRUE(is_error(render("{% set ns = namespace(l=[]) %}{{ ns.l.append(1) }}")));
  // HF's generation tag renders its body.
  EXPECT_EQ(render("{% generation %}g{% endgeneration %}"), "g");
  // raise_exception's message is the error message.
  EXPECT_EQ(render("x\n{{ raise_exception('Only user and assistant roles are supported!') }}"),
            "ERROR: template:2:4: Only user and assistant roles are supported!");
  // strftime_now formats the current local time.
  std::string year = render("{{ strftime_now('%Y') }}");
  ASSERT_EQ(year.size(), 4u) << year;
  EXPECT_TRUE(std::isdigit(static_cast<unsigned char>(year[0])) && std::isdigit(static_cast<unsigned char>(year[3])));
}

TEST(JinjaApi, ValuesBuiltInCpp) {
  Dict msg;
  msg.set(Value("role"), Value("user"));
  msg.set(Value("content"), Value("hi"));
  Dict ctx;
  ctx.set(Value("messages"), Value::list({Value::dict(msg)}));
  ctx.set(Value("add_generation_prompt"), Value(true));
  ctx.set(Value("n"), Value(int64_t(2)));
  ctx.set(Value("f"), Value(2.0));
  auto tpl = Template::parse("{% for m in messages %}{{ m.role }}:{{ m.content }}{% endfor %}"
                             "{{ add_generation_prompt }} {{ n }} {{ f }} {{ z is none }}");
  ASSERT_TRUE(tpl.is_ok()) << tpl.message();
  ctx.set(Value("z"), Value::none());
  auto out = tpl->render(Value::dict(ctx));
  ASSERT_TRUE(out.is_ok()) << out.message();
  EXPECT_EQ(*out, "user:hiTrue 2 2.0 True");
  // A parsed template can be rendered again, and copied.
  Template copy = *tpl;
  EXPECT_EQ(*copy.render(Value::dict(ctx)), *out);
}

TEST(JinjaApi, JsonContextsKeepKeyOrderAndNumberKinds) {
  EXPECT_EQ(render("{{ d|tojson }} {{ d|list }}", R"({"d": {"z": 1, "a": 2.0, "m": 1e2}})"),
            R"({"z": 1, "a": 2.0, "m": 100.0} ['z', 'a', 'm'])");
  auto ordered = nlohmann::ordered_json::parse(R"({"d": {"z": 1, "a": [1, 2]}})");
  auto v = from_json(ordered);
  ASSERT_TRUE(v.is_ok());
  auto tpl = Template::parse("{{ d }}");
  EXPECT_EQ(*tpl->render(*v), "{'z': 1, 'a': [1, 2]}");
  // Plain nlohmann::json sorts object keys, so callers that care about order should use ordered_json.
  auto sorted = from_json(nlohmann::json::parse(R"({"d": {"z": 1, "a": 2}})"));
  EXPECT_EQ(*tpl->render(*sorted), "{'a': 2, 'z': 1}");
  EXPECT_FALSE(Value::from_json_text("{\"a\": ").is_ok());
  EXPECT_FALSE(Value::from_json_text(std::string(1000, '[') + std::string(1000, ']')).is_ok());
}

TEST(JinjaApi, ContextMustBeADict) {
  auto tpl = Template::parse("x");
  ASSERT_TRUE(tpl.is_ok());
  EXPECT_FALSE(tpl->render(Value::list({})).is_ok());
  EXPECT_EQ(*tpl->render(Value()), "x");  // no context at all is fine
}

TEST(JinjaApi, KnownDeviationIntegersAre64Bit) {
  // Python would print 2**100 exactly; r1 reports the overflow instead of printing a wrong number.
  EXPECT_EQ(render("{{ 2 ** 100 }}"), "ERROR: template:1:6: integer overflow (r1 integers are 64-bit)");
  EXPECT_EQ(render("{{ 2 ** 62 }}"), "4611686018427387904");
}

}  // namespace
}  // namespace r1::jinja
