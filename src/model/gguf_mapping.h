// The GGUF <-> Hugging Face tensor mapping shared by the GGUF loader (model/gguf_model.cc) and the exporter
// (model/gguf_export.cc): fixed per-layer renames, stacked routed experts, and llama's q/k row order.
#pragma once

#include <cstdint>
#include <cstring>
#include <vector>

namespace r1::gguf_mapping {

// Per-layer tensors whose HF name is a fixed rename (GGUF suffix after "blk.N." -> HF suffix after
// "model.layers.N."). Routed experts, attn_k_b / attn_v_b and the llama q/k row order are handled apart.
struct LayerName {
  const char* gguf;
  const char* hf;
};
inline constexpr LayerName kLayerNames[] = {
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
inline constexpr LayerName kExpertNames[] = {
    {"ffn_gate_exps.weight", "gate_proj.weight"},
    {"ffn_up_exps.weight", "up_proj.weight"},
    {"ffn_down_exps.weight", "down_proj.weight"},
};

// llama.cpp's converter stores llama's q/k rows per head with the two rotary halves interleaved: GGUF row
// 2i + j of a head is HF row j * D/2 + i (i < D/2, j in {0, 1}). `to_gguf` gives the HF row each GGUF row
// holds; otherwise the GGUF row each HF row comes from. Rows are any byte size (whole blocks when quantized).
inline std::vector<uint8_t> permute_rows(const uint8_t* src, int64_t rows, size_t row_bytes, int64_t head_dim,
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

}  // namespace r1::gguf_mapping
