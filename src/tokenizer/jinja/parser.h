// Recursive-descent parser from tokens to the syntax tree, mirroring jinja2's parser (same precedence, same
// statement forms, same quirks such as `-2 ** 2 == 4` and `x is divisibleby 3` without parentheses). Supported
// statements: if/elif/else, for (with `if` filter and else), set (also tuple targets, `ns.attr` and the block form),
// macro, call, filter, with, print, break/continue (HF enables jinja2.ext.loopcontrols) and HF's
// generation/endgeneration. Template inheritance and includes (extends, block, include, import) are rejected.
#pragma once

#include <vector>

#include "tokenizer/jinja/ast.h"
#include "tokenizer/jinja/lexer.h"

namespace r1::jinja {

// Parses a token stream (from tokenize) into the template body. Throws jinja::Error with the offset of the
// offending token. `max_nesting` bounds the recursion depth of nested expressions and blocks.
Body parse_template(const std::vector<Token>& tokens, int max_nesting);

}  // namespace r1::jinja
