// safetensors files and the weights of a Hugging Face folder (one file, or shards listed in
// model.safetensors.index.json). Tensors are views into the memory-mapped files. Every header is validated before
// any tensor is handed out: a malformed file is an error naming the file and tensor, never a crash.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"
#include "io/mmap.h"

namespace r1 {

// One parsed .safetensors file.
class SafetensorsFile {
 public:
  static Result<SafetensorsFile> open(const std::string& path);
  // Validates the header of an already mapped file and builds the tensor table.
  static Result<SafetensorsFile> parse(std::shared_ptr<MappedFile> file);

  const std::map<std::string, Tensor>& tensors() const { return tensors_; }
  const std::string& path() const { return file_->path(); }
  const MappedFile& mapping() const { return *file_; }

 private:
  std::shared_ptr<MappedFile> file_;
  std::map<std::string, Tensor> tensors_;
  std::vector<std::shared_ptr<std::vector<uint64_t>>> realigned_;  // copies of tensors the file left unaligned
};

// Every tensor of a model folder, by name. Loaders take tensors with get(), which checks the shape; afterwards
// unused() lists tensors the architecture did not ask for.
class WeightStore {
 public:
  static Result<WeightStore> open_dir(const std::string& dir);

  bool has(const std::string& name) const { return where_.count(name) != 0; }
  // The tensor `name`, which must have exactly `shape` and a floating or block-quantized dtype (F32, F16, BF16,
  // Q8_0, Q4_0, Q4_K, Q6_K; F8_E4M3 too when allow_fp8, for loaders that dequantise it).
  Result<Tensor> get(const std::string& name, std::vector<int64_t> shape, bool allow_fp8 = false);
  // Drops the mapped pages of a tensor that has been converted (MappedFile::release); no-op for other memory.
  void release(const Tensor& t) const;
  // Registers a tensor that lives elsewhere (a GGUF file's mapping, a derived buffer) under `name`; `owner` keeps
  // its memory alive as long as the store. Replaces an earlier tensor of the same name.
  void add(const std::string& name, Tensor t, std::shared_ptr<const void> owner);
  // Where error messages say the weights come from (a folder or a .gguf file).
  const std::string& source() const { return source_; }
  void set_source(std::string s) { source_ = std::move(s); }
  // Weight type that Linear weights are converted to at load time (LoadOptions::quant); see model/blocks/load.h.
  const std::string& quant_recipe() const { return quant_recipe_; }
  void set_quant_recipe(std::string r) { quant_recipe_ = std::move(r); }
  // Whether any tensor is a routed expert ("*.mlp.experts.*"): quant recipes treat MoE models differently.
  bool is_moe() const;
  // Every tensor whose name starts with `prefix`, marked used (layers kept but not run, such as DeepSeek-V3's MTP).
  std::map<std::string, Tensor> take_prefix(const std::string& prefix);
  // Keeps `data` alive as long as the store and returns a view of it: weights derived at load time.
  Tensor adopt(std::vector<float> data, std::vector<int64_t> shape);
  // The same for raw bytes of `dtype` (a quantized copy made at load time).
  Tensor adopt_bytes(std::vector<uint8_t> data, DType dtype, std::vector<int64_t> shape);
  std::vector<std::string> unused() const;
  std::vector<std::string> names() const;
  // Total bytes of all tensors, and the dtype most of the bytes are in (what `r1 info` reports).
  size_t total_bytes() const;
  int64_t total_elements() const;
  DType main_dtype() const;

 private:
  std::vector<SafetensorsFile> files_;
  std::map<std::string, std::pair<size_t, Tensor>> where_;  // name -> (file index, tensor)
  std::set<std::string> used_;
  std::vector<std::shared_ptr<const void>> owned_;  // adopt()ed and add()ed buffers
  std::string source_;
  std::string quant_recipe_;
};

}  // namespace r1
