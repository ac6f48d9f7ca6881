#include "tokenizer/jinja/lexer.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>

#include "tokenizer/jinja/error.h"
#include "tokenizer/jinja/text.h"

namespace r1::jinja {

std::string normalize_source(std::string_view source) {
  std::string out;
  out.reserve(source.size());
  for (size_t i = 0; i < source.size(); ++i) {
    if (source[i] == '\r') {
      out.push_back('\n');
      if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
    } else {
      out.push_back(source[i]);
    }
  }
  if (!out.empty() && out.back() == '\n') out.pop_back();  // keep_trailing_newline=False
  return out;
}

namespace {

[[noreturn]] void fail_at(size_t offset, std::string message) {
  throw Error{std::move(message), static_cast<uint32_t>(offset)};
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

class Lexer {
 public:
  explicit Lexer(std::string_view src) : src_(src) {}

  std::vector<Token> run() {
    size_t pos = 0;
    while (pos < src_.size()) pos = lex_root(pos);
    push(Tok::kEof, src_.size());
    return std::move(tokens_);
  }

 private:
  std::string_view src_;
  std::vector<Token> tokens_;
  bool line_starting_ = true;  // the previous match ended with a newline (jinja2's lstrip_blocks condition)

  Token& push(Tok type, size_t offset, std::string text = {}) {
    tokens_.push_back(Token{type, static_cast<uint32_t>(offset), std::move(text)});
    return tokens_.back();
  }

  bool starts_with(size_t pos, std::string_view s) const { return src_.substr(pos, s.size()) == s; }

  void consumed(size_t end) { line_starting_ = end > 0 && src_[end - 1] == '\n'; }

  size_t skip_space(size_t pos) const {
    while (pos < src_.size()) {
      text::Decoded d = text::decode_at(src_, pos);
      if (!text::is_space(d.cp)) break;
      pos += d.len;
    }
    return pos;
  }

  // ---- template data -------------------------------------------------------------------------------------------

  // Applies the whitespace control of the tag that follows `data`: `-` strips all trailing whitespace,
  // lstrip_blocks strips the spaces before a block/comment tag that starts its line, `+` disables lstrip.
  std::string strip_before_tag(std::string_view data, bool is_variable, char sign) const {
    if (sign == '-') {
      size_t end = data.size();
      while (end > 0) {
        size_t start = end - 1;
        while (start > 0 && (static_cast<unsigned char>(data[start]) & 0xC0) == 0x80) --start;
        if (!text::is_space(text::decode_at(data, start).cp)) break;
        end = start;
      }
      return std::string(data.substr(0, end));
    }
    if (sign == '+' || is_variable) return std::string(data);
    size_t line_start = data.rfind('\n');
    line_start = line_start == std::string_view::npos ? 0 : line_start + 1;
    if (line_start == 0 && !line_starting_) return std::string(data);
    std::string_view rest = data.substr(line_start);
    if (rest.empty()) return std::string(data);
    for (size_t i = 0; i < rest.size();) {
      text::Decoded d = text::decode_at(rest, i);
      if (!text::is_space(d.cp)) return std::string(data);
      i += d.len;
    }
    return std::string(data.substr(0, line_start));
  }

  void push_data(std::string data, size_t offset) {
    if (!data.empty()) push(Tok::kData, offset, std::move(data));
  }

  size_t find_tag(size_t pos) const {
    for (size_t k = src_.find('{', pos); k != std::string_view::npos; k = src_.find('{', k + 1)) {
      if (k + 1 < src_.size() && (src_[k + 1] == '%' || src_[k + 1] == '{' || src_[k + 1] == '#')) return k;
    }
    return std::string_view::npos;
  }

  char sign_at(size_t pos) const {
    return pos < src_.size() && (src_[pos] == '-' || src_[pos] == '+') ? src_[pos] : 0;
  }

  size_t lex_root(size_t pos) {
    size_t k = find_tag(pos);
    if (k == std::string_view::npos) {
      push_data(std::string(src_.substr(pos)), pos);
      return src_.size();
    }
    const char kind = src_[k + 1];
    const char sign = sign_at(k + 2);
    std::string_view data = src_.substr(pos, k - pos);
    size_t raw_body = 0;
    if (kind == '%' && match_raw_begin(k, &raw_body)) {
      push_data(strip_before_tag(data, false, sign), pos);
      consumed(raw_body);
      return lex_raw_body(raw_body);
    }
    push_data(strip_before_tag(data, kind == '{', sign), pos);
    size_t after = k + 2 + (sign ? 1 : 0);
    consumed(after);
    if (kind == '#') return lex_comment(k, after);
    push(kind == '%' ? Tok::kBlockBegin : Tok::kVarBegin, k);
    return lex_tag(after, kind == '%');
  }

  // ---- comments and raw blocks ---------------------------------------------------------------------------------

  size_t lex_comment(size_t begin, size_t pos) {
    size_t q = src_.find("#}", pos);
    if (q == std::string_view::npos) fail_at(begin, "missing end of comment tag");
    size_t end;
    if (q > pos && src_[q - 1] == '-') {
      end = skip_space(q + 2);
    } else if (q > pos && src_[q - 1] == '+') {
      end = q + 2;
    } else {
      end = q + 2;
      if (end < src_.size() && src_[end] == '\n') ++end;  // trim_blocks applies to comments too
    }
    consumed(end);
    return end;
  }

  // `{% raw %}` (with optional markers); on success *body is the offset after the tag.
  bool match_raw_begin(size_t k, size_t* body) const {
    size_t p = k + 2;
    if (sign_at(p)) ++p;
    p = skip_space(p);
    if (!starts_with(p, "raw")) return false;
    p = skip_space(p + 3);
    if (starts_with(p, "-%}")) {
      *body = skip_space(p + 3);
      return true;
    }
    if (starts_with(p, "%}")) {
      *body = p + 2;
      return true;
    }
    return false;
  }

  size_t lex_raw_body(size_t body) {
    for (size_t k = src_.find("{%", body); k != std::string_view::npos; k = src_.find("{%", k + 1)) {
      const char sign = sign_at(k + 2);
      size_t p = skip_space(k + 2 + (sign ? 1 : 0));
      if (!starts_with(p, "endraw")) continue;
      p = skip_space(p + 6);
      size_t end;
      if (starts_with(p, "+%}")) {
        end = p + 3;
      } else if (starts_with(p, "-%}")) {
        end = skip_space(p + 3);
      } else if (starts_with(p, "%}")) {
        end = p + 2;
        if (end < src_.size() && src_[end] == '\n') ++end;
      } else {
        continue;
      }
      push_data(strip_before_tag(src_.substr(body, k - body), false, sign), body);
      consumed(end);
      return end;
    }
    fail_at(body, "missing end of raw directive");
  }

  // ---- inside {% %} and {{ }} ----------------------------------------------------------------------------------

  // Returns the end of the closing delimiter at pos, or npos.
  size_t match_tag_end(size_t pos, bool block) const {
    if (block) {
      if (starts_with(pos, "+%}")) return pos + 3;
      if (starts_with(pos, "-%}")) return skip_space(pos + 3);
      if (starts_with(pos, "%}")) return pos + 2 + (pos + 2 < src_.size() && src_[pos + 2] == '\n' ? 1 : 0);
      return std::string_view::npos;
    }
    if (starts_with(pos, "-}}")) return skip_space(pos + 3);
    if (starts_with(pos, "}}")) return pos + 2;
    return std::string_view::npos;
  }

  size_t lex_tag(size_t pos, bool block) {
    std::string brackets;  // expected closers; end delimiters only count when every bracket is closed
    while (pos < src_.size()) {
      if (brackets.empty()) {
        size_t end = match_tag_end(pos, block);
        if (end != std::string_view::npos) {
          push(block ? Tok::kBlockEnd : Tok::kVarEnd, pos);
          consumed(end);
          return end;
        }
      }
      size_t next = skip_space(pos);
      if (next > pos) {
        pos = next;
        continue;
      }
      pos = lex_token(pos, &brackets);
    }
    return pos;  // unterminated tag: the parser reports the unexpected end of the template
  }

  size_t lex_token(size_t pos, std::string* brackets) {
    size_t end;
    if ((end = lex_float(pos)) != std::string_view::npos) return end;
    if ((end = lex_int(pos)) != std::string_view::npos) return end;
    if ((end = lex_name(pos)) != std::string_view::npos) return end;
    if ((end = lex_string(pos)) != std::string_view::npos) return end;
    return lex_operator(pos, brackets);
  }

  // Digits with single underscores between them, as in Python literals; npos when none.
  size_t scan_digits(size_t pos) const {
    if (pos >= src_.size() || !is_digit(src_[pos])) return std::string_view::npos;
    while (pos < src_.size()) {
      if (is_digit(src_[pos])) {
        ++pos;
      } else if (src_[pos] == '_' && pos + 1 < src_.size() && is_digit(src_[pos + 1])) {
        pos += 2;
      } else {
        break;
      }
    }
    return pos;
  }

  size_t scan_exponent(size_t pos) const {
    if (pos >= src_.size() || (src_[pos] != 'e' && src_[pos] != 'E')) return std::string_view::npos;
    ++pos;
    if (pos < src_.size() && (src_[pos] == '+' || src_[pos] == '-')) ++pos;
    return scan_digits(pos);
  }

  static std::string without_underscores(std::string_view s) {
    std::string out;
    for (char c : s) {
      if (c != '_') out.push_back(c);
    }
    return out;
  }

  size_t lex_float(size_t pos) {
    if (pos > 0 && src_[pos - 1] == '.') return std::string_view::npos;  // jinja2's (?<!\.)
    size_t a = scan_digits(pos);
    if (a == std::string_view::npos) return a;
    size_t end = std::string_view::npos;
    if (a < src_.size() && src_[a] == '.') {
      size_t b = scan_digits(a + 1);
      if (b != std::string_view::npos) {
        size_t e = scan_exponent(b);
        end = e != std::string_view::npos ? e : b;
      }
    }
    if (end == std::string_view::npos) end = scan_exponent(a);
    if (end == std::string_view::npos) return end;
    Token& t = push(Tok::kFloat, pos, std::string(src_.substr(pos, end - pos)));
    t.float_value = std::strtod(without_underscores(t.text).c_str(), nullptr);
    return end;
  }

  size_t lex_int(size_t pos) {
    if (!is_digit(src_[pos])) return std::string_view::npos;
    int base = 10;
    size_t end = pos;
    auto digits_of = [&](size_t p, auto pred) {  // (_?digit)+
      size_t q = p;
      while (true) {
        size_t r = q < src_.size() && src_[q] == '_' ? q + 1 : q;
        if (r < src_.size() && pred(src_[r])) {
          q = r + 1;
        } else {
          break;
        }
      }
      return q == p ? std::string_view::npos : q;
    };
    char c1 = pos + 1 < src_.size() ? static_cast<char>(src_[pos + 1] | 0x20) : 0;
    if (src_[pos] == '0' && (c1 == 'b' || c1 == 'o' || c1 == 'x')) {
      base = c1 == 'b' ? 2 : c1 == 'o' ? 8 : 16;
      end = digits_of(pos + 2, [base](char c) { return base == 16 ? is_hex(c) : c >= '0' && c < char('0' + base); });
    }
    if (base == 10 || end == std::string_view::npos) {
      base = 10;
      if (src_[pos] == '0') {
        size_t z = digits_of(pos + 1, [](char c) { return c == '0'; });
        end = z == std::string_view::npos ? pos + 1 : z;
      } else {
        size_t d = digits_of(pos + 1, is_digit);
        end = d == std::string_view::npos ? pos + 1 : d;
      }
    }
    std::string digits = without_underscores(src_.substr(pos + (base == 10 ? 0 : 2), end - pos - (base == 10 ? 0 : 2)));
    errno = 0;
    char* parse_end = nullptr;
    unsigned long long v = std::strtoull(digits.c_str(), &parse_end, base);
    if (errno == ERANGE || v > uint64_t(INT64_MAX)) fail_at(pos, "integer literal too large (r1 integers are 64-bit)");
    Token& t = push(Tok::kInt, pos, std::string(src_.substr(pos, end - pos)));
    t.int_value = static_cast<int64_t>(v);
    return end;
  }

  size_t lex_name(size_t pos) {
    size_t end = pos;
    while (end < src_.size()) {
      char c = src_[end];
      if (c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (end > pos && is_digit(c))) {
        ++end;
        continue;
      }
      if (static_cast<unsigned char>(c) < 0x80) break;
      text::Decoded d = text::decode_at(src_, end);
      if (!text::is_identifier_cp(d.cp)) break;
      end += d.len;
    }
    if (end == pos) return std::string_view::npos;
    push(Tok::kName, pos, std::string(src_.substr(pos, end - pos)));
    return end;
  }

  size_t lex_string(size_t pos) {
    const char quote = src_[pos];
    if (quote != '\'' && quote != '"') return std::string_view::npos;
    size_t j = pos + 1;
    while (j < src_.size() && src_[j] != quote) j += src_[j] == '\\' ? 2 : 1;
    if (j >= src_.size()) return std::string_view::npos;  // unterminated: reported as an unexpected char
    push(Tok::kString, pos, unescape(src_.substr(pos + 1, j - pos - 1), pos));
    return j + 1;
  }

  // Python's "unicode-escape" decoding, applied by jinja2 to string literals.
  static std::string unescape(std::string_view s, size_t offset) {
    std::string out;
    for (size_t i = 0; i < s.size();) {
      if (s[i] != '\\') {
        size_t n = text::decode_at(s, i).len;
        out.append(s.substr(i, n));
        i += n;
        continue;
      }
      text::Decoded next = text::decode_at(s, i + 1);
      i += 1 + next.len;
      if (next.cp >= 0x80) {
        // jinja2 first encodes non-ASCII characters as backslash escapes, so "\é" decodes to the text "\xe9".
        char buf[16];
        std::snprintf(buf, sizeof buf, next.cp <= 0xFF ? "\\x%02x" : next.cp <= 0xFFFF ? "\\u%04x" : "\\U%08x",
                      next.cp);
        out += buf;
        continue;
      }
      switch (char c = static_cast<char>(next.cp)) {
        case '\n': break;  // line continuation
        case '\\': case '\'': case '"': out.push_back(c); break;
        case 'a': out.push_back('\a'); break;
        case 'b': out.push_back('\b'); break;
        case 'f': out.push_back('\f'); break;
        case 'n': out.push_back('\n'); break;
        case 'r': out.push_back('\r'); break;
        case 't': out.push_back('\t'); break;
        case 'v': out.push_back('\v'); break;
        case '0': case '1': case '2': case '3': case '4': case '5': case '6': case '7': {
          uint32_t v = uint32_t(c - '0');
          for (int k = 0; k < 2 && i < s.size() && s[i] >= '0' && s[i] <= '7'; ++k) v = v * 8 + uint32_t(s[i++] - '0');
          text::append_utf8(out, v);
          break;
        }
        case 'x': case 'u': case 'U': {
          size_t n = c == 'x' ? 2 : c == 'u' ? 4 : 8;
          if (i + n > s.size()) fail_at(offset, fmt::format("truncated \\{} escape in string literal", c));
          uint32_t v = 0;
          for (size_t k = 0; k < n; ++k, ++i) {
            if (!is_hex(s[i])) fail_at(offset, fmt::format("truncated \\{} escape in string literal", c));
            v = v * 16 + uint32_t(is_digit(s[i]) ? s[i] - '0' : (s[i] | 0x20) - 'a' + 10);
          }
          if (v > 0x10FFFF) fail_at(offset, "illegal Unicode character in string literal");
          text::append_utf8(out, v);
          break;
        }
        case 'N': fail_at(offset, "\\N{...} escapes are not supported");
        default:  // unknown escapes stay as written
          out.push_back('\\');
          out.push_back(c);
      }
    }
    return out;
  }

  size_t lex_operator(size_t pos, std::string* brackets) {
    static constexpr std::string_view kTwo[] = {"**", "//", "==", "!=", ">=", "<="};
    for (std::string_view op : kTwo) {
      if (starts_with(pos, op)) {
        push(Tok::kOperator, pos, std::string(op));
        return pos + 2;
      }
    }
    const char c = src_[pos];
    if (std::string_view("+-/*%~[](){}><=.:|,;").find(c) == std::string_view::npos) {
      text::Decoded d = text::decode_at(src_, pos);
      fail_at(pos, fmt::format("unexpected char '{}'", src_.substr(pos, d.len)));
    }
    if (c == '(' || c == '[' || c == '{') brackets->push_back(c == '(' ? ')' : c == '[' ? ']' : '}');
    if (c == ')' || c == ']' || c == '}') {
      if (brackets->empty()) fail_at(pos, fmt::format("unexpected '{}'", c));
      char expected = brackets->back();
      if (expected != c) fail_at(pos, fmt::format("unexpected '{}', expected '{}'", c, expected));
      brackets->pop_back();
    }
    push(Tok::kOperator, pos, std::string(1, c));
    return pos + 1;
  }
};

}  // namespace

std::vector<Token> tokenize(std::string_view source) { return Lexer(source).run(); }

}  // namespace r1::jinja
