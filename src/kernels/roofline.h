// This machine's roofline: streaming read bandwidth (the bound on decode, which reads every active weight once per
// token) and FP32 / INT8 arithmetic peaks (the bounds on prefill). `r1 bench --roofline` reports each measured
// speed as a fraction of its bound. Each measurement uses all threads of the pool and returns the best of several
// passes; kernels are picked at run time (AVX-512, AVX2, VNNI) with a portable fallback on other CPUs.
#pragma once

#include <cstddef>
#include <string>

#include "core/thread_pool.h"

namespace r1::kernels {

// Sizes of the measurements. The defaults take about a second in all; tests use small ones.
struct RooflineOptions {
  size_t read_bytes = size_t(1) << 30;  // buffer streamed by measure_read_bandwidth; must dwarf the last-level cache
  int passes = 5;                       // best of this many
  int64_t compute_iterations = 1 << 22;  // inner-loop trips per thread of the FMA / dot-product kernels
};

// Read bandwidth in GB/s (1e9 bytes per second): every thread sums its slices of one large buffer with wide loads
// into several independent accumulators.
double measure_read_bandwidth(ThreadPool& pool, const RooflineOptions& options = {});

// FP32 peak in GFLOP/s (an FMA counts 2): independent FMA chains held in registers on every thread.
double measure_fp32_peak(ThreadPool& pool, const RooflineOptions& options = {});

// INT8 peak in GOP/s (a multiply-add counts 2): u8 x s8 dot products (vpdpbusd with AVX-512 VNNI or AVX-VNNI, else
// vpmaddubsw + vpmaddwd) in independent chains on every thread.
double measure_int8_peak(ThreadPool& pool, const RooflineOptions& options = {});

// The instruction sets the three measurements use here, e.g. "read AVX-512, fp32 AVX-512 FMA, int8 AVX-512 VNNI".
std::string roofline_kernels();

}  // namespace r1::kernels
