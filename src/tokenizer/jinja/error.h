// Internal error signalling of the Jinja engine. Template evaluation is deeply recursive and almost every step can
// fail (Python raises on `1 + 'a'`, on undefined attributes, ...), so inside src/tokenizer/jinja/ errors are thrown
// as jinja::Error and turned into a Status at the public boundary (Template::parse / Template::render). No
// exception leaves this directory.
#pragma once

#include <cstdint>
#include <string>

#include <fmt/core.h>

namespace r1::jinja {

inline constexpr uint32_t kNoOffset = UINT32_MAX;

struct Error {
  std::string message;
  uint32_t offset = kNoOffset;  // byte offset in the template source; filled by the innermost node if unknown
};

[[noreturn]] inline void fail(std::string message) { throw Error{std::move(message), kNoOffset}; }

template <typename... Args>
[[noreturn]] void failf(fmt::format_string<Args...> format, Args&&... args) {
  throw Error{fmt::format(format, std::forward<Args>(args)...), kNoOffset};
}

}  // namespace r1::jinja
