// Training ops: paired `*_forward` / `*_backward` free functions over flat f32 buffers (llm.c style), the layer
// the trainer runs the model's math through. The forwards compute what the inference blocks in model/blocks and
// kernels/ compute (tests/train/ops_test.cc checks that), and save what their backward needs.
//
// Conventions:
// - Every backward ACCUMULATES (+=) into the gradients of its inputs and parameters, so a residual branch or a
//   tied weight just sums; the caller zeroes gradient buffers once per step. A null gradient pointer skips that
//   gradient (the input of the first layer, a frozen weight).
// - Forwards overwrite their outputs. Buffers do not alias unless a comment says they may.
// - Shapes in PyTorch order. Dimension letters: T tokens, C channels (hidden size), V vocab, I/O linear in/out
//   features, H query heads, Hkv key/value heads, D head dim (Dk query/key, Dv value), Dr rotary dims,
//   F SwiGLU width, E routed experts, K experts per token.
// - Bad data (a token id outside the vocabulary, inconsistent dimensions) is a Status error from the forward; the
//   backward assumes its forward succeeded on the same arguments.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/status.h"
#include "core/thread_pool.h"
#include "model/blocks/mla.h"
#include "model/blocks/moe.h"

namespace r1::train {

// ---------------------------------------------------------------------------------------------- embedding

// out [T, C] = wte [V, C] rows ids [T]; an id outside [0, V) is an error.
Status embedding_forward(float* out, const int32_t* ids, const float* wte, int64_t T, int64_t V, int64_t C);
// dwte [V, C] rows ids[t] += dout [T, C] rows t (a scatter: repeated ids sum).
void embedding_backward(float* dwte, const float* dout, const int32_t* ids, int64_t T, int64_t C);

// ------------------------------------------------------------------------------------------------ rmsnorm

// out [T, C] = inp [T, C] * rstd * weight [C], rstd [T] = 1 / sqrt(mean(inp^2) + eps) saved for the backward.
void rmsnorm_forward(float* out, float* rstd, const float* inp, const float* weight, int64_t T, int64_t C, float eps);
// dinp [T, C], dweight [C] from dout [T, C].
void rmsnorm_backward(float* dinp, float* dweight, const float* dout, const float* inp, const float* weight,
                      const float* rstd, int64_t T, int64_t C);

// ------------------------------------------------------------------------------------------------- linear

// out [T, O] = inp [T, I] · weight [O, I]ᵀ + bias [O] (bias may be null). Runs kernels::matmul, the inference GEMM.
void linear_forward(float* out, const float* inp, const float* weight, const float* bias, int64_t T, int64_t I,
                    int64_t O, ThreadPool& pool);
// dinp [T, I] += dout · weight; dweight [O, I] += doutᵀ · inp; dbias [O] += Σ_t dout. Any of the three may be null.
// Both products run through kernels::gemm_f32.
void linear_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                     const float* weight, int64_t T, int64_t I, int64_t O, ThreadPool& pool);

// --------------------------------------------------------------------------------------------------- rope

enum class RopeLayout {
  kHalfSplit,    // pairs (i, i + D/2): HF Llama/Qwen2 rotate_half
  kInterleaved,  // pairs (2i, 2i + 1): DeepSeek's MLA rope dims
};

// out [T, H, D] = inp [T, H, D] rotated per token by cos/sin [T, D/2] (model/blocks/rope.h rope_tables, which carry
// the YaRN/llama3 frequencies and YaRN's cos/sin scale). out may alias inp.
void rope_forward(float* out, const float* inp, const float* cos, const float* sin, int64_t T, int64_t H, int64_t D,
                  RopeLayout layout);
// dinp [T, H, D] += the transposed rotation of dout [T, H, D] (the inverse rotation, times the scale squared when
// cos/sin carry a scale).
void rope_backward(float* dinp, const float* dout, const float* cos, const float* sin, int64_t T, int64_t H,
                   int64_t D, RopeLayout layout);

// ------------------------------------------------------------------------------------------------- swiglu

// out [N] = silu(gate [N]) * up [N], the activation between a SwiGLU's projections (N = T * F), over
// ThreadPool::global() (the pool every training op runs on).
void swiglu_forward(float* out, const float* gate, const float* up, int64_t N);
void swiglu_backward(float* dgate, float* dup, const float* dout, const float* gate, const float* up, int64_t N);

// ------------------------------------------------------------------------------ causal self-attention (GQA)

struct AttentionShape {
  int64_t T;           // tokens: one sequence, or several packed one after another (lengths)
  int64_t n_heads;     // H
  int64_t n_kv_heads;  // Hkv, divides H; query head h reads key/value head h / (H / Hkv)
  int64_t head_dim;    // Dk of queries and keys
  int64_t v_head_dim;  // Dv of values and the output (MLA's differs from Dk)
  // Lengths of the packed sequences (positive, summing to T); empty: one sequence of T. No token attends across
  // a boundary, so a pack computes exactly what its sequences would one at a time.
  std::span<const int64_t> lengths = {};
};

// Floats attention_forward's `att` holds: H · Σ length² (H · T² for one sequence).
int64_t attention_probs_size(const AttentionShape& s);

// Causal attention within each sequence, each at positions 0 .. length-1. q [T, H, Dk], k [T, Hkv, Dk],
// v [T, Hkv, Dv] -> out [T, H, Dv]; att keeps the softmax probabilities for the backward, an [H, L, L] block per
// sequence (row t: positions 0 .. t, zero after). scores = q·k * scale. Errors: a bad shape or lengths.
Status attention_forward(float* out, float* att, const float* q, const float* k, const float* v,
                         const AttentionShape& s, float scale, ThreadPool& pool);
// dq [T, H, Dk], dk [T, Hkv, Dk], dv [T, Hkv, Dv] from dout [T, H, Dv]. Parallel over key/value heads, so the
// accumulation into dk/dv needs no atomics. `s` as given to the forward.
void attention_backward(float* dq, float* dk, float* dv, const float* dout, const float* att, const float* q,
                        const float* k, const float* v, const AttentionShape& s, float scale, ThreadPool& pool);

// ------------------------------------------------------------------------ MLA (naive, decompressed form)

// MLA's weights (HF names, model/blocks/mla.h), as parameters (MlaParams) or as their gradients (MlaGrads) with the
// same layout. With q_lora_rank > 0 the q_a/q_b path is used and q_proj is ignored, otherwise the reverse.
template <typename P>
struct MlaTensors {
  P q_proj = nullptr;              // [H * (Dn + Dr), C]
  P q_a_proj = nullptr;            // [q_lora_rank, C]
  P q_a_layernorm = nullptr;       // [q_lora_rank]
  P q_b_proj = nullptr;            // [H * (Dn + Dr), q_lora_rank]
  P kv_a_proj_with_mqa = nullptr;  // [R + Dr, C]: c_kv then the shared k_pe
  P kv_a_layernorm = nullptr;      // [R]
  P kv_b_proj = nullptr;           // [H * (Dn + Dv), R]: per head k_nope (Dn rows) then v (Dv rows)
  P o_proj = nullptr;              // [C, H * Dv]
};
using MlaParams = MlaTensors<const float*>;
using MlaGrads = MlaTensors<float*>;

// What mla_forward saves for mla_backward, and the backward's scratch. R kv_lora_rank, Dn/Dr/Dv MLA head dims,
// Dq = Dn + Dr, Lq q_lora_rank.
struct MlaActs {
  std::vector<float> qa, qa_rstd, qa_norm;  // [T, Lq], [T], [T, Lq]   (q_lora_rank > 0)
  std::vector<float> q;                     // [T, H, Dq] before rope
  std::vector<float> kv;                    // [T, R + Dr] kv_a_proj_with_mqa output
  std::vector<float> c_kv_in, c_kv_rstd;    // [T, R], [T] before kv_a_layernorm
  std::vector<float> c_kv;                  // [T, R] after it
  std::vector<float> k_pe_in, k_pe;         // [T, Dr] before and after rope
  std::vector<float> q_pe_in, q_pe;         // [T, H, Dr] before and after rope
  std::vector<float> kvb;                   // [T, H, Dn + Dv] kv_b_proj output
  std::vector<float> qh, kh, vh;            // [T, H, Dq], [T, H, Dq], [T, H, Dv] what attention sees
  std::vector<float> att;                   // attention_probs_size: [H, L, L] per sequence
  std::vector<float> o;                     // [T, H * Dv] attention output
  // Backward scratch, same shapes as the names without the d.
  std::vector<float> d_o, dqh, dkh, dvh, dkvb, dc_kv, dkv, dpe, dpe_in, dq, dqa_norm, dqa;
};

// Checks the dimensions (positive, Dr even, H * Dq > 0) and that every tensor the configuration uses is given.
Status mla_check(const MlaDims& d, const MlaParams& p);

// out [T, C] = MLA(x [T, C]) over one sequence at positions 0 .. T-1, decompressing per-head keys and values:
// q path (q_a_proj -> q_a_layernorm -> q_b_proj, or q_proj); kv_a_proj_with_mqa -> c_kv | k_pe;
// kv_a_layernorm(c_kv) -> kv_b_proj -> k_nope, v per head; interleaved rope on q_pe and k_pe with cos/sin
// [T, Dr/2]; K = [k_nope; k_pe shared by every head]; causal attention with d.softmax_scale; o_proj.
// `lengths`: packed sequences as in AttentionShape (cos/sin then hold each token's position in its own sequence).
Status mla_forward(float* out, MlaActs& a, const float* x, const MlaParams& p, const MlaDims& d, int64_t T,
                   const float* cos, const float* sin, ThreadPool& pool, std::span<const int64_t> lengths = {});
// dx [T, C] and every gradient in g (null entries skipped) from dout [T, C]; `a` as mla_forward left it.
void mla_backward(float* dx, const MlaGrads& g, const float* dout, MlaActs& a, const float* x, const MlaParams& p,
                  const MlaDims& d, int64_t T, const float* cos, const float* sin, ThreadPool& pool,
                  std::span<const int64_t> lengths = {});

// -------------------------------------------------------------------------------------------- DeepSeekMoE

struct MoeDims {
  int64_t hidden_size;               // C
  int64_t moe_intermediate_size;     // F of each routed expert
  int64_t shared_intermediate_size;  // n_shared_experts * moe_intermediate_size; 0 without shared experts
};

// The MoE's trainable weights (HF names; routed experts stacked), as parameters or gradients. The noaux_tc
// e_score_correction_bias is not trained by gradient (moe_update_bias) and is passed to the forward on its own.
template <typename P>
struct MoeTensors {
  P gate = nullptr;              // [E, C] router
  P gate_proj = nullptr;         // [E, F, C] experts.{e}.gate_proj
  P up_proj = nullptr;           // [E, F, C] experts.{e}.up_proj
  P down_proj = nullptr;         // [E, C, F] experts.{e}.down_proj
  P shared_gate_proj = nullptr;  // [Fs, C] shared_experts.gate_proj, Fs = shared_intermediate_size
  P shared_up_proj = nullptr;    // [Fs, C]
  P shared_down_proj = nullptr;  // [C, Fs]
};
using MoeParams = MoeTensors<const float*>;
using MoeGrads = MoeTensors<float*>;

// What moe_forward saves for moe_backward. Routed rows are stored grouped by expert: row j of xe/h_*/ye is the
// (token, slot) pair order[j]; expert e owns rows begin[e] .. begin[e+1].
struct MoeActs {
  std::vector<float> logits, scores;   // [T, E] router logits and their sigmoid/softmax
  std::vector<int32_t> ids;            // [T, K] selected experts
  std::vector<float> weights;          // [T, K] their combine weights
  std::vector<int64_t> begin;          // [E + 1]
  std::vector<int32_t> order;          // [T * K] slot t * K + k of each grouped row
  std::vector<float> xe, ye;           // [T * K, C] gathered inputs, expert outputs
  std::vector<float> h_gate, h_up, h;  // [T * K, F] gate_proj, up_proj outputs, silu(gate) * up
  std::vector<float> s_gate, s_up, s_h;  // [T, Fs] the shared experts' hidden
  // Backward scratch.
  std::vector<float> dye, dh, dh_gate, dh_up, dxe, ds_h, ds_gate, ds_up, dweights, dscores, dlogits;

  // Tokens routed to expert e by the last forward (its load, for moe_update_bias).
  int64_t load(int64_t e) const { return begin[size_t(e) + 1] - begin[size_t(e)]; }
};

// Checks the routing configuration against the dimensions and that the tensors it uses are given.
Status moe_check(const MoeRouting& r, const MoeDims& d, const MoeParams& p, const float* e_score_correction_bias);

// out [T, C] = Σ_k weights[t, k] · expert_{ids[t, k]}(x[t]) + shared_experts(x[t]). Selection and weights come
// from moe_route (blocks/moe.h) on logits = x · gateᵀ: scores (sigmoid or softmax) plus the correction bias [E]
// (may be null) pick the experts, the unbiased scores (normalised, scaled) weight them.
Status moe_forward(float* out, MoeActs& a, const float* x, const MoeParams& p, const float* e_score_correction_bias,
                   const MoeRouting& r, const MoeDims& d, int64_t T, ThreadPool& pool);
// dx [T, C] and every gradient in g from dout [T, C]. The router gate gets its gradient through the selected
// experts' weights; the selection itself is piecewise constant and passes none.
void moe_backward(float* dx, const MoeGrads& g, const float* dout, MoeActs& a, const float* x, const MoeParams& p,
                  const MoeRouting& r, const MoeDims& d, int64_t T, ThreadPool& pool);

// DeepSeek-V3's auxiliary-loss-free balancing (arXiv 2412.19437 §2.1.2), once per step: every expert's
// e_score_correction_bias [E] moves by gamma towards balance, bias[e] += gamma * sign(mean load - load[e]).
// load [E] counts the tokens each expert received over the step.
void moe_update_bias(float* bias, const int64_t* load, int64_t E, float gamma);

// ---------------------------------------------------------------------------- log-probs and cross-entropy

// logp [T] = log softmax(logits [T, V] / temperature)[targets [T]] (GRPO's per-token log-probability of the
// sampling distribution: TRL divides the logits by the sampling temperature); a target outside [0, V) or a
// temperature <= 0 is an error. Stable: computed against each row's maximum.
Status token_logprobs_forward(float* logp, const float* logits, const int32_t* targets, int64_t T, int64_t V,
                              float temperature = 1.0f);
// dlogits [T, V] += dlogp[t] / temperature * (onehot(targets[t]) - softmax(logits[t] / temperature)); the softmax
// is recomputed. temperature > 0, as in the forward.
void token_logprobs_backward(float* dlogits, const float* dlogp, const float* logits, const int32_t* targets,
                             int64_t T, int64_t V, float temperature = 1.0f);

// Weighted mean next-token loss -Σ_t w[t] logp[t] / Σ_t w[t] over logits [T, V], targets [T], weights [T] (null:
// all 1; 0 masks a token, e.g. a prompt token, whose target is then not read). Negative weights or a target
// outside [0, V) on a weighted token are errors. With no weight at all the loss is 0.
Result<float> cross_entropy_forward(const float* logits, const int32_t* targets, const float* weights, int64_t T,
                                    int64_t V);
// dlogits [T, V] += dloss * d(loss)/d(logits).
void cross_entropy_backward(float* dlogits, float dloss, const float* logits, const int32_t* targets,
                            const float* weights, int64_t T, int64_t V);

}  // namespace r1::train
