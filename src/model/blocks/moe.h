// DeepSeekMoE (ARCHITECTURE.md "DeepSeekMoE"): a router picks K of E routed experts per token, the output is their
// weighted sum plus the shared experts. T tokens, C hidden, E routed experts, K experts per token.
// Execution groups the tokens of a batch by expert (gather -> one SwiGLU over the group -> weighted scatter).
#pragma once

#include <string>
#include <vector>

#include "model/blocks/swiglu.h"

namespace r1 {

enum class MoeScoring { kSoftmax, kSigmoid };                      // scoring_func
enum class MoeTopkMethod { kGreedy, kGroupLimitedGreedy, kNoauxTc };  // topk_method

struct MoeRouting {
  int64_t n_routed_experts = 0;     // E
  int64_t num_experts_per_tok = 0;  // K
  int64_t n_group = 1;              // expert groups (group-limited routing)
  int64_t topk_group = 1;           // groups kept per token
  MoeTopkMethod topk_method = MoeTopkMethod::kGreedy;
  MoeScoring scoring_func = MoeScoring::kSoftmax;
  bool norm_topk_prob = false;         // renormalise the K weights to sum 1
  float routed_scaling_factor = 1.0f;  // multiplies the routed weights
  // DeepSeek-V3 scales after normalising; V2 scales only when it does not normalise (their reference code).
  bool scale_after_norm = true;
};

// Picks experts for T tokens from router logits [T, E]: ids and weights [T, K]. `bias` [E] (noaux_tc's
// e_score_correction_bias) steers the selection only; the weights are the unbiased scores.
void moe_route(const MoeRouting& r, const float* logits, const float* bias, int64_t T, int32_t* ids, float* weights);

struct MoeWeights {
  Tensor gate;                                  // [E, C] router
  std::vector<float> e_score_correction_bias;   // [E], noaux_tc only
  std::vector<SwigluWeights> experts;           // [E] of SwiGLU with width moe_intermediate_size
  bool has_shared_experts = false;
  SwigluWeights shared_experts;                 // width n_shared_experts * moe_intermediate_size
};

// Loads `{prefix}.gate.weight`, `{prefix}.experts.{e}.*`, `{prefix}.shared_experts.*` (when n_shared > 0) and the
// correction bias (noaux_tc).
Result<MoeWeights> load_moe(WeightStore& ws, const std::string& prefix, const MoeRouting& r, int64_t hidden,
                            int64_t moe_intermediate, int64_t n_shared_experts);

struct MoeScratch {
  std::vector<float> logits;     // [T, E]
  std::vector<int32_t> ids;      // [T, K]
  std::vector<float> weights;    // [T, K]
  std::vector<int32_t> order;    // token slots grouped by expert
  std::vector<int64_t> begin;    // [E + 1] start of each expert's group in `order`
  std::vector<int64_t> fill;     // [E] next free place while grouping
  std::vector<float> xe, ye;     // [n_e, C] gathered inputs and expert outputs
  std::vector<float> shared;     // [T, C]
  SwigluScratch ffn;
};

// out[T, C] = Σ_k w[t,k] · expert_{id[t,k]}(x[t]) + shared_experts(x[t]).
void moe_forward(const MoeWeights& w, const MoeRouting& r, const float* x, int64_t T, MoeScratch& s, float* out,
                 ThreadPool& pool);

}  // namespace r1
