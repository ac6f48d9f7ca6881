// Paged KV caches. A KvStore holds fixed-size blocks of token slots for every layer (in the model's own
// layout: GQA keys/values or the MLA latent); a KvCache is one sequence's block table into a store, so many
// sequences share one store and a prefix can be shared or copied block by block. B block size (a power of
// two). Memory is reserved for every block up front but only touched as slots are written.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/status.h"

namespace r1 {

class KvStore {
 public:
  virtual ~KvStore() = default;
  // Whether a store of n_blocks blocks of block_size slots can be made: n_blocks >= 0, block_size a power of
  // two (the attention kernels resolve slots with a shift and a mask).
  static Status check_geometry(int64_t n_blocks, int64_t block_size);

  int64_t n_blocks() const { return n_blocks_; }
  int64_t block_size() const { return block_size_; }
  int block_shift() const { return block_shift_; }  // log2(block_size)
  virtual size_t bytes_per_token() const = 0;       // all layers
  size_t block_bytes() const { return bytes_per_token() * size_t(block_size_); }
  // All layers of one block in a fixed layout (per layer, each array's block_size rows in turn); out.size()
  // and in.size() must be block_bytes() and block < n_blocks(), else nothing is read or written.
  virtual void read_block(int32_t block, std::span<std::byte> out) const = 0;
  virtual void write_block(int32_t block, std::span<const std::byte> in) = 0;
  virtual void copy_block(int32_t from, int32_t to) = 0;
  virtual std::string layout() const = 0;  // e.g. "gqa f32 layers=2 kv_heads=2 head_dim=16 block=16"

 protected:
  KvStore(int64_t n_blocks, int64_t block_size);
  bool valid_block(int32_t block) const { return block >= 0 && block < n_blocks_; }

 private:
  int64_t n_blocks_, block_size_;
  int block_shift_ = 0;
};

// Grouped-query attention: per layer K and V [n_blocks * B, Hkv * Dh] in f32.
class GqaKvStore final : public KvStore {
 public:
  // Needs check_geometry(n_blocks, block_size).
  GqaKvStore(int64_t n_layers, int64_t n_blocks, int64_t block_size, int64_t n_kv_heads, int64_t head_dim);
  float* k(int64_t layer) { return k_[size_t(layer)].get(); }
  float* v(int64_t layer) { return v_[size_t(layer)].get(); }
  int64_t n_layers() const { return n_layers_; }
  int64_t n_kv_heads() const { return n_kv_heads_; }
  int64_t head_dim() const { return head_dim_; }
  size_t bytes_per_token() const override { return size_t(2 * n_layers_ * row_) * sizeof(float); }
  void read_block(int32_t block, std::span<std::byte> out) const override;
  void write_block(int32_t block, std::span<const std::byte> in) override;
  void copy_block(int32_t from, int32_t to) override;
  std::string layout() const override;

 private:
  std::vector<float*> arrays() const;  // k and v of every layer in read_block order

  int64_t n_layers_, n_kv_heads_, head_dim_;
  int64_t row_;                              // Hkv * Dh
  std::vector<std::unique_ptr<float[]>> k_;  // [n_layers] of [n_blocks * B, Hkv, Dh]
  std::vector<std::unique_ptr<float[]>> v_;
};

// Multi-head latent attention (DeepSeek-V2/V3): per layer only the normalised latent c_kv [n_blocks * B, R]
// and the shared rope key k_pe [n_blocks * B, Dr], in f32.
class MlaKvStore final : public KvStore {
 public:
  // Needs check_geometry(n_blocks, block_size).
  MlaKvStore(int64_t n_layers, int64_t n_blocks, int64_t block_size, int64_t kv_lora_rank,
             int64_t rope_head_dim);
  float* c_kv(int64_t layer) { return c_kv_[size_t(layer)].get(); }
  float* k_pe(int64_t layer) { return k_pe_[size_t(layer)].get(); }
  int64_t n_layers() const { return n_layers_; }
  int64_t kv_lora_rank() const { return rank_; }
  int64_t rope_head_dim() const { return rope_; }
  size_t bytes_per_token() const override { return size_t(n_layers_ * (rank_ + rope_)) * sizeof(float); }
  void read_block(int32_t block, std::span<std::byte> out) const override;
  void write_block(int32_t block, std::span<const std::byte> in) override;
  void copy_block(int32_t from, int32_t to) override;
  std::string layout() const override;

 private:
  int64_t n_layers_, rank_, rope_;
  std::vector<std::unique_ptr<float[]>> c_kv_;  // [n_layers] of [n_blocks * B, R]
  std::vector<std::unique_ptr<float[]>> k_pe_;  // [n_layers] of [n_blocks * B, Dr]
};

// One sequence: position p lives in slot blocks()[p / B] * B + p % B of its store.
class KvCache {
 public:
  // A table into a shared store; the caller fills blocks() as the sequence grows.
  explicit KvCache(KvStore& store) : store_(&store) {}
  // Owns a store of ceil(capacity / B) blocks (`owned` must have that many) with the table 0 .. n-1.
  KvCache(std::unique_ptr<KvStore> owned, int64_t capacity);

  KvStore& store() { return *store_; }
  const KvStore& store() const { return *store_; }
  int64_t size() const { return n_tokens_; }  // positions filled
  // Positions the block table covers, capped at the capacity an owned cache was made with.
  int64_t capacity() const;
  std::vector<int32_t>& blocks() { return blocks_; }
  const std::vector<int32_t>& blocks() const { return blocks_; }
  // Forgets every position from n on (n <= size()); the next forward continues from there.
  void truncate(int64_t n) { n_tokens_ = n < n_tokens_ ? (n < 0 ? 0 : n) : n_tokens_; }
  // Declares that positions < n already hold KV (a prefix-cache hit); n is clamped to [0, capacity()].
  void set_size(int64_t n);
  // Marks T more positions as filled (called by the model once all layers wrote them).
  void advance(int64_t T) { n_tokens_ += T; }
  int64_t slot(int64_t pos) const {
    const int shift = store_->block_shift();
    return (int64_t(blocks_[size_t(pos >> shift)]) << shift) | (pos & (store_->block_size() - 1));
  }

 private:
  std::unique_ptr<KvStore> owned_;
  KvStore* store_;
  std::vector<int32_t> blocks_;
  int64_t n_tokens_ = 0;
  int64_t max_capacity_ = INT64_MAX;  // an owned cache's capacity
};

}  // namespace r1
