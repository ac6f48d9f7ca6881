// The roofline measurements in quick mode: small buffers and few iterations, so only sanity is checked (positive,
// finite, and the buffer read really is summed); the speeds themselves are not asserted.
#include "kernels/roofline.h"

#include <gtest/gtest.h>

#include <cmath>

namespace r1::kernels {
namespace {

const RooflineOptions kQuick{.read_bytes = size_t(8) << 20, .passes = 2, .compute_iterations = 1 << 12};

TEST(Roofline, MeasurementsArePositiveAndFinite) {
  for (int threads : {1, 2}) {
    ThreadPool pool(threads);
    const double bw = measure_read_bandwidth(pool, kQuick);
    const double fp32 = measure_fp32_peak(pool, kQuick);
    const double int8 = measure_int8_peak(pool, kQuick);
    EXPECT_GT(bw, 0.0) << threads;
    EXPECT_GT(fp32, 0.0) << threads;
    EXPECT_GT(int8, 0.0) << threads;
    EXPECT_TRUE(std::isfinite(bw) && std::isfinite(fp32) && std::isfinite(int8)) << threads;
  }
}

TEST(Roofline, OddSizesAndOnePass) {
  ThreadPool pool(2);
  // A buffer smaller than one slice per thread, and a single pass.
  const RooflineOptions tiny{.read_bytes = 5000, .passes = 1, .compute_iterations = 1};
  EXPECT_GT(measure_read_bandwidth(pool, tiny), 0.0);
  EXPECT_GT(measure_fp32_peak(pool, tiny), 0.0);
  EXPECT_GT(measure_int8_peak(pool, tiny), 0.0);
}

TEST(Roofline, NamesItsKernels) {
  const std::string k = roofline_kernels();
  EXPECT_NE(k.find("read "), std::string::npos) << k;
  EXPECT_NE(k.find("fp32 "), std::string::npos) << k;
  EXPECT_NE(k.find("int8 "), std::string::npos) << k;
}

}  // namespace
}  // namespace r1::kernels
