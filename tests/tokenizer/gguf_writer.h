// A minimal GGUF writer for tests, written from the format description independently of the reader: metadata
// of any type, tensors with aligned (or deliberately wrong) offsets. Used by tests/io/gguf_test.cc and the
// GGUF tokenizer tests.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace r1::gguf_test {

// Little-endian encodings of GGUF's building blocks.
template <typename T>
std::string le(T v) {
  std::string s(sizeof(T), '\0');
  std::memcpy(s.data(), &v, sizeof(T));
  return s;
}
inline std::string str(const std::string& s) {
  return le<uint64_t>(s.size()) + s;
}

// GGUF value type ids.
enum : uint32_t {
  kU8 = 0,
  kI8 = 1,
  kU16 = 2,
  kI16 = 3,
  kU32 = 4,
  kI32 = 5,
  kF32 = 6,
  kBool = 7,
  kString = 8,
  kArray = 9,
  kU64 = 10,
  kI64 = 11,
  kF64 = 12,
};

// An array payload (element type, count, elements), for kv(key, kArray, ...).
inline std::string array_payload(uint32_t elem_type, const std::vector<std::string>& encoded_items) {
  std::string s = le<uint32_t>(elem_type) + le<uint64_t>(encoded_items.size());
  for (const auto& item : encoded_items) s += item;
  return s;
}
inline std::string string_array(const std::vector<std::string>& items) {
  std::vector<std::string> enc;
  for (const auto& i : items) enc.push_back(str(i));
  return array_payload(kString, enc);
}
template <typename T>
std::string scalar_array(uint32_t elem_type, const std::vector<T>& items) {
  std::vector<std::string> enc;
  for (T i : items) enc.push_back(le<T>(i));
  return array_payload(elem_type, enc);
}

class GgufWriter {
 public:
  GgufWriter& version(uint32_t v) {
    version_ = v;
    return *this;
  }
  // One key/value: `payload` is the encoded value (see le, str, array_payload).
  GgufWriter& kv(const std::string& key, uint32_t type, const std::string& payload) {
    kv_ += str(key) + le<uint32_t>(type) + payload;
    ++n_kv_;
    return *this;
  }
  GgufWriter& kv_string(const std::string& key, const std::string& v) { return kv(key, kString, str(v)); }
  GgufWriter& kv_u32(const std::string& key, uint32_t v) { return kv(key, kU32, le(v)); }
  GgufWriter& kv_bool(const std::string& key, bool v) { return kv(key, kBool, le<uint8_t>(v ? 1 : 0)); }
  GgufWriter& alignment(uint32_t a) {
    alignment_ = a;
    return kv_u32("general.alignment", a);
  }
  // A tensor whose data follows the previous one at the next aligned offset (or at `offset` when given).
  GgufWriter& tensor(const std::string& name, uint32_t ggml_type, const std::vector<uint64_t>& dims,
                     const std::string& data, int64_t offset = -1) {
    uint64_t off = offset >= 0 ? uint64_t(offset) : (data_.size() + alignment_ - 1) / alignment_ * alignment_;
    infos_ += str(name) + le<uint32_t>(uint32_t(dims.size()));
    for (uint64_t d : dims) infos_ += le(d);
    infos_ += le<uint32_t>(ggml_type) + le<uint64_t>(off);
    if (data_.size() < off + data.size()) data_.resize(off + data.size(), '\0');
    data_.replace(off, data.size(), data);
    ++n_tensors_;
    return *this;
  }

  std::string image() const {
    std::string s = "GGUF" + le(version_) + le(n_tensors_) + le(n_kv_) + kv_ + infos_;
    if (n_tensors_ > 0) {
      s.resize((s.size() + alignment_ - 1) / alignment_ * alignment_, '\0');
      s += data_;
    }
    return s;
  }
  std::vector<uint8_t> bytes() const {
    const std::string s = image();
    return std::vector<uint8_t>(s.begin(), s.end());
  }

 private:
  uint32_t version_ = 3;
  uint64_t n_kv_ = 0, n_tensors_ = 0;
  uint32_t alignment_ = 32;
  std::string kv_, infos_, data_;
};

inline std::vector<uint8_t> to_bytes(const std::string& s) {
  return std::vector<uint8_t>(s.begin(), s.end());
}

}  // namespace r1::gguf_test
