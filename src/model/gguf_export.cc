// export_gguf_model (model/gguf_model.h): a Hugging Face folder written as llama.cpp lays out GGUF files.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>
#include <numbers>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "io/gguf_keys.h"
#include "io/hf_config.h"
#include "io/safetensors.h"
#include "kernels/quant.h"
#include "model/blocks/load.h"
#include "model/gguf_mapping.h"
#include "model/gguf_model.h"

namespace r1 {

using gguf_mapping::kExpertNames;
using gguf_mapping::kLayerNames;
using gguf_mapping::permute_rows;

namespace {

// llama.cpp's general.file_type (LlamaFileType) for a recipe, or for the stored type when there is none.
uint32_t file_type_for(const std::string& recipe, DType main) {
  if (recipe == "q8_0") return 7;
  if (recipe == "q4_0") return 2;
  if (recipe == "q4_k") return 14;  // Q4_K_S: Q4_K throughout
  if (recipe == "q6_k") return 18;
  if (recipe == "q4_k_m") return 15;
  return main == DType::kF16 ? 1 : main == DType::kBF16 ? 32 : 0;
}

// The bytes of `w` as `type` (a float or block type); F32 <-> F16 / BF16 / blocks through f32 rows.
std::vector<uint8_t> convert_bytes(const Tensor& w, DType type) {
  if (type == w.dtype) {
    const auto* p = static_cast<const uint8_t*>(w.data);
    return std::vector<uint8_t>(p, p + w.nbytes());
  }
  return convert_rows(w, type);
}

// llama.cpp's rope_freqs for a llama3 rope_scaling: per rotary pair, the divisor of its base frequency.
Result<std::vector<float>> llama3_rope_freqs(const HfConfig& c, const HfConfig& s, int64_t dim) {
  R1_ASSIGN_OR_RETURN(double theta, c.get_double("rope_theta", 10000.0));
  R1_ASSIGN_OR_RETURN(double factor, s.get_double("factor"));
  R1_ASSIGN_OR_RETURN(double lo, s.get_double("low_freq_factor"));
  R1_ASSIGN_OR_RETURN(double hi, s.get_double("high_freq_factor"));
  R1_ASSIGN_OR_RETURN(int64_t old_ctx, s.get_int("original_max_position_embeddings"));
  if (!(hi > lo) || old_ctx <= 0) return Status::errorf("{}: invalid llama3 rope_scaling", c.source());
  std::vector<float> out;
  const double low_w = double(old_ctx) / lo, high_w = double(old_ctx) / hi;
  for (int64_t i = 0; i < dim / 2; ++i) {
    const double w = 2 * std::numbers::pi * std::pow(theta, double(2 * i) / double(dim));
    if (w < high_w) out.push_back(1.0f);
    else if (w > low_w) out.push_back(float(factor));
    else {
      const double smooth = (double(old_ctx) / w - lo) / (hi - lo);
      out.push_back(float(1.0 / ((1 - smooth) / factor + smooth)));
    }
  }
  return out;
}

std::vector<uint8_t> f32_bytes(const Tensor& t) {
  std::vector<uint8_t> out(size_t(t.numel()) * 4);
  std::vector<float> wide(size_t(t.numel()));
  kernels::dequantize_row(t.dtype, t.data, wide.data(), t.numel());
  std::memcpy(out.data(), wide.data(), out.size());
  return out;
}

std::vector<int64_t> shape_of(const Tensor& t) { return std::vector<int64_t>(t.shape.begin(), t.shape.begin() + t.rank); }

}  // namespace

Status export_gguf_model(const std::string& hf_dir, const std::string& quant_recipe, GgufWriter& out) {
  namespace fs = std::filesystem;
  // A quant recipe, or one float type for every Linear weight ("f32", "f16", "bf16").
  std::optional<DType> float_type;
  if (quant_recipe == "f32" || quant_recipe == "f16" || quant_recipe == "bf16") {
    float_type = dtype_from_any_name(quant_recipe);
  } else if (!quant_recipe.empty()) {
    const auto recipes = quant_recipes();
    if (std::find(recipes.begin(), recipes.end(), quant_recipe) == recipes.end())
      return Status::errorf("unknown quantization '{}' (supported: {}, f32, f16, bf16)", quant_recipe,
                            fmt::join(recipes, ", "));
  }
  R1_ASSIGN_OR_RETURN(HfConfig c, HfConfig::load((fs::path(hf_dir) / "config.json").string()));
  R1_ASSIGN_OR_RETURN(std::string model_type, c.get_string("model_type"));
  std::string arch;
  if (model_type == "llama" || model_type == "qwen2") arch = model_type;
  else if (model_type == "deepseek_v2" || model_type == "deepseek_v3") arch = "deepseek2";
  else
    return Status::errorf("{}: model_type \"{}\" cannot be written as GGUF (supported: llama, qwen2, deepseek_v2, "
                          "deepseek_v3)", c.source(), model_type);
  const bool deepseek = arch == "deepseek2";
  R1_ASSIGN_OR_RETURN(WeightStore ws, WeightStore::open_dir(hf_dir));
  const bool moe = ws.is_moe();

  R1_ASSIGN_OR_RETURN(int64_t vocab, c.get_int("vocab_size"));
  R1_ASSIGN_OR_RETURN(int64_t hidden, c.get_int("hidden_size"));
  R1_ASSIGN_OR_RETURN(int64_t n_layers, c.get_int("num_hidden_layers"));
  R1_ASSIGN_OR_RETURN(int64_t heads, c.get_int("num_attention_heads"));
  R1_ASSIGN_OR_RETURN(int64_t kv_heads, c.get_int("num_key_value_heads", heads));
  R1_ASSIGN_OR_RETURN(int64_t ffn, c.get_int("intermediate_size"));
  R1_ASSIGN_OR_RETURN(int64_t ctx, c.get_int("max_position_embeddings", deepseek ? 4096 : 2048));
  R1_ASSIGN_OR_RETURN(double eps, c.get_double("rms_norm_eps", 1e-6));
  R1_ASSIGN_OR_RETURN(double theta, c.get_double("rope_theta", 10000.0));
  if (heads <= 0 || kv_heads <= 0 || hidden <= 0 || n_layers <= 0)
    return Status::errorf("{}: sizes and counts must be positive", c.source());
  R1_ASSIGN_OR_RETURN(int64_t head_dim, c.get_int("head_dim", hidden / heads));
  if (!deepseek && (head_dim <= 0 || head_dim % 2))
    return Status::errorf("{}: head_dim {} must be positive and even", c.source(), head_dim);

  const std::string a = arch + ".";
  out.set_string(std::string(gguf_key::kArchitecture), arch);
  out.set_string(std::string(gguf_key::kName), fs::path(hf_dir).lexically_normal().filename().string().empty()
                                                   ? fs::path(hf_dir).parent_path().filename().string()
                                                   : fs::path(hf_dir).lexically_normal().filename().string());
  out.set_u32("general.file_type", file_type_for(quant_recipe, float_type.value_or(ws.main_dtype())));
  if (!quant_recipe.empty() && !float_type) out.set_u32("general.quantization_version", 2);
  out.set_u32(a + "vocab_size", uint32_t(vocab));
  out.set_u32(a + "context_length", uint32_t(ctx));
  out.set_u32(a + "embedding_length", uint32_t(hidden));
  out.set_u32(a + "block_count", uint32_t(n_layers));
  out.set_u32(a + "feed_forward_length", uint32_t(ffn));
  out.set_u32(a + "attention.head_count", uint32_t(heads));
  out.set_u32(a + "attention.head_count_kv", uint32_t(kv_heads));
  out.set_f32(a + "attention.layer_norm_rms_epsilon", float(eps));
  out.set_f32(a + "rope.freq_base", float(theta));

  std::vector<float> rope_freqs;
  R1_ASSIGN_OR_RETURN(auto scaling, c.get_object("rope_scaling"));
  if (scaling) {
    R1_ASSIGN_OR_RETURN(std::string type, scaling->get_string("rope_type", ""));
    if (type.empty()) { R1_ASSIGN_OR_RETURN(type, scaling->get_string("type", "default")); }
    if (type == "linear") {
      R1_ASSIGN_OR_RETURN(double factor, scaling->get_double("factor"));
      out.set_string(a + "rope.scaling.type", "linear");
      out.set_f32(a + "rope.scaling.factor", float(factor));
    } else if (type == "yarn") {
      R1_ASSIGN_OR_RETURN(double factor, scaling->get_double("factor"));
      R1_ASSIGN_OR_RETURN(int64_t orig, scaling->get_int("original_max_position_embeddings"));
      R1_ASSIGN_OR_RETURN(double mscale, scaling->get_double("mscale", 1.0));
      R1_ASSIGN_OR_RETURN(double mscale_all, scaling->get_double("mscale_all_dim", 0.0));
      R1_ASSIGN_OR_RETURN(double beta_fast, scaling->get_double("beta_fast", 32.0));
      R1_ASSIGN_OR_RETURN(double beta_slow, scaling->get_double("beta_slow", 1.0));
      if (deepseek && mscale != mscale_all)
        return Status::errorf("{}: yarn mscale {} differs from mscale_all_dim {} (llama.cpp's GGUF keys cannot "
                              "express that)", c.source(), mscale, mscale_all);
      out.set_string(a + "rope.scaling.type", "yarn");
      out.set_f32(a + "rope.scaling.factor", float(factor));
      out.set_u32(a + "rope.scaling.original_context_length", uint32_t(orig));
      if (deepseek) out.set_f32(a + "rope.scaling.yarn_log_multiplier", float(0.1 * mscale_all));
      if (beta_fast != 32.0) out.set_f32(a + "rope.scaling.yarn_beta_fast", float(beta_fast));
      if (beta_slow != 1.0) out.set_f32(a + "rope.scaling.yarn_beta_slow", float(beta_slow));
    } else if (type == "llama3" && !deepseek) {
      R1_ASSIGN_OR_RETURN(rope_freqs, llama3_rope_freqs(c, *scaling, head_dim));
    } else if (type != "default") {
      return Status::errorf("{}: rope_scaling type \"{}\" cannot be written as GGUF", c.source(), type);
    }
  }

  int64_t n_experts = 0;
  if (deepseek) {
    R1_ASSIGN_OR_RETURN(int64_t q_lora, c.get_int("q_lora_rank", 0));
    R1_ASSIGN_OR_RETURN(int64_t kv_lora, c.get_int("kv_lora_rank"));
    R1_ASSIGN_OR_RETURN(int64_t nope, c.get_int("qk_nope_head_dim"));
    R1_ASSIGN_OR_RETURN(int64_t rope, c.get_int("qk_rope_head_dim"));
    R1_ASSIGN_OR_RETURN(int64_t v_head, c.get_int("v_head_dim"));
    R1_ASSIGN_OR_RETURN(int64_t dense, c.get_int("first_k_dense_replace", 0));
    R1_ASSIGN_OR_RETURN(int64_t freq, c.get_int("moe_layer_freq", 1));
    R1_ASSIGN_OR_RETURN(n_experts, c.get_int("n_routed_experts", 0));
    R1_ASSIGN_OR_RETURN(int64_t shared, c.get_int("n_shared_experts", 0));
    R1_ASSIGN_OR_RETURN(int64_t used, c.get_int("num_experts_per_tok", 0));
    R1_ASSIGN_OR_RETURN(int64_t moe_ffn, c.get_int("moe_intermediate_size", 0));
    R1_ASSIGN_OR_RETURN(double scale, c.get_double("routed_scaling_factor", 1.0));
    R1_ASSIGN_OR_RETURN(bool norm, c.get_bool("norm_topk_prob", false));
    R1_ASSIGN_OR_RETURN(std::string scoring, c.get_string("scoring_func", model_type == "deepseek_v3" ? "sigmoid" : "softmax"));
    R1_ASSIGN_OR_RETURN(std::string topk_method, c.get_string("topk_method", ""));
    R1_ASSIGN_OR_RETURN(int64_t n_group, c.get_int("n_group", 1));
    R1_ASSIGN_OR_RETURN(int64_t topk_group, c.get_int("topk_group", 1));
    if (freq != 1) return Status::errorf("{}: moe_layer_freq {} cannot be written as GGUF (llama.cpp assumes 1)",
                                         c.source(), freq);
    if (scoring == "softmax" && n_group > 1 && topk_method != "group_limited_greedy")
      return Status::errorf("{}: topk_method \"{}\" with n_group {} cannot be written as GGUF", c.source(),
                            topk_method, n_group);
    out.set_u32(a + "leading_dense_block_count", uint32_t(dense));
    if (q_lora > 0) out.set_u32(a + "attention.q_lora_rank", uint32_t(q_lora));
    out.set_u32(a + "attention.kv_lora_rank", uint32_t(kv_lora));
    out.set_u32(a + "attention.key_length", uint32_t(nope + rope));
    out.set_u32(a + "attention.value_length", uint32_t(v_head));
    out.set_u32(a + "rope.dimension_count", uint32_t(rope));
    out.set_u32(a + "expert_feed_forward_length", uint32_t(moe_ffn));
    out.set_u32(a + "expert_count", uint32_t(n_experts));
    out.set_u32(a + "expert_shared_count", uint32_t(shared));
    out.set_u32(a + "expert_used_count", uint32_t(used));
    out.set_f32(a + "expert_weights_scale", float(scale));
    out.set_bool(a + "expert_weights_norm", norm);
    out.set_u32(a + "expert_gating_func", scoring == "sigmoid" ? 2 : 1);
    out.set_u32(a + "expert_group_count", uint32_t(n_group));
    out.set_u32(a + "expert_group_used_count", uint32_t(topk_group));
  } else {
    out.set_u32(a + "rope.dimension_count", uint32_t(head_dim));
    if (head_dim != hidden / heads) {
      out.set_u32(a + "attention.key_length", uint32_t(head_dim));
      out.set_u32(a + "attention.value_length", uint32_t(head_dim));
    }
  }

  // A Linear weight in the recipe's type (stored type kept when it has none; FP8 dequantised to F32).
  auto linear = [&](const std::string& hf_name, const Tensor& w) -> std::pair<DType, std::vector<uint8_t>> {
    auto type = float_type ? float_type : quant_type_for(quant_recipe, hf_name, w.dim(-1), moe);
    return {type.value_or(w.dtype), convert_bytes(w, type.value_or(w.dtype))};
  };

  std::set<std::string> written;
  // Reads `name` with whatever shape it has (the loader validates shapes; export only reshapes).
  auto fetch = [&](const std::string& name) -> Result<Tensor> {
    if (!ws.has(name)) return Status::errorf("{}: missing tensor '{}'", hf_dir, name);
    auto all = ws.take_prefix(name);
    auto it = all.find(name);
    Tensor t = it->second;
    written.insert(name);
    if (t.dtype == DType::kF8E4M3) {
      R1_ASSIGN_OR_RETURN(t, load_linear(ws, name, t.dim(0), t.dim(1)));
      written.insert(name + "_scale_inv");
    }
    return t;
  };
  auto put_f32 = [&](const std::string& gguf, const std::string& hf) -> Status {
    R1_ASSIGN_OR_RETURN(Tensor t, fetch(hf));
    out.add_tensor(gguf, DType::kF32, shape_of(t), f32_bytes(t));
    return Status::ok();
  };
  auto put_linear = [&](const std::string& gguf, const std::string& hf, int64_t permute_heads) -> Status {
    R1_ASSIGN_OR_RETURN(Tensor t, fetch(hf));
    if (t.rank != 2) return Status::errorf("{}: tensor '{}' must have 2 dimensions", hf_dir, hf);
    auto [type, bytes] = linear(hf, t);
    if (permute_heads > 0) {
      if (t.dim(0) != permute_heads * head_dim)
        return Status::errorf("{}: tensor '{}' has {} rows, expected {}", hf_dir, hf, t.dim(0),
                              permute_heads * head_dim);
      bytes = permute_rows(bytes.data(), t.dim(0), dtype_row_bytes(type, t.dim(1)), head_dim, /*to_gguf=*/true);
    }
    out.add_tensor(gguf, type, shape_of(t), std::move(bytes));
    return Status::ok();
  };

  R1_RETURN_IF_ERROR(put_linear("token_embd.weight", "model.embed_tokens.weight", 0));
  for (int64_t l = 0; l < n_layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".", b = "blk." + std::to_string(l) + ".";
    for (const auto& m : kLayerNames) {
      const std::string hf = p + m.hf;
      if (!ws.has(hf)) continue;
      const std::string_view g = m.gguf;
      const bool vec = g.ends_with(".bias") || g.find("norm") != std::string_view::npos || g == "ffn_gate_inp.weight";
      if (vec) {
        const bool permute_bias = arch == "llama" && (g == "attn_q.bias" || g == "attn_k.bias");
        if (permute_bias) {
          R1_ASSIGN_OR_RETURN(Tensor t, fetch(hf));
          auto bytes = f32_bytes(t);
          const int64_t n_h = g == "attn_q.bias" ? heads : kv_heads;
          if (t.numel() != n_h * head_dim)
            return Status::errorf("{}: tensor '{}' has {} elements, expected {}", hf_dir, hf, t.numel(), n_h * head_dim);
          bytes = permute_rows(bytes.data(), t.numel(), 4, head_dim, true);
          out.add_tensor(b + m.gguf, DType::kF32, shape_of(t), std::move(bytes));
        } else {
          R1_RETURN_IF_ERROR(put_f32(b + m.gguf, hf));
        }
      } else {
        const int64_t permute = arch != "llama" ? 0 : g == "attn_q.weight" ? heads : g == "attn_k.weight" ? kv_heads : 0;
        R1_RETURN_IF_ERROR(put_linear(b + m.gguf, hf, permute));
      }
    }
    // Routed experts stacked [E, out, in].
    if (n_experts > 0 && ws.has(p + "mlp.experts.0.gate_proj.weight")) {
      for (const auto& m : kExpertNames) {
        std::vector<uint8_t> stacked;
        DType type = DType::kF32;
        int64_t rows = 0, cols = 0;
        for (int64_t e = 0; e < n_experts; ++e) {
          const std::string hf = p + "mlp.experts." + std::to_string(e) + "." + m.hf;
          R1_ASSIGN_OR_RETURN(Tensor t, fetch(hf));
          if (t.rank != 2 || (e > 0 && (t.dim(0) != rows || t.dim(1) != cols)))
            return Status::errorf("{}: expert tensor '{}' has shape {}, unlike expert 0", hf_dir, hf, t.shape_string());
          auto [ty, bytes] = linear(hf, t);
          if (e > 0 && ty != type)
            return Status::errorf("{}: expert tensor '{}' converts to another type than expert 0", hf_dir, hf);
          type = ty, rows = t.dim(0), cols = t.dim(1);
          stacked.insert(stacked.end(), bytes.begin(), bytes.end());
        }
        out.add_tensor(b + m.gguf, type, {n_experts, rows, cols}, std::move(stacked));
      }
    }
  }
  R1_RETURN_IF_ERROR(put_f32("output_norm.weight", "model.norm.weight"));
  if (ws.has("lm_head.weight")) {
    R1_ASSIGN_OR_RETURN(bool tied, c.get_bool("tie_word_embeddings", false));
    if (tied) written.insert("lm_head.weight");  // a saved copy of the embedding; llama.cpp ties by absence
    else R1_RETURN_IF_ERROR(put_linear("output.weight", "lm_head.weight", 0));
  }
  if (!rope_freqs.empty()) {
    std::vector<uint8_t> bytes(rope_freqs.size() * 4);
    std::memcpy(bytes.data(), rope_freqs.data(), bytes.size());
    out.add_tensor("rope_freqs.weight", DType::kF32, {int64_t(rope_freqs.size())}, std::move(bytes));
  }
  // Anything left is either a multi-token-prediction layer (skipped) or a tensor the mapping does not know.
  for (const std::string& name : ws.names()) {
    if (written.count(name)) continue;
    int64_t layer = -1;
    if (name.starts_with("model.layers.")) layer = std::atoll(name.c_str() + 13);
    if (layer >= n_layers) continue;
    return Status::errorf("{}: tensor '{}' has no GGUF name for {}", hf_dir, name, arch);
  }
  return Status::ok();
}

}  // namespace r1
