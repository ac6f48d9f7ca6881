// An incremental JSON recognizer over bytes (RFC 8259), the grammar behind response_format json_object: it
// says, byte by byte, whether the text so far can still become a valid JSON object. Its whole state is a
// small value, so the JSON constraint (json_constraint.h) tries every token's bytes from a copy of it.
#pragma once

#include <cstdint>
#include <string_view>

namespace r1::server {

// Objects and arrays nest at most this deep (the open containers fit one 64-bit word), so a looping model
// cannot grow the stack without bound.
inline constexpr int kMaxJsonDepth = 64;

// Accepts a byte string iff it is a prefix of `ws* object ws*`, with each whitespace run outside strings at
// most max_whitespace_run bytes and nesting at most kMaxJsonDepth. Strings must be valid UTF-8 (no overlong
// forms, no surrogates, nothing above U+10FFFF) and \u escapes must pair surrogates, as strict parsers
// require. A byte is rejected as soon as no continuation could make a valid document. Copying is cheap (24
// bytes).
class JsonRecognizer {
 public:
  explicit JsonRecognizer(int max_whitespace_run = 8);  // clamped to 0..255

  // Consumes one byte; false (state unchanged) when the byte cannot continue a valid document.
  bool push(uint8_t byte);
  // Consumes bytes until one is rejected; false if any was (the state then holds the accepted ones).
  bool push(std::string_view bytes);

  // The top-level object has been closed: only whitespace may follow.
  bool complete() const { return mode_ == Mode::kDone; }
  // Between characters inside a string: any text without '"', '\\' and control characters that is valid UTF-8
  // on its own leaves the state exactly as it was.
  bool in_string_body() const { return mode_ == Mode::kString; }

 private:
  enum class Mode : uint8_t {
    kStart,         // before the top-level object: whitespace, then '{'
    kObjectOpen,    // after '{': a key or '}'
    kKey,           // after ',' in an object: a key
    kColon,         // after a key: ':'
    kValue,         // after ':' or after ',' in an array: a value
    kArrayOpen,     // after '[': a value or ']'
    kAfterValue,    // after a value in a container: ',' or the container's closing bracket
    kDone,          // after the top-level object: whitespace only
    kString,        // inside a string (key or value, see in_key_)
    kEscape,        // after '\' in a string
    kHexEscape,     // inside \uXXXX: hex_digits_ seen, their value in code_unit_
    kLowBackslash,  // after a high-surrogate escape: must be '\' starting the low surrogate's escape
    kLowU,          // after that '\': must be 'u'
    kUtf8Tail,      // inside a multi-byte UTF-8 character: utf8_left_ continuation bytes to go
    kLiteral,       // inside true / false / null
    kNumMinus,      // after '-': a digit
    kNumZero,       // after the integer part "0": '.', an exponent or the end
    kNumInt,        // inside the integer part [1-9][0-9]*
    kNumFracStart,  // after '.': a digit
    kNumFrac,       // inside the fraction digits
    kNumExpStart,   // after 'e'/'E': a sign or a digit
    kNumExpSign,    // after the exponent's sign: a digit
    kNumExp,        // inside the exponent digits
  };

  bool push_structural(uint8_t byte);
  bool push_value_start(uint8_t byte);
  bool push_string(uint8_t byte);
  bool push_hex_digit(uint8_t byte);
  bool push_number(uint8_t byte);
  bool open_container(bool object);
  void close_value();  // a value just ended: back to its container, or done at the top level

  uint64_t objects_ = 0;  // bit d: the container at depth d+1 is an object (else an array)
  Mode mode_ = Mode::kStart;
  uint8_t depth_ = 0;   // open containers
  uint8_t ws_run_ = 0;  // whitespace bytes in a row outside strings
  uint8_t max_ws_run_;
  bool in_key_ = false;                // the string being read is an object key
  bool low_surrogate_ = false;         // the \u escape being read must be a low surrogate
  uint8_t hex_digits_ = 0;             // kHexEscape: digits read so far
  uint8_t literal_ = 0;                // kLiteral: which of true/false/null
  uint8_t literal_pos_ = 0;            // kLiteral: letters matched
  uint8_t utf8_left_ = 0;              // kUtf8Tail: continuation bytes still needed
  uint8_t utf8_lo_ = 0, utf8_hi_ = 0;  // kUtf8Tail: the range the next continuation byte must fall in
  uint16_t code_unit_ = 0;             // kHexEscape: value of the hex digits read so far
};

}  // namespace r1::server
