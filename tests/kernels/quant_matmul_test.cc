// The quantized matmul stack on every code path this CPU has: the activation quantizer against a plain scalar
// version, qgemm_rows against an exact double-precision sum of dequantized weights times dequantized
// activations, and kernels::matmul on quantized weights against the f32 matmul of the same weights
// dequantized.
//   O weight rows, I inputs, T activation rows.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "kernels/matmul.h"
#include "kernels/quant.h"
#include "kernels/quant_dot.h"
#include "kernels/quant_dot_k.h"
#include "test_util.h"

namespace r1::kernels {
namespace {

// Every path name either setter knows; each test runs those this CPU has.
const char* const kPaths[] = {"scalar", "avx2", "avxvnni", "avx512vnni", "neon-dot"};

// Forces `name` on the Q8_0 / Q4_0 kernels and the K-quant kernels (whose NEON path is called "neon");
// restores the best paths when it goes out of scope.
class ForcedPath {
 public:
  explicit ForcedPath(const char* name) {
    ok_ = set_quant_dot_path_for_testing(name);
    k_ok_ = set_quant_dot_k_path_for_testing(std::strcmp(name, "neon-dot") == 0 ? "neon" : name);
  }
  ~ForcedPath() {
    set_quant_dot_path_for_testing(nullptr);
    set_quant_dot_k_path_for_testing(nullptr);
  }
  // Whether `t`'s kernels (and the activation quantizer) now run this path.
  bool covers(DType t) const { return ok_ && (t == DType::kQ8_0 || t == DType::kQ4_0 || k_ok_); }
  bool ok() const { return ok_; }

 private:
  bool ok_, k_ok_;
};

// The activation quantizer as quant_dot.h defines it, written plainly.
void quantize_acts_plain(const float* x, int64_t I, BlockQ8Act* out) {
  for (int64_t b = 0; b < I / 32; ++b) {
    const float* xb = x + 32 * b;
    float amax = 0.0f;
    for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(xb[j]));
    const float id = amax > 1e-30f ? 127.0f / amax : 0.0f;
    out[b].d = amax / 127.0f;
    out[b].sum = 0;
    for (int j = 0; j < 32; ++j) {
      const float v = std::clamp(xb[j] * id, -127.0f, 127.0f);
      out[b].qs[j] = int8_t(std::nearbyint(v));  // ties to even
      out[b].sum += out[b].qs[j];
    }
  }
}

// Activations with the awkward blocks mixed in: all zeros, denormal-small, huge, and exact .5 ties.
std::vector<float> make_acts(int64_t T, int64_t I, uint32_t seed) {
  auto x = test::random_floats(size_t(T * I), seed, 2.0f);
  const int64_t n_blocks = T * I / 32;
  for (int64_t b = 0; b < n_blocks; ++b) {
    float* xb = x.data() + 32 * b;
    switch ((b + seed) % 7) {
      case 1:
        std::fill(xb, xb + 32, 0.0f);
        break;
      case 2:
        for (int j = 0; j < 32; ++j) xb[j] *= 1e-32f;
        break;
      case 3:
        for (int j = 0; j < 32; ++j) xb[j] *= 1e6f;
        break;
      case 4:  // amax 127 makes 127 / amax exactly 1: x.5 values are ties
        for (int j = 0; j < 32; ++j) xb[j] = float(int(j % 16) - 8) + 0.5f;
        xb[5] = -127.0f;
        break;
      default:
        break;
    }
  }
  return x;
}

// A valid [O, I] weight of block type t quantized from random values (Q8_0 also gets its extreme -128 and
// 127).
std::vector<uint8_t> make_weight(DType t, int64_t O, int64_t I, uint32_t seed) {
  const auto v = test::random_floats(size_t(O * I), seed, 0.5f);
  const size_t rb = dtype_row_bytes(t, I);
  std::vector<uint8_t> w(rb * size_t(O));
  for (int64_t r = 0; r < O; ++r) quantize_row(t, v.data() + r * I, w.data() + size_t(r) * rb, I);
  if (t == DType::kQ8_0)
    for (size_t blk = 0; blk < w.size() / sizeof(BlockQ8_0); ++blk) {
      auto* q = reinterpret_cast<int8_t*>(w.data() + blk * sizeof(BlockQ8_0) + 2);
      q[blk % 32] = -128;
      q[(blk + 7) % 32] = 127;
    }
  return w;
}

std::vector<float> dequantize(DType t, const std::vector<uint8_t>& w, int64_t O, int64_t I) {
  std::vector<float> out(size_t(O * I));
  const size_t rb = dtype_row_bytes(t, I);
  for (int64_t r = 0; r < O; ++r) dequantize_row(t, w.data() + size_t(r) * rb, out.data() + r * I, I);
  return out;
}

std::vector<int64_t> sizes_for(DType t) {
  if (dtype_block_size(t) == kQKK) return {256, 512, 2560};
  return {32, 64, 96, 256, 512, 1408, 2560};
}

class QuantMatmulTest : public ::testing::TestWithParam<DType> {};

TEST(QuantizeActs, SameBytesAsPlainScalarOnEveryPath) {
  for (const char* path : kPaths) {
    ForcedPath forced(path);
    if (!forced.ok()) continue;
    SCOPED_TRACE(path);
    for (int64_t I : {32, 96, 1408}) {
      const int64_t T = 5;
      const auto x = make_acts(T, I, uint32_t(I));
      std::vector<BlockQ8Act> got(size_t(T * I / 32)), want(got.size());
      quantize_acts(x.data(), I, got.data(), 1, T);  // rows [1, T): row 0 must stay untouched
      std::memset(&got[0], 0x5a, sizeof(BlockQ8Act));
      quantize_acts(x.data(), I, got.data(), 0, 1);
      for (int64_t t = 0; t < T; ++t) quantize_acts_plain(x.data() + t * I, I, want.data() + t * (I / 32));
      for (size_t b = 0; b < got.size(); ++b) {
        ASSERT_EQ(std::memcmp(&got[b].d, &want[b].d, 4), 0) << "I=" << I << " block " << b;
        ASSERT_EQ(got[b].sum, want[b].sum) << "I=" << I << " block " << b;
        ASSERT_EQ(std::memcmp(got[b].qs, want[b].qs, 32), 0) << "I=" << I << " block " << b;
      }
    }
  }
}

TEST_P(QuantMatmulTest, QgemmRowsMatchesExactSum) {
  const DType type = GetParam();
  uint32_t seed = 1;
  for (const char* path : kPaths) {
    ForcedPath forced(path);
    if (!forced.covers(type)) continue;
    for (int64_t I : sizes_for(type)) {
      const int64_t nb = I / 32;
      for (int64_t O : {1, 5, 37}) {
        const auto w = make_weight(type, O, I, seed++);
        const auto wf = dequantize(type, w, O, I);
        for (int64_t T : {1, 2, 3, 7, 33}) {
          const auto x = make_acts(T, I, seed++);
          std::vector<BlockQ8Act> acts(size_t(T * nb));
          for (int64_t t = 0; t < T; ++t) quantize_acts_plain(x.data() + t * I, I, acts.data() + t * nb);
          // A strided output and, where there is room, a row range that leaves the first and last rows alone.
          const int64_t ldy = O + 3, r0 = O > 2 ? 1 : 0, r1 = O > 2 ? O - 1 : O;
          std::vector<float> y(size_t(T * ldy), -777.0f);
          qgemm_rows(type, w.data(), I, acts.data(), T, y.data(), ldy, r0, r1);
          for (int64_t t = 0; t < T; ++t) {
            for (int64_t r = 0; r < ldy; ++r) {
              const float got = y[size_t(t * ldy + r)];
              if (r < r0 || r >= r1) {
                ASSERT_EQ(got, -777.0f) << path << " wrote outside its rows: r=" << r;
                continue;
              }
              double want = 0.0, mag = 0.0;
              for (int64_t i = 0; i < I; ++i) {
                const BlockQ8Act& a = acts[size_t(t * nb + i / 32)];
                const double p = double(wf[size_t(r * I + i)]) * double(a.d * float(a.qs[i % 32]));
                want += p, mag += std::fabs(p);
              }
              ASSERT_NEAR(got, want, 1e-5 * mag + 1e-30) << path << " " << dtype_name(type) << " T=" << T << " O=" << O
                                                         << " I=" << I << " t=" << t << " r=" << r;
            }
          }
        }
      }
    }
  }
}

TEST_P(QuantMatmulTest, MatmulMatchesF32OnDequantizedWeights) {
  const DType type = GetParam();
  ThreadPool pool(2);
  uint32_t seed = 1000;
  struct Shape {
    int64_t T, O, I;
  };
  // Small ones run on the calling thread; 300 x 512 and up split across the pool.
  const Shape shapes[] = {{1, 5, 256}, {3, 37, 512}, {1, 300, 512}, {33, 300, 512}, {7, 40, 2560}, {1, 77, 2560}};
  for (const char* path : kPaths) {
    ForcedPath forced(path);
    if (!forced.covers(type)) continue;
    for (const Shape& s : shapes) {
      const auto w = make_weight(type, s.O, s.I, seed++);
      auto wf = dequantize(type, w, s.O, s.I);
      const auto x = test::random_floats(size_t(s.T * s.I), seed++);
      const auto bias = test::random_floats(size_t(s.O), seed++);
      Tensor tq, tf;
      tq.dtype = type, tq.rank = 2, tq.shape[0] = s.O, tq.shape[1] = s.I, tq.data = w.data();
      tf.dtype = DType::kF32, tf.rank = 2, tf.shape[0] = s.O, tf.shape[1] = s.I, tf.data = wf.data();
      std::vector<float> got(size_t(s.T * s.O)), want(got.size());
      matmul(x.data(), s.T, tq, got.data(), pool, bias.data());
      matmul(x.data(), s.T, tf, want.data(), pool, bias.data());
      for (int64_t t = 0; t < s.T; ++t) {
        for (int64_t r = 0; r < s.O; ++r) {
          // Rounding x to 8 bits moves each input by at most amax / 254 of its block.
          double bound = 0.0, mag = 0.0;
          for (int64_t b = 0; b < s.I / 32; ++b) {
            float amax = 0.0f;
            for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[size_t(t * s.I + 32 * b + j)]));
            for (int j = 0; j < 32; ++j) {
              const double wv = wf[size_t(r * s.I + 32 * b + j)];
              bound += std::fabs(wv) * amax / 254.0;
              mag += std::fabs(wv * x[size_t(t * s.I + 32 * b + j)]);
            }
          }
          const size_t i = size_t(t * s.O + r);
          ASSERT_NEAR(got[i], want[i], 1.01 * bound + 1e-5 * mag)
              << path << " " << dtype_name(type) << " T=" << s.T << " O=" << s.O << " I=" << s.I << " t=" << t
              << " r=" << r;
        }
      }
    }
  }
}

TEST(QuantDot, PathNames) {
  const std::string best = quant_dot_path();
  EXPECT_TRUE(best == "avx512vnni" || best == "avxvnni" || best == "avx2" || best == "neon-dot" || best == "scalar")
      << best;
  EXPECT_TRUE(set_quant_dot_path_for_testing("scalar"));
  EXPECT_STREQ(quant_dot_path(), "scalar");
  EXPECT_FALSE(set_quant_dot_path_for_testing("no-such-path"));
  EXPECT_STREQ(quant_dot_path(), "scalar");
  EXPECT_TRUE(set_quant_dot_path_for_testing(nullptr));
  EXPECT_EQ(quant_dot_path(), best);
}

INSTANTIATE_TEST_SUITE_P(BlockTypes, QuantMatmulTest,
                         ::testing::Values(DType::kQ8_0, DType::kQ4_0, DType::kQ4_K, DType::kQ6_K),
                         [](const auto& info) { return std::string(dtype_name(info.param)); });

}  // namespace
}  // namespace r1::kernels
