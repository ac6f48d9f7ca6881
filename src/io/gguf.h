// GGUF files (llama.cpp's single-file format, versions 2 and 3), read in place from a memory-mapped file:
// the header, every metadata key/value (all scalar types, strings, arrays of any of them, arrays of arrays),
// the tensor info table and the tensor data offsets. Everything is validated while parsing — sizes and counts
// against the bytes left, known types, alignment, tensors inside the file and not overlapping — so a corrupt
// or truncated file is an error naming the file and the key or tensor at fault, never a crash or a huge
// allocation. Metadata key strings live in io/gguf_keys.h.
//
// Layout (little-endian): "GGUF" | u32 version | u64 n_tensors | u64 n_kv | n_kv x (string key, u32 type,
// value) | n_tensors x (string name, u32 n_dims, u64 ne[n_dims], u32 ggml type, u64 offset) | padding to
// `general.alignment` | tensor data. A string is u64 length + bytes; an array is u32 element type + u64 count
// + elements.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/status.h"

namespace r1 {

class MappedFile;

enum class GgufType : uint32_t {
  kUint8 = 0,
  kInt8 = 1,
  kUint16 = 2,
  kInt16 = 3,
  kUint32 = 4,
  kInt32 = 5,
  kFloat32 = 6,
  kBool = 7,
  kString = 8,
  kArray = 9,
  kUint64 = 10,
  kInt64 = 11,
  kFloat64 = 12,
};
std::string_view gguf_type_name(GgufType type);  // "uint32", "string", "array", ...

struct GgufArray;

// One metadata value. Strings are views into the file; numeric arrays stay packed in the file.
class GgufValue {
 public:
  GgufType type() const { return type_; }
  // Any integer type whose value fits (bool is not an integer here).
  std::optional<int64_t> as_int() const;
  // Any float or integer type.
  std::optional<double> as_float() const;
  std::optional<bool> as_bool() const;
  std::optional<std::string_view> as_string() const;
  const GgufArray* as_array() const { return array_.get(); }
  // "uint32", "array of string", "array of array of int32", ...
  std::string type_string() const;

 private:
  friend class GgufParser;
  GgufType type_ = GgufType::kUint8;
  uint64_t bits_ = 0;                       // scalar payload as read (zero-extended little-endian bytes)
  std::string_view str_;                    // kString
  std::shared_ptr<const GgufArray> array_;  // kArray
};

struct GgufArray {
  GgufType type = GgufType::kUint8;       // element type
  uint64_t size = 0;                      // element count
  const uint8_t* raw = nullptr;           // packed elements of scalar numeric/bool type, in the file
  std::vector<std::string_view> strings;  // [size] when type is kString
  std::vector<GgufValue> arrays;          // [size] when type is kArray

  // Element i (< size) of a numeric array: an integer type's value, or a float/integer type as double.
  // nullopt for other element types (and for a uint64 above INT64_MAX).
  std::optional<int64_t> int_at(uint64_t i) const;
  std::optional<double> float_at(uint64_t i) const;
};

// ggml tensor element types: name, elements per block and bytes per block (ggml's type_traits).
struct GgmlTypeInfo {
  std::string_view name;
  uint32_t block_size;
  uint32_t type_size;
};
// nullptr for ids that are not (or no longer) ggml types.
const GgmlTypeInfo* ggml_type_info(uint32_t type);

struct GgufTensorInfo {
  std::string name;
  uint32_t type = 0;           // ggml type id (see ggml_type_info)
  std::vector<uint64_t> dims;  // ggml order: dims[0] is the innermost (contiguous) dimension
  uint64_t offset = 0;         // from the start of the data section; a multiple of the alignment
  uint64_t nbytes = 0;         // size of the data
};

class GgufFile {
 public:
  static constexpr uint32_t kDefaultAlignment = 32;

  static Result<GgufFile> open(const std::string& path);
  // Parses bytes held in memory (`name` stands for the path in messages): tests and fuzzing.
  static Result<GgufFile> from_bytes(std::vector<uint8_t> bytes, std::string name);

  const std::string& path() const { return name_; }
  uint32_t version() const { return version_; }
  uint32_t alignment() const { return alignment_; }
  uint64_t data_offset() const { return data_offset_; }  // absolute file offset of the tensor data section

  struct KeyValue {
    std::string_view key;
    GgufValue value;
  };
  const std::vector<KeyValue>& metadata() const { return kv_; }  // in file order
  const GgufValue* find(std::string_view key) const;             // nullptr when absent

  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }  // in file order
  const GgufTensorInfo* find_tensor(std::string_view name) const;
  std::span<const uint8_t> tensor_data(const GgufTensorInfo& t) const;

  // Required keys of one type: a missing key or another type is an error naming the file and the key.
  Result<std::string_view> get_string(std::string_view key) const;
  Result<int64_t> get_int(std::string_view key) const;  // any integer type
  Result<bool> get_bool(std::string_view key) const;
  // An array whose elements are `element` (kInt32 here accepts any integer type, kFloat32 any number).
  Result<const GgufArray*> get_array(std::string_view key, GgufType element) const;
  // The error for a key present with the wrong type ("<file>: metadata key \"k\" is a string, expected ...").
  Status type_error(std::string_view key, std::string_view expected) const;

 private:
  friend class GgufParser;
  std::string name_;
  std::shared_ptr<const void> owner_;  // the mapping or the byte buffer the views point into
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  uint32_t version_ = 0;
  uint32_t alignment_ = kDefaultAlignment;
  uint64_t data_offset_ = 0;
  std::vector<KeyValue> kv_;
  std::unordered_map<std::string_view, size_t> kv_index_;  // keys are views into the file
  std::vector<GgufTensorInfo> tensors_;
  std::map<std::string, size_t, std::less<>> tensor_index_;
};

}  // namespace r1
