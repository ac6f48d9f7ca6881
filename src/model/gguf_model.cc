// load_gguf_model (model/gguf_model.h): a GGUF file as a Model, weights used in place from the mapping.
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
#include "model/gguf_mapping.h"

namespace r1 {

using gguf_mapping::kExpertNames;
using gguf_mapping::kLayerNames;
using gguf_mapping::permute_rows;

namespace {

// The GGUF architectures this loader reads.
constexpr std::string_view kSupportedArchs = "llama, qwen2, deepseek2";

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

}  // namespace r1
