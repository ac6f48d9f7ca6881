// Attention over block tables (paged KV): keys scattered into shuffled blocks of a larger store, whose unused
// slots hold NaN so a wrong slot shows. The paged kernels must match the contiguous kernel and the scalar
// reference for block sizes 1, 16 and 64, with T and the past length crossing block boundaries, and the
// batched entry points must match one call per sequence.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "core/thread_pool.h"
#include "kernels/attention.h"
#include "kernels/reference/reference.h"
#include "test_util.h"

namespace r1 {
namespace {

// A block table for S positions drawn, shuffled, from a store of `n_blocks` blocks; `taken` marks blocks
// already used by other sequences sharing the store.
std::vector<int32_t> shuffled_table(int64_t S, int64_t B, int64_t n_blocks, std::vector<bool>& taken,
                                    uint32_t seed) {
  std::vector<int32_t> free;
  for (int32_t b = 0; b < int32_t(n_blocks); ++b)
    if (!taken[size_t(b)]) free.push_back(b);
  std::shuffle(free.begin(), free.end(), std::mt19937(seed));
  free.resize(size_t((S + B - 1) / B));
  for (int32_t b : free) taken[size_t(b)] = true;
  return free;
}

// Copies rows [S, width] of `src` into `store` [n_blocks * B, width] at their slots.
void scatter(const std::vector<float>& src, int64_t S, int64_t width, const std::vector<int32_t>& table,
             int64_t B, std::vector<float>& store) {
  for (int64_t j = 0; j < S; ++j) {
    const int64_t slot = int64_t(table[size_t(j / B)]) * B + j % B;
    std::copy_n(src.begin() + j * width, width, store.begin() + slot * width);
  }
}

struct Seq {
  int64_t T, past;
};

TEST(PagedAttention, GqaMatchesContiguousAndReference) {
  const int64_t H = 6, Hkv = 2, Dh = 24, row = Hkv * Dh;
  const float scale = 1.0f / std::sqrt(float(Dh));
  uint32_t seed = 10;
  for (const int64_t B : {1, 16, 64})
    for (const Seq c : {Seq{1, 0}, Seq{1, 37}, Seq{5, 14}, Seq{40, 23}, Seq{3, 200}}) {
      const int64_t S = c.past + c.T, n_blocks = (S + B - 1) / B + 3;
      const auto q = test::random_floats(size_t(c.T * H * Dh), seed);
      const auto k = test::random_floats(size_t(S * row), seed + 1);
      const auto v = test::random_floats(size_t(S * row), seed + 2);
      std::vector<bool> taken(static_cast<size_t>(n_blocks));
      const auto table = shuffled_table(S, B, n_blocks, taken, seed++);
      std::vector<float> pk(size_t(n_blocks * B * row), NAN), pv(pk.size(), NAN);
      scatter(k, S, row, table, B, pk), scatter(v, S, row, table, B, pv);
      std::vector<float> want(q.size());
      kernels::reference::gqa_attention(q.data(), k.data(), v.data(), want.data(), c.T, c.past, H, Hkv, Dh,
                                        scale);
      for (const int threads : {1, 3}) {
        ThreadPool pool(threads);
        std::vector<float> flat(q.size(), NAN), paged(q.size(), NAN);
        const kernels::GqaShape shape{.n_heads = H, .n_kv_heads = Hkv, .head_dim = Dh};
        kernels::gqa_attention(q.data(), k.data(), v.data(), flat.data(), c.T, c.past, shape, scale, pool);
        kernels::gqa_attention(q.data(), pk.data(), pv.data(), paged.data(), c.T, c.past, shape, scale, pool,
                               table.data(), B);
        for (size_t i = 0; i < q.size(); ++i) {
          ASSERT_NEAR(paged[i], want[i], 3e-5f)
              << "B=" << B << " T=" << c.T << " past=" << c.past << " i=" << i;
          ASSERT_NEAR(paged[i], flat[i], 1e-6f)
              << "B=" << B << " T=" << c.T << " past=" << c.past << " i=" << i;
        }
      }
    }
}

TEST(PagedAttention, MlaMatchesContiguousAndReference) {
  const int64_t H = 5, R = 24, Dr = 8;
  const float scale = 1.0f / std::sqrt(float(R + Dr));
  uint32_t seed = 100;
  for (const int64_t B : {1, 16, 64})
    for (const Seq c : {Seq{1, 0}, Seq{1, 37}, Seq{5, 14}, Seq{40, 23}, Seq{3, 200}}) {
      const int64_t S = c.past + c.T, n_blocks = (S + B - 1) / B + 3;
      const auto q_lat = test::random_floats(size_t(c.T * H * R), seed);
      const auto q_pe = test::random_floats(size_t(c.T * H * Dr), seed + 1);
      const auto c_kv = test::random_floats(size_t(S * R), seed + 2);
      const auto k_pe = test::random_floats(size_t(S * Dr), seed + 3);
      std::vector<bool> taken(static_cast<size_t>(n_blocks));
      const auto table = shuffled_table(S, B, n_blocks, taken, seed++);
      std::vector<float> p_c(size_t(n_blocks * B * R), NAN), p_pe(size_t(n_blocks * B * Dr), NAN);
      scatter(c_kv, S, R, table, B, p_c), scatter(k_pe, S, Dr, table, B, p_pe);
      std::vector<float> want(q_lat.size());
      kernels::reference::mla_attention(q_lat.data(), q_pe.data(), c_kv.data(), k_pe.data(), want.data(), c.T,
                                        c.past, H, R, Dr, scale);
      for (const int threads : {1, 3}) {
        ThreadPool pool(threads);
        std::vector<float> flat(q_lat.size(), NAN), paged(q_lat.size(), NAN);
        const kernels::MlaShape shape{.n_heads = H, .kv_lora_rank = R, .rope_head_dim = Dr};
        kernels::mla_attention(q_lat.data(), q_pe.data(), c_kv.data(), k_pe.data(), flat.data(), c.T, c.past,
                               shape, scale, pool);
        kernels::mla_attention(q_lat.data(), q_pe.data(), p_c.data(), p_pe.data(), paged.data(), c.T, c.past,
                               shape, scale, pool, table.data(), B);
        for (size_t i = 0; i < want.size(); ++i) {
          ASSERT_NEAR(paged[i], want[i], 3e-5f)
              << "B=" << B << " T=" << c.T << " past=" << c.past << " i=" << i;
          ASSERT_NEAR(paged[i], flat[i], 1e-6f)
              << "B=" << B << " T=" << c.T << " past=" << c.past << " i=" << i;
        }
      }
    }
}

// Several sequences sharing one store, in one batched call, against the reference of each alone.
TEST(PagedAttention, BatchedEntryPointsMatchPerSequenceReference) {
  const int64_t B = 16, H = 4, Hkv = 2, Dh = 16, row = Hkv * Dh, R = 16, Dr = 8;
  const std::vector<Seq> seqs = {{37, 0}, {1, 50}, {1, 3}, {9, 100}, {1, 2000}};
  int64_t n_blocks = 4;
  for (const Seq& c : seqs) n_blocks += (c.past + c.T + B - 1) / B;
  std::vector<bool> taken(static_cast<size_t>(n_blocks));
  std::vector<float> pk(size_t(n_blocks * B * row), NAN), pv(pk.size(), NAN);
  std::vector<float> p_c(size_t(n_blocks * B * R), NAN), p_pe(size_t(n_blocks * B * Dr), NAN);
  struct Data {
    std::vector<float> q, k, v, q_lat, q_pe, c_kv, k_pe, out, out_lat;
    std::vector<int32_t> table;
  };
  std::vector<Data> data(seqs.size());
  uint32_t seed = 300;
  for (size_t i = 0; i < seqs.size(); ++i) {
    const int64_t T = seqs[i].T, S = seqs[i].past + T;
    Data& d = data[i];
    d.q = test::random_floats(size_t(T * H * Dh), seed++), d.k = test::random_floats(size_t(S * row), seed++);
    d.v = test::random_floats(size_t(S * row), seed++),
    d.q_lat = test::random_floats(size_t(T * H * R), seed++);
    d.q_pe = test::random_floats(size_t(T * H * Dr), seed++),
    d.c_kv = test::random_floats(size_t(S * R), seed++);
    d.k_pe = test::random_floats(size_t(S * Dr), seed++);
    d.table = shuffled_table(S, B, n_blocks, taken, seed++);
    scatter(d.k, S, row, d.table, B, pk), scatter(d.v, S, row, d.table, B, pv);
    scatter(d.c_kv, S, R, d.table, B, p_c), scatter(d.k_pe, S, Dr, d.table, B, p_pe);
    d.out.assign(d.q.size(), NAN), d.out_lat.assign(d.q_lat.size(), NAN);
  }
  for (const int threads : {1, 3}) {
    ThreadPool pool(threads);
    std::vector<kernels::GqaSeq> gqa;
    std::vector<kernels::MlaSeq> mla;
    for (size_t i = 0; i < seqs.size(); ++i) {
      Data& d = data[i];
      gqa.push_back({.q = d.q.data(),
                     .out = d.out.data(),
                     .T = seqs[i].T,
                     .start = seqs[i].past,
                     .k = pk.data(),
                     .v = pv.data(),
                     .blocks = d.table.data(),
                     .block_size = B});
      mla.push_back({.q_lat = d.q_lat.data(),
                     .q_pe = d.q_pe.data(),
                     .out_lat = d.out_lat.data(),
                     .T = seqs[i].T,
                     .start = seqs[i].past,
                     .c_kv = p_c.data(),
                     .k_pe = p_pe.data(),
                     .blocks = d.table.data(),
                     .block_size = B});
    }
    kernels::gqa_attention_batch(gqa, {.n_heads = H, .n_kv_heads = Hkv, .head_dim = Dh}, 0.25f, pool);
    kernels::mla_attention_batch(mla, {.n_heads = H, .kv_lora_rank = R, .rope_head_dim = Dr}, 0.2f, pool);
    for (size_t i = 0; i < seqs.size(); ++i) {
      const Data& d = data[i];
      std::vector<float> want(d.q.size()), want_lat(d.q_lat.size());
      kernels::reference::gqa_attention(d.q.data(), d.k.data(), d.v.data(), want.data(), seqs[i].T,
                                        seqs[i].past, H, Hkv, Dh, 0.25f);
      kernels::reference::mla_attention(d.q_lat.data(), d.q_pe.data(), d.c_kv.data(), d.k_pe.data(),
                                        want_lat.data(), seqs[i].T, seqs[i].past, H, R, Dr, 0.2f);
      for (size_t j = 0; j < want.size(); ++j)
        ASSERT_NEAR(d.out[j], want[j], 3e-5f) << "gqa seq " << i << " threads=" << threads << " j=" << j;
      for (size_t j = 0; j < want_lat.size(); ++j)
        ASSERT_NEAR(d.out_lat[j], want_lat[j], 3e-5f)
            << "mla seq " << i << " threads=" << threads << " j=" << j;
    }
  }
}

}  // namespace
}  // namespace r1
