#include "tokenizer/utf8.h"

namespace r1::utf8 {
namespace {

// Result of examining the bytes at one position (Unicode 15, Table 3-7 "Well-Formed UTF-8 Byte Sequences").
struct Scan {
  size_t len;      // bytes examined that belong to this (possibly partial) sequence
  bool complete;   // a whole well-formed character of `len` bytes
  bool truncated;  // a well-formed prefix cut off by the end of the input
};

Scan scan(std::string_view s, size_t i) {
  const auto b0 = static_cast<uint8_t>(s[i]);
  if (b0 < 0x80) return {1, true, false};
  size_t need;
  uint8_t lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    need = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    need = 3;
    if (b0 == 0xE0) lo = 0xA0;  // no overlong forms
    if (b0 == 0xED) hi = 0x9F;  // no UTF-16 surrogates
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    need = 4;
    if (b0 == 0xF0) lo = 0x90;  // no overlong forms
    if (b0 == 0xF4) hi = 0x8F;  // nothing above U+10FFFF
  } else {
    return {1, false, false};  // stray continuation byte, C0/C1 or F5..FF
  }
  size_t k = 1;
  for (; k < need; ++k) {
    if (i + k >= s.size()) return {k, false, true};
    const auto b = static_cast<uint8_t>(s[i + k]);
    const uint8_t first_lo = k == 1 ? lo : 0x80, first_hi = k == 1 ? hi : 0xBF;
    if (b < first_lo || b > first_hi) return {k, false, false};
  }
  return {need, true, false};
}

}  // namespace

size_t char_len(std::string_view s, size_t i) {
  if (i >= s.size()) return 0;
  const Scan r = scan(s, i);
  return r.complete ? r.len : 0;
}

uint32_t decode_char(std::string_view s, size_t i, size_t len) {
  const auto b = [&](size_t k) { return static_cast<uint32_t>(static_cast<uint8_t>(s[i + k])); };
  switch (len) {
    case 1:
      return b(0);
    case 2:
      return ((b(0) & 0x1F) << 6) | (b(1) & 0x3F);
    case 3:
      return ((b(0) & 0x0F) << 12) | ((b(1) & 0x3F) << 6) | (b(2) & 0x3F);
    default:
      return ((b(0) & 0x07) << 18) | ((b(1) & 0x3F) << 12) | ((b(2) & 0x3F) << 6) | (b(3) & 0x3F);
  }
}

void append_char(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

bool is_valid(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    if (static_cast<uint8_t>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    const Scan r = scan(s, i);
    if (!r.complete) return false;
    i += r.len;
  }
  return true;
}

size_t append_lossy(std::string_view bytes, bool final, std::string& out) {
  size_t i = 0;
  size_t run_start = 0;  // start of the pending run of well-formed bytes, copied in one go
  while (i < bytes.size()) {
    if (static_cast<uint8_t>(bytes[i]) < 0x80) {
      ++i;
      continue;
    }
    const Scan r = scan(bytes, i);
    if (r.complete) {
      i += r.len;
      continue;
    }
    out.append(bytes.substr(run_start, i - run_start));
    if (r.truncated && !final) return i;  // keep the partial character for the next call
    out.append(kReplacement);
    i += r.len;
    run_start = i;
  }
  out.append(bytes.substr(run_start, i - run_start));
  return i;
}

std::string to_valid(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  append_lossy(bytes, /*final=*/true, out);
  return out;
}

}  // namespace r1::utf8
