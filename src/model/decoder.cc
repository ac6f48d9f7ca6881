#include "model/decoder.h"

#include <algorithm>

#include "kernels/matmul.h"
#include "kernels/ops.h"
#include "kernels/simd.h"

namespace r1 {

Status DecoderModel::check_batch(std::span<const SeqChunk> seqs) const {
  if (seqs.empty()) return Status::error("forward: no sequences");
  for (size_t i = 0; i < seqs.size(); ++i) {
    const SeqChunk& seq = seqs[i];
    if (!seq.cache) return Status::errorf("forward: sequence {} has no cache", i);
    const KvCache& cache = *seq.cache;
    if (!accepts(cache.store()))
      return Status::errorf("forward: sequence {}: KV store '{}' was not made by this model", i,
                            cache.store().layout());
    for (size_t j = 0; j < i; ++j)
      if (seqs[j].cache == seq.cache) return Status::errorf("forward: sequences {} and {} share a cache", j, i);
    const int64_t T = int64_t(seq.tokens.size()), end = cache.size() + T;
    if (T == 0) return Status::errorf("forward: sequence {} has no tokens", i);
    if (end > cache.capacity())
      return Status::errorf("context full: {} cached + {} new tokens exceed the context size {} (sequence {})",
                            cache.size(), T, cache.capacity(), i);
    const int64_t B = cache.store().block_size(), n_blocks = cache.store().n_blocks();
    for (int64_t b = 0; b < (end + B - 1) / B; ++b) {
      const int32_t block = cache.blocks()[size_t(b)];
      if (block < 0 || block >= n_blocks)
        return Status::errorf("forward: sequence {}: block {} of its table is {}, outside the store's 0..{}", i, b,
                              block, n_blocks - 1);
    }
    for (int32_t id : seq.tokens)
      if (id < 0 || id >= vocab_size_)
        return Status::errorf("token id {} is outside the vocabulary (0..{})", id, vocab_size_ - 1);
  }
  return Status::ok();
}

Status DecoderModel::forward_batch(std::span<const SeqChunk> seqs, float* logits) {
  R1_RETURN_IF_ERROR(check_batch(seqs));
  ThreadPool& pool = ThreadPool::global();
  const int64_t C = hidden_size_;
  int64_t total = 0;
  for (const SeqChunk& seq : seqs) total += int64_t(seq.tokens.size());
  grow(x_, std::min(total, kMaxChunk) * C);
  batch_.clear(), logit_rows_.clear();
  // The (sequence, token) rows in order, cut into passes of kMaxChunk; a long sequence continues in the next pass
  // from where its cache has advanced to.
  for (const SeqChunk& seq : seqs) {
    const int64_t T = int64_t(seq.tokens.size());
    for (int64_t t0 = 0; t0 < T;) {
      const int64_t n = std::min(T - t0, kMaxChunk - batch_.rows), row0 = batch_.rows;
      batch_.add(*seq.cache, seq.cache->size(), n);
      for (int64_t t = 0; t < n; ++t) {
        const int32_t id = seq.tokens[size_t(t0 + t)];
        kernels::to_f32(embed_tokens_.dtype, embed_tokens_.row(id), x_.data() + (row0 + t) * C, size_t(C));
        if (seq.all_logits || t0 + t == T - 1) logit_rows_.push_back(row0 + t);
      }
      t0 += n;
      if (batch_.rows == kMaxChunk) logits = run_pass(logits, pool);
    }
  }
  if (batch_.rows > 0) run_pass(logits, pool);
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

float* DecoderModel::run_pass(float* logits, ThreadPool& pool) {
  const int64_t C = hidden_size_, n = int64_t(logit_rows_.size());
  grow(xn_, batch_.rows * C), grow(tmp_, batch_.rows * C);
  run_layers(batch_, pool);
  for (const SeqRows& seq : batch_.seqs) seq.cache->advance(seq.T);
  // The wanted rows, normed into xn_ one after another, then one lm_head matmul over them.
  for (int64_t i = 0; logits && i < n; ++i)
    kernels::rmsnorm(x_.data() + logit_rows_[size_t(i)] * C, norm_.data(), xn_.data() + i * C, 1, C, rms_norm_eps_);
  if (n > 0 && logits) kernels::matmul(xn_.data(), n, lm_head_, logits, pool);
  batch_.clear(), logit_rows_.clear();
  return logits ? logits + n * vocab_size_ : nullptr;
}

}  // namespace r1
