// Writes GGUF v3 files (llama.cpp's format; see io/gguf.h for the layout): metadata of every type llama.cpp
// uses, then the tensor table and the tensor data, each tensor aligned to `general.alignment`. The file is written
// to a temporary name beside the target and renamed into place, so an interrupted write never leaves a partial
// file under the final name.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/status.h"

namespace r1 {

class GgufWriter {
 public:
  explicit GgufWriter(uint32_t alignment = 32);
  ~GgufWriter();
  GgufWriter(GgufWriter&&) noexcept;
  GgufWriter& operator=(GgufWriter&&) noexcept;

  // Metadata, kept in insertion order; setting a key again replaces its value.
  void set_u32(const std::string& key, uint32_t v);
  void set_i32(const std::string& key, int32_t v);
  void set_u64(const std::string& key, uint64_t v);
  void set_f32(const std::string& key, float v);
  void set_bool(const std::string& key, bool v);
  void set_string(const std::string& key, const std::string& v);
  void set_string_array(const std::string& key, const std::vector<std::string>& v);
  void set_i32_array(const std::string& key, const std::vector<int32_t>& v);
  void set_f32_array(const std::string& key, const std::vector<float>& v);

  // A tensor of `type` (F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q6_K) with `shape` in PyTorch order (outermost first;
  // the file stores ggml order, innermost first). `data` is exactly dtype_row_bytes(type, numel) bytes and is
  // moved in. Tensors are written in the order added. Errors (wrong size, duplicate name) are reported by write().
  void add_tensor(const std::string& name, DType type, std::vector<int64_t> shape, std::vector<uint8_t> data);

  // Writes everything to `path` atomically (temporary file + rename).
  Status write(const std::string& path) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace r1
