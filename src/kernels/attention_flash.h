// Internal to kernels/attention*.cc: the flash-attention inner loop shared by GQA and MLA. attention.cc
// splits the work into (key group × block of query rows × key range) items and merges the partial softmax
// states; attention_hwy.cc runs one item with SIMD (dispatched once per process, like kernels/simd_hwy.cc).
#pragma once

#include <cstdint>

namespace r1::kernels::detail {

// The keys of one group (one KV head for GQA, the shared latent for MLA). Key j is the concatenation
// [ka + j*ka_stride (da elements) ; kb + j*kb_stride (db floats)], value j is v + j*v_stride (dv elements);
// strides count elements. ka and v hold f32, or IEEE half bits when f16 is set. db = 0 means no second part.
// With a block table, "j" above stands for key j's row: blocks[j >> block_shift] << block_shift | j % block size.
struct FlashKeys {
  const void* ka;
  int64_t ka_stride, da;
  const float* kb;
  int64_t kb_stride, db;
  const void* v;
  int64_t v_stride, dv;
  float scale;       // scores = (q·k) * scale
  bool f16 = false;  // ka and v are f16
  const int32_t* blocks = nullptr;  // paged keys: block table; null = contiguous rows
  int block_shift = 0;              // log2(block size)
};

// Most query rows one flash_rows call takes.
constexpr int64_t kFlashMaxRows = 64;

// n <= kFlashMaxRows query rows: row r has query parts qa[r] (da floats) and qb[r] (db floats) and may see
// keys [0, limit[r]); limits never decrease with r. Visits keys [j0, j1) in tiles and leaves the unnormalised
// online-softmax state: m[r] = max score seen, l[r] = sum exp(score - m[r]), o[r * dv ..] = sum exp(score -
// m[r]) * value. A row that sees no key in [j0, j1) gets m = -inf, l = 0, o = 0. No allocation.
void flash_rows(const FlashKeys& keys, const float* const* qa, const float* const* qb, const int64_t* limit,
                int64_t n, int64_t j0, int64_t j1, float* o, float* m, float* l);

}  // namespace r1::kernels::detail
