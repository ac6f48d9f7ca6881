// Methods of built-in types as seen through jinja2's ImmutableSandboxedEnvironment: `s.split(',')`,
// `d.get('k')`, `l.index(x)`. Methods that would mutate a list or dict (append, pop, update, ...) exist but are
// "unsafe": looking them up yields an undefined value whose use raises the sandbox's SecurityError message,
// exactly what HF's environment does.
#pragma once

#include <optional>
#include <string_view>

#include "tokenizer/jinja/value.h"

namespace r1::jinja {

// The bound method `self.name`, an unsafe-attribute undefined, or nullopt when the type has no such method.
std::optional<Value> find_method(const Value& self, std::string_view name);

}  // namespace r1::jinja
