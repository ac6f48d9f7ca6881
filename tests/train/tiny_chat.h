// The tiny chat models the trainer's tests run: tests/fixtures/train/tiny_chat (a qwen2 config over a
// 262-token byte-level tokenizer with R1's special tokens and chat template,
// tools/make_tiny_chat_tokenizer.py) and the same tokenizer under a tiny deepseek_v3 config (MLA + noaux_tc
// MoE), written into a temporary folder.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "test_util.h"
#include "tokenizer/tokenizer.h"
#include "train/model.h"
#include "train/train_fixture.h"

namespace r1::train {

inline std::string tiny_chat_dir() {
  return train_fixture_dir("tiny_chat");
}

inline constexpr const char* kTinyDeepseekV3Config = R"({
  "architectures": ["DeepseekV3ForCausalLM"], "model_type": "deepseek_v3",
  "bos_token_id": 256, "eos_token_id": 257, "vocab_size": 262, "hidden_size": 32, "intermediate_size": 48,
  "moe_intermediate_size": 16, "num_hidden_layers": 2, "first_k_dense_replace": 1, "moe_layer_freq": 1,
  "n_routed_experts": 4, "n_shared_experts": 1, "num_experts_per_tok": 2, "n_group": 1, "topk_group": 1,
  "norm_topk_prob": true, "routed_scaling_factor": 1.0, "scoring_func": "sigmoid", "topk_method": "noaux_tc",
  "num_attention_heads": 2, "num_key_value_heads": 2, "q_lora_rank": 16, "kv_lora_rank": 16,
  "qk_nope_head_dim": 8, "qk_rope_head_dim": 8, "v_head_dim": 8, "hidden_act": "silu",
  "max_position_embeddings": 1024, "rms_norm_eps": 1e-06, "rope_theta": 10000.0,
  "attention_bias": false, "tie_word_embeddings": false, "initializer_range": 0.02,
  "num_nextn_predict_layers": 0, "torch_dtype": "float32"
})";

// `dir` gets the tiny deepseek_v3 config.json and the tiny chat tokenizer files.
inline void write_tiny_deepseek_v3(const std::string& dir) {
  namespace fs = std::filesystem;
  for (const char* f : {"tokenizer.json", "tokenizer_config.json"})
    fs::copy_file(fs::path(tiny_chat_dir()) / f, fs::path(dir) / f, fs::copy_options::overwrite_existing);
  test::write_file((fs::path(dir) / "config.json").string(), kTinyDeepseekV3Config);
}

inline std::unique_ptr<Tokenizer> tiny_chat_tokenizer() {
  auto t = Tokenizer::load_dir(tiny_chat_dir());
  EXPECT_TRUE(t.is_ok()) << t.message();
  return t ? std::move(*t) : nullptr;
}

inline std::unique_ptr<TrainModel> init_model(const std::string& config_path, uint64_t seed) {
  auto m = TrainModel::init(config_path, seed);
  EXPECT_TRUE(m.is_ok()) << m.message();
  return m ? std::move(*m) : nullptr;
}

}  // namespace r1::train
