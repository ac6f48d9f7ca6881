#include "model/blocks/moe.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#include "kernels/matmul.h"
#include "kernels/simd.h"
#include "model/blocks/load.h"

namespace r1 {

namespace {

// Indices of the k largest of v[0..n) (ties to the lower index), in descending order of value.
void top_k(const float* v, int64_t n, int64_t k, int32_t* out) {
  thread_local std::vector<int32_t> idx;
  idx.resize(size_t(n));
  std::iota(idx.begin(), idx.end(), 0);
  std::partial_sort(idx.begin(), idx.begin() + k, idx.end(),
                    [&](int32_t a, int32_t b) { return v[a] > v[b] || (v[a] == v[b] && a < b); });
  std::copy(idx.begin(), idx.begin() + k, out);
}

// Masks (to -inf) every expert outside the topk_group best groups; a group's score is its best expert
// (group_limited_greedy) or the sum of its best two (noaux_tc).
void limit_groups(const MoeRouting& r, float* choice) {
  const int64_t E = r.n_routed_experts, G = r.n_group, per = E / G;
  thread_local std::vector<float> group_score;
  thread_local std::vector<int32_t> keep;
  group_score.resize(size_t(G));
  for (int64_t g = 0; g < G; ++g) {
    const float* s = choice + g * per;
    if (r.topk_method == MoeTopkMethod::kNoauxTc) {
      int32_t best[2];
      const int64_t k = std::min<int64_t>(2, per);
      top_k(s, per, k, best);
      group_score[size_t(g)] = s[best[0]] + (k > 1 ? s[best[1]] : 0.0f);
    } else {
      group_score[size_t(g)] = *std::max_element(s, s + per);
    }
  }
  keep.resize(size_t(r.topk_group));
  top_k(group_score.data(), G, r.topk_group, keep.data());
  for (int64_t g = 0; g < G; ++g)
    if (std::find(keep.begin(), keep.end(), int32_t(g)) == keep.end())
      std::fill(choice + g * per, choice + (g + 1) * per, -INFINITY);
}

}  // namespace

void moe_route(const MoeRouting& r, const float* logits, const float* bias, int64_t T, int32_t* ids, float* weights) {
  const int64_t E = r.n_routed_experts, K = r.num_experts_per_tok;
  thread_local std::vector<float> score, choice;  // reused: routing runs every token
  score.resize(size_t(E)), choice.resize(size_t(E));
  for (int64_t t = 0; t < T; ++t) {
    const float* l = logits + t * E;
    if (r.scoring_func == MoeScoring::kSigmoid) {
      for (int64_t e = 0; e < E; ++e) score[size_t(e)] = 1.0f / (1.0f + std::exp(-l[e]));
    } else {
      const float mx = *std::max_element(l, l + E);
      double sum = 0.0;
      for (int64_t e = 0; e < E; ++e) sum += (score[size_t(e)] = std::exp(l[e] - mx));
      for (auto& s : score) s = float(s / sum);
    }
    for (int64_t e = 0; e < E; ++e) choice[size_t(e)] = score[size_t(e)] + (bias ? bias[e] : 0.0f);
    if (r.topk_method != MoeTopkMethod::kGreedy && r.n_group > 1) limit_groups(r, choice.data());
    int32_t* id = ids + t * K;
    float* w = weights + t * K;
    top_k(choice.data(), E, K, id);
    double sum = 0.0;
    for (int64_t k = 0; k < K; ++k) sum += (w[k] = score[size_t(id[k])]);
    const bool normalise = r.norm_topk_prob && K > 1;
    const float scale = (!normalise || r.scale_after_norm) ? r.routed_scaling_factor : 1.0f;
    for (int64_t k = 0; k < K; ++k) w[k] = float((normalise ? w[k] / (sum + 1e-20) : w[k]) * scale);
  }
}

Result<MoeWeights> load_moe(WeightStore& ws, const std::string& p, const MoeRouting& r, int64_t hidden,
                            int64_t moe_intermediate, int64_t n_shared_experts) {
  MoeWeights w;
  R1_ASSIGN_OR_RETURN(w.gate, ws.get(p + ".gate.weight", {r.n_routed_experts, hidden}));
  if (r.topk_method == MoeTopkMethod::kNoauxTc) {
    R1_ASSIGN_OR_RETURN(w.e_score_correction_bias,
                        load_vector(ws, p + ".gate.e_score_correction_bias", r.n_routed_experts));
  }
  for (int64_t e = 0; e < r.n_routed_experts; ++e) {
    R1_ASSIGN_OR_RETURN(auto expert, load_swiglu(ws, p + ".experts." + std::to_string(e), hidden, moe_intermediate));
    w.experts.push_back(expert);
  }
  if (n_shared_experts > 0) {
    w.has_shared_experts = true;
    R1_ASSIGN_OR_RETURN(w.shared_experts,
                        load_swiglu(ws, p + ".shared_experts", hidden, n_shared_experts * moe_intermediate));
  }
  return w;
}

void moe_forward(const MoeWeights& w, const MoeRouting& r, const float* x, int64_t T, MoeScratch& s, float* out,
                 ThreadPool& pool) {
  const int64_t E = r.n_routed_experts, K = r.num_experts_per_tok, C = w.gate.dim(1);
  s.logits.resize(size_t(T * E)), s.ids.resize(size_t(T * K)), s.weights.resize(size_t(T * K));
  kernels::matmul(x, T, w.gate, s.logits.data(), pool);
  moe_route(r, s.logits.data(), w.e_score_correction_bias.empty() ? nullptr : w.e_score_correction_bias.data(), T,
            s.ids.data(), s.weights.data());
  // Shared experts see every token; their output starts the sum.
  if (w.has_shared_experts) swiglu_forward(w.shared_experts, x, T, s.ffn, out, pool);
  else std::memset(out, 0, sizeof(float) * size_t(T * C));
  // Group the (token, slot) pairs by expert with a counting sort, then run each expert once over its tokens.
  std::vector<int64_t>& begin = s.begin;
  begin.assign(size_t(E + 1), 0);
  for (int32_t id : s.ids) ++begin[size_t(id) + 1];
  std::partial_sum(begin.begin(), begin.end(), begin.begin());
  s.order.resize(size_t(T * K));
  std::vector<int64_t>& fill = s.fill;
  fill.assign(begin.begin(), begin.end() - 1);
  for (int64_t i = 0; i < T * K; ++i) s.order[size_t(fill[size_t(s.ids[size_t(i)])]++)] = int32_t(i);
  for (int64_t e = 0; e < E; ++e) {
    const int64_t n = begin[size_t(e + 1)] - begin[size_t(e)];
    if (n == 0) continue;
    if (s.xe.size() < size_t(n * C)) s.xe.resize(size_t(n * C)), s.ye.resize(size_t(n * C));
    for (int64_t j = 0; j < n; ++j) {
      const int64_t t = s.order[size_t(begin[size_t(e)] + j)] / K;
      std::memcpy(s.xe.data() + j * C, x + t * C, sizeof(float) * size_t(C));
    }
    swiglu_forward(w.experts[size_t(e)], s.xe.data(), n, s.ffn, s.ye.data(), pool);
    for (int64_t j = 0; j < n; ++j) {
      const int32_t slot = s.order[size_t(begin[size_t(e)] + j)];
      kernels::axpy(s.weights[size_t(slot)], s.ye.data() + j * C, out + (slot / K) * C, size_t(C));
    }
  }
}

}  // namespace r1
