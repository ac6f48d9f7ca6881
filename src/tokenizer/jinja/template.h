// r1's Jinja engine: renders Hugging Face chat templates byte-identically to Python jinja2 as transformers
// configures it in apply_chat_template: ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
// extensions=[loopcontrols, generation tag]), with HF's `tojson` (json.dumps, ensure_ascii=False), and the globals
// `raise_exception(msg)`, `strftime_now(fmt)`, `namespace(...)`, `dict(...)` and jinja2's `range(...)`.
//
// Usage:
//   R1_ASSIGN_OR_RETURN(auto tpl, jinja::Template::parse(chat_template_text));
//   R1_ASSIGN_OR_RETURN(Value ctx, jinja::from_json(request));   // json.h; or Value::from_json_text
//   R1_ASSIGN_OR_RETURN(std::string prompt, tpl.render(ctx));
//
// The context is a dict: `messages`, `add_generation_prompt`, `bos_token`, `eos_token`, `tools`, and any extra
// kwargs (`thinking`, `enable_thinking`, ...). HF always passes `tools` and `documents` (None when absent), so a
// caller that wants identical output should too.
//
// Errors (syntax, unknown filter or test, raise_exception, Python type errors, undefined values used where jinja2
// raises, and exceeded limits) come back as a Status whose message is "name:line:column: message".
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"
#include "tokenizer/jinja/value.h"

namespace r1::jinja {

// Bounds on one render, so that a hostile template ends with an error instead of a hang or memory exhaustion.
struct RenderOptions {
  size_t max_output_bytes = size_t(64) << 20;  // the output, and any single string built on the way
  uint64_t max_steps = 5'000'000;              // statements + loop iterations + items processed by filters
  int max_macro_depth = 100;                   // nested macro calls (recursion)
};

class Template {
 public:
  // Parses a template. Syntax errors, unknown filters / tests and nesting deeper than 256 levels are errors.
  static Result<Template> parse(std::string_view source, std::string name = "template");

  // Renders with `context` (a dict; keys are the template's variables).
  Result<std::string> render(const Value& context, const RenderOptions& options = {}) const;

  const std::string& name() const;

 private:
  struct Data;
  explicit Template(std::shared_ptr<const Data> data) : data_(std::move(data)) {}
  std::shared_ptr<const Data> data_;
};

}  // namespace r1::jinja
