#include "kernels/matmul.h"

#include <algorithm>
#include <vector>

#include "kernels/gemm.h"
#include "kernels/quant_dot.h"
#include "kernels/simd.h"

namespace r1::kernels {

namespace {

void gemv(const float* x, const Tensor& w, float* y, ThreadPool& pool) {
  const int64_t O = w.dim(0), I = w.dim(1);
  // Enough rows per chunk to amortise dispatch, few enough that both threads finish together. A small matrix
  // (under ~64 KiB of weights) runs on the calling thread: waking the pool would cost more than the work.
  const int64_t grain = O * I < (int64_t(1) << 14) ? O : std::max<int64_t>(16, O / (8 * pool.size()));
  pool.parallel_for(O, grain, [&](int64_t r0, int64_t r1) {
    gemv_rows(w.dtype, w.data, x, y + r0, size_t(I), size_t(r0), size_t(r1));
  });
}

// y [T, O] = x [T, I] · Wᵀ through the register-blocked kernel (kernels/gemm.h), in whichever orientation moves
// fewer floats besides the product itself:
//  - few tokens (T·(I + O) < O·I): yᵀ [O, T] = W · xᵀ with the weights as the broadcast operand, read in place (f32)
//    or widened a block of rows at a time; the activations are transposed in and out.
//  - many tokens: y = x · Wᵀ with the activations as the broadcast operand, each block of weight rows widened and
//    transposed once into a [I, 64] panel that every token then reuses; y is written in place.
void gemm(const float* x, int64_t T, const Tensor& w, float* y, ThreadPool& pool) {
  const int64_t O = w.dim(0), I = w.dim(1);
  const bool small = O * I * T < (int64_t(1) << 17);  // the pool would cost more than the work
  if (T * (I + O) >= O * I) {
    constexpr int64_t kCols = 64;  // output columns per task: a whole number of tiles on every target
    const int64_t blocks = (O + kCols - 1) / kCols;
    pool.parallel_for(blocks, small ? blocks : 1, [&](int64_t b0, int64_t b1) {
      thread_local std::vector<float> wide, panel;  // grow once per thread, then reused
      wide.resize(size_t(kCols * I)), panel.resize(size_t(I * kCols));
      for (int64_t b = b0; b < b1; ++b) {
        const int64_t o0 = b * kCols, cols = std::min(O, o0 + kCols) - o0;
        const float* rows = wide.data();
        if (w.dtype == DType::kF32) rows = w.as<float>() + o0 * I;
        else to_f32(w.dtype, w.row(o0), wide.data(), size_t(cols * I));
        transpose_f32(rows, cols, I, panel.data());
        gemm_f32({.M = T, .N = cols, .K = I, .a = x, .a_rs = I, .a_cs = 1, .b = panel.data(), .ldb = cols,
                  .c = y + o0, .ldc = O});
      }
    });
    return;
  }
  thread_local std::vector<float> xt_buffer, yt_buffer;  // the caller's; workers see them through the pointers
  xt_buffer.resize(size_t(I * T)), yt_buffer.resize(size_t(O * T));
  const float* xt = xt_buffer.data();
  float* yt = yt_buffer.data();
  transpose_f32(x, T, I, xt_buffer.data());
  // 24 weight rows (4 tiles) per task: enough tasks to balance two threads on a 128-row matrix, and 24 widened
  // rows of even an 18432-wide matrix stay in L2.
  constexpr int64_t kRows = 24;
  const int64_t blocks = (O + kRows - 1) / kRows;
  pool.parallel_for(blocks, small ? blocks : 1, [&](int64_t b0, int64_t b1) {
    thread_local std::vector<float> wide;  // grows once per thread, then reused
    for (int64_t b = b0; b < b1; ++b) {
      const int64_t r0 = b * kRows, rows = std::min(O, r0 + kRows) - r0;
      const float* a = nullptr;
      if (w.dtype == DType::kF32) {
        a = w.as<float>() + r0 * I;
      } else {
        wide.resize(size_t(kRows * I));
        to_f32(w.dtype, w.row(r0), wide.data(), size_t(rows * I));
        a = wide.data();
      }
      gemm_f32({.M = rows, .N = T, .K = I, .a = a, .a_rs = I, .a_cs = 1, .b = xt, .ldb = T, .c = yt + r0 * T,
                .ldc = T});
    }
  });
  transpose_f32(yt, O, T, y);
}

// Block-quantized weights (Q8_0, Q4_0, Q4_K, Q6_K): x is quantized to 8 bits per block of 32 once per call, then
// the integer kernels of kernels/quant_dot.h run over blocks of output rows.
constexpr int64_t kQuantRowBlock = 16;  // the prefill kernels' weight tile; chunks never split one

void quant_matmul(const float* x, int64_t T, const Tensor& w, float* y, ThreadPool& pool) {
  const int64_t O = w.dim(0), I = w.dim(1), nb = I / 32;
  thread_local std::vector<BlockQ8Act> acts;  // grows to the largest [T, I / 32] seen, then reused
  if (acts.size() < size_t(T * nb)) acts.resize(size_t(T * nb));
  BlockQ8Act* a = acts.data();
  // Quantizing is ~1/(O/2) of the work: worth a second thread only for long prompts.
  const int64_t qgrain = T * I < (int64_t(1) << 16) ? T : (T + pool.size() - 1) / pool.size();
  pool.parallel_for(T, qgrain, [&](int64_t t0, int64_t t1) { quantize_acts(x, I, a, t0, t1); });
  const int64_t blocks = (O + kQuantRowBlock - 1) / kQuantRowBlock;
  // Decode streams the weights: chunks small enough that both threads finish together. Prefill: a few chunks per
  // thread, each packing its own weight tiles. Small products (under ~64 KiB of weights for decode, ~256 K
  // multiply-adds for prefill) run on the calling thread: waking the pool would cost more than the work.
  const bool small = T == 1 ? O * I < (int64_t(1) << 16) : O * I * T < (int64_t(1) << 18);
  const int64_t grain = small ? blocks : std::max<int64_t>(1, blocks / ((T == 1 ? 8 : 4) * pool.size()));
  pool.parallel_for(blocks, grain, [&](int64_t b0, int64_t b1) {
    qgemm_rows(w.dtype, w.data, I, a, T, y, O, b0 * kQuantRowBlock, std::min(O, b1 * kQuantRowBlock));
  });
}

}  // namespace

void matmul(const float* x, int64_t T, const Tensor& w, float* y, ThreadPool& pool, const float* bias) {
  if (dtype_is_quantized(w.dtype)) quant_matmul(x, T, w, y, pool);
  else if (T == 1) gemv(x, w, y, pool);
  else gemm(x, T, w, y, pool);
  if (bias) {
    const int64_t O = w.dim(0);
    for (int64_t t = 0; t < T; ++t)
      for (int64_t o = 0; o < O; ++o) y[t * O + o] += bias[o];
  }
}

}  // namespace r1::kernels
