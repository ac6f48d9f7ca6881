// UTF-8 helpers shared by the tokenizer, the stream decoder and the reasoning parser.
// One lossy-decoding rule is used everywhere (decode, StreamDecoder, tests), so streamed text always equals
// the text of a one-shot decode: each "maximal subpart" of an ill-formed sequence becomes one U+FFFD, which
// is the Unicode-recommended practice (also what Python's errors="replace" and Rust's from_utf8_lossy do).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace r1::utf8 {

inline constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// Length of the well-formed UTF-8 character starting at s[i], or 0 if the bytes there are ill-formed or
// incomplete.
size_t char_len(std::string_view s, size_t i);

// Decodes the well-formed character of `len` bytes at s[i] (len from char_len).
uint32_t decode_char(std::string_view s, size_t i, size_t len);

// Appends the UTF-8 encoding of code point cp to out.
void append_char(std::string& out, uint32_t cp);

// True if every byte sequence in s is well-formed UTF-8.
bool is_valid(std::string_view s);

// Appends the lossy decoding of `bytes` to out and returns how many bytes were consumed. When `final` is
// false, a trailing sequence that is a valid-but-incomplete prefix of a character is left unconsumed (the
// caller keeps it and retries once more bytes arrive); when `final` is true it becomes U+FFFD.
size_t append_lossy(std::string_view bytes, bool final, std::string& out);

// Whole-string convenience form of append_lossy(final = true).
std::string to_valid(std::string_view bytes);

}  // namespace r1::utf8
