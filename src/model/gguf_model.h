// GGUF model files for the llama, qwen2 and deepseek2 architectures, both ways: loading a .gguf as a Model (its
// metadata becomes the config, its tensors are used in place from the mapping), and the Hugging Face -> GGUF
// mapping `r1 quantize` writes with (tensor names, llama.cpp's hyperparameter keys, the row order llama.cpp
// expects for llama's q/k projections, routed experts stacked into one tensor per layer).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"
#include "io/gguf_writer.h"
#include "model/model.h"

namespace r1 {

// Loads a .gguf file (load_model calls this for a path ending in ".gguf").
Result<std::unique_ptr<Model>> load_gguf_model(const std::string& path, const LoadOptions& options);

// The weights and hyperparameters of a Hugging Face folder written into `out` as llama.cpp lays them out, each
// Linear weight converted per `quant_recipe` (quant_type_for in model/blocks/load.h; empty keeps the stored
// type, with BF16 kept as BF16), norms and biases in F32. Tokenizer metadata is not written here.
Status export_gguf_model(const std::string& hf_dir, const std::string& quant_recipe, GgufWriter& out);

}  // namespace r1
