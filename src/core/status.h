// Error handling for r1: a Status (ok or an error message) and Result<T> (a value or an error).
// Bad input is always reported through these, naming the file, tensor, key or field at fault; the engine never
// aborts on user data. Exceptions are not used across module boundaries.
#pragma once

#include <fmt/core.h>

#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace r1 {

class Status {
 public:
  Status() = default;  // ok
  static Status ok() { return Status(); }
  static Status error(std::string message) {
    Status s;
    s.message_ = std::move(message);
    return s;
  }
  template <typename... Args>
  static Status errorf(fmt::format_string<Args...> format, Args&&... args) {
    return error(fmt::format(format, std::forward<Args>(args)...));
  }

  bool is_ok() const { return !message_.has_value(); }
  explicit operator bool() const { return is_ok(); }
  const std::string& message() const {
    static const std::string kEmpty;
    return message_ ? *message_ : kEmpty;
  }
  // Prefixes context ("loading model.safetensors: ") to an error; ok stays ok.
  Status with_context(const std::string& context) const {
    return is_ok() ? *this : error(context + ": " + *message_);
  }

 private:
  std::optional<std::string> message_;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}                            // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) { /* must be an error */ }  // NOLINT
  bool is_ok() const { return v_.index() == 0; }
  explicit operator bool() const { return is_ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  Status status() const { return is_ok() ? Status::ok() : std::get<1>(v_); }
  const std::string& message() const { return std::get<1>(v_).message(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace r1

#define R1_CONCAT_INNER(a, b) a##b
#define R1_CONCAT(a, b) R1_CONCAT_INNER(a, b)

// Returns the error of a Status-returning expression from the enclosing function.
#define R1_RETURN_IF_ERROR(expr)                 \
  do {                                           \
    ::r1::Status r1_status_ = (expr);            \
    if (!r1_status_.is_ok()) return r1_status_;  \
  } while (0)

// `R1_ASSIGN_OR_RETURN(auto x, f());` unwraps a Result or returns its error.
#define R1_ASSIGN_OR_RETURN(lhs, expr) R1_ASSIGN_OR_RETURN_IMPL(R1_CONCAT(r1_result_, __LINE__), lhs, expr)
#define R1_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                             \
  if (!tmp.is_ok()) return tmp.status();         \
  lhs = std::move(tmp).value()
