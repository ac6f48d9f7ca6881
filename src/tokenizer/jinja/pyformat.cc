// Python string formatting for templates: printf-style `"%5.2f" % x` (also the `format` filter) and
// `"{} {name}".format(...)`. Only the parts of the two mini-languages that plain values need are implemented; an
// unsupported specification is an error rather than a guess.
#include <cmath>
#include <cstdio>
#include <functional>

#include "tokenizer/jinja/error.h"
#include "tokenizer/jinja/ops.h"
#include "tokenizer/jinja/text.h"

namespace r1::jinja {

namespace {

struct Spec {
  char fill = ' ';
  char align = 0;  // '<', '>', '^', '=' or 0 for the type's default
  char sign = '-';
  bool alt = false;
  bool zero = false;
  int width = -1;
  int precision = -1;
  char type = 0;
};

std::string pad(std::string body, const Spec& spec, char default_align) {
  const int len = static_cast<int>(text::length(body));
  if (spec.width <= len) return body;
  const size_t n = static_cast<size_t>(spec.width - len);
  char align = spec.align ? spec.align : default_align;
  if (align == '<') return body + std::string(n, spec.fill);
  if (align == '^') return std::string(n / 2, spec.fill) + body + std::string(n - n / 2, spec.fill);
  if (align == '=') {  // padding goes between the sign / prefix and the digits
    size_t p = 0;
    if (!body.empty() && (body[0] == '-' || body[0] == '+' || body[0] == ' ')) p = 1;
    if (body.size() >= p + 2 && body[p] == '0' && std::string("xXob").find(body[p + 1]) != std::string::npos) p += 2;
    return body.substr(0, p) + std::string(n, spec.fill) + body.substr(p);
  }
  return std::string(n, spec.fill) + body;
}

std::string sign_prefix(bool negative, char sign) {
  if (negative) return "-";
  if (sign == '+') return "+";
  if (sign == ' ') return " ";
  return "";
}

std::string int_digits(int64_t v, char type, bool alt, int precision) {
  uint64_t mag = v < 0 ? uint64_t(0) - uint64_t(v) : uint64_t(v);
  int base = (type == 'x' || type == 'X') ? 16 : type == 'o' ? 8 : type == 'b' ? 2 : 10;
  const char* digits = type == 'X' ? "0123456789ABCDEF" : "0123456789abcdef";
  std::string out;
  do {
    out.insert(out.begin(), digits[mag % uint64_t(base)]);
    mag /= uint64_t(base);
  } while (mag);
  if (precision > 0 && int(out.size()) < precision) out.insert(0, size_t(precision) - out.size(), '0');
  if (alt && base != 10) out.insert(0, std::string("0") + (type == 'o' ? 'o' : type == 'b' ? 'b' : type));
  return out;
}

std::string float_digits(double v, char type, bool alt, int precision) {
  if (std::isinf(v)) return std::isupper(static_cast<unsigned char>(type)) ? "INF" : "inf";
  if (std::isnan(v)) return std::isupper(static_cast<unsigned char>(type)) ? "NAN" : "nan";
  char fmt[16];
  std::snprintf(fmt, sizeof fmt, "%%%s.%d%c", alt ? "#" : "", precision < 0 ? 6 : precision, type);
  char buf[512];
  std::snprintf(buf, sizeof buf, fmt, std::fabs(v));
  return buf;
}

// ---------------------------------------------------------------------------------------------------------------
// printf-style
// ---------------------------------------------------------------------------------------------------------------

std::string percent_one(const Value& arg, Spec spec) {
  char type = spec.type;
  if (type == 's' || type == 'r' || type == 'a') {
    std::string s = type == 's' ? to_str(arg) : repr(arg);
    if (spec.precision >= 0) s = text::encode(text::code_points(s), 0, size_t(spec.precision));
    return pad(s, spec, spec.align == '<' ? '<' : '>');
  }
  if (type == 'c') {
    std::string s;
    if (arg.is_string() && text::length(arg.str()) == 1) {
      s = arg.str();
    } else if (arg.is_int()) {
      text::append_utf8(s, static_cast<uint32_t>(arg.as_int()));
    } else {
      fail("%c requires int or char");
    }
    return pad(s, spec, spec.align == '<' ? '<' : '>');
  }
  if (!arg.is_number()) failf("%{} format: a real number is required, not {}", type, type_name(arg));
  bool is_int_type = std::string("diuxXo").find(type) != std::string::npos;
  std::string body;
  bool negative;
  if (is_int_type) {
    if (arg.is_float() && std::string("xXo").find(type) != std::string::npos) {
      failf("%{} format: an integer is required, not float", type);
    }
    int64_t v = arg.is_float() ? static_cast<int64_t>(std::trunc(arg.as_float())) : arg.as_int();
    negative = v < 0;
    body = int_digits(v, type == 'i' || type == 'u' ? 'd' : type, spec.alt, spec.precision);
  } else {
    double v = arg.as_float();
    negative = std::signbit(v) && !std::isnan(v);
    body = float_digits(v, type, spec.alt, spec.precision);
  }
  std::string sign = sign_prefix(negative, spec.sign);
  if (spec.align == '<') return pad(sign + body, spec, '<');
  if (spec.zero && std::isfinite(arg.as_float())) {
    Spec z = spec;
    z.fill = '0';
    z.align = '=';
    return pad(sign + body, z, '=');
  }
  return pad(sign + body, spec, '>');
}

}  // namespace

namespace {

// Parses flags, width, precision and the conversion of one `%` specification starting at format[*i] (just after
// the `%` and an optional `(key)`); `*` takes the width or precision from the arguments.
Spec parse_percent_spec(std::string_view format, size_t* i, const std::function<int()>& take_int) {
  Spec spec;
  size_t& k = *i;
  for (; k < format.size() && std::string_view("#0- +").find(format[k]) != std::string_view::npos; ++k) {
    char f = format[k];
    if (f == '#') spec.alt = true;
    if (f == '0') spec.zero = true;
    if (f == '-') spec.align = '<';
    if (f == '+' || (f == ' ' && spec.sign != '+')) spec.sign = f;
  }
  auto number = [&](int limit) {
    int v = 0;
    for (; k < format.size() && std::isdigit(static_cast<unsigned char>(format[k])); ++k) {
      v = v * 10 + (format[k] - '0');
      if (v > limit) fail("format width or precision too large");
    }
    return v;
  };
  if (k < format.size() && format[k] == '*') {
    spec.width = take_int(), ++k;
  } else {
    spec.width = number(100000);
  }
  if (k < format.size() && format[k] == '.') {
    ++k;
    if (k < format.size() && format[k] == '*') {
      spec.precision = take_int(), ++k;
    } else {
      spec.precision = number(1000);
    }
  }
  while (k < format.size() && (format[k] == 'h' || format[k] == 'l' || format[k] == 'L')) ++k;
  if (k >= format.size()) fail("incomplete format");
  spec.type = format[k];
  return spec;
}

}  // namespace

std::string percent_format(std::string_view format, const Value& args, size_t max_bytes) {
  std::vector<Value> positional;
  const Dict* mapping = nullptr;
  if (args.is_tuple()) {
    positional = args.items();
  } else {
    positional.push_back(args);
    if (args.is_dict()) mapping = &args.dict();
  }
  size_t next = 0;
  bool used_mapping = false;
  std::string out;
  auto take_int = [&]() -> int {
    if (next >= positional.size()) fail("not enough arguments for format string");
    const Value& v = positional[next++];
    if (!v.is_int()) fail("* wants int");
    return static_cast<int>(v.as_int());
  };
  for (size_t i = 0; i < format.size(); ++i) {
    if (format[i] != '%') {
      out.push_back(format[i]);
      continue;
    }
    if (++i >= format.size()) fail("incomplete format");
    const Value* key_value = nullptr;
    if (format[i] == '(') {
      size_t close = format.find(')', i);
      if (close == std::string_view::npos) fail("incomplete format key");
      if (!mapping) fail("format requires a mapping");
      key_value = mapping->find(format.substr(i + 1, close - i - 1));
      if (!key_value) failf("KeyError: '{}'", format.substr(i + 1, close - i - 1));
      used_mapping = true;
      i = close + 1;
    }
    Spec spec = parse_percent_spec(format, &i, take_int);
    if (spec.type == '%') {
      out.push_back('%');
      continue;
    }
    if (std::string_view("diouxXeEfFgGcrsa").find(spec.type) == std::string_view::npos) {
      failf("unsupported format character '{}'", spec.type);
    }
    const Value* arg = key_value;
    if (!arg) {
      if (next >= positional.size()) fail("not enough arguments for format string");
      arg = &positional[next++];
    }
    out += percent_one(*arg, spec);
    if (out.size() > max_bytes) failf("formatted string exceeds the limit of {} bytes", max_bytes);
  }
  // CPython skips this check when the argument supports item access (PyMapping_Check: dicts, but also lists).
  const bool mapping_like = args.is_dict() || args.is_list() || args.is_undefined();
  if (!used_mapping && next < positional.size() && !(mapping_like && next == 0)) {
    fail("not all arguments converted during string formatting");
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// str.format
// ---------------------------------------------------------------------------------------------------------------

namespace {

Spec parse_brace_spec(std::string_view s) {
  Spec spec;
  size_t i = 0;
  auto is_align = [](char c) { return c == '<' || c == '>' || c == '^' || c == '='; };
  if (s.size() >= 2 && is_align(s[1])) {
    spec.fill = s[0], spec.align = s[1], i = 2;
  } else if (!s.empty() && is_align(s[0])) {
    spec.align = s[0], i = 1;
  }
  if (i < s.size() && (s[i] == '+' || s[i] == '-' || s[i] == ' ')) spec.sign = s[i++];
  if (i < s.size() && s[i] == '#') spec.alt = true, ++i;
  if (i < s.size() && s[i] == '0') spec.zero = true, ++i;
  for (spec.width = 0; i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])); ++i) {
    spec.width = spec.width * 10 + (s[i] - '0');
    if (spec.width > 100000) fail("format width too large");
  }
  if (i < s.size() && s[i] == '.') {
    for (spec.precision = 0, ++i; i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])); ++i) {
      spec.precision = spec.precision * 10 + (s[i] - '0');
      if (spec.precision > 1000) fail("format precision too large");
    }
  }
  if (i < s.size()) spec.type = s[i++];
  if (i != s.size()) failf("unsupported format specifier '{}'", s);
  return spec;
}

std::string format_value(const Value& v, std::string_view spec_text) {
  if (spec_text.empty()) return to_str(v);
  Spec spec = parse_brace_spec(spec_text);
  if (!v.is_string() && !v.is_number()) failf("unsupported format string passed to {}.__format__", type_name(v));
  if (v.is_string()) {
    if (spec.type && spec.type != 's') failf("Unknown format code '{}' for object of type '{}'", spec.type, type_name(v));
    std::string s = to_str(v);
    if (spec.precision >= 0) s = text::encode(text::code_points(s), 0, size_t(spec.precision));
    return pad(s, spec, '<');
  }
  char type = spec.type;
  if (type == 0) type = v.is_float() ? (spec.precision >= 0 ? 'g' : 'r') : 'd';
  std::string body;
  bool negative;
  if (type == 'd' || type == 'x' || type == 'X' || type == 'o' || type == 'b') {
    if (v.is_float()) failf("Unknown format code '{}' for object of type 'float'", type);
    negative = v.as_int() < 0;
    body = int_digits(v.as_int(), type, spec.alt, -1);
  } else if (type == 'r') {  // no type and no precision: like str()
    negative = std::signbit(v.as_float());
    body = text::float_repr(std::fabs(v.as_float()));
  } else if (type == '%') {
    negative = v.as_float() < 0;
    body = float_digits(v.as_float() * 100, 'f', spec.alt, spec.precision) + "%";
  } else if (std::string("eEfFgG").find(type) != std::string::npos) {
    negative = std::signbit(v.as_float()) && !std::isnan(v.as_float());
    body = float_digits(v.as_float(), type, spec.alt, spec.precision);
  } else {
    failf("Unknown format code '{}' for object of type '{}'", type, type_name(v));
  }
  if (spec.zero && !spec.align) spec.fill = '0', spec.align = '=';
  return pad(sign_prefix(negative, spec.sign) + body, spec, '>');
}

// Resolves "0", "name", "0.attr", "name[key]" against the call arguments.
Value resolve_field(std::string_view field, const CallArgs& args, size_t* auto_index) {
  size_t end = field.find_first_of(".[");
  std::string_view head = field.substr(0, end);
  Value v;
  if (head.empty()) {
    if (*auto_index >= args.args.size()) failf("Replacement index {} out of range for positional args tuple", *auto_index);
    v = args.args[(*auto_index)++];
  } else if (std::isdigit(static_cast<unsigned char>(head[0]))) {
    size_t idx = std::stoul(std::string(head));
    if (idx >= args.args.size()) failf("Replacement index {} out of range for positional args tuple", idx);
    v = args.args[idx];
  } else {
    const Value* found = nullptr;
    for (const auto& [name, value] : args.kwargs) {
      if (name == head) found = &value;
    }
    if (!found) failf("KeyError: '{}'", head);
    v = *found;
  }
  while (end != std::string_view::npos && end < field.size()) {
    if (field[end] == '.') {
      size_t next = field.find_first_of(".[", end + 1);
      v = get_attr(v, field.substr(end + 1, next == std::string_view::npos ? next : next - end - 1));
      end = next;
    } else {
      size_t close = field.find(']', end);
      if (close == std::string_view::npos) fail("Missing ']' in format string");
      std::string_view key = field.substr(end + 1, close - end - 1);
      bool numeric = !key.empty() && key.find_first_not_of("0123456789") == std::string_view::npos;
      v = get_item(v, numeric ? Value(int64_t(std::stoll(std::string(key)))) : Value(key));
      end = close + 1;
    }
  }
  return v;
}

}  // namespace

std::string brace_format(std::string_view format, const CallArgs& args, size_t max_bytes, bool escape_fields) {
  std::string out;
  size_t auto_index = 0;
  for (size_t i = 0; i < format.size(); ++i) {
    char c = format[i];
    if (c == '}') {
      if (i + 1 < format.size() && format[i + 1] == '}') {
        out.push_back('}'), ++i;
        continue;
      }
      fail("Single '}' encountered in format string");
    }
    if (c != '{') {
      out.push_back(c);
      continue;
    }
    if (i + 1 < format.size() && format[i + 1] == '{') {
      out.push_back('{'), ++i;
      continue;
    }
    size_t close = format.find('}', i);
    if (close == std::string_view::npos) fail("Single '{' encountered in format string");
    std::string_view field = format.substr(i + 1, close - i - 1);
    if (field.find('{') != std::string_view::npos) fail("nested replacement fields are not supported");
    std::string_view spec;
    char conversion = 0;
    if (size_t colon = field.find(':'); colon != std::string_view::npos) {
      spec = field.substr(colon + 1);
      field = field.substr(0, colon);
    }
    if (size_t bang = field.find('!'); bang != std::string_view::npos) {
      if (bang + 2 != field.size()) fail("expected ':' after conversion specifier");
      conversion = field[bang + 1];
      field = field.substr(0, bang);
    }
    Value v = resolve_field(field, args, &auto_index);
    if (conversion == 'r' || conversion == 'a') v = Value(repr(v));
    if (conversion == 's') v = Value(to_str(v));
    out += escape_fields && !v.is_markup() ? text::html_escape(format_value(v, spec)) : format_value(v, spec);
    if (out.size() > max_bytes) failf("formatted string exceeds the limit of {} bytes", max_bytes);
    i = close;
  }
  return out;
}

}  // namespace r1::jinja
