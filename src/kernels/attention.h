// Causal grouped-query attention over a KV cache. T new tokens, S cached positions (including the new ones),
// H query heads, Hkv key/value heads (H % Hkv == 0), Dh head dim. Tiled flash-style kernels, see attention.cc.
#pragma once

#include <cstdint>
#include <span>

#include "core/thread_pool.h"

namespace r1::kernels {

struct GqaShape {
  int64_t n_heads;     // H
  int64_t n_kv_heads;  // Hkv
  int64_t head_dim;    // Dh
};

// q [T, H, Dh] for positions start .. start+T-1; k, v [>= start+T, Hkv, Dh]; out [T, H, Dh].
// Token t attends to positions 0 .. start+t. scores = q·k * scale.
// Paged keys: with a block table `blocks` (block_size a power of two), position j lives at row
// blocks[j / block_size] * block_size + j % block_size of k and v; null blocks = contiguous rows.
void gqa_attention(const float* q, const float* k, const float* v, float* out, int64_t T, int64_t start,
                   const GqaShape& shape, float scale, ThreadPool& pool, const int32_t* blocks = nullptr,
                   int64_t block_size = 0);

// One sequence of a batched call: gqa_attention's arguments.
struct GqaSeq {
  const float* q;  // [T, H, Dh]
  float* out;      // [T, H, Dh]
  int64_t T, start;
  const float* k;  // [rows, Hkv, Dh]
  const float* v;
  const int32_t* blocks = nullptr;  // block table, or null for contiguous rows
  int64_t block_size = 0;
};
// gqa_attention for every sequence, as one parallel pass (one thread-pool round trip, not one per sequence).
void gqa_attention_batch(std::span<const GqaSeq> seqs, const GqaShape& shape, float scale, ThreadPool& pool);

// Same contract with K and V stored as IEEE half (f16 bits), for a KV cache at half the bytes: long-context decode
// reads the whole cache every step, so it runs up to twice as fast. Scores and sums stay f32.
void gqa_attention_f16(const float* q, const uint16_t* k, const uint16_t* v, float* out, int64_t T, int64_t start,
                       const GqaShape& shape, float scale, ThreadPool& pool);

// Multi-head latent attention in the absorbed form (DeepSeek-V2/V3): every head attends over the shared latent
// cache. R kv_lora_rank, Dr rope dims. q_lat [T, H, R] (q_nope folded through W_UK), q_pe [T, H, Dr];
// c_kv [>= start+T, R], k_pe [>= start+T, Dr]; out_lat [T, H, R] = softmax((q_lat·c_kv + q_pe·k_pe) * scale) · c_kv.
struct MlaShape {
  int64_t n_heads;        // H
  int64_t kv_lora_rank;   // R
  int64_t rope_head_dim;  // Dr
};
// Paged keys as for gqa_attention: position j at row blocks[j / block_size] * block_size + j % block_size.
void mla_attention(const float* q_lat, const float* q_pe, const float* c_kv, const float* k_pe, float* out_lat,
                   int64_t T, int64_t start, const MlaShape& shape, float scale, ThreadPool& pool,
                   const int32_t* blocks = nullptr, int64_t block_size = 0);

// One sequence of a batched call: mla_attention's arguments.
struct MlaSeq {
  const float* q_lat;  // [T, H, R]
  const float* q_pe;   // [T, H, Dr]
  float* out_lat;      // [T, H, R]
  int64_t T, start;
  const float* c_kv;  // [rows, R]
  const float* k_pe;  // [rows, Dr]
  const int32_t* blocks = nullptr;  // block table, or null for contiguous rows
  int64_t block_size = 0;
};
void mla_attention_batch(std::span<const MlaSeq> seqs, const MlaShape& shape, float scale, ThreadPool& pool);

}  // namespace r1::kernels
