// kernels::gemm_f32 against a plain double-precision triple loop, on shapes that are not multiples of the tile
// (6 rows x 2 vectors) or of the 256-row pass over B, with A read through plain and transposed strides.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/thread_pool.h"
#include "kernels/gemm.h"
#include "test_util.h"

namespace r1 {
namespace {

struct Case {
  int64_t M, N, K;
  bool a_transposed, accumulate;
};

// C = A·B (+ C) with A (m, k) at a[m * a_rs + k * a_cs], summed in double.
std::vector<float> reference(const Case& s, const std::vector<float>& a, int64_t a_rs, int64_t a_cs,
                             const std::vector<float>& b, const std::vector<float>& c0) {
  std::vector<float> c(c0);
  for (int64_t m = 0; m < s.M; ++m)
    for (int64_t n = 0; n < s.N; ++n) {
      double sum = s.accumulate ? double(c0[size_t(m * s.N + n)]) : 0.0;
      for (int64_t k = 0; k < s.K; ++k) sum += double(a[size_t(m * a_rs + k * a_cs)]) * double(b[size_t(k * s.N + n)]);
      c[size_t(m * s.N + n)] = float(sum);
    }
  return c;
}

TEST(Gemm, MatchesReferenceOnOddShapesAndStrides) {
  ThreadPool pool(2);
  const Case cases[] = {{1, 1, 1, false, false},    {6, 32, 8, false, false},   {7, 33, 5, false, true},
                        {13, 70, 300, false, false}, {5, 17, 257, true, true},   {64, 100, 40, true, false},
                        {100, 130, 513, false, true}, {3, 200, 64, true, false}, {37, 64, 1, false, true},
                        {200, 9, 70, true, true},    {12, 16, 512, false, false}};
  uint32_t seed = 7;
  for (const Case& s : cases) {
    SCOPED_TRACE(testing::Message() << "M=" << s.M << " N=" << s.N << " K=" << s.K << " aT=" << s.a_transposed
                                    << " acc=" << s.accumulate);
    const std::vector<float> a = test::random_floats(size_t(s.M * s.K), seed++);
    const std::vector<float> b = test::random_floats(size_t(s.K * s.N), seed++);
    const std::vector<float> c0 = test::random_floats(size_t(s.M * s.N), seed++);
    // A transposed: stored [K, M], so (m, k) is at k * M + m.
    const int64_t a_rs = s.a_transposed ? 1 : s.K, a_cs = s.a_transposed ? s.M : 1;
    const std::vector<float> want = reference(s, a, a_rs, a_cs, b, c0);
    kernels::GemmArgs g{.M = s.M, .N = s.N, .K = s.K, .a = a.data(), .a_rs = a_rs, .a_cs = a_cs, .b = b.data(),
                        .ldb = s.N, .c = nullptr, .ldc = s.N, .accumulate = s.accumulate};
    std::vector<float> one(c0), many(c0);
    g.c = one.data();
    kernels::gemm_f32(g);
    g.c = many.data();
    kernels::gemm_f32(g, pool);
    for (size_t i = 0; i < want.size(); ++i) {
      ASSERT_NEAR(one[i], want[i], 1e-5 * double(s.K + 1)) << "i=" << i;
      // Threads own whole blocks of C and each element's sum runs in the same order: identical bits.
      ASSERT_EQ(one[i], many[i]) << "i=" << i;
    }
  }
}

TEST(Gemm, LeavesEverythingOutsideCAlone) {
  // C is a [5, 19] window (ldc 24) of a larger buffer; the columns past N and the rows around must not change.
  const int64_t M = 5, N = 19, K = 9, ldc = 24;
  const std::vector<float> a = test::random_floats(size_t(M * K), 1), b = test::random_floats(size_t(K * N), 2);
  std::vector<float> buffer(size_t((M + 2) * ldc), 42.0f);
  kernels::gemm_f32({.M = M, .N = N, .K = K, .a = a.data(), .a_rs = K, .a_cs = 1, .b = b.data(), .ldb = N,
                     .c = buffer.data() + ldc, .ldc = ldc});
  for (int64_t r = 0; r < M + 2; ++r)
    for (int64_t col = 0; col < ldc; ++col) {
      const bool inside = r >= 1 && r <= M && col < N;
      if (!inside) {
        ASSERT_EQ(buffer[size_t(r * ldc + col)], 42.0f) << r << "," << col;
      }
    }
}

TEST(Gemm, EmptySumZeroesOrKeeps) {
  std::vector<float> c = {1, 2, 3, 4};
  kernels::gemm_f32({.M = 2, .N = 2, .K = 0, .a = nullptr, .a_rs = 0, .a_cs = 1, .b = nullptr, .ldb = 2,
                     .c = c.data(), .ldc = 2, .accumulate = true});
  EXPECT_EQ(c, (std::vector<float>{1, 2, 3, 4}));
  kernels::gemm_f32({.M = 2, .N = 2, .K = 0, .a = nullptr, .a_rs = 0, .a_cs = 1, .b = nullptr, .ldb = 2,
                     .c = c.data(), .ldc = 2, .accumulate = false});
  EXPECT_EQ(c, (std::vector<float>{0, 0, 0, 0}));
}

TEST(Gemm, TransposeMovesEveryElement) {
  for (const auto& [R, C] : {std::pair<int64_t, int64_t>{1, 1}, {3, 70}, {33, 31}, {64, 65}}) {
    const std::vector<float> in = test::random_floats(size_t(R * C), uint32_t(R * 100 + C));
    std::vector<float> out(in.size(), -1.0f);
    kernels::transpose_f32(in.data(), R, C, out.data());
    for (int64_t r = 0; r < R; ++r)
      for (int64_t c = 0; c < C; ++c) ASSERT_EQ(out[size_t(c * R + r)], in[size_t(r * C + c)]) << R << "x" << C;
  }
  // A column block [2, 2 + 5) of a [40, 9] matrix, read through its row stride.
  const std::vector<float> wide = test::random_floats(40 * 9, 3);
  std::vector<float> out(5 * 40, -1.0f);
  kernels::transpose_f32(wide.data() + 2, 40, 5, out.data(), 9);
  for (int64_t r = 0; r < 40; ++r)
    for (int64_t c = 0; c < 5; ++c) ASSERT_EQ(out[size_t(c * 40 + r)], wide[size_t(r * 9 + 2 + c)]);
}

}  // namespace
}  // namespace r1
