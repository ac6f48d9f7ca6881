// Constant folding as jinja2's optimizer does it. Folding is only observable in one place, and that is why r1
// does it: a constant expression is evaluated through the sandbox's getitem, so slicing something that cannot be
// sliced gives an undefined value, while the same slice at run time raises TypeError. A folded subtree becomes a
// constant when its value has a "safe repr" (None, bools, numbers, strings and containers of them) or when it is
// the whole expression of a {{ }} tag.
#pragma once

#include "tokenizer/jinja/ast.h"

namespace r1::jinja {

void fold_constants(Body& body);

}  // namespace r1::jinja
