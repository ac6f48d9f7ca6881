// KV caches. A cache holds the per-layer state of one sequence; the model appends to it on every forward.
// Memory is reserved for `capacity` tokens up front but only touched as positions fill.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

namespace r1 {

class KvCache {
 public:
  virtual ~KvCache() = default;
  int64_t size() const { return n_tokens_; }
  int64_t capacity() const { return capacity_; }
  // Forgets every token from position n on (n <= size()); the next forward continues from there.
  void truncate(int64_t n) { n_tokens_ = n < n_tokens_ ? (n < 0 ? 0 : n) : n_tokens_; }
  // Marks T more positions as filled (called by the model once all layers wrote them).
  void advance(int64_t T) { n_tokens_ += T; }
  virtual size_t bytes_per_token() const = 0;

 protected:
  explicit KvCache(int64_t capacity) : capacity_(capacity) {}
  int64_t n_tokens_ = 0;
  int64_t capacity_;
};

// Grouped-query attention cache: per layer K and V [capacity, n_kv_heads, head_dim] in f32.
class GqaKvCache final : public KvCache {
 public:
  GqaKvCache(int64_t n_layers, int64_t capacity, int64_t n_kv_heads, int64_t head_dim);
  float* k(int64_t layer) { return k_[size_t(layer)].get(); }
  float* v(int64_t layer) { return v_[size_t(layer)].get(); }
  size_t bytes_per_token() const override { return size_t(2 * n_layers_ * row_) * sizeof(float); }

 private:
  int64_t n_layers_;
  int64_t row_;                             // n_kv_heads * head_dim
  std::vector<std::unique_ptr<float[]>> k_;  // [n_layers] of [capacity, n_kv_heads, head_dim]
  std::vector<std::unique_ptr<float[]>> v_;
};

// Multi-head latent attention cache (DeepSeek-V2/V3): per layer only the normalised latent c_kv
// [capacity, kv_lora_rank] and the shared rope key k_pe [capacity, qk_rope_head_dim], in f32.
class MlaKvCache final : public KvCache {
 public:
  MlaKvCache(int64_t n_layers, int64_t capacity, int64_t kv_lora_rank, int64_t rope_head_dim);
  float* c_kv(int64_t layer) { return c_kv_[size_t(layer)].get(); }
  float* k_pe(int64_t layer) { return k_pe_[size_t(layer)].get(); }
  size_t bytes_per_token() const override { return size_t(n_layers_ * (rank_ + rope_)) * sizeof(float); }

 private:
  int64_t n_layers_, rank_, rope_;
  std::vector<std::unique_ptr<float[]>> c_kv_;  // [n_layers] of [capacity, kv_lora_rank]
  std::vector<std::unique_ptr<float[]>> k_pe_;  // [n_layers] of [capacity, qk_rope_head_dim]
};

}  // namespace r1
