// Test hooks for the K-quant dot kernels (kernels/quant_dot_k.cc); the kernels themselves are declared in
// kernels/quant_dot.h.
#pragma once

namespace r1::kernels {

// Forces the code path of qgemm_rows_q4_k / qgemm_rows_q6_k: "avx512vnni", "avxvnni", "avx2", "neon", "scalar",
// or nullptr / "" for the best one this CPU has. Returns false (and changes nothing) when the CPU lacks it.
// Not thread-safe against concurrent kernel calls: for tests and benchmarks only.
bool set_quant_dot_k_path_for_testing(const char* name);

// The path the K-quant kernels use now (one of the names above).
const char* quant_dot_k_path();

}  // namespace r1::kernels
