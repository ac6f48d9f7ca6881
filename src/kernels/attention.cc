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
#include <bit>
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

// Group g (of n_groups) has n_rows_of(g) query rows and sees keys [0, n_keys_of(g)); keys_of(g) gives its
// FlashKeys, row_of(g, r) its row r (limits non-decreasing in r). dv is the value width. Groups may come from
// different sequences, so one batched call serves every sequence of a pass with one thread-pool round trip.
template <class NRowsOf, class NKeysOf, class KeysOf, class RowOf>
void flash_attention(int64_t n_groups, int64_t dv, const NRowsOf& n_rows_of, const NKeysOf& n_keys_of,
                     const KeysOf& keys_of, const RowOf& row_of, ThreadPool& pool) {
  if (n_groups <= 0) return;
  // Work items are (group, block of rows, key split); item_base[g] = row blocks of the groups before g, and
  // row_base[g] likewise counts rows.
  thread_local std::vector<int64_t> item_base, row_base;
  item_base.assign(size_t(n_groups + 1), 0), row_base.assign(size_t(n_groups + 1), 0);
  int64_t max_rows = 0, max_keys = 0;
  for (int64_t g = 0; g < n_groups; ++g) {
    const int64_t n = n_rows_of(g), rb = std::min(n, detail::kFlashMaxRows);
    max_rows = std::max(max_rows, n), max_keys = std::max(max_keys, n_keys_of(g));
    item_base[size_t(g + 1)] = item_base[size_t(g)] + (rb > 0 ? (n + rb - 1) / rb : 0);
    row_base[size_t(g + 1)] = row_base[size_t(g)] + n;
  }
  const int64_t items = item_base[size_t(n_groups)], total_rows = row_base[size_t(n_groups)];
  if (items == 0 || max_keys <= 0) return;
  int64_t splits = 1;
  if (pool.size() > 1) {
    const int64_t want = 4 * int64_t(pool.size());
    splits = std::clamp<int64_t>((want + items - 1) / items, 1, std::max<int64_t>(1, max_keys / kMinSplitKeys));
  }
  // Partial states of every split item, [items * splits] of {o [rb, dv], m [rb], l [rb]}.
  const int64_t rb_max = std::min(max_rows, detail::kFlashMaxRows), state = rb_max * (dv + 2);
  thread_local std::vector<float> partial;
  if (splits > 1 && partial.size() < size_t(items * splits * state)) partial.resize(size_t(items * splits * state));
  float* const part = partial.data();
  const auto group_of = [&](const std::vector<int64_t>& base, int64_t i) {
    return int64_t(std::upper_bound(base.begin(), base.end(), i) - base.begin()) - 1;
  };
  const std::vector<int64_t>& ib = item_base;  // thread_local: name the caller's copy for the workers
  const std::vector<int64_t>& rbase = row_base;

  pool.parallel_for(items * splits, 1, [&](int64_t i0, int64_t i1) {
    thread_local ItemScratch sc;
    const auto grow = [](auto& v, int64_t n) {
      if (v.size() < size_t(n)) v.resize(size_t(n));
    };
    grow(sc.qa, rb_max), grow(sc.qb, rb_max), grow(sc.limit, rb_max);
    if (splits == 1) grow(sc.o, rb_max * dv), grow(sc.m, rb_max), grow(sc.l, rb_max);
    for (int64_t item = i0; item < i1; ++item) {
      const int64_t block = item / splits, sp = item % splits, g = group_of(ib, block);
      const int64_t n_rows = n_rows_of(g), n_keys = n_keys_of(g), rb = std::min(n_rows, detail::kFlashMaxRows);
      const int64_t r0 = (block - ib[size_t(g)]) * rb, nr = std::min(rb, n_rows - r0);
      for (int64_t i = 0; i < nr; ++i) {
        const FlashRow row = row_of(g, r0 + i);
        sc.qa[size_t(i)] = row.qa, sc.qb[size_t(i)] = row.qb, sc.limit[size_t(i)] = row.limit;
      }
      float* o = splits > 1 ? part + item * state : sc.o.data();
      float* m = splits > 1 ? o + rb_max * dv : sc.m.data();
      float* l = splits > 1 ? m + rb_max : sc.l.data();
      const int64_t split_len = (n_keys + splits - 1) / splits;
      const int64_t j0 = std::min(n_keys, sp * split_len), j1 = std::min(n_keys, j0 + split_len);
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
  pool.parallel_for(total_rows, 0, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t g = group_of(rbase, i), r = i - rbase[size_t(g)];
      const int64_t rb = std::min(n_rows_of(g), detail::kFlashMaxRows), b = r / rb, rr = r % rb;
      const float* first = part + (ib[size_t(g)] + b) * splits * state;
      const auto m_of = [&](int64_t sp) { return first[sp * state + rb_max * dv + rr]; };
      const auto l_of = [&](int64_t sp) { return first[sp * state + rb_max * dv + rb_max + rr]; };
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

int block_shift_of(int64_t block_size) { return block_size > 0 ? std::countr_zero(uint64_t(block_size)) : 0; }

// Group g of sequence g / Hkv is its KV head g % Hkv; rows token-major, then the head's query heads. k and v are
// f32, or f16 bits when f16 is set.
void gqa(std::span<const GqaSeq> seqs, bool f16, const GqaShape& s, float scale, ThreadPool& pool) {
  const int64_t H = s.n_heads, Hkv = s.n_kv_heads, Dh = s.head_dim, group = H / Hkv, kv_row = Hkv * Dh;
  const size_t elem = f16 ? sizeof(uint16_t) : sizeof(float);
  const auto keys_of = [&](int64_t g) {
    const GqaSeq& q = seqs[size_t(g / Hkv)];
    const int64_t h = g % Hkv;
    return FlashKeys{.ka = reinterpret_cast<const char*>(q.k) + size_t(h * Dh) * elem,
                     .ka_stride = kv_row,
                     .da = Dh,
                     .kb = nullptr,
                     .kb_stride = 0,
                     .db = 0,
                     .v = reinterpret_cast<const char*>(q.v) + size_t(h * Dh) * elem,
                     .v_stride = kv_row,
                     .dv = Dh,
                     .scale = scale,
                     .f16 = f16,
                     .blocks = q.blocks,
                     .block_shift = block_shift_of(q.block_size)};
  };
  const auto row_of = [&](int64_t g, int64_t r) {
    const GqaSeq& q = seqs[size_t(g / Hkv)];
    const int64_t t = r / group, off = (t * H + g % Hkv * group + r % group) * Dh;
    return FlashRow{.qa = q.q + off, .qb = nullptr, .out = q.out + off, .limit = q.start + t + 1};
  };
  flash_attention(
      int64_t(seqs.size()) * Hkv, Dh, [&](int64_t g) { return seqs[size_t(g / Hkv)].T * group; },
      [&](int64_t g) { return seqs[size_t(g / Hkv)].start + seqs[size_t(g / Hkv)].T; }, keys_of, row_of, pool);
}

}  // namespace

void gqa_attention(const float* q, const float* k, const float* v, float* out, int64_t T, int64_t start,
                   const GqaShape& s, float scale, ThreadPool& pool, const int32_t* blocks, int64_t block_size) {
  const GqaSeq seq{.q = q, .out = out, .T = T, .start = start, .k = k, .v = v, .blocks = blocks,
                   .block_size = block_size};
  gqa({&seq, 1}, /*f16=*/false, s, scale, pool);
}

void gqa_attention_batch(std::span<const GqaSeq> seqs, const GqaShape& s, float scale, ThreadPool& pool) {
  gqa(seqs, /*f16=*/false, s, scale, pool);
}

void gqa_attention_f16(const float* q, const uint16_t* k, const uint16_t* v, float* out, int64_t T,
                       int64_t start, const GqaShape& s, float scale, ThreadPool& pool) {
  // GqaSeq carries f32 pointers; with f16 set the kernel reads the same addresses as half bits.
  const GqaSeq seq{.q = q, .out = out, .T = T, .start = start, .k = reinterpret_cast<const float*>(k),
                   .v = reinterpret_cast<const float*>(v)};
  gqa({&seq, 1}, /*f16=*/true, s, scale, pool);
}

void mla_attention(const float* q_lat, const float* q_pe, const float* c_kv, const float* k_pe, float* out_lat,
                   int64_t T, int64_t start, const MlaShape& s, float scale, ThreadPool& pool,
                   const int32_t* blocks, int64_t block_size) {
  const MlaSeq seq{.q_lat = q_lat, .q_pe = q_pe, .out_lat = out_lat, .T = T, .start = start, .c_kv = c_kv,
                   .k_pe = k_pe, .blocks = blocks, .block_size = block_size};
  mla_attention_batch({&seq, 1}, s, scale, pool);
}

void mla_attention_batch(std::span<const MlaSeq> seqs, const MlaShape& s, float scale, ThreadPool& pool) {
  const int64_t H = s.n_heads, R = s.kv_lora_rank, Dr = s.rope_head_dim;
  // One group per sequence: every head attends over the shared latent; rows are [T, H] in order.
  const auto keys_of = [&](int64_t g) {
    const MlaSeq& q = seqs[size_t(g)];
    return FlashKeys{.ka = q.c_kv,
                     .ka_stride = R,
                     .da = R,
                     .kb = q.k_pe,
                     .kb_stride = Dr,
                     .db = Dr,
                     .v = q.c_kv,
                     .v_stride = R,
                     .dv = R,
                     .scale = scale,
                     .blocks = q.blocks,
                     .block_shift = block_shift_of(q.block_size)};
  };
  const auto row_of = [&](int64_t g, int64_t r) {
    const MlaSeq& q = seqs[size_t(g)];
    return FlashRow{.qa = q.q_lat + r * R, .qb = q.q_pe + r * Dr, .out = q.out_lat + r * R,
                    .limit = q.start + r / H + 1};
  };
  flash_attention(
      int64_t(seqs.size()), R, [&](int64_t g) { return seqs[size_t(g)].T * H; },
      [&](int64_t g) { return seqs[size_t(g)].start + seqs[size_t(g)].T; }, keys_of, row_of, pool);
}

}  // namespace r1::kernels
