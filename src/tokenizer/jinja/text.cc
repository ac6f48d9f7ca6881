#include "tokenizer/jinja/text.h"

#include <utf8proc.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <cmath>
#include <cstdio>
#include <cstring>

namespace r1::jinja::text {

// ---------------------------------------------------------------------------------------------------------------
// UTF-8
// ---------------------------------------------------------------------------------------------------------------

namespace {

constexpr uint32_t kEscapeBase = 0xDC00;  // surrogateescape: byte b decodes to U+DC00 + b

bool is_cont(unsigned char c) { return (c & 0xC0) == 0x80; }

}  // namespace

Decoded decode_at(std::string_view s, size_t i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) return {b0, 1};
  size_t need = 0;
  uint32_t cp = 0;
  uint32_t min = 0;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    need = 1, cp = b0 & 0x1F, min = 0x80;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    need = 2, cp = b0 & 0x0F, min = 0x800;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    need = 3, cp = b0 & 0x07, min = 0x10000;
  } else {
    return {kEscapeBase + b0, 1};
  }
  for (size_t k = 1; k <= need; ++k) {
    if (i + k >= s.size() || !is_cont(static_cast<unsigned char>(s[i + k]))) return {kEscapeBase + b0, 1};
    cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
  }
  // Overlong forms, UTF-16 surrogates and values past U+10FFFF are ill-formed.
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return {kEscapeBase + b0, 1};
  return {cp, static_cast<uint32_t>(need + 1)};
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp >= kEscapeBase + 0x80 && cp <= kEscapeBase + 0xFF) {  // an escaped ill-formed byte
    out.push_back(static_cast<char>(cp - kEscapeBase));
  } else if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

bool is_ascii(std::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  }
  return true;
}

size_t length(std::string_view s) {
  if (is_ascii(s)) return s.size();
  size_t n = 0;
  for (size_t i = 0; i < s.size(); i += decode_at(s, i).len) ++n;
  return n;
}

std::vector<uint32_t> code_points(std::string_view s) {
  std::vector<uint32_t> out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    Decoded d = decode_at(s, i);
    out.push_back(d.cp);
    i += d.len;
  }
  return out;
}

std::string encode(const std::vector<uint32_t>& cps, size_t begin, size_t end) {
  std::string out;
  for (size_t i = begin; i < end && i < cps.size(); ++i) append_utf8(out, cps[i]);
  return out;
}

size_t byte_offset(std::string_view s, size_t cp_index) {
  size_t i = 0;
  for (size_t n = 0; n < cp_index && i < s.size(); ++n) i += decode_at(s, i).len;
  return i;
}

// ---------------------------------------------------------------------------------------------------------------
// Character classes
// ---------------------------------------------------------------------------------------------------------------

bool is_space(uint32_t cp) {
  // Python's str.isspace(): bidirectional class WS, B or S, or category Zs.
  switch (cp) {
    case 0x09: case 0x0A: case 0x0B: case 0x0C: case 0x0D: case 0x1C: case 0x1D: case 0x1E: case 0x1F:
    case 0x20: case 0x85: case 0xA0: case 0x1680: case 0x2028: case 0x2029: case 0x202F: case 0x205F:
    case 0x3000:
      return true;
    default:
      return cp >= 0x2000 && cp <= 0x200A;
  }
}

bool is_printable(uint32_t cp) {
  if (cp == ' ') return true;
  if (cp < 0x20 || cp == 0x7F) return false;
  if (cp < 0x7F) return true;
  switch (utf8proc_category(static_cast<utf8proc_int32_t>(cp))) {
    case UTF8PROC_CATEGORY_CN: case UTF8PROC_CATEGORY_CC: case UTF8PROC_CATEGORY_CF: case UTF8PROC_CATEGORY_CS:
    case UTF8PROC_CATEGORY_CO: case UTF8PROC_CATEGORY_ZS: case UTF8PROC_CATEGORY_ZL: case UTF8PROC_CATEGORY_ZP:
      return false;
    default:
      return true;
  }
}

bool is_identifier_cp(uint32_t cp) {
  switch (utf8proc_category(static_cast<utf8proc_int32_t>(cp))) {
    case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL: case UTF8PROC_CATEGORY_LT: case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO: case UTF8PROC_CATEGORY_MN: case UTF8PROC_CATEGORY_MC: case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL: case UTF8PROC_CATEGORY_PC:
      return true;
    default:
      return false;
  }
}

namespace {

utf8proc_category_t category(uint32_t cp) { return utf8proc_category(static_cast<utf8proc_int32_t>(cp)); }

bool is_cased(uint32_t cp) {
  auto c = category(cp);
  return c == UTF8PROC_CATEGORY_LU || c == UTF8PROC_CATEGORY_LL || c == UTF8PROC_CATEGORY_LT;
}

uint32_t to_upper_cp(uint32_t cp) { return static_cast<uint32_t>(utf8proc_toupper(static_cast<int32_t>(cp))); }
uint32_t to_lower_cp(uint32_t cp) { return static_cast<uint32_t>(utf8proc_tolower(static_cast<int32_t>(cp))); }
uint32_t to_title_cp(uint32_t cp) { return static_cast<uint32_t>(utf8proc_totitle(static_cast<int32_t>(cp))); }

// Python uses the full (SpecialCasing) upper mapping; the one-to-many case that occurs in practice is ß.
void append_upper(std::string& out, uint32_t cp) {
  if (cp == 0xDF) {
    out += "SS";
  } else {
    append_utf8(out, to_upper_cp(cp));
  }
}

// Python lowercases a capital sigma at the end of a word to the final form ς.
void append_lower(std::string& out, const std::vector<uint32_t>& cps, size_t i) {
  uint32_t cp = cps[i];
  if (cp == 0x3A3) {
    bool after_cased = i > 0 && is_cased(cps[i - 1]);
    bool before_cased = i + 1 < cps.size() && is_cased(cps[i + 1]);
    append_utf8(out, after_cased && !before_cased ? 0x3C2 : 0x3C3);
  } else if (cp == 0x130) {  // İ lowercases to i + combining dot above
    out += "i\xCC\x87";
  } else {
    append_utf8(out, to_lower_cp(cp));
  }
}

bool match_set(uint32_t cp, const std::optional<std::vector<uint32_t>>& set) {
  if (!set) return is_space(cp);
  for (uint32_t c : *set) {
    if (c == cp) return true;
  }
  return false;
}

}  // namespace

// ---------------------------------------------------------------------------------------------------------------
// str methods
// ---------------------------------------------------------------------------------------------------------------

std::string strip(std::string_view s, const std::optional<std::string>& chars, bool left, bool right) {
  std::optional<std::vector<uint32_t>> set;
  if (chars) set = code_points(*chars);
  std::vector<uint32_t> cps = code_points(s);
  size_t b = 0, e = cps.size();
  if (left) {
    while (b < e && match_set(cps[b], set)) ++b;
  }
  if (right) {
    while (e > b && match_set(cps[e - 1], set)) --e;
  }
  return encode(cps, b, e);
}

namespace {

// str.split() / str.rsplit() without a separator: runs of whitespace separate, empty pieces are dropped.
std::vector<std::string> split_whitespace(std::string_view s, int64_t maxsplit, bool reverse) {
  std::vector<uint32_t> cps = code_points(s);
  std::vector<std::string> out;
  if (!reverse) {
    size_t i = 0, n = cps.size();
    while (true) {
      while (i < n && is_space(cps[i])) ++i;
      if (i == n) break;
      if (maxsplit >= 0 && int64_t(out.size()) == maxsplit) {  // the rest keeps its trailing whitespace
        out.push_back(encode(cps, i, n));
        break;
      }
      size_t j = i;
      while (j < n && !is_space(cps[j])) ++j;
      out.push_back(encode(cps, i, j));
      i = j;
    }
    return out;
  }
  size_t i = cps.size();
  while (true) {
    while (i > 0 && is_space(cps[i - 1])) --i;
    if (i == 0) break;
    if (maxsplit >= 0 && int64_t(out.size()) == maxsplit) {  // the rest keeps its leading whitespace
      out.push_back(encode(cps, 0, i));
      break;
    }
    size_t j = i;
    while (j > 0 && !is_space(cps[j - 1])) --j;
    out.push_back(encode(cps, j, i));
    i = j;
  }
  return {out.rbegin(), out.rend()};
}

}  // namespace

std::vector<std::string> split(std::string_view s, const std::optional<std::string>& sep, int64_t maxsplit) {
  if (!sep) return split_whitespace(s, maxsplit, false);
  std::vector<std::string> out;
  size_t pos = 0;
  while (maxsplit < 0 || int64_t(out.size()) < maxsplit) {
    size_t k = s.find(*sep, pos);
    if (k == std::string_view::npos) break;
    out.emplace_back(s.substr(pos, k - pos));
    pos = k + sep->size();
  }
  out.emplace_back(s.substr(pos));
  return out;
}

std::vector<std::string> rsplit(std::string_view s, const std::optional<std::string>& sep, int64_t maxsplit) {
  if (!sep) return split_whitespace(s, maxsplit, true);
  std::vector<std::string> out;
  size_t end = s.size();
  while (maxsplit < 0 || int64_t(out.size()) < maxsplit) {
    if (end < sep->size()) break;
    size_t k = s.substr(0, end).rfind(*sep);
    if (k == std::string_view::npos) break;
    out.emplace_back(s.substr(k + sep->size(), end - k - sep->size()));
    end = k;
  }
  out.emplace_back(s.substr(0, end));
  return {out.rbegin(), out.rend()};
}

std::vector<std::string> splitlines(std::string_view s, bool keepends) {
  std::vector<std::string> out;
  size_t start = 0, i = 0;
  while (i < s.size()) {
    Decoded d = decode_at(s, i);
    size_t brk = 0;  // length of the line break at i
    switch (d.cp) {
      case '\r':
        brk = (i + 1 < s.size() && s[i + 1] == '\n') ? 2 : 1;
        break;
      case '\n': case 0x0B: case 0x0C: case 0x1C: case 0x1D: case 0x1E: case 0x85: case 0x2028: case 0x2029:
        brk = d.len;
        break;
      default:
        break;
    }
    if (brk == 0) {
      i += d.len;
      continue;
    }
    out.emplace_back(s.substr(start, (keepends ? i + brk : i) - start));
    i += brk;
    start = i;
  }
  if (start < s.size()) out.emplace_back(s.substr(start));
  return out;
}

std::optional<std::string> replace(std::string_view s, std::string_view old, std::string_view repl, int64_t count,
                                   size_t max_bytes) {
  // Size of the result from the number of replacements, so that a huge result is refused before it is built.
  int64_t n = old.empty() ? int64_t(length(s)) + 1 : jinja::text::count(s, old);
  if (count >= 0) n = std::min(n, count);
  const size_t removed = size_t(n) * old.size(), added = size_t(n) * repl.size();
  if (repl.size() > 0 && size_t(n) > max_bytes / repl.size()) return std::nullopt;
  if (s.size() - removed + added > max_bytes) return std::nullopt;
  std::string out;
  if (old.empty()) {  // Python inserts the replacement before every character and at the end
    std::vector<uint32_t> cps = code_points(s);
    int64_t done = 0;
    for (size_t i = 0; i <= cps.size(); ++i) {
      if (count < 0 || done < count) {
        out += repl;
        ++done;
      }
      if (i < cps.size()) append_utf8(out, cps[i]);
    }
    return out;
  }
  size_t pos = 0;
  int64_t done = 0;
  while (count < 0 || done < count) {
    size_t k = s.find(old, pos);
    if (k == std::string_view::npos) break;
    out.append(s.substr(pos, k - pos));
    out.append(repl);
    pos = k + old.size();
    ++done;
  }
  out.append(s.substr(pos));
  return out;
}

int64_t find(std::string_view s, std::string_view sub, std::optional<int64_t> start, std::optional<int64_t> end,
             bool reverse) {
  const auto n = static_cast<int64_t>(length(s));
  auto clamp = [n](int64_t v) { return v < 0 ? std::max<int64_t>(0, v + n) : std::min(v, n); };
  int64_t b = start ? clamp(*start) : 0;
  int64_t e = end ? clamp(*end) : n;
  if (b > e) return -1;
  size_t bb = byte_offset(s, size_t(b)), eb = byte_offset(s, size_t(e));
  std::string_view window = s.substr(bb, eb - bb);
  size_t k = reverse ? window.rfind(sub) : window.find(sub);
  if (k == std::string_view::npos) return -1;
  return b + static_cast<int64_t>(length(window.substr(0, k)));
}

int64_t count(std::string_view s, std::string_view sub) {
  if (sub.empty()) return static_cast<int64_t>(length(s)) + 1;
  int64_t n = 0;
  for (size_t k = s.find(sub); k != std::string_view::npos; k = s.find(sub, k + sub.size())) ++n;
  return n;
}

std::string upper(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size();) {
    Decoded d = decode_at(s, i);
    append_upper(out, d.cp);
    i += d.len;
  }
  return out;
}

std::string lower(std::string_view s) {
  std::vector<uint32_t> cps = code_points(s);
  std::string out;
  for (size_t i = 0; i < cps.size(); ++i) append_lower(out, cps, i);
  return out;
}

std::string title(std::string_view s) {
  std::vector<uint32_t> cps = code_points(s);
  std::string out;
  bool prev_cased = false;
  for (size_t i = 0; i < cps.size(); ++i) {
    if (prev_cased) {
      append_lower(out, cps, i);
    } else {
      append_utf8(out, to_title_cp(cps[i]));
    }
    prev_cased = is_cased(cps[i]);
  }
  return out;
}

std::string capitalize(std::string_view s) {
  std::vector<uint32_t> cps = code_points(s);
  std::string out;
  for (size_t i = 0; i < cps.size(); ++i) {
    if (i == 0) {
      append_utf8(out, to_title_cp(cps[0]));
    } else {
      append_lower(out, cps, i);
    }
  }
  return out;
}

namespace {

// Python's isupper/islower: at least one cased character and no cased character of the other case.
bool all_cased_are(std::string_view s, bool want_upper) {
  bool any = false;
  for (uint32_t cp : code_points(s)) {
    auto c = category(cp);
    if (c == UTF8PROC_CATEGORY_LT) return false;
    if (c == UTF8PROC_CATEGORY_LU) {
      if (!want_upper) return false;
      any = true;
    } else if (c == UTF8PROC_CATEGORY_LL) {
      if (want_upper) return false;
      any = true;
    }
  }
  return any;
}

template <typename Pred>
bool all_of_nonempty(std::string_view s, Pred pred) {
  if (s.empty()) return false;
  for (uint32_t cp : code_points(s)) {
    if (!pred(cp)) return false;
  }
  return true;
}

bool is_alpha_cp(uint32_t cp) {
  auto c = category(cp);
  return c >= UTF8PROC_CATEGORY_LU && c <= UTF8PROC_CATEGORY_LO;
}

bool is_numeric_cp(uint32_t cp) {
  auto c = category(cp);
  return c == UTF8PROC_CATEGORY_ND || c == UTF8PROC_CATEGORY_NL || c == UTF8PROC_CATEGORY_NO;
}

}  // namespace

bool is_upper(std::string_view s) { return all_cased_are(s, true); }
bool is_lower(std::string_view s) { return all_cased_are(s, false); }
bool is_digit(std::string_view s) {
  return all_of_nonempty(s, [](uint32_t cp) { return category(cp) == UTF8PROC_CATEGORY_ND; });
}
bool is_alpha(std::string_view s) { return all_of_nonempty(s, is_alpha_cp); }
bool is_alnum(std::string_view s) {
  return all_of_nonempty(s, [](uint32_t cp) { return is_alpha_cp(cp) || is_numeric_cp(cp); });
}
bool is_space_string(std::string_view s) { return all_of_nonempty(s, is_space); }

// ---------------------------------------------------------------------------------------------------------------
// repr and escaping
// ---------------------------------------------------------------------------------------------------------------

std::string repr(std::string_view s) {
  const bool has_single = s.find('\'') != std::string_view::npos;
  const bool has_double = s.find('"') != std::string_view::npos;
  const char quote = (has_single && !has_double) ? '"' : '\'';
  std::string out(1, quote);
  char buf[16];
  for (size_t i = 0; i < s.size();) {
    Decoded d = decode_at(s, i);
    i += d.len;
    uint32_t cp = d.cp;
    if (cp == uint32_t(quote) || cp == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(cp));
    } else if (cp == '\t') {
      out += "\\t";
    } else if (cp == '\n') {
      out += "\\n";
    } else if (cp == '\r') {
      out += "\\r";
    } else if (is_printable(cp)) {
      append_utf8(out, cp);
    } else {
      const char* fmt = cp <= 0xFF ? "\\x%02x" : cp <= 0xFFFF ? "\\u%04x" : "\\U%08x";
      std::snprintf(buf, sizeof buf, fmt, cp);
      out += buf;
    }
  }
  out.push_back(quote);
  return out;
}

std::string float_repr(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
  // Shortest round-trip digits in scientific form ("1.2345e+02"), then laid out the way CPython's repr does:
  // positional notation when the decimal exponent is in [-4, 16), scientific otherwise.
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  std::string sci(buf, res.ptr);
  std::string out;
  size_t p = 0;
  if (sci[0] == '-') {
    out.push_back('-');
    p = 1;
  }
  size_t e_pos = sci.find('e');
  std::string digits;
  for (size_t i = p; i < e_pos; ++i) {
    if (sci[i] != '.') digits.push_back(sci[i]);
  }
  int exp10 = std::atoi(sci.c_str() + e_pos + 1);
  int decpt = exp10 + 1;  // position of the decimal point relative to the digits
  const int nd = static_cast<int>(digits.size());
  if (decpt > -4 && decpt <= 16) {
    if (decpt <= 0) {
      out += "0." + std::string(size_t(-decpt), '0') + digits;
    } else if (decpt >= nd) {
      out += digits + std::string(size_t(decpt - nd), '0') + ".0";
    } else {
      out += digits.substr(0, size_t(decpt)) + "." + digits.substr(size_t(decpt));
    }
    return out;
  }
  out.push_back(digits[0]);
  if (nd > 1) out += "." + digits.substr(1);
  std::snprintf(buf, sizeof buf, "e%c%02d", exp10 < 0 ? '-' : '+', exp10 < 0 ? -exp10 : exp10);
  out += buf;
  return out;
}

std::string html_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&#34;"; break;
      case '\'': out += "&#39;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

}  // namespace r1::jinja::text
