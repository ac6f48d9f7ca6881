#include "runtime/kv_cache.h"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cstring>

namespace r1 {

Status KvStore::check_geometry(int64_t n_blocks, int64_t block_size) {
  if (n_blocks < 0 || n_blocks > INT32_MAX)
    return Status::errorf("KV store: {} blocks is out of range (0..{})", n_blocks, INT32_MAX);
  if (block_size <= 0 || !std::has_single_bit(uint64_t(block_size)))
    return Status::errorf("KV store: block size {} is not a power of two", block_size);
  return Status::ok();
}

KvStore::KvStore(int64_t n_blocks, int64_t block_size)
    : n_blocks_(n_blocks), block_size_(block_size), block_shift_(std::countr_zero(uint64_t(block_size))) {}

namespace {

// Copies block `block` of each [n_blocks * B, width_i] array to or from a packed buffer, array after array.
template <class Visit>
void each_block_part(const std::vector<float*>& arrays, const std::vector<int64_t>& widths, int64_t B,
                     int32_t block, Visit visit) {
  size_t offset = 0;
  for (size_t a = 0; a < arrays.size(); ++a) {
    const size_t n = size_t(B * widths[a]) * sizeof(float);
    visit(arrays[a] + int64_t(block) * B * widths[a], offset, n);
    offset += n;
  }
}

void read_parts(const std::vector<float*>& arrays, const std::vector<int64_t>& widths, int64_t B,
                int32_t block, std::span<std::byte> out) {
  each_block_part(arrays, widths, B, block,
                  [&](const float* p, size_t off, size_t n) { std::memcpy(out.data() + off, p, n); });
}

void write_parts(const std::vector<float*>& arrays, const std::vector<int64_t>& widths, int64_t B,
                 int32_t block, std::span<const std::byte> in) {
  each_block_part(arrays, widths, B, block,
                  [&](float* p, size_t off, size_t n) { std::memcpy(p, in.data() + off, n); });
}

void copy_parts(const std::vector<float*>& arrays, const std::vector<int64_t>& widths, int64_t B,
                int32_t from, int32_t to) {
  for (size_t a = 0; a < arrays.size(); ++a) {
    const int64_t n = B * widths[a];
    std::memcpy(arrays[a] + int64_t(to) * n, arrays[a] + int64_t(from) * n, size_t(n) * sizeof(float));
  }
}

// new float[] without value-initialisation leaves the pages untouched until used, so unused blocks cost
// nothing.
std::unique_ptr<float[]> untouched(int64_t n) {
  return std::unique_ptr<float[]>(new float[size_t(n)]);
}

}  // namespace

GqaKvStore::GqaKvStore(int64_t n_layers, int64_t n_blocks, int64_t block_size, int64_t n_kv_heads,
                       int64_t head_dim)
    : KvStore(n_blocks, block_size),
      n_layers_(n_layers),
      n_kv_heads_(n_kv_heads),
      head_dim_(head_dim),
      row_(n_kv_heads * head_dim) {
  for (int64_t l = 0; l < n_layers; ++l) {
    k_.push_back(untouched(n_blocks * block_size * row_));
    v_.push_back(untouched(n_blocks * block_size * row_));
  }
}

std::vector<float*> GqaKvStore::arrays() const {
  std::vector<float*> a;
  for (int64_t l = 0; l < n_layers_; ++l) a.push_back(k_[size_t(l)].get()), a.push_back(v_[size_t(l)].get());
  return a;
}

void GqaKvStore::read_block(int32_t block, std::span<std::byte> out) const {
  if (!valid_block(block) || out.size() != block_bytes()) return;
  read_parts(arrays(), std::vector<int64_t>(size_t(2 * n_layers_), row_), block_size(), block, out);
}

void GqaKvStore::write_block(int32_t block, std::span<const std::byte> in) {
  if (!valid_block(block) || in.size() != block_bytes()) return;
  write_parts(arrays(), std::vector<int64_t>(size_t(2 * n_layers_), row_), block_size(), block, in);
}

void GqaKvStore::copy_block(int32_t from, int32_t to) {
  if (!valid_block(from) || !valid_block(to) || from == to) return;
  copy_parts(arrays(), std::vector<int64_t>(size_t(2 * n_layers_), row_), block_size(), from, to);
}

std::string GqaKvStore::layout() const {
  return fmt::format("gqa f32 layers={} kv_heads={} head_dim={} block={}", n_layers_, n_kv_heads_, head_dim_,
                     block_size());
}

MlaKvStore::MlaKvStore(int64_t n_layers, int64_t n_blocks, int64_t block_size, int64_t kv_lora_rank,
                       int64_t rope_head_dim)
    : KvStore(n_blocks, block_size), n_layers_(n_layers), rank_(kv_lora_rank), rope_(rope_head_dim) {
  for (int64_t l = 0; l < n_layers; ++l) {
    c_kv_.push_back(untouched(n_blocks * block_size * kv_lora_rank));
    k_pe_.push_back(untouched(n_blocks * block_size * rope_head_dim));
  }
}

namespace {

struct MlaArrays {
  std::vector<float*> arrays;
  std::vector<int64_t> widths;
};

MlaArrays mla_arrays(const std::vector<std::unique_ptr<float[]>>& c_kv,
                     const std::vector<std::unique_ptr<float[]>>& k_pe, int64_t rank, int64_t rope) {
  MlaArrays a;
  for (size_t l = 0; l < c_kv.size(); ++l) {
    a.arrays.push_back(c_kv[l].get()), a.widths.push_back(rank);
    a.arrays.push_back(k_pe[l].get()), a.widths.push_back(rope);
  }
  return a;
}

}  // namespace

void MlaKvStore::read_block(int32_t block, std::span<std::byte> out) const {
  if (!valid_block(block) || out.size() != block_bytes()) return;
  const MlaArrays a = mla_arrays(c_kv_, k_pe_, rank_, rope_);
  read_parts(a.arrays, a.widths, block_size(), block, out);
}

void MlaKvStore::write_block(int32_t block, std::span<const std::byte> in) {
  if (!valid_block(block) || in.size() != block_bytes()) return;
  const MlaArrays a = mla_arrays(c_kv_, k_pe_, rank_, rope_);
  write_parts(a.arrays, a.widths, block_size(), block, in);
}

void MlaKvStore::copy_block(int32_t from, int32_t to) {
  if (!valid_block(from) || !valid_block(to) || from == to) return;
  const MlaArrays a = mla_arrays(c_kv_, k_pe_, rank_, rope_);
  copy_parts(a.arrays, a.widths, block_size(), from, to);
}

std::string MlaKvStore::layout() const {
  return fmt::format("mla f32 layers={} kv_lora_rank={} rope_head_dim={} block={}", n_layers_, rank_, rope_,
                     block_size());
}

KvCache::KvCache(std::unique_ptr<KvStore> owned, int64_t capacity)
    : owned_(std::move(owned)), store_(owned_.get()), max_capacity_(std::max<int64_t>(capacity, 0)) {
  const int64_t B = store_->block_size(), n = std::min((max_capacity_ + B - 1) / B, store_->n_blocks());
  for (int64_t b = 0; b < n; ++b) blocks_.push_back(int32_t(b));
}

int64_t KvCache::capacity() const {
  return std::min(int64_t(blocks_.size()) * store_->block_size(), max_capacity_);
}

void KvCache::set_size(int64_t n) {
  n_tokens_ = std::clamp<int64_t>(n, 0, capacity());
}

}  // namespace r1
