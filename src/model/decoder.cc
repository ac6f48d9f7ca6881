#include "model/decoder.h"

#include <algorithm>

#include "kernels/matmul.h"
#include "kernels/ops.h"
#include "kernels/simd.h"

namespace r1 {

Status DecoderModel::forward(std::span<const int32_t> tokens, KvCache& kv, float* logits, bool all_logits) {
  KvCache* cache = own_cache(kv);
  if (!cache) return Status::error("forward: cache was not made by this model");
  const int64_t T = int64_t(tokens.size());
  if (T == 0) return Status::error("forward: no tokens");
  if (cache->size() + T > cache->capacity())
    return Status::errorf("context full: {} cached + {} new tokens exceed the context size {}", cache->size(), T,
                          cache->capacity());
  for (int32_t id : tokens)
    if (id < 0 || id >= vocab_size_)
      return Status::errorf("token id {} is outside the vocabulary (0..{})", id, vocab_size_ - 1);
  for (int64_t t0 = 0; t0 < T; t0 += kMaxChunk) {
    const int64_t n = std::min(kMaxChunk, T - t0);
    float* out = all_logits ? logits + t0 * vocab_size_ : (t0 + n == T ? logits : nullptr);
    run_chunk(tokens.subspan(size_t(t0), size_t(n)), *cache, out, all_logits);
  }
  return Status::ok();
}

Status DecoderModel::check_all_used(const WeightStore& ws, int64_t n_layers) const {
  for (const std::string& name : ws.unused())
    if (!name.ends_with("rotary_emb.inv_freq"))  // buffers some older checkpoints saved
      return Status::errorf("unexpected tensor '{}' for {} with {} layers", name, info_.model_type, n_layers);
  return Status::ok();
}

Model::TokenCost DecoderModel::token_cost() const {
  TokenCost c = layers_cost();
  const bool tied = lm_head_.data == embed_tokens_.data;
  c.weight_bytes += bytes_of(embed_tokens_) + bytes_of(norm_) + (tied ? 0 : bytes_of(lm_head_));
  c.active_weight_bytes += double(bytes_of(norm_) + bytes_of(lm_head_));
  return c;
}

void DecoderModel::run_chunk(std::span<const int32_t> tokens, KvCache& cache, float* logits, bool all_logits) {
  ThreadPool& pool = ThreadPool::global();
  const int64_t T = int64_t(tokens.size()), C = hidden_size_;
  grow(x_, T * C), grow(xn_, T * C), grow(tmp_, T * C);
  for (int64_t t = 0; t < T; ++t)
    kernels::to_f32(embed_tokens_.dtype, embed_tokens_.row(tokens[size_t(t)]), x_.data() + t * C, size_t(C));
  run_layers(T, cache, pool);
  cache.advance(T);
  if (!logits) return;
  const int64_t first = all_logits ? 0 : T - 1, rows = T - first;
  kernels::rmsnorm(x_.data() + first * C, norm_.data(), xn_.data(), rows, C, rms_norm_eps_);
  kernels::matmul(xn_.data(), rows, lm_head_, logits, pool);
}

}  // namespace r1
