#!/usr/bin/env python3
"""Generates the expected outputs of r1's Jinja engine from Python jinja2 (the oracle).

Writes, under tests/fixtures/templates/:
  *.jinja              the chat templates, byte-for-byte copies (deduplicated) of
                       shared/data/chat-templates/*.jinja and the `chat_template` of
                       shared/data/hf-tokenizers/*/tokenizer_config.json
  cases.json           chat conversations rendered with each template
  language_cases.json  small templates exercising the language (filters, tests, operators, scoping, ...)

Each case holds the template (file name or inline source), the render context and either the expected output or
the error jinja2 raised. The environment is built the way transformers builds it for apply_chat_template
(transformers.utils.chat_template_utils._compile_jinja_template): ImmutableSandboxedEnvironment with
trim_blocks / lstrip_blocks, the loopcontrols extension and the `generation` block tag, HF's own `tojson`
(json.dumps with ensure_ascii=False), and the globals raise_exception, strftime_now, namespace and dict. The
context is what render_jinja_template passes: messages, tools (None when absent), documents (None),
add_generation_prompt, the tokenizer's special tokens and extra kwargs.

Needs: pip install jinja2 (3.1.6 was used). No torch. If transformers is importable, every case is also rendered
with its real environment to check that this one matches it.

Usage: python3 tools/gen_template_fixtures.py [--shared /work/shared/data]
"""

import argparse
import json
import re
import sys
from datetime import datetime
from pathlib import Path

import jinja2
import jinja2.ext
import jinja2.nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "tests" / "fixtures" / "templates"


# --------------------------------------------------------------------------------------------------------------
# The environment (reimplementation of transformers' _compile_jinja_template)
# --------------------------------------------------------------------------------------------------------------

class GenerationTag(jinja2.ext.Extension):
    """HF's AssistantTracker without tracking: {% generation %}...{% endgeneration %} renders its body."""

    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
        return jinja2.nodes.CallBlock(self.call_method("_render"), [], [], body).set_lineno(lineno)

    def _render(self, caller):
        return caller()


class TemplateNamespace(jinja2.utils.Namespace):
    """HF's namespace: refuses underscore-prefixed attributes."""

    def __init__(*args, **kwargs):
        self, args = args[0], args[1:]
        attrs = dict(*args, **kwargs)
        for name in attrs:
            TemplateNamespace._check_name(name)
        jinja2.utils.Namespace.__init__(self, attrs)

    def __setitem__(self, name, value):
        TemplateNamespace._check_name(name)
        jinja2.utils.Namespace.__setitem__(self, name, value)

    @staticmethod
    def _check_name(name):
        if isinstance(name, str) and name.startswith("_"):
            raise jinja2.exceptions.SecurityError(
                f"Chat templates cannot store underscore-prefixed attributes on a namespace, but got {name!r}. "
                "Please rename the attribute."
            )


def make_env():
    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    def strftime_now(format):
        return datetime.now().strftime(format)

    env = ImmutableSandboxedEnvironment(
        trim_blocks=True, lstrip_blocks=True, extensions=[GenerationTag, jinja2.ext.loopcontrols]
    )
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    env.globals["dict"] = lambda *args, **kwargs: dict(*args, **kwargs)
    env.globals["namespace"] = TemplateNamespace
    return env


ENV = make_env()

try:  # optional cross-check against the real thing
    from transformers.utils.chat_template_utils import _compile_jinja_template as hf_compile
except Exception:  # noqa: BLE001 - any import problem just disables the check
    hf_compile = None


def render(source, context):
    """Returns {"expected": text} or {"error": "Type: message"}."""
    try:
        out = {"expected": ENV.from_string(source).render(**context)}
    except Exception as e:  # noqa: BLE001 - every jinja2 failure is a case
        out = {"error": f"{type(e).__name__}: {e}"}
    if re.search(r" at 0x[0-9a-f]+", out.get("expected", "")):
        sys.exit(f"output depends on object addresses, rewrite the case:\n{source[:200]}")
    if hf_compile is not None:
        try:
            hf = {"expected": hf_compile(source).render(**context)}
        except Exception as e:  # noqa: BLE001
            hf = {"error": f"{type(e).__name__}: {e}"}
        if ("expected" in hf) != ("expected" in out) or hf.get("expected") != out.get("expected"):
            sys.exit(f"environment differs from transformers' for:\n{source[:200]}\n{out}\n{hf}")
    return out


# --------------------------------------------------------------------------------------------------------------
# Templates
# --------------------------------------------------------------------------------------------------------------

def token_content(tok):
    if isinstance(tok, dict):
        return tok.get("content")
    return tok


def collect_templates(shared):
    """Returns [(file_name, source, special_tokens, origin)] without duplicate sources."""
    configs = []
    for cfg_path in sorted((shared / "hf-tokenizers").glob("*/tokenizer_config.json")):
        cfg = json.loads(cfg_path.read_text(encoding="utf-8"))
        tokens = {k: token_content(cfg.get(k)) for k in ("bos_token", "eos_token", "pad_token", "unk_token")}
        tokens = {k: v for k, v in tokens.items() if v is not None}
        configs.append((cfg_path, cfg.get("chat_template"), tokens))

    templates = []
    seen = {}

    def add(name, source, tokens, origin):
        if source in seen:
            seen[source][3].append(origin)
            return
        entry = (name, source, tokens, [origin])
        seen[source] = entry
        templates.append(entry)

    for path in sorted((shared / "chat-templates").glob("*.jinja")):
        source = path.read_text(encoding="utf-8")
        tokens = next((t for _, s, t in configs if s == source), None)
        if tokens is None:  # borrow the special tokens of the same family
            family = "deepseek" if "deepseek" in path.name.lower() else "qwen"
            tokens = next(t for p, s, t in configs if s and family in p.parent.name)
        add(path.name, source, tokens, f"chat-templates/{path.name}")
    # r1's own templates (tests/fixtures/templates/synthetic-*.jinja) exercise what the model templates do not.
    deepseek_tokens = next(t for p, s, t in configs if s and "deepseek" in p.parent.name)
    for path in sorted(OUT.glob("synthetic-*.jinja")):
        add(path.name, path.read_text(encoding="utf-8"), deepseek_tokens, "r1 (written for these tests)")
    for cfg_path, source, tokens in configs:
        if isinstance(source, list):  # named templates: [{"name": ..., "template": ...}]
            for item in source:
                add(f"{cfg_path.parent.name}-{item['name']}.jinja", item["template"], tokens,
                    f"hf-tokenizers/{cfg_path.parent.name}/tokenizer_config.json ({item['name']})")
        elif source:
            add(f"{cfg_path.parent.name}.jinja", source, tokens,
                f"hf-tokenizers/{cfg_path.parent.name}/tokenizer_config.json")
    return templates


# --------------------------------------------------------------------------------------------------------------
# Conversations
# --------------------------------------------------------------------------------------------------------------

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather in a city. Returns \"sunny\" or \"rainy\".",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "City name, e.g. Zürich"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                "days": {"type": "integer", "minimum": 1, "maximum": 7.5},
            },
            "required": ["city"],
        },
    },
}
SEARCH_TOOL = {
    "type": "function",
    "function": {"name": "search", "description": "Web search.\nReturns the top results.", "parameters": {
        "type": "object", "properties": {
            "q": {"type": "string"},
            "sites": {"type": "array", "items": {"type": "string"}},
            "tags": {"type": "array"},
            "safe": {"type": "boolean"},
            "options": {"type": "object", "properties": {"lang": {"type": "string"}}},
        }, "required": ["q"]}},
}


def tool_call(name, arguments, call_id):
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def user(text):
    return {"role": "user", "content": text}


def assistant(text, **extra):
    return {"role": "assistant", "content": text, **extra}


def system(text):
    return {"role": "system", "content": text}


def tool(text, call_id="call_1", name=None):
    m = {"role": "tool", "content": text, "tool_call_id": call_id}
    if name:
        m["name"] = name
    return m


def scenarios():
    """(name, messages, extra context)."""
    think = "<think>\nThe user greets me. I should greet back.\n</think>\n\nHello! How can I help?"
    args_str = '{"city": "Paris", "unit": "celsius"}'
    args_dict = {"city": "Paris", "unit": "celsius"}
    out = [
        ("single_user", [user("Hello!")], {}),
        ("system_user", [system("You are a helpful assistant."), user("What is 2+2?")], {}),
        ("multi_turn", [system("Be brief."), user("Hi"), assistant("Hello."), user("How are you?")], {}),
        ("no_system_multi", [user("A"), assistant("B"), user("C"), assistant("D")], {}),
        ("assistant_last", [user("Write a haiku."), assistant("Autumn moonlight")], {}),
        ("think_in_content", [user("Hi"), assistant(think), user("And again?")], {}),
        ("think_last", [user("Hi"), assistant(think)], {}),
        ("reasoning_content", [user("Hi"), assistant("Hello!", reasoning_content="Greeting detected."),
                               user("Bye")], {}),
        ("unicode", [system("Réponds en français. 日本語も OK."),
                     user("你好，世界 🌍 — café naïve ß Ω ≤ ∞"), assistant("Привет ✓ 😀"), user("ok\u200b\u00a0.")], {}),
        ("jinja_lookalike", [user("Print {{ x }} and {% if y %}z{% endif %} and {# c #} literally."),
                             assistant("Sure: {{ x }} {%- raw %}")], {}),
        ("empty_content", [system(""), user(""), assistant(""), user("")], {}),
        ("whitespace_content", [user("  leading and trailing  \n\n"), assistant("\n\nanswer\n"), user("\t")], {}),
        ("special_tokens_in_content", [user("<|im_end|><｜end▁of▁sentence｜><｜Assistant｜></think>")], {}),
        ("multi_system", [system("First rule."), system("Second rule."), user("Go")], {}),
        ("system_not_first", [user("Hi"), system("Late system."), user("Again")], {}),
        ("long", [system("S")] + [m for i in range(8) for m in (user(f"question {i}"), assistant(f"answer {i}"))]
         + [user("last")], {}),
        ("tools_defined", [system("Use tools when needed."), user("Weather in Paris?")],
         {"tools": [WEATHER_TOOL, SEARCH_TOOL]}),
        ("tools_no_system", [user("Weather in Paris?")], {"tools": [WEATHER_TOOL]}),
        ("tool_call_string_args", [user("Weather in Paris?"),
                                   assistant(None, tool_calls=[tool_call("get_weather", args_str, "call_1")]),
                                   tool('{"temp": 21, "sky": "sunny"}'),
                                   assistant("It is 21 °C and sunny in Paris.")], {"tools": [WEATHER_TOOL]}),
        ("tool_call_dict_args", [user("Weather in Paris?"),
                                 assistant(None, tool_calls=[tool_call("get_weather", args_dict, "call_1")]),
                                 tool('{"temp": 21}'), assistant("21 °C.")], {"tools": [WEATHER_TOOL]}),
        ("tool_call_empty_content", [user("Weather?"),
                                     assistant("", tool_calls=[tool_call("get_weather", args_str, "c1")]),
                                     tool("sunny", "c1")], {"tools": [WEATHER_TOOL]}),
        ("tool_call_with_content", [user("Weather?"),
                                    assistant("Let me check.", tool_calls=[tool_call("get_weather", args_str, "c1")]),
                                    tool("sunny", "c1", name="get_weather"), assistant("Sunny.")],
         {"tools": [WEATHER_TOOL]}),
        ("parallel_tool_calls", [user("Paris and Rome?"),
                                 assistant(None, tool_calls=[tool_call("get_weather", '{"city": "Paris"}', "a"),
                                                             tool_call("get_weather", '{"city": "Rome"}', "b")]),
                                 tool("sunny", "a"), tool("rainy", "b"), assistant("Paris sunny, Rome rainy."),
                                 user("Thanks")], {"tools": [WEATHER_TOOL]}),
        ("tool_result_last", [user("Weather?"),
                              assistant(None, tool_calls=[tool_call("get_weather", args_str, "c1")]),
                              tool("sunny", "c1")], {"tools": [WEATHER_TOOL]}),
        ("tool_calls_without_tools", [user("Weather?"),
                                      assistant(None, tool_calls=[tool_call("get_weather", args_str, "c1")]),
                                      tool("sunny", "c1")], {}),
        ("thinking_on", [user("Solve x+1=2")], {"thinking": True}),
        ("thinking_off", [user("Solve x+1=2")], {"thinking": False}),
        ("thinking_history", [user("Q1"), assistant("</think>A1"), user("Q2")], {"thinking": True}),
        ("prefix_assistant", [user("Q"), assistant("<think>partial", prefix=True)], {"thinking": True}),
        ("enable_thinking_kwarg", [user("Q")], {"enable_thinking": False}),
        ("content_none_no_tools", [user("Q"), assistant(None)], {}),
        ("missing_content", [user("Q"), {"role": "assistant"}], {}),
        ("empty_messages", [], {}),
    ]
    return out


def chat_cases(templates):
    cases = []
    for file_name, source, tokens, _ in templates:
        for name, messages, extra in scenarios():
            for agp in (False, True):
                context = {"messages": messages, "tools": None, "documents": None, "add_generation_prompt": agp}
                context.update(tokens)
                context.update(extra)
                case = {"name": f"{Path(file_name).stem}/{name}/agp={int(agp)}", "template_file": file_name,
                        "context": context}
                case.update(render(source, context))
                cases.append(case)
    return cases


# --------------------------------------------------------------------------------------------------------------
# Language snippets
# --------------------------------------------------------------------------------------------------------------

# Each snippet is rendered with LANG_CONTEXT. They cover whitespace control, every supported filter / test /
# operator, loop variables, scoping, macros, namespaces, undefined values and the errors jinja2 raises.
LANGUAGE_SNIPPETS = []  # filled in below

LANG_CONTEXT = {
    "s": "héllo wörld",
    "n": 7,
    "f": 2.5,
    "t": True,
    "z": None,
    "l": [3, 1, 2],
    "words": ["banana", "Apple", "cherry", "apple"],
    "d": {"b": 1, "a": 2, "c": {"x": [10, 20]}},
    "empty": [],
    "msgs": [{"role": "system", "content": "S"}, {"role": "user", "content": "U1"},
             {"role": "assistant", "content": "A1"}, {"role": "user", "content": "U2"}],
    "users": [{"name": "ann", "age": 31, "tags": ["x"]}, {"name": "Bob", "age": 25},
              {"name": "cid", "age": 31, "email": None}],
    "text": "line one\nline two\n\nline four",
}


def language_cases():
    cases = []
    for i, source in enumerate(LANGUAGE_SNIPPETS):
        case = {"name": f"lang/{i}", "template": source}
        case.update(render(source, LANG_CONTEXT))
        cases.append(case)
    return cases


# ---- whitespace control, trim_blocks / lstrip_blocks, comments, raw ----
LANGUAGE_SNIPPETS += [
    "a  {% if true %}  b  {% endif %}  c",
    "a\n  {% if true %}\n  b\n  {% endif %}\nc",
    "a\n  {%- if true -%}\n  b\n  {%- endif -%}\nc",
    "a\n  {%+ if true %}\nb\n  {% endif +%}\nc",
    "  {{ 1 }}  \n  {{- 2 -}}  \n{{ 3 }}",
    "{# comment #}\nx\n  {# indented comment #}\ny {#- stripped -#}   z",
    "{#+ keep #}\n{#- strip -#}\n  q",
    "{% raw %}{{ not evaluated }} {% if %}{% endraw %}",
    "line\n    {% raw %}\n  {{ x }}\n    {% endraw %}\nend",
    "a {%- raw -%}  {{ x }}  {%- endraw -%} b",
    "{{-1}}|{{+1}}|{{ -1 }}",
    "a\r\nb\r{{ 1 }}\r\n",
    "x\n\n",
    "x\n",
    "\t{% for i in l %}\n\t{{ i }}\n\t{% endfor %}\n",
    "{% if true %}yes{% endif %}\n\nafter",
    "{%- if true %} x {% endif -%}   ",
    "a\n   {# c #}\nb",
    "{# c #}\nb",
    "{{ 'a' }}\n{{ 'b' }}\n",
    "  {% set x = 1 %}  text",
    "text  {% if true %}x{% endif %}  more",
    "{% for i in [1, 2] %}\n  - {{ i }}\n{% endfor %}",
    "a\u3000 {%- if true %}b{% endif %}",
    "{{ {'a': {'b': 1}} }}",
    "{{ {'a': {'b': 1}}['a']['b'] }}",
    "{%- for message in msgs %}\n    {%- if message.role == 'user' %}\n        {{- '<|user|>\\n' + message.content }}\n    {%- else %}\n        {{- '<|' + message.role + '|>\\n' + message.content }}\n    {%- endif %}\n{% endfor %}",
    "{% for message in msgs %}\n{% set content = '<|start|>' + message['role'] + '<|sep|>\\n\\n' + message['content'] | trim + '<|eot|>' %}\n{% if loop.index0 == 0 %}{% set content = '<s>' + content %}{% endif %}\n{{ content }}\n{% endfor %}",
    "{% if true %}\n    indented\n{% endif %}\n    {% if true %}\nx{% endif %}",
    "{% for i in l -%}\n{{ i }}\n{%- endfor %}",
    "<{% if true %}\n{% endif %}>",
    "{% generation %}gen {{ n }}{% endgeneration %}after",
    "{% print 'p' ~ n %}|{% print 1, 2 %}",
]

# ---- literals and printing ----
LANGUAGE_SNIPPETS += [
    "{{ 1 }} {{ 1.0 }} {{ -0.0 }} {{ 1e100 }} {{ 1.5e-7 }} {{ 123456789012345678 }} {{ 0.1 + 0.2 }} {{ 1/3 }} {{ 2**62 }}",
    "{{ 12.0 }} {{ 1.50 }} {{ 100.0 }} {{ 1e16 }} {{ 1e15 }} {{ 123456789.123456789 }} {{ 1e-4 }} {{ 1e-5 }} {{ 5e-324 }}",
    "{{ true }} {{ True }} {{ none }} {{ None }} {{ false }} {{ False }}",
    "{{ 'single' }} {{ \"double\" }} {{ 'esc\\'aped' }} {{ \"tab\\there\" }} {{ 'nl\\nx' }} {{ '\\x41\\u00e9\\U0001F600\\101' }} {{ 'a\\qb' }} {{ 'bs\\\\' }} {{ 'line\\\ncont' }}",
    "{{ 'ab' 'cd' \"ef\" }}",
    "{{ [1, 'two', 3.0, none, true, [], {}] }}",
    "{{ (1, 2) }} {{ (1,) }} {{ () }} {{ 1, 2 }} {{ ((1, 2), [3]) }}",
    "{{ {'k': 'v', 2: [1], none: true, 1.5: (1,)} }}",
    r"{{ ['it\'s', 'q\"x', 'both \' \"', 'a\\b', '\x00\x1f\x7f', 'é', '\u200b', '\U0001F600', '\n\t\r'] }}",
    "{{ 0x1f }} {{ 0o17 }} {{ 0b11 }} {{ 1_000_000 }} {{ 1_0.5 }} {{ 0X1F }} {{ 0 }} {{ 00 }}",
    "{{ 007 }}",
    "{{ [0.1, 1e-5, 1e16, -0.0, 1.0, 2.5e-3] }}",
    "{{ d }} {{ msgs[0] }} {{ l }} {{ users[2] }}",
    "{{ 'caf\u00e9' }} {{ '日本' }} {{ '😀'|length }}",
]

# ---- operators ----
LANGUAGE_SNIPPETS += [
    "{{ 7 + 3 }} {{ 7 - 10 }} {{ 7 * 3 }} {{ 7 / 2 }} {{ 7 // 2 }} {{ 7 % 3 }} {{ 2 ** 10 }}",
    "{{ -7 // 2 }} {{ -7 % 3 }} {{ 7 % -3 }} {{ 7.5 // 2 }} {{ -7.5 % 2 }} {{ 2 ** -2 }} {{ 4 ** 0.5 }} {{ -7.5 // 2 }} {{ 7 // 2.0 }}",
    "{{ 1 + 2.0 }} {{ true + true }} {{ 3 * 1.5 }} {{ 6 / 3 }} {{ 0.1 * 3 }} {{ 1 - 0.9 }}",
    "{{ 'ab' + 'cd' }} {{ 'ab' * 3 }} {{ 2 * 'x' }} {{ [1] + [2, 3] }} {{ [0] * 3 }} {{ (1,) + (2,) }} [{{ 'a' * 0 }}] [{{ 'a' * -1 }}] {{ 'a' * true }}",
    "{{ 'a' ~ 1 ~ 2.5 ~ none ~ true ~ [1] ~ undefined_thing ~ 'z' }}",
    "{{ -2 ** 2 }} {{ 2 ** 3 ** 2 }} {{ (2 ** 3) ** 2 }} {{ 2 + 3 * 4 }} {{ (2 + 3) * 4 }} {{ 10 - 2 - 3 }} {{ 2 * 3 ~ 4 }} {{ 1 ~ 2 + 3 ~ 4 }}",
    "{{ 1 + 2 ~ 3 + 4 }}",
    "{{ 1 < 2 }} {{ 2 <= 2 }} {{ 3 > 4 }} {{ 'a' < 'b' }} {{ [1, 2] < [1, 3] }} {{ 1 < 2 < 3 }} {{ 1 < 3 < 2 }} {{ 1 == 1.0 }} {{ 1 != 2 }} {{ (1, 2) >= (1, 2) }}",
    "{{ 'a' == 'a' }} {{ [1] == [1] }} {{ [1] == (1,) }} {{ {'a': 1} == {'a': 1} }} {{ {'a': 1, 'b': 2} == {'b': 2, 'a': 1} }} {{ none == none }} {{ none == 0 }} {{ true == 1 }} {{ 'é' > 'z' }} {{ 'B' < 'a' }}",
    "{{ 1 in [1, 2] }} {{ 3 not in [1, 2] }} {{ 'ell' in 'hello' }} {{ 'a' in {'a': 1} }} {{ 'x' in d }} {{ 'b' in d }} {{ not 'x' in 'y' }} {{ '' in 'abc' }} {{ 1.0 in [1] }} {{ [1] in [[1]] }}",
    "{{ not true }} {{ not none }} {{ not [] }} {{ not 'x' }} {{ true and false }} {{ 0 or 'fallback' }} {{ 'first' or 'second' }} {{ 1 and 'yes' }} {{ [] and 'x' }} {{ none or none }}",
    "{{ 'yes' if t else 'no' }} {{ 'yes' if z else 'no' }} {{ 'a' if false else 'b' if true else 'c' }} [{{ 'x' if false }}] {{ ('x' if false) is defined }}",
    "{{ n > 5 and n < 10 }} {{ not n == 7 }} {{ n is odd and n is not even }} {{ not n is odd }}",
    "{{ 1 + 'a' }}",
    "{{ 'a' + 1 }}",
    "{{ [1] + (2,) }}",
    "{{ 1 / 0 }}",
    "{{ 1 // 0 }}",
    "{{ 1 % 0 }}",
    "{{ -'a' }}",
    "{{ 'a' < 1 }}",
    "{{ none < 1 }}",
    "{{ 1 in 5 }}",
    "{{ 1 in 'abc' }}",
    "{{ 'a' * 'b' }}",
    "{{ {[1]: 2} }}",
    "{{ {} < {} }}",
    "{{ 1.5 * 'a' }}",
    "{{ ('x' if false).y }}",
]

# ---- undefined values ----
LANGUAGE_SNIPPETS += [
    "[{{ missing }}] {{ missing is defined }} {{ missing is undefined }} {{ missing|default('dflt') }} {{ missing|d('x') }} {{ none|default('nd') }} {{ ''|default('empty', true) }} {{ 0|default(5, boolean=true) }} {{ 0|default(5) }}",
    "{{ missing|length }} {{ missing|list }} [{{ missing|string }}] [{{ missing|trim }}] [{{ missing|upper }}] {{ missing ~ 'x' }} {{ missing|join(',') }} [{{ missing|first }}]",
    "{% for x in missing %}no{% else %}empty{% endfor %} {{ 'a' in missing }} {{ missing == missing2 }} {{ missing != none }} {{ missing is none }} {{ missing is sequence }}",
    "{{ missing.attr }}",
    "{{ missing['k'] }}",
    "{{ missing + 1 }}",
    "{{ missing() }}",
    "{{ missing|tojson }}",
    "{{ missing < 1 }}",
    "{{ missing|int }}",
    "{{ missing|float }}",
    "{{ -missing }}",
    "{{ missing|abs }}",
    "{{ missing|indent }}",
    "{{ missing|round }}",
    "{{ missing|dictsort }}",
    "{{ missing|sum }} {{ missing|max }}|{{ missing|sort }}|{{ missing|unique|list }}",
    "{{ missing|reverse|list }} {{ missing|last }}",
    "[{{ d.missing }}|{{ d['missing'] }}|{{ d.missing is defined }}|{{ l[10] }}|{{ l[10] is defined }}|{{ z.x }}|{{ s.foo }}|{{ n.real2 }}]",
    "{{ d.missing.x }}",
    "{{ l[10].x }}",
    "{{ z.x.y }}",
    "{{ msgs[0].role }} {{ msgs[0]['content'] }} {{ msgs[-1].content }} {{ msgs[1:3]|map(attribute='role')|join(',') }}",
    "{% if missing %}T{% else %}F{% endif %}{% if not missing %}N{% endif %}{% if missing is not defined %}U{% endif %}",
    "{{ missing or 'x' }} [{{ missing and 'y' }}]",
    "{% set x = missing %}[{{ x }}] {{ x is defined }}",
    "{{ missing|items|list }} {{ missing|map('upper')|list }} {{ missing|select|list }}",
    "[{{ '%s' % missing }}] {{ missing in [1] }} {{ [missing] }} {{ (missing, 1)|length }}",
    "{{ missing in 'abc' }}",
    "{{ 'a' * missing }}",
    "{{ 1 < missing }}",
]

# ---- attributes, items, slices, methods ----
LANGUAGE_SNIPPETS += [
    "{{ d.b }} {{ d['a'] }} {{ d.c.x[1] }} {{ d['c']['x'][-1] }} {{ d.c.x.0 }} {{ users.0.name }}",
    "{{ s[0] }} {{ s[-1] }} {{ s[1:4] }} {{ s[::-1] }} {{ s[::2] }} [{{ s[100:] }}] {{ l[1:] }} {{ l[:-1] }} {{ l[::-1] }} {{ l[5:0:-1] }} {{ (1, 2, 3)[1:] }} {{ l[-100:2] }}",
    "{{ l[::0] }}",
    "{{ l['a':] }}",
    "{{ d.get('a') }} {{ d.get('zz') }} {{ d.get('zz', 'dflt') }} {{ d.keys()|list }} {{ d.values()|list }} {{ d.items()|list }} {{ d.copy() == d }}",
    "{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %} {% for k in d.keys() %}{{ k }}{% endfor %}",
    "{{ l.count(1) }} {{ l.index(2) }} {{ (1, 2, 1).count(1) }} {{ (1, 2, 1).index(2) }} {{ l.copy() }}",
    "{{ l.index(99) }}",
    "[{{ l.append }}] [{{ d.update }}]",
    "{{ l.append(4) }}",
    "{{ d.update({}) }}",
    "{{ d.pop('a') }}",
    "{% set ns = namespace(items=[]) %}{% set _ = ns.items.append(1) %}",
    "[{{ 'abc'.length }}] [{{ l['x'] }}] [{{ d[none] }}] [{{ d[1] }}] [{{ s.__class__ }}]",
    "{{ '  a b  '.strip() }}|{{ 'xxaxx'.strip('x') }}|{{ '  a'.lstrip() }}|{{ 'a  '.rstrip() }}|{{ 'abcba'.lstrip('ab') }}|{{ '\u3000x\u00a0'.strip() }}|{{ 'a\nb\n'.rstrip('\n') }}",
    "{{ 'a,b,,c'.split(',') }} {{ ' a  b '.split() }} {{ 'a b c'.split(' ', 1) }} {{ 'a b c'.rsplit(' ', 1) }} {{ 'a  b'.split(' ') }} {{ ''.split() }} {{ ''.split(',') }} {{ '  x y  '.rsplit(none, 1) }} {{ 'a\tb\nc'.split() }} {{ 'a b c'.split(maxsplit=1) }} {{ '  x y  z '.split(none, 1) }}",
    "{{ 'abc'.split('') }}",
    "{{ s.upper() }} {{ s.lower() }} {{ 'hello world'.title() }} {{ \"they're bill's\".title() }} {{ 'hELLO'.capitalize() }} {{ 'ß'.upper() }} {{ 'ΣΑΣ ΟΔΟΣ'.lower() }} {{ 'ǆemal'.title() }}",
    "{{ 'hello'.startswith('he') }} {{ 'hello'.startswith(('x', 'h')) }} {{ 'hello'.endswith('lo') }} {{ 'hello'.startswith('l', 2) }} {{ 'hello'.endswith('ll', 0, 4) }} {{ 'hello'.startswith('') }} {{ 'héllo'.endswith('llo') }}",
    "{{ 'hello'.startswith(1) }}",
    "{{ 'hello'.replace('l', 'L') }} {{ 'hello'.replace('l', 'L', 1) }} {{ 'ab'.replace('', '-') }} {{ s.find('w') }} {{ s.find('zz') }} {{ s.rfind('l') }} {{ s.count('l') }} {{ 'aaa'.count('') }} {{ s.index('ö') }} {{ s.find('l', 4) }} {{ s.find('l', -3) }}",
    "{{ 'x'.index('y') }}",
    "{{ ', '.join(['a', 'b']) }} {{ ''.join('abc') }} {{ '-'.join(d) }}",
    "{{ ', '.join([1, 2]) }}",
    "{{ 'a\nb\r\nc'.splitlines() }} {{ 'a\nb\n'.splitlines(true) }} {{ ''.splitlines() }} {{ 'x\x0by\u2028z'.splitlines() }}",
    "{{ '123'.isdigit() }} {{ 'abc'.isalpha() }} {{ 'ab1'.isalnum() }} {{ ' '.isspace() }} {{ 'ABC'.isupper() }} {{ 'abc'.islower() }} {{ ''.isdigit() }} {{ 'aB'.isupper() }} {{ '1a'.islower() }}",
    "{{ 'a=b=c'.partition('=') }} {{ 'a=b=c'.rpartition('=') }} {{ 'abc'.partition('x') }} {{ 'abc'.rpartition('x') }}",
    "{{ 'ab'.center(6, '*') }}|{{ 'ab'.center(7) }}|{{ 'ab'.ljust(5) }}|{{ 'ab'.rjust(5, '.') }}|{{ '42'.zfill(5) }}|{{ '-42'.zfill(5) }}|{{ 'prefix_x'.removeprefix('prefix_') }}|{{ 'x.py'.removesuffix('.py') }}",
    "{{ '{} and {}'.format('a', 'b') }} {{ '{1}{0}'.format('a', 'b') }} {{ '{name}!'.format(name='x') }} {{ '{:>5}|{:<5}|{:^5}'.format('a', 'b', 'c') }} {{ '{:.2f} {:5d} {:x} {:+d} {:05.1f}'.format(3.14159, 42, 255, 7, 2.25) }} {{ '{{}}'.format() }} {{ '{0[0]} {0[1]}'.format(['p', 'q']) }} {{ '{!r}'.format('q') }} {{ '{}'.format(1.5) }} {{ '{}'.format(none) }} {{ '{0.b}'.format(namespace(b=3)) }} {{ '{:*^7}'.format('x') }}",
    "{{ '%s and %s' % ('a', 'b') }} {{ '%d%%' % 50 }} {{ '%5.1f|%-5s|%05d|%x|%X|%o|%e|%g' % (3.14159, 'ab', 42, 255, 255, 8, 12345.678, 0.0001) }} {{ '%(k)s=%(v)r' % {'k': 'a', 'v': 'b'} }} {{ '%s' % [1, 2] }} {{ '%c%c' % (65, 'b') }} {{ '%.3s' % 'abcdef' }} {{ '%+d % d' % (5, 5) }} {{ '%i|%5.2s|' % (3.9, 'xyz') }} {{ '%s' % none }} {{ '%#x %#o' % (255, 8) }} {{ '%d' % -7 }}",
    "{{ '%s %s' % ('a',) }}",
    "{{ '%s' % (1, 2) }}",
    "{{ '%d' % 'x' }}",
]

# ---- filters ----
LANGUAGE_SNIPPETS += [
    "{{ '  x  '|trim }}|{{ 'xxaxx'|trim('x') }}|{{ 5|trim }}|{{ none|trim }}|{{ '\n\t y \u00a0'|trim }}|{{ 'abcab'|trim('ab') }}",
    "{{ d|tojson }}",
    "{{ msgs|tojson }}",
    "{{ users|tojson(indent=2) }}",
    r"{{ 'é\"\n\t\u0001</script>&\\'|tojson }} {{ 'é😀\u007f'|tojson(ensure_ascii=true) }}",
    "{{ d|tojson(sort_keys=true) }} {{ [1, 2]|tojson(separators=(',', ':')) }} {{ d|tojson(indent=2, separators=(', ', ' = ')) }}",
    "{{ {1: 2, none: 3, true: 4, 1.5: 5}|tojson }} {{ [1.0, 1e20, 1e-7, 0.1, -0.0]|tojson }} {{ (1, (2, 3))|tojson }}",
    "{{ none|tojson }} {{ true|tojson }} {{ 'x'|tojson }} {{ 7|tojson }} {{ []|tojson }} {{ {}|tojson }} {{ ''|tojson }}",
    "{{ [[], {}, [[]], {'a': []}]|tojson(indent=1) }}|{{ d|tojson(indent='\t') }}|{{ [1]|tojson(indent=0) }}|{{ [1]|tojson(indent=-1) }}",
    "{{ d|tojson(2) }} {{ 'é'|tojson(true) }}",
    "{{ {'k': missing}|tojson }}",
    "{{ {(1, 2): 1}|tojson }}",
    "{{ namespace(a=1)|tojson }}",
    "{{ l|select('odd')|tojson }}",
    "{{ {'b': 1, 'a': 2}|tojson(sort_keys=true, indent=2) }}",
    "{{ {'b': 1, 2: 2}|tojson(sort_keys=true) }}",
    "{{ ('<b>'|safe)|tojson }} {{ ['x', ('y'|e)]|tojson }}",
    "{{ l|length }} {{ s|length }} {{ d|length }} {{ ''|length }} {{ l|count }} {{ 'héllo'|count }} {{ (1, 2)|length }}",
    "{{ 5|length }}",
    "{{ none|length }}",
    "{{ 'hEllo wOrld'|upper }} {{ 'hEllo'|lower }} {{ 'hEllo wOrld'|capitalize }} {{ 'hello big-world (foo) [bar] <baz> {qux}'|title }} {{ \"they're o'neil\"|title }} {{ 5|upper }} {{ none|lower }} {{ 'ǆemal'|title }} {{ 'a  b\tc'|title }}",
    "{{ 'aaa'|replace('a', 'b') }} {{ 'aaa'|replace('a', 'b', 2) }} {{ 5|replace('5', 'five') }} {{ 'x'|replace('', '-') }} {{ none|replace('N', 'n') }}",
    "{{ l|join }} {{ l|join(', ') }} {{ users|join('; ', attribute='name') }} {{ [none, true, 1.5, 'x', [1]]|join('|') }} {{ 'abc'|join('-') }} {{ d|join(',') }}",
    "{{ users|join(',', attribute='tags.0') }}",
    "{{ l|first }} {{ l|last }} {{ 'abc'|first }} {{ 'abc'|last }} {{ d|first }} {{ d|last }} [{{ []|first }}] [{{ []|last }}] {{ users|first|tojson }} {{ l|select('odd')|first }}",
    "{{ l|select('odd')|last }}",
    "{{ 5|first }}",
    "{{ 'abc'|list }} {{ d|list }} {{ (1, 2)|list }} {{ l|string }} {{ 1.0|string }} {{ none|string }} {{ l|list is sameas l }}",
    "{{ 5|list }}",
    "{{ '42'|int }} {{ '42.9'|int }} {{ 'x'|int }} {{ 'x'|int(-1) }} {{ '0x1A'|int(0, 16) }} {{ '0b101'|int(base=0) }} {{ 'ff'|int(base=16) }} {{ 3.99|int }} {{ -3.99|int }} {{ true|int }} {{ none|int }} {{ ' 12 '|int }} {{ '1_000'|int }} {{ '1e3'|int }} {{ []|int(7) }} {{ '-5'|int }} {{ '+5'|int }} {{ '010'|int }} {{ '010'|int(base=0) }} {{ 'nan'|int }}",
    "{{ '3.5'|float }} {{ 'x'|float }} {{ 'x'|float(1.5) }} {{ 2|float }} {{ ' -1e-3 '|float }} {{ 'inf'|float }} {{ '-Infinity'|float }} {{ 'nan'|float }} {{ true|float }} {{ none|float }} {{ '1_0.5'|float }} {{ '.5'|float }} {{ '5.'|float }} {{ '1e'|float }}",
    "{{ 1e18|int }} {{ -1e18|int }} {{ '9223372036854775807'|int }}",
    "{{ -3|abs }} {{ -3.5|abs }} {{ true|abs }} {{ 2.5|round }} {{ 3.5|round }} {{ -2.5|round }} {{ 2.675|round(2) }} {{ 1.23456|round(3) }} {{ 42.55|round(1, 'floor') }} {{ 42.55|round(1, 'ceil') }} {{ 5|round }} {{ 5|round(2) }} {{ 5|round(0, 'ceil') }} {{ 1234.5|round(-2) }} {{ 0.5|round }} {{ 1.5|round }} {{ -0.4|round }} {{ 1e20|round(2) }}",
    "{{ 'x'|abs }}",
    "{{ 1.5|round(1, 'banker') }}",
    "{{ d|items|list }} {% for k, v in d|items %}{{ k }}{% endfor %} {{ {}|items|list }}",
    "{{ l|items|list }}",
    "{{ users|map(attribute='name')|list }} {{ users|map(attribute='email', default='none@x')|list }} {{ users[:1]|map(attribute='tags.0')|list }} {{ words|map('upper')|join(',') }} {{ l|map('string')|list }} {{ ['1', '2']|map('int')|sum }} {{ [[1, 2], [3]]|map('length')|list }} {{ []|map('upper')|list }} {{ ['a,b', 'c']|map('replace', ',', ';')|list }} {{ users|map(attribute='email')|list }}",
    "{{ l|map('nonexistent')|list }}",
    "{{ l|map(attribute='x', bogus=1)|list }}",
    "{{ l|select('odd')|list }} {{ l|reject('odd')|list }} {{ [0, 1, '', 'a', none, [], [0]]|select|list }} {{ [0, 1, '', 'a']|reject|list }} {{ l|select('greaterthan', 1)|list }} {{ l|select('>', 1)|list }} {{ l|select('in', [1, 2])|list }} {{ l|select('divisibleby', 3)|list }} {{ words|select('equalto', 'apple')|list }} {{ words|select('lower')|list }}",
    "{{ msgs|selectattr('role', 'equalto', 'user')|map(attribute='content')|list }} {{ msgs|rejectattr('role', '==', 'user')|list|length }} {{ users|selectattr('email', 'defined')|list|length }} {{ users|selectattr('email', 'none')|map(attribute='name')|list }} {{ users|selectattr('tags')|map(attribute='name')|first }} {{ users|rejectattr('age', 'lt', 30)|map(attribute='name')|join(',') }} {{ users|selectattr('age', 'in', [25])|list|length }}",
    "{{ l|select('nonexistent')|list }}",
    "{{ (l|select('odd')|list)|length }} {% set g = l|select %}{{ g|list }}{{ g|list }} {% if []|select %}T{% endif %} {{ l|map('string')|join('') }} {{ 2 in l|select('even') }}",
    "{{ l|select('odd')|length }}",
    "{{ [3, 1, 3, 2, 1]|unique|list }} {{ words|unique|list }} {{ words|unique(case_sensitive=true)|list }} {{ users|unique(attribute='age')|map(attribute='name')|list }} {{ [1, 1.0, true, 'a', 'A']|unique|list }}",
    "{{ [[1], [1]]|unique|list }}",
    "{{ l|reverse|list }} {{ 'abc'|reverse }} {{ (1, 2)|reverse|list }} {{ d|reverse|list }} {% for x in l|reverse %}{{ x }}{% endfor %} {{ l|select('odd')|reverse }} {{ 'héllo'|reverse }}",
    "{{ 5|reverse }}",
    "{{ l|sort }} {{ l|sort(reverse=true) }} {{ words|sort }} {{ words|sort(case_sensitive=true) }} {{ words|sort(reverse=true) }} {{ users|sort(attribute='age')|map(attribute='name')|list }} {{ users|sort(attribute='age,name')|map(attribute='name')|list }} {{ users|sort(attribute='age', reverse=true)|map(attribute='name')|list }} {{ [2.5, 1, true, 0]|sort }} {{ [[2, 1], [1, 5], [1]]|sort }} {{ 'cba'|sort }} {{ d|sort }}",
    "{{ [1, 'a']|sort }}",
    "{{ d|dictsort }}",
    "{{ {'b': 1, 'A': 2, 'c': 0}|dictsort }} {{ {'b': 1, 'A': 2}|dictsort(true) }} {{ {'b': 1, 'a': 2}|dictsort(by='value') }} {{ {'b': 1, 'a': 2}|dictsort(reverse=true) }}",
    "{{ l|dictsort }}",
    "{{ l|batch(2)|list }} {{ [1, 2, 3, 4, 5]|batch(2, 'x')|list }} {{ [1, 2, 3, 4, 5]|slice(2)|list }} {{ [1, 2, 3, 4, 5, 6, 7]|slice(3, 0)|list }} {{ []|batch(3)|list }}",
    "{{ l|sum }} {{ [1.5, 2]|sum }} {{ users|sum(attribute='age') }} {{ l|sum(start=10) }} {{ [[1], [2]]|sum(start=[]) }} {{ l|max }} {{ l|min }} {{ words|max }} {{ words|min }} {{ words|max(case_sensitive=true) }} {{ users|max(attribute='age')|tojson }} [{{ []|max }}] {{ users|min(attribute='name')|tojson }}",
    "{{ ['a', 'b']|sum }}",
    "{{ text|indent }}|{{ text|indent(2, true) }}|{{ text|indent(first=true, blank=true) }}|{{ text|indent('> ') }}|{{ ''|indent(first=true) }}|{{ 'x\n'|indent(4, true) }}|{{ 'a\r\nb'|indent }}",
    "{{ 5|indent }}",
    "{{ 'abc'|center(9) }}|{{ 'ab'|center(7) }}|{{ 'abc'|center(2) }}|{{ 'hello world foo bar'|truncate(11) }}|{{ 'hello world foo bar'|truncate(11, true) }}|{{ 'hello world'|truncate(9, end='…') }}|{{ 'short'|truncate(3, leeway=0) }}|{{ 'a b c d e f'|wordcount }}|{{ 'héllo, wörld_x 12'|wordcount }}|{{ 'hello world foo bar baz qux'|truncate(15) }}",
    "{{ 'x'|truncate(2) }}",
    "{{ '%s-%s'|format('a', 'b') }} {{ '%(x)s'|format(x=1) }} {{ '%.2f'|format(3.14159) }} {{ '%s'|format([1]) }}",
    "{{ '%s %(x)s'|format('a', x=1) }}",
    "{{ '<a href=\"x\">&\\''|e }} {{ '<b>'|escape }} {{ '<b>'|safe }} {{ ('<b>'|safe) + '<i>' }} {{ '<i>' + ('<b>'|safe) }} {{ ('<b>'|e)|e }} {{ '<b>'|forceescape }} {{ ('<b>'|e) ~ '<i>' }} {{ '<b>'|e is escaped }} {{ '<b>' is escaped }} {{ none|e }} {{ 5|safe + '' }}",
    "{{ [('<b>'|safe), '<b>'|e] }} {{ ('a'|safe) == 'a' }} {{ ('<'|safe)|length }} {{ (('<b>'|safe) + '&')|length }}",
    "{% set m = '<b> '|safe %}{{ (m|upper) + '<' }} {{ (m|trim) + '<' }} {{ (m|title) + '<' }} {{ (m|replace('b', 'i')) + '<' }} {{ (m|string) + '<' }} {{ (m|indent) + '<' }} {{ (m|lower) + '<' }} {{ (m|capitalize) + '<' }} {{ (m|center(7)) + '<' }} {{ (m|join('')) + '<' }} {{ (m|first) + '<' }} {{ m[0] + '<' }} {{ m[1:] + '<' }} {{ (m * 2) + '<' }} {{ (m|reverse) + '<' }}",
    "{% set m = '<b> x'|safe %}{{ m.upper() + '<' }} {{ m.strip() + '<' }} {{ m.split()[0] + '<' }} {{ m.replace('x', '<y>') }} {{ m.startswith('<') }} {{ m.find('x') }} {{ m.strip('<') }} {{ m.partition(' ') }} {{ '{}-{}'.format(m, '<') }} {{ m.format() }} {{ ('{}'|safe).format('<') }} {{ ('-'|safe).join(['<', m]) }} {{ ('{}'|safe).format(['<']) }} {{ m.center(9, '*') }} {{ m.removeprefix('<') + '<' }}",
    "{{ ('x'|safe).center(9, '<') }}",
    "{{ ('<b>' ~ 'xxxxxxxxxxxxxxxxxxxxxx')|safe|truncate(12, end='&') }} {{ ('<b> xx yy zz aa bb cc dd')|safe|truncate(12, killwords=false) + '<' }}",
    "[{{ d|attr('b') }}]|{{ users[0]|attr('name') }}|{% set ns = namespace(v=5) %}{{ ns|attr('v') }}|[{{ ns|attr('w') }}]|{{ d|attr('get') is callable }}",
    "{{ l|default([9]) }} {{ z|default('was none') }} {{ z|default('was none', true) }} {{ false|d(true) }} {{ missing|d }}|",
]

# ---- tests ----
LANGUAGE_SNIPPETS += [
    "{{ 3 is odd }} {{ 4 is even }} {{ 9 is divisibleby 3 }} {{ 9 is divisibleby(4) }} {{ 3.0 is odd }} {{ n is number }} {{ f is number }} {{ t is number }} {{ n is integer }} {{ t is integer }} {{ f is float }} {{ n is float }} {{ -3 is odd }} {{ 0 is even }}",
    "{{ z is none }} {{ t is boolean }} {{ 1 is boolean }} {{ t is true }} {{ 1 is true }} {{ false is false }} {{ 0 is false }} {{ s is string }} {{ n is string }} {{ d is mapping }} {{ l is mapping }} {{ l is sequence }} {{ s is sequence }} {{ d is sequence }} {{ n is sequence }} {{ l is iterable }} {{ s is iterable }} {{ n is iterable }} {{ missing is iterable }} {{ l|select is iterable }} {{ l|select is sequence }} {{ z is iterable }}",
    "{{ 'abc' is lower }} {{ 'ABC' is upper }} {{ 'aBc' is lower }} {{ '123' is lower }} {{ 2 is in [1, 2] }} {{ 'b' is in 'abc' }} {{ 1 is equalto 1 }} {{ 1 is eq 1.0 }} {{ 1 is ne 2 }} {{ 1 is lt 2 }} {{ 1 is le 1 }} {{ 2 is gt 1 }} {{ 2 is ge 3 }} {{ 2 is greaterthan 1 }} {{ 1 is lessthan 2 }} {{ 'a' is in d }}",
    "{{ none is sameas none }} {{ t is sameas true }} {{ 1 is sameas 1 }} {{ l is sameas l }} {{ false is sameas 0 }}",
    "{{ 'upper' is filter }} {{ 'nope' is filter }} {{ 'odd' is test }} {{ 'nope' is test }} {{ raise_exception is callable }} {{ n is callable }} {{ range is callable }} {{ 'tojson' is filter }}",
    "{{ n is not odd }} {{ not n is odd }} {{ z is not none }} {{ missing is not defined }} {{ (n is odd) == true }}",
    "{% if n is divisibleby 7 and n is odd %}both{% endif %} {% if s is string and s|length > 3 %}long{% endif %}",
    "{{ 'a' is odd }}",
    "{{ x is nonexistent_test }}",
    "{{ 5 is divisibleby }}",
    "{{ 1 is defined if true else 2 }}",
]

# ---- control flow ----
LANGUAGE_SNIPPETS += [
    "{% for i in range(5) %}{% if i == 0 %}zero{% elif i == 1 %}one{% elif i is even %}even{% else %}odd{% endif %},{% endfor %}",
    "{% for x in l %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.revindex0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }}|{{ loop.previtem }}|{{ loop.nextitem }};{% endfor %}",
    "{% for x in l if x > 1 %}{{ x }}:{{ loop.index }}/{{ loop.length }}{{ ',' if not loop.last }}{% endfor %}",
    "{% for x in [] %}x{% else %}empty{% endfor %}|{% for x in l if x > 10 %}x{% else %}none matched{% endfor %}|{% for x in l %}{% else %}never{% endfor %}",
    "{% for x in range(10) %}{% if x is odd %}{% continue %}{% endif %}{% if x > 6 %}{% break %}{% endif %}{{ x }}{% endfor %}",
    "{% for x in l %}{% for y in l %}{% if y == 1 %}{% break %}{% endif %}{{ x }}{{ y }} {% endfor %}{% endfor %}",
    "{% for a in [1, 2] %}{% for b in 'xy' %}{{ a }}{{ b }}({{ loop.index }}){% endfor %}[{{ loop.index }}]{% endfor %}",
    "{% for a in [1, 2] %}{% set outer = loop %}{% for b in [3] %}{{ outer.index }}{{ loop.index }}{{ outer.last }}{% endfor %}{% endfor %}",
    "{% for x in range(5) %}{{ loop.cycle('a', 'b', 'c') }}{% endfor %} {% for x in [1, 1, 2, 2, 1] %}{% if loop.changed(x) %}{{ x }}{% endif %}{% endfor %} {% for x in l %}{{ loop.depth }}{{ loop.depth0 }}{% endfor %}",
    "{% for k in d %}{{ k }}{% endfor %} {% for c in 'héllo' %}{{ c }}.{% endfor %} {% for a, b in [(1, 2), [3, 4], 'xy'] %}{{ a }}{{ b }} {% endfor %}",
    "{% for x in none %}{% endfor %}",
    "{% for x in 5 %}{% endfor %}",
    "{% for a, b in [1] %}{% endfor %}",
    "{% for a, b in [(1, 2, 3)] %}{% endfor %}",
    "{% for a, b in ['x'] %}{% endfor %}",
    "{% for x in range(3) %}{{ x }}{% endfor %} {{ range(2, 10, 3)|list }} {{ range(5, 0, -2)|list }} {{ range(0)|list }} {{ range(3)|length }} {{ range(-3)|list }}",
    "{{ range(100001)|length }}",
    "{{ range(1, 2, 0)|list }}",
    "{{ range('a')|list }}",
    "{% for m in msgs %}{% if loop.first and m.role == 'system' %}[SYS:{{ m.content }}]{% elif m.role == 'user' %}<u>{{ m.content }}{% else %}<a>{{ m.content }}{% endif %}{% endfor %}",
    "[{{ loop }}] {% for x in l %}{{ loop }}{% endfor %}",
    "{% for x in l %}{{ loop.previtem is defined }}{{ loop.nextitem is defined }} {% endfor %}",
    "{% for m in msgs[1:] %}{% if (m.role == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('roles must alternate') }}{% endif %}{% endfor %}ok",
    "{% for m in msgs %}{% if (m.role == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% endfor %}",
    "{% for k, v in {'z': 1, 'a': 2, 'm': 3}.items() %}{{ k }}{{ v }}{% endfor %}",
    "{% for x in l|select('odd') %}{{ x }}/{{ loop.length }}{% endfor %}",
    "{% for i in range(3) %}{% set x = i %}{% endfor %}[{{ x }}] {% for i in range(2) %}{{ i }}{% else %}{{ i }}{% endfor %}",
]

# ---- assignment, scoping, namespaces ----
LANGUAGE_SNIPPETS += [
    "{% set c = 0 %}{% for i in [1, 2, 3] %}{% set c = c + i %}{{ c }}{% endfor %}|{{ c }}",
    "{% for i in [1, 2] %}{% if i > 1 %}[{{ prev }}]{% endif %}{% set prev = i %}{% endfor %}[{{ prev }}]",
    "{% set ns = namespace(total=0, items=[]) %}{% for i in l %}{% set ns.total = ns.total + i %}{% set ns.items = ns.items + [i * 2] %}{% endfor %}{{ ns.total }} {{ ns.items }} {{ ns }}",
    "{% if true %}{% set z1 = 3 %}{% endif %}{{ z1 }}",
    "{% set a, b = 1, 2 %}{{ a }}-{{ b }} {% set c, e = [3, 4] %}{{ e }}{{ c }} {% set t1 = 1, 2 %}{{ t1 }}",
    "{% set a, b = [1] %}",
    "{% set x = 1 %}{% set x = x + 1 %}{{ x }} {% set s = 'shadowed' %}{{ s }}",
    "{% with a = 1, b = 2 %}{{ a + b }}{% endwith %}[{{ a }}] {% with x = n %}{% set y = x * 2 %}{{ y }}{% endwith %}[{{ y }}] {% with n = 1, m = n %}{{ m }}{% endwith %}",
    "{% set block %}Hello {{ s }}!{% endset %}[{{ block }}] {% set up | upper %}shout {{ n }}{% endset %}{{ up }} {% set t2 | trim | replace('a', 'b') %}  aaa  {% endset %}[{{ t2 }}]",
    "{% filter upper %}hello {{ s }}{% endfilter %}|{% filter replace('a', 'o') | title %}banana split{% endfilter %}|{% filter trim %}  x  {% endfilter %}",
    "{% set d2 = {} %}{% set d2.x = 1 %}",
    "{% set ns = namespace() %}{% set ns._x = 1 %}",
    "{{ namespace(_a=1) }}",
    "{% set ns = namespace(d) %}{{ ns.a }}{{ ns.b }}[{{ ns.zz }}]|{{ namespace(a=1, b=[2]) }}|{% set ns2 = namespace({'k': 'v'}, k2=3) %}{{ ns2.k }}{{ ns2['k2'] }}",
    "{{ dict(a=1, b='x') }} {{ dict([('k', 'v'), ['k2', 2]]) }} {{ dict(d, z=0)|length }} {{ dict() }} {{ dict(b=1, a=2)|dictsort }}",
    "{{ dict([1, 2]) }}",
    "{% set ns = namespace(found=none) %}{% for m in msgs %}{% if m.role == 'assistant' %}{% set ns.found = loop.index0 %}{% break %}{% endif %}{% endfor %}{{ ns.found }}",
    "{% set ns = namespace(a=1) %}{% set ns.self = ns %}{{ ns }} {{ ns.self.self.a }}",
    "{% set ns = namespace(n=0) %}{% macro bump() %}{% set ns.n = ns.n + 1 %}{% endmacro %}{{ bump() }}{{ bump() }}{{ ns.n }}",
    "{% set x = 5 %}{% set ns = namespace(v=x) %}{% set x = 6 %}{{ ns.v }}{{ x }}",
    "{% set ns = namespace(a=1) %}{{ ns.a is defined }} {{ ns.b is defined }} {{ ns == ns }} {{ namespace() == namespace() }} {{ ns is mapping }}",
    "{% set ns = namespace() %}{% for x in ns %}{% endfor %}",
    "{% set l2 = l %}{% set l2 = l2 + [4] %}{{ l }}{{ l2 }}",
    "{% set true = 1 %}",
    "{% set 1 = 2 %}",
]

# ---- macros ----
LANGUAGE_SNIPPETS += [
    "{% macro greet(name, greeting='Hello') %}{{ greeting }}, {{ name }}!{% endmacro %}{{ greet('Ann') }} {{ greet('Bob', 'Hi') }} {{ greet(greeting='Yo', name='Cy') }} [{{ greet() }}]",
    "{% macro m(a) %}{{ a }}{% endmacro %}{{ m(1, 2) }}",
    "{% macro m(a) %}{{ a }}{% endmacro %}{{ m(b=1) }}",
    "{% macro m(a) %}{% endmacro %}{{ m(1, a=2) }}",
    "{% macro m(a) %}{{ a }}|{{ varargs }}|{{ kwargs }}{% endmacro %}{{ m(1, 2, 3, x=4) }} {{ m(0) }}",
    "{% macro wrap(tag) %}<{{ tag }}>{{ caller() }}</{{ tag }}>{% endmacro %}{% call wrap('b') %}bold {{ n }}{% endcall %}",
    "{% macro each(items) %}{% for i in items %}{{ caller(i) }}{% endfor %}{% endmacro %}{% call(x) each(l) %}[{{ x }}]{% endcall %}",
    "{% macro m() %}x{% endmacro %}{% call m() %}y{% endcall %}",
    "{% macro fact(k) %}{% if k <= 1 %}1{% else %}{{ k * fact(k - 1)|int }}{% endif %}{% endmacro %}{{ fact(5) }}",
    "{% set x = 1 %}{% macro m() %}{{ x }}{% endmacro %}{% set x = 2 %}{{ m() }}",
    "{% macro m() %}{{ n }}{{ s }}{% endmacro %}{{ m() }}",
    "{% macro m() %}  a  {% endmacro %}[{{ m() }}] [{{ m()|trim }}] {{ m()|length }} {{ m() is string }}",
    "{% macro m(a, b=a * 2) %}{{ a }},{{ b }}{% endmacro %}{{ m(3) }} {{ m(3, 1) }}",
    "{% macro m() %}{% endmacro %}{{ m }}",
    "{% macro item(x) %}({{ x }}){% endmacro %}{% for i in l %}{{ item(i) }}{% endfor %}",
    "{% macro m() %}{% set leaked = 1 %}{% endmacro %}{{ m() }}[{{ leaked }}]",
    "{% macro outer() %}{% macro inner() %}in{% endmacro %}[{{ inner() }}]{% endmacro %}{{ outer() }}",
    "{% macro render_msg(m) %}\n<{{ m.role }}>\n{{ m.content }}\n{% endmacro %}\n{% for m in msgs %}\n{{ render_msg(m) }}\n{% endfor %}",
    "{% macro m(x) %}{% for i in range(x) %}{{ i }}{% endfor %}{% endmacro %}{{ m(3) ~ m(2) }}",
]

# ---- found by differential fuzzing against jinja2 ----
LANGUAGE_SNIPPETS += [
    # Constant expressions are folded at compile time through the sandbox's getitem; run-time slices raise.
    "[{{ 10[1:] }}] [{{ {}[:2] }}] [{{ none[::-1] }}] {{ (true[1:] is not upper) }} [{{ (none if '3' else n)[1:] }}]",
    "{% set v = false[:2] %}{{ v }}",
    "{% for x in 0[1:] %}{% endfor %}",
    "{{ (l[0] < 5)[::-1] }}",
    "{{ n[1:] }}",
    "{{ d[1:] }}",
    "{{ users[1]|truncate(5) }} {{ l|truncate(1) }}",
    "{{ n|truncate(5) }}",
    "{{ 'abc' % [] }} {{ 'abc' % {'a': 1} }} {{ '%s' % [1] }}",
    "{{ 'abc' % 5 }}",
    "{{ missing is callable }} {{ none is callable }}",
    "{{ '{:>4}'.format(true) }} {{ '{}'.format(true) }} {{ '{:>4}'.format('ab') }}",
    "{{ '{:>4}'.format(d) }}",
    "{{ '{:>4}'.format(none) }}",
]

# ---- globals and errors ----
LANGUAGE_SNIPPETS += [
    "{{ raise_exception('Custom error: ' ~ n) }}",
    "{% if msgs[0].role != 'user' %}{{ raise_exception('Conversation must start with a user message') }}{% endif %}",
    "[{{ strftime_now('') }}] {{ strftime_now('%Y') is string }} {{ strftime_now('%Y')|length }}",
    "{{ undefined_fn() }}",
    "{{ n() }}",
    "{{ s.nomethod() }}",
    "{{ 'abc'.upper(1) }}",
    "{{ d.get() }}",
]

# ---- syntax errors ----
LANGUAGE_SNIPPETS += [
    "{% if true %}unclosed",
    "{% for x in l %}",
    "{{ 1 + }}",
    "{{ x|nonexistent }}",
    "{% endif %}",
    "{% unknown_tag %}",
    "{{ 'unterminated }}",
    "{# unterminated comment",
    "{{ (1, 2 }}",
    "{{ [1, 2) }}",
    "{% macro m(a=1, b) %}{% endmacro %}",
    "{% break %}",
    "{% do l.append(1) %}",
    "{% include 'x' %}",
    "{% extends 'base' %}",
    "{{ 1 is nonexistent }}",
    "{% if %}{% endif %}",
    "{{ }}",
    "{% for %}{% endfor %}",
    "{{ a b }}",
    "{% set x = 1",
    "{{ x",
    "text {% if true %}a{% else %}b{% else %}c{% endif %}",
    "{% if true %}{% endfor %}",
    "{{ 1 !! 2 }}",
    "{{ x.1a }}",
    "{{ 'a' if }}",
    "{% raw %}never closed",
    "{{ f(a=1, 2) }}",
]


# --------------------------------------------------------------------------------------------------------------

def write_cases(path, meta, context, cases):
    """JSON with one case per line: small, and diffs stay readable when the fixtures are regenerated."""
    dump = lambda x: json.dumps(x, ensure_ascii=False)  # noqa: E731
    lines = [f'{{"meta": {dump(meta)},', f' "context": {dump(context)},', ' "cases": [']
    lines += [f"  {dump(c)}," for c in cases[:-1]] + [f"  {dump(cases[-1])}", " ]", "}"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "data")
    args = ap.parse_args()
    if jinja2.__version__ != "3.1.6":
        print(f"warning: fixtures were made with jinja2 3.1.6, this is {jinja2.__version__}", file=sys.stderr)

    OUT.mkdir(parents=True, exist_ok=True)
    templates = collect_templates(args.shared)
    for file_name, source, _, _ in templates:
        if not file_name.startswith("synthetic-"):
            (OUT / file_name).write_bytes(source.encode("utf-8"))
    sources = {file_name: origins for file_name, _, _, origins in templates}

    chat = chat_cases(templates)
    lang = language_cases()
    meta = {"generator": "tools/gen_template_fixtures.py", "jinja2": jinja2.__version__,
            "checked_against_transformers": hf_compile is not None, "template_sources": sources}
    for path, cases in ((OUT / "cases.json", chat), (OUT / "language_cases.json", lang)):
        write_cases(path, meta, LANG_CONTEXT if cases is lang else None, cases)
    n_err = sum("error" in c for c in chat)
    print(f"{len(templates)} templates, {len(chat)} chat cases ({n_err} errors), {len(lang)} language cases "
          f"({sum('error' in c for c in lang)} errors); transformers check: {hf_compile is not None}")


if __name__ == "__main__":
    main()
