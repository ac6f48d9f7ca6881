// JsonRecognizer: one switch over the grammar position per byte.
#include "server/json_recognizer.h"

#include <algorithm>
#include <array>
#include <string_view>

namespace r1::server {
namespace {

bool is_whitespace(uint8_t b) {
  return b == ' ' || b == '\t' || b == '\n' || b == '\r';
}
bool is_digit(uint8_t b) {
  return b >= '0' && b <= '9';
}

int hex_value(uint8_t b) {
  if (b >= '0' && b <= '9') return b - '0';
  if (b >= 'a' && b <= 'f') return b - 'a' + 10;
  if (b >= 'A' && b <= 'F') return b - 'A' + 10;
  return -1;
}

constexpr std::array<std::string_view, 3> kLiterals = {"true", "false", "null"};

}  // namespace

static_assert(sizeof(JsonRecognizer) <= 24, "mask() copies the recognizer once per candidate token");

JsonRecognizer::JsonRecognizer(int max_whitespace_run)
    : max_ws_run_(static_cast<uint8_t>(std::clamp(max_whitespace_run, 0, 255))) {}

bool JsonRecognizer::push(std::string_view bytes) {
  for (char c : bytes) {
    if (!push(static_cast<uint8_t>(c))) return false;
  }
  return true;
}

bool JsonRecognizer::push(uint8_t byte) {
  switch (mode_) {
    case Mode::kString:
      return push_string(byte);
    case Mode::kEscape:
      if (byte == 'u') {
        mode_ = Mode::kHexEscape;
        hex_digits_ = 0;
        code_unit_ = 0;
        low_surrogate_ = false;
        return true;
      }
      if (std::string_view("\"\\/bfnrt").find(static_cast<char>(byte)) == std::string_view::npos)
        return false;
      mode_ = Mode::kString;
      return true;
    case Mode::kHexEscape:
      return push_hex_digit(byte);
    case Mode::kLowBackslash:
      if (byte != '\\') return false;
      mode_ = Mode::kLowU;
      return true;
    case Mode::kLowU:
      if (byte != 'u') return false;
      mode_ = Mode::kHexEscape;
      hex_digits_ = 0;
      code_unit_ = 0;
      low_surrogate_ = true;
      return true;
    case Mode::kUtf8Tail:
      if (byte < utf8_lo_ || byte > utf8_hi_) return false;
      utf8_lo_ = 0x80;  // only the first continuation byte has a narrower range
      utf8_hi_ = 0xBF;
      if (--utf8_left_ == 0) mode_ = Mode::kString;
      return true;
    case Mode::kLiteral: {
      const std::string_view literal = kLiterals[literal_];
      if (byte != static_cast<uint8_t>(literal[literal_pos_])) return false;
      if (++literal_pos_ == literal.size()) close_value();
      return true;
    }
    case Mode::kNumMinus:
    case Mode::kNumZero:
    case Mode::kNumInt:
    case Mode::kNumFracStart:
    case Mode::kNumFrac:
    case Mode::kNumExpStart:
    case Mode::kNumExpSign:
    case Mode::kNumExp:
      return push_number(byte);
    default:
      return push_structural(byte);
  }
}

// Whitespace and the punctuation between values.
bool JsonRecognizer::push_structural(uint8_t byte) {
  if (is_whitespace(byte)) {
    if (ws_run_ >= max_ws_run_) return false;
    ++ws_run_;
    return true;
  }
  const bool in_object = depth_ > 0 && ((objects_ >> (depth_ - 1)) & 1);
  bool ok = false;
  switch (mode_) {
    case Mode::kStart:
      ok = byte == '{' && open_container(true);
      break;
    case Mode::kObjectOpen:
    case Mode::kKey:
      if (byte == '"') {
        mode_ = Mode::kString;
        in_key_ = true;
        ok = true;
      } else if (byte == '}' && mode_ == Mode::kObjectOpen) {
        --depth_;
        close_value();
        ok = true;
      }
      break;
    case Mode::kColon:
      if (byte == ':') {
        mode_ = Mode::kValue;
        ok = true;
      }
      break;
    case Mode::kValue:
      ok = push_value_start(byte);
      break;
    case Mode::kArrayOpen:
      if (byte == ']') {
        --depth_;
        close_value();
        ok = true;
      } else {
        ok = push_value_start(byte);
      }
      break;
    case Mode::kAfterValue:
      if (byte == ',') {
        mode_ = in_object ? Mode::kKey : Mode::kValue;
        ok = true;
      } else if (byte == (in_object ? '}' : ']')) {
        --depth_;
        close_value();
        ok = true;
      }
      break;
    default:  // kDone: only whitespace
      break;
  }
  if (ok) ws_run_ = 0;
  return ok;
}

bool JsonRecognizer::push_value_start(uint8_t byte) {
  switch (byte) {
    case '{':
      return open_container(true);
    case '[':
      return open_container(false);
    case '"':
      mode_ = Mode::kString;
      in_key_ = false;
      return true;
    case 't':
    case 'f':
    case 'n':
      mode_ = Mode::kLiteral;
      literal_ = byte == 't' ? 0 : byte == 'f' ? 1 : 2;
      literal_pos_ = 1;
      return true;
    case '-':
      mode_ = Mode::kNumMinus;
      return true;
    case '0':
      mode_ = Mode::kNumZero;
      return true;
    default:
      if (byte < '1' || byte > '9') return false;
      mode_ = Mode::kNumInt;
      return true;
  }
}

bool JsonRecognizer::push_string(uint8_t byte) {
  if (byte == '"') {
    if (in_key_) {
      mode_ = Mode::kColon;
    } else {
      close_value();
    }
    return true;
  }
  if (byte == '\\') {
    mode_ = Mode::kEscape;
    return true;
  }
  if (byte < 0x20) return false;  // control characters must be escaped
  if (byte < 0x80) return true;
  // A UTF-8 lead byte: how many continuation bytes follow and the range of the first one, which excludes
  // overlong forms, UTF-16 surrogates and code points above U+10FFFF (Unicode Table 3-7).
  uint8_t left, lo = 0x80, hi = 0xBF;
  if (byte >= 0xC2 && byte <= 0xDF) {
    left = 1;
  } else if (byte >= 0xE0 && byte <= 0xEF) {
    left = 2;
    if (byte == 0xE0) lo = 0xA0;
    if (byte == 0xED) hi = 0x9F;
  } else if (byte >= 0xF0 && byte <= 0xF4) {
    left = 3;
    if (byte == 0xF0) lo = 0x90;
    if (byte == 0xF4) hi = 0x8F;
  } else {
    return false;  // a stray continuation byte, C0/C1 or F5..FF
  }
  mode_ = Mode::kUtf8Tail;
  utf8_left_ = left;
  utf8_lo_ = lo;
  utf8_hi_ = hi;
  return true;
}

// A \uXXXX digit. Escapes must describe Unicode scalar values: a high surrogate (D800-DBFF) must be followed
// by an escaped low surrogate (DC00-DFFF), and a low surrogate may appear only there. A digit is rejected as
// soon as every value its prefix can still complete to is ruled out.
bool JsonRecognizer::push_hex_digit(uint8_t byte) {
  const int digit = hex_value(byte);
  if (digit < 0) return false;
  const uint32_t unit = uint32_t{code_unit_} * 16 + static_cast<uint32_t>(digit);
  const int digits = hex_digits_ + 1;
  const int free_bits = 4 * (4 - digits);
  const uint32_t lowest = unit << free_bits, highest = lowest | ((1u << free_bits) - 1);
  const bool all_low = lowest >= 0xDC00 && highest <= 0xDFFF;
  const bool some_low = highest >= 0xDC00 && lowest <= 0xDFFF;
  if (low_surrogate_ ? !some_low : all_low) return false;
  code_unit_ = static_cast<uint16_t>(unit);
  hex_digits_ = static_cast<uint8_t>(digits);
  if (digits < 4) return true;
  mode_ = !low_surrogate_ && unit >= 0xD800 && unit <= 0xDBFF ? Mode::kLowBackslash : Mode::kString;
  low_surrogate_ = false;
  return true;
}

// number = [ '-' ] ( '0' | [1-9][0-9]* ) [ '.' [0-9]+ ] [ ( 'e' | 'E' ) [ '+' | '-' ] [0-9]+ ]  (RFC 8259
// §6). A number has no closing byte: in a state where it may end, any other byte ends it and is read as what
// follows the value.
bool JsonRecognizer::push_number(uint8_t byte) {
  const bool digit = is_digit(byte), exponent = byte == 'e' || byte == 'E';
  switch (mode_) {
    case Mode::kNumMinus:
      if (!digit) return false;
      mode_ = byte == '0' ? Mode::kNumZero : Mode::kNumInt;
      return true;
    case Mode::kNumInt:
      if (digit) return true;
      [[fallthrough]];
    case Mode::kNumZero:
      if (byte == '.') {
        mode_ = Mode::kNumFracStart;
        return true;
      }
      if (exponent) {
        mode_ = Mode::kNumExpStart;
        return true;
      }
      break;  // the number may end here
    case Mode::kNumFracStart:
      if (!digit) return false;
      mode_ = Mode::kNumFrac;
      return true;
    case Mode::kNumFrac:
      if (digit) return true;
      if (exponent) {
        mode_ = Mode::kNumExpStart;
        return true;
      }
      break;
    case Mode::kNumExpStart:
      if (byte == '+' || byte == '-') {
        mode_ = Mode::kNumExpSign;
        return true;
      }
      [[fallthrough]];
    case Mode::kNumExpSign:
      if (!digit) return false;
      mode_ = Mode::kNumExp;
      return true;
    default:  // kNumExp
      if (digit) return true;
      break;
  }
  // Numbers only occur inside containers (the top level is an object), so the value's end leads to
  // kAfterValue.
  const Mode number_mode = mode_;
  mode_ = Mode::kAfterValue;
  if (push_structural(byte)) return true;
  mode_ = number_mode;
  return false;
}

bool JsonRecognizer::open_container(bool object) {
  if (depth_ >= kMaxJsonDepth) return false;
  const uint64_t bit = uint64_t{1} << depth_;
  objects_ = object ? objects_ | bit : objects_ & ~bit;
  ++depth_;
  mode_ = object ? Mode::kObjectOpen : Mode::kArrayOpen;
  return true;
}

void JsonRecognizer::close_value() {
  mode_ = depth_ == 0 ? Mode::kDone : Mode::kAfterValue;
}

}  // namespace r1::server
