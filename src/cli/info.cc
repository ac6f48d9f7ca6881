// `r1 info`: what a model holds and what running it costs, from a model folder, a .gguf file or a bare config.json.
#include "cli/common.h"
#include "kernels/simd.h"

namespace r1::cli {

namespace {

struct InfoFlags {
  std::string model_dir, config_path;
};
InfoFlags g_info;

void print_info(const ModelInfo& i, const std::string& source, bool from_config) {
  const double ctx = double(i.max_position_embeddings), typical = std::min(4096.0, ctx);
  fmt::print("model:            {}\n", source);
  fmt::print("architecture:     {} ({})\n", i.model_type, i.architecture);
  fmt::print("parameters:       {} ({}), {} active per token\n", i.n_params, human_count(double(i.n_params)),
             human_count(double(i.n_active_params)));
  if (i.n_mtp_params) fmt::print("MTP layers:       {} ({}), kept for speculative decoding\n", i.n_mtp_params,
                                 human_count(double(i.n_mtp_params)));
  if (i.n_checkpoint_params) fmt::print("checkpoint:       {} tensor elements\n", i.n_checkpoint_params);
  fmt::print("dtype:            {}\n", dtype_name(i.dtype));
  fmt::print("layers / hidden:  {} / {}\n", i.num_hidden_layers, i.hidden_size);
  fmt::print("attention:        {}\n", i.attention);
  fmt::print("vocabulary:       {}\n", i.vocab_size);
  fmt::print("context length:   {}\n", i.max_position_embeddings);
  fmt::print("KV cache / token: {} bytes in bf16 ({}); r1 stores f32: {}\n", i.kv_bytes_per_token_bf16,
             human_bytes(double(i.kv_bytes_per_token_bf16)), human_bytes(double(i.kv_bytes_per_token)));
  fmt::print("weights:          {}{}\n", human_bytes(double(i.weight_bytes)),
             from_config ? " (estimated from the config)" : " (memory-mapped)");
  fmt::print("memory needed:    {} at {:.0f} tokens, {} at the full context\n",
             human_bytes(double(i.weight_bytes) + typical * double(i.kv_bytes_per_token)), typical,
             human_bytes(double(i.weight_bytes) + ctx * double(i.kv_bytes_per_token)));
  fmt::print("SIMD target:      {}\n", kernels::simd_target_name());
}

}  // namespace

int cmd_info() {
  if (!g_info.config_path.empty()) {
    auto info = describe_config(g_info.config_path);
    if (!info) {
      fmt::print(stderr, "error: {}\n", info.message());
      return 1;
    }
    print_info(*info, g_info.config_path, /*from_config=*/true);
    return 0;
  }
  const std::string dir = g_info.model_dir.empty() ? default_model_dir() : g_info.model_dir;
  auto model = load_model(dir);
  if (!model) {
    fmt::print(stderr, "error: {}\n", model.message());
    return 1;
  }
  print_info((*model)->info(), dir, /*from_config=*/false);
  return 0;
}

CLI::App* add_info_command(CLI::App& app) {
  CLI::App* info = app.add_subcommand("info", "Describe a model: architecture, size, context, KV cache, memory");
  auto* m = info->add_option("-m,--model", g_info.model_dir, "Hugging Face model folder or .gguf file (default: the bundled model)");
  info->add_option("--config", g_info.config_path, "A bare config.json: sizes without loading any weights")
      ->excludes(m);
  return info;
}

}  // namespace r1::cli
