#include "model/gguf_model.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>
#include <numbers>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "io/gguf.h"
#include "io/gguf_keys.h"
#include "io/hf_config.h"
#include "io/safetensors.h"
#include "kernels/quant.h"
#include "model/blocks/load.h"

namespace r1 {

namespace {

// ---------------------------------------------------------------------------------------------------------------
// Shared pieces of the mapping.

// The HF model_type a GGUF architecture is read as, and back.
constexpr std::string_view kSupportedArchs = "llama, qwen2, deepseek2";

// Per-layer tensors whose HF name is a fixed rename (GGUF suffix after "blk.N." -> HF suffix after
// "model.layers.N."). Routed experts, attn_k_b / attn_v_b and the llama q/k row order are handled apart.
struct LayerName {
  const char* gguf;
  const char* hf;
};
constexpr LayerName kLayerNames[] = {
    {"attn_norm.weight", "input_layernorm.weight"},
    {"attn_q.weight", "self_attn.q_proj.weight"},
    {"attn_q.bias", "self_attn.q_proj.bias"},
    {"attn_k.weight", "self_attn.k_proj.weight"},
    {"attn_k.bias", "self_attn.k_proj.bias"},
    {"attn_v.weight", "self_attn.v_proj.weight"},
    {"attn_v.bias", "self_attn.v_proj.bias"},
    {"attn_output.weight", "self_attn.o_proj.weight"},
    {"attn_output.bias", "self_attn.o_proj.bias"},
    {"ffn_norm.weight", "post_attention_layernorm.weight"},
    {"ffn_gate.weight", "mlp.gate_proj.weight"},
    {"ffn_up.weight", "mlp.up_proj.weight"},
    {"ffn_down.weight", "mlp.down_proj.weight"},
    {"attn_q_a.weight", "self_attn.q_a_proj.weight"},
    {"attn_q_a_norm.weight", "self_attn.q_a_layernorm.weight"},
    {"attn_q_b.weight", "self_attn.q_b_proj.weight"},
    {"attn_kv_a_mqa.weight", "self_attn.kv_a_proj_with_mqa.weight"},
    {"attn_kv_a_norm.weight", "self_attn.kv_a_layernorm.weight"},
    {"attn_kv_b.weight", "self_attn.kv_b_proj.weight"},
    {"ffn_gate_inp.weight", "mlp.gate.weight"},
    {"exp_probs_b.bias", "mlp.gate.e_score_correction_bias"},
    {"ffn_gate_shexp.weight", "mlp.shared_experts.gate_proj.weight"},
    {"ffn_up_shexp.weight", "mlp.shared_experts.up_proj.weight"},
    {"ffn_down_shexp.weight", "mlp.shared_experts.down_proj.weight"},
};
// Stacked routed experts: GGUF "ffn_{gate,up,down}_exps.weight" [E, out, in] <-> HF "mlp.experts.E.*_proj.weight".
constexpr LayerName kExpertNames[] = {
    {"ffn_gate_exps.weight", "gate_proj.weight"},
    {"ffn_up_exps.weight", "up_proj.weight"},
    {"ffn_down_exps.weight", "down_proj.weight"},
};

// llama.cpp's converter stores llama's q/k rows per head with the two rotary halves interleaved: GGUF row
// 2i + j of a head is HF row j * D/2 + i (i < D/2, j in {0, 1}). `to_gguf` gives the HF row each GGUF row
// holds; otherwise the GGUF row each HF row comes from. Rows are any byte size (whole blocks when quantized).
std::vector<uint8_t> permute_rows(const uint8_t* src, int64_t rows, size_t row_bytes, int64_t head_dim,
                                  bool to_gguf) {
  std::vector<uint8_t> out(size_t(rows) * row_bytes);
  const int64_t half = head_dim / 2;
  for (int64_t h = 0; h < rows / head_dim; ++h)
    for (int64_t i = 0; i < half; ++i)
      for (int64_t j = 0; j < 2; ++j) {
        const int64_t g = h * head_dim + 2 * i + j, f = h * head_dim + j * half + i;
        const int64_t dst_row = to_gguf ? g : f, src_row = to_gguf ? f : g;
        std::memcpy(out.data() + size_t(dst_row) * row_bytes, src + size_t(src_row) * row_bytes, row_bytes);
      }
  return out;
}

// A float as its shortest decimal: GGUF stores f32 where config.json has decimals (1e-05, 0.707), and this gives
// back the double the config held.
std::string f32_decimal(double v) { return fmt::format("{}", float(v)); }

// A flat JSON object built from fields (values already JSON text): the config handed to HfConfig::parse.
class JsonObject {
 public:
  void raw(const std::string& key, const std::string& json) { fields_.emplace_back(key, json); }
  void integer(const std::string& key, int64_t v) { raw(key, std::to_string(v)); }
  void number(const std::string& key, double v) { raw(key, fmt::format("{}", v)); }
  void boolean(const std::string& key, bool v) { raw(key, v ? "true" : "false"); }
  void string(const std::string& key, std::string_view v) {
    std::string s = "\"";
    for (char c : v) {
      if (c == '"' || c == '\\') s += '\\', s += c;
      else if (static_cast<unsigned char>(c) < 0x20) s += fmt::format("\\u{:04x}", int(c));
      else s += c;
    }
    raw(key, s + "\"");
  }
  std::string dump() const {
    std::string s = "{";
    for (const auto& [k, v] : fields_) s += (s.size() > 1 ? ", \"" : "\"") + k + "\": " + v;
    return s + "}";
  }

 private:
  std::vector<std::pair<std::string, std::string>> fields_;
};

// ---------------------------------------------------------------------------------------------------------------
// Loading.

// Optional metadata: absent gives nullopt, present with another type is an error naming the key.
Result<std::optional<int64_t>> opt_int(const GgufFile& f, const std::string& key) {
  const GgufValue* v = f.find(key);
  if (!v) return std::optional<int64_t>();
  auto i = v->as_int();
  if (!i) return f.type_error(key, "an integer");
  return std::optional<int64_t>(*i);
}
Result<std::optional<double>> opt_float(const GgufFile& f, const std::string& key) {
  const GgufValue* v = f.find(key);
  if (!v) return std::optional<double>();
  auto d = v->as_float();
  if (!d) return f.type_error(key, "a number");
  // f32 values come back as the decimal config.json held; f64 and integers as they are.
  return std::optional<double>(v->type() == GgufType::kFloat32 ? std::stod(f32_decimal(*d)) : *d);
}
Result<std::optional<bool>> opt_bool(const GgufFile& f, const std::string& key) {
  const GgufValue* v = f.find(key);
  if (!v) return std::optional<bool>();
  auto b = v->as_bool();
  if (!b) return f.type_error(key, "a bool");
  return std::optional<bool>(*b);
}
Result<int64_t> req_int(const GgufFile& f, const std::string& key) {
  R1_ASSIGN_OR_RETURN(auto v, opt_int(f, key));
  if (!v) return Status::errorf("{}: missing metadata key \"{}\"", f.path(), key);
  return *v;
}

// The llama3 rope_scaling whose frequency factors are llama.cpp's rope_freqs tensor ([head_dim / 2] divisors of
// the base frequencies). Only the ratios of original_max_position_embeddings, low_freq_factor and
// high_freq_factor are fixed by the factors, so low_freq_factor is taken as 1 and the others solved for.
Result<std::string> llama3_rope_scaling(const GgufFile& f, const GgufTensorInfo& t, double theta, int64_t dim) {
  if (t.type != 0 || t.dims.size() != 1 || int64_t(t.dims[0]) != dim / 2)
    return Status::errorf("{}: tensor 'rope_freqs.weight' must be F32 [{}]", f.path(), dim / 2);
  const auto bytes = f.tensor_data(t);
  std::vector<double> factor(size_t(dim / 2)), wavelen(size_t(dim / 2));
  for (size_t i = 0; i < factor.size(); ++i) {
    float v;
    std::memcpy(&v, bytes.data() + 4 * i, 4);
    if (!(v >= 1.0f) || !std::isfinite(v))
      return Status::errorf("{}: rope_freqs.weight[{}] = {} (factors must be finite and >= 1)", f.path(), i, v);
    factor[i] = v;
    wavelen[i] = 2 * std::numbers::pi * std::pow(theta, double(2 * i) / double(dim));
  }
  const double max_factor = *std::max_element(factor.begin(), factor.end());
  if (max_factor == 1.0) return std::string("null");
  // Bands: unchanged (factor 1), blended, divided by max_factor.
  double longest_kept = 0, shortest_divided = INFINITY;
  std::vector<std::pair<double, double>> blended;  // (wavelen, smooth)
  for (size_t i = 0; i < factor.size(); ++i) {
    if (factor[i] == 1.0) longest_kept = std::max(longest_kept, wavelen[i]);
    else if (std::fabs(factor[i] - max_factor) <= 1e-6 * max_factor) shortest_divided = std::min(shortest_divided, wavelen[i]);
    else blended.emplace_back(wavelen[i], (1.0 / factor[i] - 1.0 / max_factor) / (1.0 - 1.0 / max_factor));
  }
  // smooth = (old / wavelen - 1) / (high - 1) with low = 1.
  double old_ctx, high = 4.0;
  if (blended.size() >= 2) {
    const auto [w0, s0] = blended.front();
    const auto [w1, s1] = blended.back();
    // s * (high - 1) = old / w - 1 at both points.
    const double det = w0 * s0 - w1 * s1;
    if (det == 0) return Status::errorf("{}: rope_freqs.weight is not a llama3 frequency scaling", f.path());
    const double hm1 = (w1 - w0) / det;
    old_ctx = w0 * (s0 * hm1 + 1);
    high = hm1 + 1;
  } else if (blended.size() == 1) {
    old_ctx = blended[0].first * (blended[0].second * (high - 1) + 1);
  } else {
    // Kept wavelengths lie below old / 4, divided ones above old: any old between will do.
    old_ctx = longest_kept > 0 ? std::sqrt(4 * longest_kept * shortest_divided) : shortest_divided / 2;
  }
  const int64_t old_int = std::max<int64_t>(1, std::llround(old_ctx));
  if (!blended.empty()) high = 1 + (double(old_int) / blended[0].first - 1) / blended[0].second;
  if (!(high > 1) || !std::isfinite(high))
    return Status::errorf("{}: rope_freqs.weight is not a llama3 frequency scaling", f.path());
  // Check the reconstruction gives every stored factor back.
  for (size_t i = 0; i < factor.size(); ++i) {
    const double w = wavelen[i], low_w = double(old_int), high_w = double(old_int) / high;
    double want;
    if (w < high_w) want = 1;
    else if (w > low_w) want = max_factor;
    else {
      const double s = (double(old_int) / w - 1) / (high - 1);
      want = 1 / ((1 - s) / max_factor + s);
    }
    if (std::fabs(want - factor[i]) > 1e-4 * factor[i])
      return Status::errorf("{}: rope_freqs.weight is not a llama3 frequency scaling (factor {} of dimension pair "
                            "{}, expected {})", f.path(), factor[i], i, want);
  }
  return fmt::format(R"({{"rope_type": "llama3", "factor": {}, "low_freq_factor": 1.0, "high_freq_factor": {}, )"
                     R"("original_max_position_embeddings": {}}})",
                     max_factor, high, old_int);
}

struct GgufHparams {
  std::string arch;        // general.architecture
  std::string model_type;  // HF
  int64_t n_layers = 0;    // layers run (MTP blocks excluded)
  int64_t n_heads = 0, n_kv_heads = 0, head_dim = 0;
  int64_t qk_nope = 0, v_head = 0, kv_lora = 0;
};

// The HF config.json llama.cpp's metadata stands for.
Result<HfConfig> build_config(const GgufFile& f, GgufHparams& hp) {
  const std::string a = hp.arch + ".";
  JsonObject j;
  R1_ASSIGN_OR_RETURN(int64_t hidden, req_int(f, a + "embedding_length"));
  R1_ASSIGN_OR_RETURN(int64_t blocks, req_int(f, a + "block_count"));
  R1_ASSIGN_OR_RETURN(int64_t ffn, req_int(f, a + "feed_forward_length"));
  R1_ASSIGN_OR_RETURN(hp.n_heads, req_int(f, a + "attention.head_count"));
  R1_ASSIGN_OR_RETURN(auto kv_heads, opt_int(f, a + "attention.head_count_kv"));
  hp.n_kv_heads = kv_heads.value_or(hp.n_heads);
  R1_ASSIGN_OR_RETURN(auto ctx, opt_int(f, a + "context_length"));
  R1_ASSIGN_OR_RETURN(auto eps, opt_float(f, a + "attention.layer_norm_rms_epsilon"));
  R1_ASSIGN_OR_RETURN(auto theta, opt_float(f, a + "rope.freq_base"));
  R1_ASSIGN_OR_RETURN(auto rope_dim, opt_int(f, a + "rope.dimension_count"));
  R1_ASSIGN_OR_RETURN(auto key_len, opt_int(f, a + "attention.key_length"));
  R1_ASSIGN_OR_RETURN(auto value_len, opt_int(f, a + "attention.value_length"));
  R1_ASSIGN_OR_RETURN(auto nextn, opt_int(f, a + "nextn_predict_layers"));
  if (hidden <= 0 || blocks <= 0 || hp.n_heads <= 0 || hp.n_kv_heads <= 0 || ffn < 0)
    return Status::errorf("{}: embedding_length, block_count and head counts must be positive", f.path());
  hp.n_layers = blocks - nextn.value_or(0);
  if (hp.n_layers <= 0 || nextn.value_or(0) < 0)
    return Status::errorf("{}: nextn_predict_layers {} must be in 0..block_count-1", f.path(), nextn.value_or(0));

  // Vocabulary: the embedding's rows (which may exceed the tokenizer's tokens), else the token list.
  int64_t vocab = 0;
  if (const GgufTensorInfo* e = f.find_tensor("token_embd.weight"); e && e->dims.size() == 2)
    vocab = int64_t(e->dims[1]);
  else if (const GgufValue* tokens = f.find(gguf_key::kTokens); tokens && tokens->as_array())
    vocab = int64_t(tokens->as_array()->size);
  if (vocab <= 0) return Status::errorf("{}: no token list and no token_embd.weight to size the vocabulary", f.path());

  j.string("model_type", hp.model_type);
  const char* cls = hp.model_type == "qwen2"         ? "Qwen2ForCausalLM"
                    : hp.model_type == "llama"       ? "LlamaForCausalLM"
                    : hp.model_type == "deepseek_v2" ? "DeepseekV2ForCausalLM"
                                                     : "DeepseekV3ForCausalLM";
  j.raw("architectures", fmt::format("[\"{}\"]", cls));
  j.string("torch_dtype", "float32");
  j.integer("vocab_size", vocab);
  j.integer("hidden_size", hidden);
  j.integer("intermediate_size", ffn);
  j.integer("num_hidden_layers", hp.n_layers);
  j.integer("num_attention_heads", hp.n_heads);
  j.integer("num_key_value_heads", hp.n_kv_heads);
  j.integer("max_position_embeddings", ctx.value_or(2048));
  j.number("rms_norm_eps", eps.value_or(1e-6));
  j.number("rope_theta", theta.value_or(10000.0));
  j.boolean("tie_word_embeddings", f.find_tensor("output.weight") == nullptr);
  j.string("hidden_act", "silu");

  // RoPE scaling as llama.cpp records it.
  R1_ASSIGN_OR_RETURN(auto scaling_type, [&]() -> Result<std::string> {
    const GgufValue* v = f.find(a + "rope.scaling.type");
    if (!v) return std::string("none");
    auto s = v->as_string();
    if (!s) return f.type_error(a + "rope.scaling.type", "a string");
    return std::string(*s);
  }());
  R1_ASSIGN_OR_RETURN(auto scale_factor, opt_float(f, a + "rope.scaling.factor"));
  R1_ASSIGN_OR_RETURN(auto orig_ctx, opt_int(f, a + "rope.scaling.original_context_length"));
  R1_ASSIGN_OR_RETURN(auto log_mul, opt_float(f, a + "rope.scaling.yarn_log_multiplier"));
  R1_ASSIGN_OR_RETURN(auto beta_fast, opt_float(f, a + "rope.scaling.yarn_beta_fast"));
  R1_ASSIGN_OR_RETURN(auto beta_slow, opt_float(f, a + "rope.scaling.yarn_beta_slow"));
  std::string rope_scaling = "null";
  if (scaling_type == "linear") {
    if (!scale_factor) return Status::errorf("{}: linear rope scaling without {}rope.scaling.factor", f.path(), a);
    rope_scaling = fmt::format(R"({{"type": "linear", "factor": {}}})", *scale_factor);
  } else if (scaling_type == "yarn") {
    if (!scale_factor || !orig_ctx)
      return Status::errorf("{}: yarn rope scaling needs {}rope.scaling.factor and .original_context_length",
                            f.path(), a);
    // llama.cpp's YaRN (DeepSeek's) scales attention by (1 + log_mul * ln factor)^2 and leaves cos/sin alone: HF's
    // mscale = mscale_all_dim = log_mul / 0.1.
    const double m = std::stod(fmt::format("{}", float(log_mul.value_or(0.0) / 0.1)));
    rope_scaling = fmt::format(R"({{"type": "yarn", "factor": {}, "original_max_position_embeddings": {}, )"
                               R"("beta_fast": {}, "beta_slow": {}, "mscale": {}, "mscale_all_dim": {}}})",
                               *scale_factor, *orig_ctx, beta_fast.value_or(32.0), beta_slow.value_or(1.0),
                               hp.arch == "deepseek2" ? m : 1.0, hp.arch == "deepseek2" ? m : 0.0);
  } else if (scaling_type != "none") {
    return Status::errorf("{}: rope scaling type \"{}\" is not supported (supported: none, linear, yarn)", f.path(),
                          scaling_type);
  }

  if (hp.arch == "deepseek2") {
    R1_ASSIGN_OR_RETURN(auto q_lora, opt_int(f, a + "attention.q_lora_rank"));
    R1_ASSIGN_OR_RETURN(hp.kv_lora, req_int(f, a + "attention.kv_lora_rank"));
    R1_ASSIGN_OR_RETURN(auto key_mla, opt_int(f, a + "attention.key_length_mla"));
    R1_ASSIGN_OR_RETURN(auto value_mla, opt_int(f, a + "attention.value_length_mla"));
    if (!rope_dim) return Status::errorf("{}: missing metadata key \"{}rope.dimension_count\"", f.path(), a);
    const auto k = key_mla ? key_mla : key_len, v = value_mla ? value_mla : value_len;
    if (!k || !v)
      return Status::errorf("{}: missing metadata key \"{}attention.key_length\" / \"value_length\"", f.path(), a);
    hp.qk_nope = *k - *rope_dim;
    hp.v_head = *v;
    if (hp.qk_nope <= 0 || hp.v_head <= 0)
      return Status::errorf("{}: key_length {} must exceed rope.dimension_count {}", f.path(), *k, *rope_dim);
    if (q_lora && *q_lora > 0) j.integer("q_lora_rank", *q_lora);
    else j.raw("q_lora_rank", "null");
    j.integer("kv_lora_rank", hp.kv_lora);
    j.integer("qk_nope_head_dim", hp.qk_nope);
    j.integer("qk_rope_head_dim", *rope_dim);
    j.integer("v_head_dim", hp.v_head);
    R1_ASSIGN_OR_RETURN(auto dense, opt_int(f, a + "leading_dense_block_count"));
    R1_ASSIGN_OR_RETURN(auto expert_ffn, opt_int(f, a + "expert_feed_forward_length"));
    R1_ASSIGN_OR_RETURN(auto n_experts, opt_int(f, a + "expert_count"));
    R1_ASSIGN_OR_RETURN(auto n_shared, opt_int(f, a + "expert_shared_count"));
    R1_ASSIGN_OR_RETURN(auto n_used, opt_int(f, a + "expert_used_count"));
    R1_ASSIGN_OR_RETURN(auto w_scale, opt_float(f, a + "expert_weights_scale"));
    R1_ASSIGN_OR_RETURN(auto w_norm, opt_bool(f, a + "expert_weights_norm"));
    R1_ASSIGN_OR_RETURN(auto gating, opt_int(f, a + "expert_gating_func"));
    R1_ASSIGN_OR_RETURN(auto n_group, opt_int(f, a + "expert_group_count"));
    R1_ASSIGN_OR_RETURN(auto topk_group, opt_int(f, a + "expert_group_used_count"));
    if (gating && *gating != 1 && *gating != 2)
      return Status::errorf("{}: expert_gating_func {} is not supported (1 softmax, 2 sigmoid)", f.path(), *gating);
    const bool sigmoid = gating.value_or(1) == 2;
    j.integer("first_k_dense_replace", dense.value_or(0));
    j.integer("moe_intermediate_size", expert_ffn.value_or(0));
    j.integer("n_routed_experts", n_experts.value_or(0));
    j.integer("n_shared_experts", n_shared.value_or(0));
    j.integer("num_experts_per_tok", n_used.value_or(0));
    j.number("routed_scaling_factor", w_scale.value_or(1.0));
    j.boolean("norm_topk_prob", w_norm.value_or(false));
    j.string("scoring_func", sigmoid ? "sigmoid" : "softmax");
    j.integer("n_group", n_group.value_or(1));
    j.integer("topk_group", topk_group.value_or(1));
    j.string("topk_method", sigmoid ? "noaux_tc" : n_group.value_or(1) > 1 ? "group_limited_greedy" : "greedy");
    j.integer("moe_layer_freq", 1);
    j.integer("num_nextn_predict_layers", 0);
  } else {
    hp.head_dim = key_len.value_or(hidden / hp.n_heads);
    if (value_len && *value_len != hp.head_dim)
      return Status::errorf("{}: value_length {} differs from key_length {} (not supported)", f.path(), *value_len,
                            hp.head_dim);
    if (rope_dim && *rope_dim != hp.head_dim)
      return Status::errorf("{}: rope.dimension_count {} differs from the head size {} (partial rotary is not "
                            "supported)", f.path(), *rope_dim, hp.head_dim);
    j.integer("head_dim", hp.head_dim);
    if (const GgufTensorInfo* freqs = f.find_tensor("rope_freqs.weight")) {
      if (rope_scaling != "null")
        return Status::errorf("{}: both rope_freqs.weight and rope scaling \"{}\"", f.path(), scaling_type);
      R1_ASSIGN_OR_RETURN(rope_scaling, llama3_rope_scaling(f, *freqs, theta.value_or(10000.0), hp.head_dim));
    }
  }
  j.raw("rope_scaling", rope_scaling);
  return HfConfig::parse(j.dump(), f.path());
}

// A GGUF tensor as an HF-shaped view into the file (dims reversed: GGUF lists the innermost first).
Result<Tensor> tensor_view(const GgufFile& f, const GgufTensorInfo& t) {
  auto dtype = kernels::dtype_of_ggml(t.type);
  const GgmlTypeInfo* info = ggml_type_info(t.type);
  if (!dtype)
    return Status::errorf("{}: tensor '{}' has type {}, which r1 does not run (supported: F32, F16, BF16, Q8_0, "
                          "Q4_0, Q4_K, Q6_K)", f.path(), t.name, info ? info->name : std::string_view("unknown"));
  if (t.dims.empty() || t.dims.size() > size_t(Tensor::kMaxRank))
    return Status::errorf("{}: tensor '{}' has {} dimensions (1 to {} supported)", f.path(), t.name, t.dims.size(),
                          Tensor::kMaxRank);
  Tensor out;
  out.dtype = *dtype;
  out.rank = int(t.dims.size());
  for (int i = 0; i < out.rank; ++i) {
    if (t.dims[size_t(i)] == 0 || t.dims[size_t(i)] > uint64_t(INT64_MAX))
      return Status::errorf("{}: tensor '{}' has an empty or huge dimension", f.path(), t.name);
    out.shape[size_t(out.rank - 1 - i)] = int64_t(t.dims[size_t(i)]);
  }
  if (out.dim(-1) % dtype_block_size(*dtype) != 0)
    return Status::errorf("{}: tensor '{}' rows of {} are not whole {} blocks", f.path(), t.name, out.dim(-1),
                          dtype_name(*dtype));
  const auto data = f.tensor_data(t);
  if (data.size() != out.nbytes())
    return Status::errorf("{}: tensor '{}' holds {} bytes, its shape needs {}", f.path(), t.name, data.size(),
                          out.nbytes());
  out.data = data.data();
  return out;
}

Status check_shape(const GgufFile& f, const std::string& name, const Tensor& t, std::vector<int64_t> want) {
  bool same = t.rank == int(want.size());
  for (int i = 0; same && i < t.rank; ++i) same = t.shape[size_t(i)] == want[size_t(i)];
  if (same) return Status::ok();
  Tensor w;
  w.rank = int(want.size());
  for (int i = 0; i < w.rank; ++i) w.shape[size_t(i)] = want[size_t(i)];
  return Status::errorf("{}: tensor '{}' has shape {}, expected {}", f.path(), name, t.shape_string(),
                        w.shape_string());
}

// kv_b_proj [H * (nope + v), kv_lora] rebuilt from llama.cpp's split form: attn_k_b [H, kv_lora, nope] (k_b
// transposed) and attn_v_b [H, v, kv_lora]; per head, the nope rows then the v rows.
Result<Tensor> merge_kv_b(const GgufFile& f, WeightStore& ws, const GgufHparams& hp, const Tensor& k_b,
                          const Tensor& v_b, const std::string& layer) {
  const int64_t H = hp.n_heads, R = hp.kv_lora, N = hp.qk_nope, V = hp.v_head;
  R1_RETURN_IF_ERROR(check_shape(f, layer + ".attn_k_b.weight", k_b, {H, R, N}));
  R1_RETURN_IF_ERROR(check_shape(f, layer + ".attn_v_b.weight", v_b, {H, V, R}));
  std::vector<float> kb(size_t(H * R * N)), vb(size_t(H * V * R));
  for (int64_t r = 0; r < H * R; ++r) kernels::dequantize_row(k_b.dtype, k_b.row(r), kb.data() + r * N, N);
  for (int64_t r = 0; r < H * V; ++r) kernels::dequantize_row(v_b.dtype, v_b.row(r), vb.data() + r * R, R);
  std::vector<float> kv(size_t(H * (N + V) * R));
  for (int64_t h = 0; h < H; ++h) {
    float* head = kv.data() + h * (N + V) * R;
    for (int64_t i = 0; i < N; ++i)
      for (int64_t c = 0; c < R; ++c) head[i * R + c] = kb[size_t((h * R + c) * N + i)];
    std::memcpy(head + N * R, vb.data() + h * V * R, size_t(V * R) * sizeof(float));
  }
  return ws.adopt(std::move(kv), {H * (N + V), R});
}

// Every tensor of the file registered in `ws` under its HF name.
Status register_tensors(const std::shared_ptr<const GgufFile>& file, const GgufHparams& hp, WeightStore& ws) {
  const GgufFile& f = *file;
  std::map<int64_t, std::pair<Tensor, Tensor>> split_kv;  // layer -> (attn_k_b, attn_v_b)
  for (const GgufTensorInfo& t : f.tensors()) {
    const std::string& n = t.name;
    if (n == "rope_freqs.weight" && hp.arch == "llama") continue;  // read into the config's rope_scaling
    R1_ASSIGN_OR_RETURN(Tensor view, tensor_view(f, t));
    if (n == "token_embd.weight") { ws.add("model.embed_tokens.weight", view, file); continue; }
    if (n == "output_norm.weight") { ws.add("model.norm.weight", view, file); continue; }
    if (n == "output.weight") { ws.add("lm_head.weight", view, file); continue; }
    // blk.N.suffix
    int64_t layer = -1;
    std::string suffix;
    if (n.starts_with("blk.")) {
      const size_t dot = n.find('.', 4);
      const std::string num = n.substr(4, dot == std::string::npos ? 0 : dot - 4);
      if (!num.empty() && num.size() < 10 && std::all_of(num.begin(), num.end(), ::isdigit)) {
        layer = std::stoll(num);
        suffix = n.substr(dot + 1);
      }
    }
    if (layer < 0) return Status::errorf("{}: tensor '{}' is not a {} tensor r1 knows", f.path(), n, hp.arch);
    if (layer >= hp.n_layers) continue;  // multi-token-prediction blocks: not run
    const std::string p = "model.layers." + std::to_string(layer) + ".";
    bool done = false;
    for (const auto& m : kLayerNames)
      if (suffix == m.gguf) {
        Tensor w = view;
        const bool q = suffix.starts_with("attn_q."), k = suffix.starts_with("attn_k.");
        if (hp.arch == "llama" && (q || k)) {
          // Undo the converter's interleaving of the rotary halves (whole rows, so any block type).
          const int64_t rows = w.dim(0);
          if (rows % hp.head_dim != 0)
            return Status::errorf("{}: tensor '{}' has {} rows, not whole heads of {}", f.path(), n, rows,
                                  hp.head_dim);
          const size_t row_bytes = w.nbytes() / size_t(rows);
          std::vector<int64_t> shape(w.shape.begin(), w.shape.begin() + w.rank);
          w = ws.adopt_bytes(permute_rows(static_cast<const uint8_t*>(w.data), rows, row_bytes, hp.head_dim,
                                          /*to_gguf=*/false),
                             w.dtype, shape);
          ws.add(p + m.hf, w, nullptr);
        } else {
          ws.add(p + m.hf, w, file);
        }
        done = true;
        break;
      }
    for (const auto& m : kExpertNames)
      if (!done && suffix == m.gguf) {
        if (view.rank != 3) return Status::errorf("{}: tensor '{}' must have 3 dimensions", f.path(), n);
        for (int64_t e = 0; e < view.dim(0); ++e) {
          Tensor x;
          x.dtype = view.dtype;
          x.rank = 2;
          x.shape[0] = view.dim(1);
          x.shape[1] = view.dim(2);
          x.data = static_cast<const uint8_t*>(view.data) + size_t(e) * x.nbytes();
          ws.add(p + "mlp.experts." + std::to_string(e) + "." + m.hf, x, file);
        }
        done = true;
      }
    if (!done && hp.arch == "deepseek2" && (suffix == "attn_k_b.weight" || suffix == "attn_v_b.weight")) {
      (suffix == "attn_k_b.weight" ? split_kv[layer].first : split_kv[layer].second) = view;
      done = true;
    }
    if (!done) return Status::errorf("{}: tensor '{}' is not a {} tensor r1 knows", f.path(), n, hp.arch);
  }
  for (const auto& [layer, kv] : split_kv) {
    const std::string blk = "blk." + std::to_string(layer);
    const std::string name = "model.layers." + std::to_string(layer) + ".self_attn.kv_b_proj.weight";
    if (ws.has(name)) continue;  // attn_kv_b is there too: use it
    if (kv.first.empty() || kv.second.empty())
      return Status::errorf("{}: {} has only one of attn_k_b / attn_v_b", f.path(), blk);
    R1_ASSIGN_OR_RETURN(Tensor merged, merge_kv_b(f, ws, hp, kv.first, kv.second, blk));
    ws.add(name, merged, nullptr);
  }
  return Status::ok();
}

}  // namespace

Result<std::unique_ptr<Model>> load_gguf_model(const std::string& path, const LoadOptions& options) {
  R1_ASSIGN_OR_RETURN(GgufFile opened, GgufFile::open(path));
  auto file = std::make_shared<const GgufFile>(std::move(opened));
  GgufHparams hp;
  R1_ASSIGN_OR_RETURN(std::string_view arch, file->get_string(gguf_key::kArchitecture));
  hp.arch = std::string(arch);
  if (hp.arch == "llama" || hp.arch == "qwen2") {
    hp.model_type = hp.arch;
  } else if (hp.arch == "deepseek2") {
    R1_ASSIGN_OR_RETURN(auto gating, opt_int(*file, "deepseek2.expert_gating_func"));
    bool v3 = gating.value_or(1) == 2;
    for (const auto& t : file->tensors()) v3 = v3 || t.name.ends_with(".exp_probs_b.bias");
    hp.model_type = v3 ? "deepseek_v3" : "deepseek_v2";
  } else {
    return Status::errorf("{}: architecture \"{}\" is not supported (supported: {})", path, hp.arch,
                          kSupportedArchs);
  }
  R1_ASSIGN_OR_RETURN(HfConfig config, build_config(*file, hp));
  WeightStore ws;
  ws.set_source(path);
  R1_RETURN_IF_ERROR(register_tensors(file, hp, ws));
  auto model = load_model_from(config, std::move(ws), options);
  if (!model) return model.status().with_context(path);
  return model;
}

// ---------------------------------------------------------------------------------------------------------------
// Export.

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
