// Tokenizer for Jinja templates with Hugging Face's settings: trim_blocks (the first newline after a block or
// comment tag is dropped) and lstrip_blocks (spaces and tabs before a block or comment tag on its own line are
// dropped), plus the `-` / `+` whitespace-control markers. The rules follow jinja2's lexer exactly, including its
// less obvious parts: `{{-1}}` strips (the `-` is a marker, not a minus), `}}` inside an open brace is two
// operators (`{{ {'a': {'b': 1}} }}`), and a trailing newline at the end of the template is removed.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace r1::jinja {

enum class Tok : uint8_t {
  kData,        // template text between tags
  kBlockBegin,  // {%
  kBlockEnd,    // %}
  kVarBegin,    // {{
  kVarEnd,      // }}
  kName,
  kString,
  kInt,
  kFloat,
  kOperator,  // text holds the operator: + - * / // % ** ~ ( ) [ ] { } == != < <= > >= = . : | , ;
  kEof,
};

struct Token {
  Tok type = Tok::kEof;
  uint32_t offset = 0;  // byte offset in the normalised source
  std::string text;     // data, name, decoded string literal or operator
  int64_t int_value = 0;
  double float_value = 0;

  bool is_op(std::string_view op) const { return type == Tok::kOperator && text == op; }
  bool is_name(std::string_view name) const { return type == Tok::kName && text == name; }
};

// jinja2 reads templates with universal newlines: \r\n and \r become \n, and one trailing newline is dropped.
std::string normalize_source(std::string_view source);

// Tokenizes a normalised source; the last token is kEof. Throws jinja::Error (with offset) on lexical errors.
std::vector<Token> tokenize(std::string_view source);

}  // namespace r1::jinja
