// Writing .safetensors files (the reader is io/safetensors.h): what the trainer's checkpoints are made of.
// Layout (https://github.com/huggingface/safetensors): an 8-byte little-endian header length, the JSON header
// {name: {dtype, shape, data_offsets}, "__metadata__": {"format": "pt"}} padded with spaces so the data starts
// 8-byte aligned, then every tensor's bytes back to back in the header's order.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/status.h"

namespace r1 {

struct SafetensorsEntry {
  std::string name;
  DType dtype = DType::kF32;    // any dtype a safetensors file can hold (F32, F16, BF16, I32, ...)
  std::vector<int64_t> shape;   // PyTorch order; empty for a scalar
  const void* data = nullptr;   // shape's product elements of dtype
};

// Writes `tensors` to `path` (replacing it). Names must be unique and non-empty. transformers wants the
// "format": "pt" metadata, which is always written.
Status write_safetensors(const std::string& path, std::span<const SafetensorsEntry> tensors);

}  // namespace r1
