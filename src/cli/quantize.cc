// `r1 quantize`: a Hugging Face model folder written as one GGUF file (weights converted per --type,
// llama.cpp's tensor names and hyperparameter keys, and the tokenizer), then read back to print a summary.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>

#include "cli/common.h"
#include "io/gguf.h"
#include "io/gguf_writer.h"
#include "io/hf_config.h"
#include "model/gguf_model.h"
#include "tokenizer/gguf_export.h"

namespace r1::cli {

namespace {

struct QuantizeFlags {
  std::string model;
  std::string output;
  std::string type;
};
QuantizeFlags g_quantize;

// Unquantized exports on top of the quant recipes.
const std::vector<std::string> kFloatTypes = {"f32", "f16", "bf16"};

std::vector<std::string> allowed_types() {
  std::vector<std::string> types = quant_recipes();
  types.insert(types.end(), kFloatTypes.begin(), kFloatTypes.end());
  return types;
}

Status quantize(const QuantizeFlags& f) {
  const auto start = std::chrono::steady_clock::now();
  const std::vector<std::string> types = allowed_types();
  if (std::find(types.begin(), types.end(), f.type) == types.end()) {
    return Status::errorf("--type {}: not one of {}", f.type, fmt::join(types, ", "));
  }
  R1_ASSIGN_OR_RETURN(auto tokenizer, Tokenizer::load_dir(f.model));
  GgufWriter writer;
  R1_RETURN_IF_ERROR(export_gguf_model(f.model, f.type, writer));
  R1_ASSIGN_OR_RETURN(HfConfig config, HfConfig::load((std::filesystem::path(f.model) / "config.json").string()));
  R1_ASSIGN_OR_RETURN(int64_t vocab_size, config.get_int("vocab_size"));
  R1_RETURN_IF_ERROR(write_gguf_tokenizer(*tokenizer, writer, vocab_size).with_context(f.model));
  R1_RETURN_IF_ERROR(writer.write(f.output));
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  // The summary comes from the file as written, read back with the validating reader.
  R1_ASSIGN_OR_RETURN(GgufFile file, GgufFile::open(f.output));
  std::map<std::string, std::pair<int64_t, uint64_t>> per_type;  // type -> (tensors, bytes)
  uint64_t weights = 0, bytes = 0;
  for (const GgufTensorInfo& t : file.tensors()) {
    const GgmlTypeInfo* info = ggml_type_info(t.type);
    auto& [count, nbytes] =
        per_type[info != nullptr ? std::string(info->name) : fmt::format("type {}", t.type)];
    ++count;
    nbytes += t.nbytes;
    uint64_t numel = 1;
    for (uint64_t d : t.dims) numel *= d;
    weights += numel;
    bytes += t.nbytes;
  }
  std::error_code ec;
  const uintmax_t file_size = std::filesystem::file_size(f.output, ec);
  fmt::print("wrote {} ({} tensors, {:.1f} MiB) in {:.1f} s\n", f.output, file.tensors().size(),
             double(file_size) / (1 << 20), seconds);
  for (const auto& [type, cb] : per_type) {
    fmt::print("  {:>6}: {:5} tensors, {:10.2f} MiB\n", type, cb.first, double(cb.second) / (1 << 20));
  }
  fmt::print("  {:.3f} bits per weight over {} weights\n",
             weights == 0 ? 0.0 : 8.0 * double(bytes) / double(weights), weights);
  return Status::ok();
}

}  // namespace

int cmd_quantize() {
  const Status s = quantize(g_quantize);
  if (!s.is_ok()) {
    fmt::print(stderr, "error: {}\n", s.message());
    return 1;
  }
  return 0;
}

CLI::App* add_quantize_command(CLI::App& app) {
  CLI::App* cmd =
      app.add_subcommand("quantize", "Write a Hugging Face model folder as a GGUF file (weights, tokenizer)");
  cmd->add_option("-m,--model", g_quantize.model, "Hugging Face model folder")->required();
  cmd->add_option("-o,--output", g_quantize.output, "GGUF file to write")->required();
  cmd->add_option("--type", g_quantize.type,
                  "Weight type: " + fmt::format("{}", fmt::join(allowed_types(), ", ")))
      ->required();
  return cmd;
}

}  // namespace r1::cli
