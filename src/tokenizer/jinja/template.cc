#include "tokenizer/jinja/template.h"

#include <algorithm>
#include <new>

#include "tokenizer/jinja/ast.h"
#include "tokenizer/jinja/error.h"
#include "tokenizer/jinja/fold.h"
#include "tokenizer/jinja/interpreter.h"
#include "tokenizer/jinja/lexer.h"
#include "tokenizer/jinja/parser.h"
#include "tokenizer/jinja/text.h"

namespace r1::jinja {

namespace {

constexpr int kMaxNesting = 256;

// "name:line:column: message" with a 1-based column counted in characters.
Status located(const std::string& name, std::string_view source, const Error& e) {
  if (e.offset == kNoOffset) return Status::errorf("{}: {}", name, e.message);
  size_t offset = std::min<size_t>(e.offset, source.size());
  size_t line_start = 0;
  if (offset > 0) {
    size_t p = source.rfind('\n', offset - 1);
    if (p != std::string_view::npos) line_start = p + 1;
  }
  size_t line = 1 + size_t(std::count(source.begin(), source.begin() + std::ptrdiff_t(line_start), '\n'));
  size_t column = 1 + text::length(source.substr(line_start, offset - line_start));
  return Status::errorf("{}:{}:{}: {}", name, line, column, e.message);
}

}  // namespace

struct Template::Data {
  std::string name;
  std::string source;  // normalised (universal newlines, trailing newline dropped)
  Body body;
};

Result<Template> Template::parse(std::string_view source, std::string name) {
  auto data = std::make_shared<Data>();
  data->name = std::move(name);
  data->source = normalize_source(source);
  try {
    data->body = parse_template(tokenize(data->source), kMaxNesting);
    fold_constants(data->body);
  } catch (const Error& e) {
    return located(data->name, data->source, e);
  } catch (const std::bad_alloc&) {
    return Status::errorf("{}: out of memory while parsing", data->name);
  }
  return Template(std::move(data));
}

Result<std::string> Template::render(const Value& context, const RenderOptions& options) const {
  if (!context.is_dict() && !context.is_undefined() && !context.is_none()) {
    return Status::errorf("{}: the render context must be a dict, not {}", data_->name, type_name(context));
  }
  InterpreterLimits limits;
  limits.values.max_string_bytes = options.max_output_bytes;
  limits.max_steps = options.max_steps;
  limits.max_call_depth = options.max_macro_depth;
  try {
    Interpreter interp(data_->source, limits);
    return interp.render(data_->body, context);
  } catch (const Error& e) {
    return located(data_->name, data_->source, e);
  } catch (const std::bad_alloc&) {
    return Status::errorf("{}: out of memory while rendering", data_->name);
  }
}

const std::string& Template::name() const { return data_->name; }

}  // namespace r1::jinja
