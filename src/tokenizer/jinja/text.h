// Python `str` semantics over UTF-8 bytes, for the Jinja engine. Python indexes, slices, strips and splits strings
// by code point and uses Unicode definitions of whitespace and case, so `'héllo'[1]` is `é` and `len('日本')` is 2.
// Ill-formed UTF-8 bytes decode to the lone surrogates U+DC80..U+DCFF and encode back to the same byte (Python's
// "surrogateescape"), so no input byte is ever lost or replaced.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace r1::jinja::text {

struct Decoded {
  uint32_t cp;
  uint32_t len;  // bytes consumed, >= 1
};
Decoded decode_at(std::string_view s, size_t i);
void append_utf8(std::string& out, uint32_t cp);
bool is_ascii(std::string_view s);
size_t length(std::string_view s);                           // code points
std::vector<uint32_t> code_points(std::string_view s);
std::string encode(const std::vector<uint32_t>& cps, size_t begin, size_t end);
size_t byte_offset(std::string_view s, size_t cp_index);    // clamps to s.size()

// Character classes (Python str.isspace / isprintable / cased letters).
bool is_space(uint32_t cp);
bool is_printable(uint32_t cp);
// Python identifier characters beyond ASCII (letters, marks, digits, connectors), for template names.
bool is_identifier_cp(uint32_t cp);

// str methods. `chars`/`sep` absent means Python's None (whitespace). maxsplit/count < 0 means unlimited.
std::string strip(std::string_view s, const std::optional<std::string>& chars, bool left, bool right);
std::vector<std::string> split(std::string_view s, const std::optional<std::string>& sep, int64_t maxsplit);
std::vector<std::string> rsplit(std::string_view s, const std::optional<std::string>& sep, int64_t maxsplit);
std::vector<std::string> splitlines(std::string_view s, bool keepends);
// Returns nullopt when the result would exceed max_bytes (checked before it is built).
std::optional<std::string> replace(std::string_view s, std::string_view old, std::string_view repl, int64_t count,
                                   size_t max_bytes);
// Code point index of the first/last occurrence of sub within s[start:end] (Python slice bounds), or -1.
int64_t find(std::string_view s, std::string_view sub, std::optional<int64_t> start, std::optional<int64_t> end,
             bool reverse);
int64_t count(std::string_view s, std::string_view sub);
std::string upper(std::string_view s);
std::string lower(std::string_view s);
std::string title(std::string_view s);       // str.title(): "they're" -> "They'Re"
std::string capitalize(std::string_view s);  // str.capitalize()
bool is_upper(std::string_view s);
bool is_lower(std::string_view s);
bool is_digit(std::string_view s);
bool is_alpha(std::string_view s);
bool is_alnum(std::string_view s);
bool is_space_string(std::string_view s);

// repr() of a str: 'it\'s' -> "it's", with Python's escapes for unprintable characters.
std::string repr(std::string_view s);
// repr() of a float: shortest round-trip digits, "1.0", "1e-05", "1e+16", "inf", "nan".
std::string float_repr(double d);
// markupsafe.escape: & < > " ' become &amp; &lt; &gt; &#34; &#39;.
std::string html_escape(std::string_view s);

}  // namespace r1::jinja::text
