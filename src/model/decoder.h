// What every decoder-only model here shares around its layer loop: input checks, packing the sequences of a batch
// into passes of at most kMaxChunk rows (scratch memory stays bounded), the embedding lookup, and the final
// RMSNorm + lm_head. An architecture supplies the layers. T rows of a pass, C hidden size, V vocabulary.
#pragma once

#include <vector>

#include "core/tensor.h"
#include "core/thread_pool.h"
#include "io/safetensors.h"
#include "model/blocks/batch.h"
#include "model/model.h"

namespace r1 {

class DecoderModel : public Model {
 public:
  Status forward_batch(std::span<const SeqChunk> seqs, float* logits) final;
  // The layers' cost plus the embedding table (held, not read), the final norm and lm_head.
  TokenCost token_cost() const final;

 protected:
  static constexpr int64_t kMaxChunk = 256;  // rows per pass through the layers

  // Whether `store` has this model's layout (type, layers and widths).
  virtual bool accepts(const KvStore& store) const = 0;
  // Runs every layer over x_ [batch.rows, C], each sequence's rows at its positions (the caches advance after).
  virtual void run_layers(const Batch& batch, ThreadPool& pool) = 0;
  // token_cost() of the decoder layers alone.
  virtual TokenCost layers_cost() const = 0;
  static size_t bytes_of(const std::vector<float>& v) { return v.size() * sizeof(float); }
  static size_t bytes_of(const Tensor& t) { return t.empty() ? 0 : t.nbytes(); }  // absent weights (rank 0) hold 0

  // After loading: any tensor the architecture did not take is an error (a config that disagrees with the files).
  Status check_all_used(const WeightStore& ws, int64_t n_layers) const;

  static void grow(std::vector<float>& v, int64_t n) {
    if (v.size() < size_t(n)) v.resize(size_t(n));
  }

  int64_t hidden_size_ = 0;       // C
  int64_t vocab_size_ = 0;        // V
  float rms_norm_eps_ = 1e-6f;    // of the final norm
  Tensor embed_tokens_;           // [V, C]
  std::vector<float> norm_;       // [C]
  Tensor lm_head_;                // [V, C] (embed_tokens_ when tied)
  std::vector<float> x_, xn_, tmp_;  // [T, C] residual stream, normed input, block output

 private:
  Status check_batch(std::span<const SeqChunk> seqs) const;
  // Runs the layers over batch_, advances its caches, writes the logits of logit_rows_ to `logits` and returns
  // where the next pass's logits go.
  float* run_pass(float* logits, ThreadPool& pool);

  Batch batch_;                     // the pass being packed
  std::vector<int64_t> logit_rows_;  // rows of batch_ whose logits are wanted, in order
};

}  // namespace r1
