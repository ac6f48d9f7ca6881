#include "runtime/kv_cache.h"

namespace r1 {

GqaKvCache::GqaKvCache(int64_t n_layers, int64_t capacity, int64_t n_kv_heads, int64_t head_dim)
    : KvCache(capacity), n_layers_(n_layers), row_(n_kv_heads * head_dim) {
  for (int64_t l = 0; l < n_layers; ++l) {
    // new float[] leaves the pages untouched until used, so a long context costs nothing until it is filled.
    k_.emplace_back(new float[size_t(capacity * row_)]);
    v_.emplace_back(new float[size_t(capacity * row_)]);
  }
}

MlaKvCache::MlaKvCache(int64_t n_layers, int64_t capacity, int64_t kv_lora_rank, int64_t rope_head_dim)
    : KvCache(capacity), n_layers_(n_layers), rank_(kv_lora_rank), rope_(rope_head_dim) {
  for (int64_t l = 0; l < n_layers; ++l) {
    c_kv_.emplace_back(new float[size_t(capacity * kv_lora_rank)]);
    k_pe_.emplace_back(new float[size_t(capacity * rope_head_dim)]);
  }
}

}  // namespace r1
