// `r1 info`: what a model folder holds and what running it costs.
#include "cli/common.h"
#include "kernels/simd.h"

namespace r1::cli {

namespace {
std::string g_info_model;

std::string human_bytes(double b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (b >= 1024 && u < 4) b /= 1024, ++u;
  return fmt::format("{:.{}f} {}", b, u == 0 ? 0 : 2, units[u]);
}
std::string human_count(double n) {
  const char* units[] = {"", "K", "M", "B", "T"};
  int u = 0;
  while (n >= 1000 && u < 4) n /= 1000, ++u;
  return fmt::format("{:.{}f}{}", n, u == 0 ? 0 : 2, units[u]);
}
}  // namespace

int cmd_info() {
  auto loaded = load(g_info_model);
  if (!loaded) {
    fmt::print(stderr, "error: {}\n", loaded.message());
    return 1;
  }
  const ModelInfo& i = loaded->model->info();
  const double ctx = double(i.max_position_embeddings), typical = std::min(4096.0, ctx);
  fmt::print("model:            {}\n", loaded->dir);
  fmt::print("architecture:     {} ({})\n", i.model_type, i.architecture);
  fmt::print("parameters:       {} ({})\n", i.n_params, human_count(double(i.n_params)));
  fmt::print("dtype:            {}\n", dtype_name(i.dtype));
  fmt::print("layers / hidden:  {} / {}\n", i.num_hidden_layers, i.hidden_size);
  fmt::print("attention:        {}\n", i.attention);
  fmt::print("vocabulary:       {} (tokenizer: {})\n", i.vocab_size, loaded->tokenizer->vocab_size());
  fmt::print("context length:   {}\n", i.max_position_embeddings);
  fmt::print("KV cache / token: {} bf16, {} as r1 stores it (f32)\n", human_bytes(double(i.kv_bytes_per_token_bf16)),
             human_bytes(double(i.kv_bytes_per_token)));
  fmt::print("weights:          {} (memory-mapped)\n", human_bytes(double(i.weight_bytes)));
  fmt::print("memory needed:    {} at {:.0f} tokens, {} at the full context\n",
             human_bytes(double(i.weight_bytes) + typical * double(i.kv_bytes_per_token)), typical,
             human_bytes(double(i.weight_bytes) + ctx * double(i.kv_bytes_per_token)));
  fmt::print("SIMD target:      {}\n", kernels::simd_target_name());
  return 0;
}

CLI::App* add_info_command(CLI::App& app) {
  CLI::App* info = app.add_subcommand("info", "Describe a model: architecture, size, context, KV cache, memory");
  info->add_option("-m,--model", g_info_model, "Hugging Face model folder (default: the bundled model)");
  return info;
}

}  // namespace r1::cli
