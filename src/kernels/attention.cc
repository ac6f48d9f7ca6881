// Causal attention over a KV cache, flash style (FlashAttention-2 loop order, FlashDecoding split for decode).
// The queries of one key group (a KV head for GQA: all its query heads for every new token; for MLA: all
// heads, which share the latent) form rows ordered by token, so the causal limits never decrease along a row
// block. Each work item is (group, block of up to kFlashMaxRows rows, key range); attention_hwy.cc runs it over
// key tiles with an online softmax, so the T×S score matrix never exists and every K/V row load serves many
// queries. When there are fewer items than the threads want (decode: T = 1), the keys are split into ranges as
// well and the partial softmax states (m, l, o) are merged at the end:
//   out = Σ e^(m_i - M) o_i / Σ e^(m_i - M) l_i,  M = max m_i.
#include "kernels/attention.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/attention_flash.h"
#include "kernels/simd.h"

namespace r1::kernels {
namespace {

using detail::FlashKeys;

// Shortest key range worth a work item of its own.
constexpr int64_t kMinSplitKeys = 128;

// One query row: its query parts, where its output goes and how many keys it may see.
struct FlashRow {
  const float* qa;
  const float* qb;
  float* out;
  int64_t limit;
};

// Per-thread gather buffers for one work item, grown once.
struct ItemScratch {
  std::vector<const float*> qa, qb;
  std::vector<int64_t> limit;
  std::vector<float> o, m, l;
};

// keys_of(g) gives group g's FlashKeys, row_of(g, r) its row r < n_rows (limits non-decreasing in r). n_keys
// bounds every limit; dv is the value width.
template <class KeysOf, class RowOf>
void flash_attention(int64_t n_groups, int64_t n_rows, int64_t n_keys, int64_t dv, const KeysOf& keys_of,
                     const RowOf& row_of, ThreadPool& pool) {
  if (n_groups <= 0 || n_rows <= 0) return;
  const int64_t rb = std::min(n_rows, detail::kFlashMaxRows), blocks = (n_rows + rb - 1) / rb;
  const int64_t items = n_groups * blocks;
  int64_t splits = 1;
  if (pool.size() > 1) {
    const int64_t want = 4 * int64_t(pool.size());
    splits = std::clamp<int64_t>((want + items - 1) / items, 1, std::max<int64_t>(1, n_keys / kMinSplitKeys));
  }
  const int64_t split_len = (n_keys + splits - 1) / splits;
  splits = (n_keys + split_len - 1) / split_len;
  // Partial states of every split item, [items * splits] of {o [rb, dv], m [rb], l [rb]}; the caller's
  // buffer.
  const int64_t state = rb * (dv + 2);
  thread_local std::vector<float> partial;
  if (splits > 1 && partial.size() < size_t(items * splits * state))
    partial.resize(size_t(items * splits * state));
  float* const part = partial.data();

  pool.parallel_for(items * splits, 1, [&](int64_t i0, int64_t i1) {
    thread_local ItemScratch sc;
    const auto grow = [](auto& v, int64_t n) {
      if (v.size() < size_t(n)) v.resize(size_t(n));
    };
    grow(sc.qa, rb), grow(sc.qb, rb), grow(sc.limit, rb);
    if (splits == 1) grow(sc.o, rb * dv), grow(sc.m, rb), grow(sc.l, rb);
    for (int64_t item = i0; item < i1; ++item) {
      const int64_t g = item / (blocks * splits), b = item / splits % blocks, sp = item % splits;
      const int64_t r0 = b * rb, nr = std::min(rb, n_rows - r0);
      for (int64_t i = 0; i < nr; ++i) {
        const FlashRow row = row_of(g, r0 + i);
        sc.qa[size_t(i)] = row.qa, sc.qb[size_t(i)] = row.qb, sc.limit[size_t(i)] = row.limit;
      }
      float* o = splits > 1 ? part + item * state : sc.o.data();
      float* m = splits > 1 ? o + rb * dv : sc.m.data();
      float* l = splits > 1 ? m + rb : sc.l.data();
      const int64_t j0 = sp * split_len, j1 = std::min(n_keys, j0 + split_len);
      detail::flash_rows(keys_of(g), sc.qa.data(), sc.qb.data(), sc.limit.data(), nr, j0, j1, o, m, l);
      if (splits > 1) continue;
      for (int64_t i = 0; i < nr; ++i) {
        float* out = row_of(g, r0 + i).out;
        const float inv = l[i] > 0.0f ? 1.0f / l[i] : 0.0f;
        for (int64_t d = 0; d < dv; ++d) out[d] = o[i * dv + d] * inv;
      }
    }
  });
  if (splits == 1) return;

  // Merge the splits of every row.
  pool.parallel_for(n_groups * n_rows, 0, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t g = i / n_rows, r = i % n_rows, b = r / rb, rr = r % rb;
      const float* first = part + (g * blocks + b) * splits * state;
      const auto m_of = [&](int64_t sp) { return first[sp * state + rb * dv + rr]; };
      const auto l_of = [&](int64_t sp) { return first[sp * state + rb * dv + rb + rr]; };
      float m_max = -INFINITY;
      for (int64_t sp = 0; sp < splits; ++sp)
        if (l_of(sp) > 0.0f) m_max = std::max(m_max, m_of(sp));
      float* out = row_of(g, r).out;
      std::fill(out, out + dv, 0.0f);
      float sum = 0.0f;
      for (int64_t sp = 0; sp < splits; ++sp) {
        if (l_of(sp) <= 0.0f) continue;
        const float w = std::exp(m_of(sp) - m_max);
        sum += w * l_of(sp);
        axpy(w, first + sp * state + rr * dv, out, size_t(dv));
      }
      const float inv = sum > 0.0f ? 1.0f / sum : 0.0f;
      for (int64_t d = 0; d < dv; ++d) out[d] *= inv;
    }
  });
}

// Rows of KV head g: token-major, then the group's query heads. k and v are f32, or f16 bits when f16 is set.
void gqa(const float* q, const void* k, const void* v, bool f16, float* out, int64_t T, int64_t start,
         const GqaShape& s, float scale, ThreadPool& pool) {
  const int64_t H = s.n_heads, Hkv = s.n_kv_heads, Dh = s.head_dim, group = H / Hkv, kv_row = Hkv * Dh;
  const size_t elem = f16 ? sizeof(uint16_t) : sizeof(float);
  const auto keys_of = [&](int64_t g) {
    return FlashKeys{.ka = static_cast<const char*>(k) + size_t(g * Dh) * elem,
                     .ka_stride = kv_row,
                     .da = Dh,
                     .kb = nullptr,
                     .kb_stride = 0,
                     .db = 0,
                     .v = static_cast<const char*>(v) + size_t(g * Dh) * elem,
                     .v_stride = kv_row,
                     .dv = Dh,
                     .scale = scale,
                     .f16 = f16};
  };
  const auto row_of = [&](int64_t g, int64_t r) {
    const int64_t t = r / group, off = (t * H + g * group + r % group) * Dh;
    return FlashRow{.qa = q + off, .qb = nullptr, .out = out + off, .limit = start + t + 1};
  };
  flash_attention(Hkv, T * group, start + T, Dh, keys_of, row_of, pool);
}

}  // namespace

void gqa_attention(const float* q, const float* k, const float* v, float* out, int64_t T, int64_t start,
                   const GqaShape& s, float scale, ThreadPool& pool) {
  gqa(q, k, v, /*f16=*/false, out, T, start, s, scale, pool);
}

void gqa_attention_f16(const float* q, const uint16_t* k, const uint16_t* v, float* out, int64_t T,
                       int64_t start, const GqaShape& s, float scale, ThreadPool& pool) {
  gqa(q, k, v, /*f16=*/true, out, T, start, s, scale, pool);
}

void mla_attention(const float* q_lat, const float* q_pe, const float* c_kv, const float* k_pe,
                   float* out_lat, int64_t T, int64_t start, const MlaShape& s, float scale,
                   ThreadPool& pool) {
  const int64_t H = s.n_heads, R = s.kv_lora_rank, Dr = s.rope_head_dim;
  // One group: every head attends over the shared latent; rows are [T, H] in order.
  const auto keys_of = [&](int64_t) {
    return FlashKeys{.ka = c_kv,
                     .ka_stride = R,
                     .da = R,
                     .kb = k_pe,
                     .kb_stride = Dr,
                     .db = Dr,
                     .v = c_kv,
                     .v_stride = R,
                     .dv = R,
                     .scale = scale};
  };
  const auto row_of = [&](int64_t, int64_t r) {
    return FlashRow{
        .qa = q_lat + r * R, .qb = q_pe + r * Dr, .out = out_lat + r * R, .limit = start + r / H + 1};
  };
  flash_attention(1, T * H, start + T, R, keys_of, row_of, pool);
}

}  // namespace r1::kernels
