// Training speed: one optimizer step (forward + backward + clipping + AdamW) over one sequence of a demo-sized
// model initialised from a config, for `r1 train`'s budget. Reports tokens/s and the model FLOPs rate
// (6 x active parameters x tokens, the usual estimate; attention not counted), to set against the GEMM peak.
// build/r1_bench --benchmark_filter=Train
#include <benchmark/benchmark.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <unistd.h>

#include "train/model.h"
#include "train/optim.h"

namespace r1::train {
namespace {

// A few-million-parameter deepseek_v3 (the shape issue 9's demonstration trains) and a qwen2 of similar size.
const char* kDeepseek = R"({"model_type": "deepseek_v3", "architectures": ["DeepseekV3ForCausalLM"],
  "vocab_size": 512, "hidden_size": 256, "intermediate_size": 768, "moe_intermediate_size": 128,
  "num_hidden_layers": 4, "num_attention_heads": 4, "q_lora_rank": 128, "kv_lora_rank": 64, "qk_nope_head_dim": 32,
  "qk_rope_head_dim": 16, "v_head_dim": 32, "n_routed_experts": 8, "n_shared_experts": 1, "num_experts_per_tok": 2,
  "n_group": 1, "topk_group": 1, "norm_topk_prob": true, "routed_scaling_factor": 1.0, "first_k_dense_replace": 1,
  "max_position_embeddings": 1024})";
const char* kQwen2 = R"({"model_type": "qwen2", "architectures": ["Qwen2ForCausalLM"], "vocab_size": 512,
  "hidden_size": 256, "intermediate_size": 768, "num_hidden_layers": 4, "num_attention_heads": 4,
  "num_key_value_heads": 2, "max_position_embeddings": 1024, "tie_word_embeddings": true})";

void train_step(benchmark::State& state, const char* config) {
  const auto path = std::filesystem::temp_directory_path() / ("r1_train_bench_" + std::to_string(::getpid()) + ".json");
  std::ofstream(path) << config;
  auto model = TrainModel::init(path.string(), 1);
  std::filesystem::remove(path);
  if (!model) {
    state.SkipWithError(model.message().c_str());
    return;
  }
  TrainModel& m = **model;
  const int64_t T = state.range(0);
  std::vector<int32_t> tokens(static_cast<size_t>(T)), targets(tokens.size());
  for (int64_t t = 0; t < T; ++t) tokens[size_t(t)] = int32_t((t * 31 + 7) % m.vocab_size());
  for (int64_t t = 0; t < T; ++t) targets[size_t(t)] = tokens[size_t((t + 1) % T)];
  AdamW opt(m.params(), {});
  auto info = m.inference_model();
  const double active = info ? double((*info)->info().n_active_params) : 0.0;
  for (auto _ : state) {
    m.params().zero_grad();
    (void)m.forward(tokens, targets, {});
    (void)m.backward();
    clip_grad_norm(m.params().grads(), 1.0);
    opt.step(m.params(), 1e-3);
  }
  state.counters["tokens/s"] = benchmark::Counter(double(state.iterations() * T), benchmark::Counter::kIsRate);
  state.counters["GFLOP/s"] =
      benchmark::Counter(6.0 * active * double(state.iterations() * T) * 1e-9, benchmark::Counter::kIsRate);
  state.counters["params"] = double(m.params().numel());
}

void BM_TrainStepDeepseekV3(benchmark::State& state) { train_step(state, kDeepseek); }
void BM_TrainStepQwen2(benchmark::State& state) { train_step(state, kQwen2); }
BENCHMARK(BM_TrainStepDeepseekV3)->Arg(256)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_TrainStepQwen2)->Arg(256)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace r1::train
