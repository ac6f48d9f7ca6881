// Roofline measurements. The x86 kernels are compiled per instruction set with __attribute__((target)) and chosen
// at run time, so one binary runs everywhere; the portable loops are the fallback and the reference for the tests.
// Timing: wall time of one parallel_for over every thread, best of `passes`.
#include "kernels/roofline.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#if defined(__linux__)
#include <sys/mman.h>
#endif
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define R1_ROOFLINE_X86 1
#endif

namespace r1::kernels {

namespace {

// ---------------------------------------------------------------------------------------------------------------
// CPU features, checked once.

struct Features {
  bool avx512 = false;      // AVX-512F + BW (wide loads, FMA, byte ops)
  bool avx512vnni = false;  // vpdpbusd on zmm
  bool avxvnni = false;     // vpdpbusd on ymm (VEX encoding, Alder Lake and later)
  bool avx2fma = false;
};

const Features& features() {
  static const Features f = [] {
    Features f;
#if R1_ROOFLINE_X86
    __builtin_cpu_init();
    f.avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
    f.avx512vnni = f.avx512 && __builtin_cpu_supports("avx512vnni");
    f.avxvnni = __builtin_cpu_supports("avxvnni");
    f.avx2fma = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
    return f;
  }();
  return f;
}

using Clock = std::chrono::steady_clock;

// Best (largest) rate over `passes` runs of `pass`, which returns the amount of work it did.
template <typename Pass>
double best_rate(int passes, Pass&& pass) {
  double best = 0;
  for (int i = 0; i < std::max(1, passes); ++i) {
    const auto t0 = Clock::now();
    const double work = pass();
    const double s = std::chrono::duration<double>(Clock::now() - t0).count();
    if (s > 0) best = std::max(best, work / s);
  }
  return best;
}

// Keeps results alive so the compiler cannot drop the loops that produce them.
std::atomic<uint64_t> g_sink{0};
void consume(uint64_t v) { g_sink.fetch_add(v, std::memory_order_relaxed); }

// ---------------------------------------------------------------------------------------------------------------
// Read bandwidth. Sums of 64-bit lanes: an integer add per load costs nothing next to the load itself, and eight
// independent accumulators keep enough loads in flight.

uint64_t sum_portable(const uint8_t* p, size_t n) {
  const auto* q = reinterpret_cast<const uint64_t*>(p);
  uint64_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
  for (size_t i = 0; i + 4 <= n / 8; i += 4) a0 += q[i], a1 += q[i + 1], a2 += q[i + 2], a3 += q[i + 3];
  return a0 + a1 + a2 + a3;
}

#if R1_ROOFLINE_X86
__attribute__((target("avx512f,avx512bw"))) uint64_t sum_avx512(const uint8_t* p, size_t n) {
  __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
  for (size_t i = 0; i + 512 <= n; i += 512) {
    a0 = _mm512_add_epi64(a0, _mm512_load_si512(p + i));
    a1 = _mm512_add_epi64(a1, _mm512_load_si512(p + i + 64));
    a2 = _mm512_add_epi64(a2, _mm512_load_si512(p + i + 128));
    a3 = _mm512_add_epi64(a3, _mm512_load_si512(p + i + 192));
    a4 = _mm512_add_epi64(a4, _mm512_load_si512(p + i + 256));
    a5 = _mm512_add_epi64(a5, _mm512_load_si512(p + i + 320));
    a6 = _mm512_add_epi64(a6, _mm512_load_si512(p + i + 384));
    a7 = _mm512_add_epi64(a7, _mm512_load_si512(p + i + 448));
  }
  const __m512i s = _mm512_add_epi64(_mm512_add_epi64(_mm512_add_epi64(a0, a1), _mm512_add_epi64(a2, a3)),
                                     _mm512_add_epi64(_mm512_add_epi64(a4, a5), _mm512_add_epi64(a6, a7)));
  alignas(64) uint64_t lanes[8];
  _mm512_store_si512(lanes, s);
  uint64_t r = 0;
  for (uint64_t v : lanes) r += v;
  return r;
}

__attribute__((target("avx2"))) uint64_t sum_avx2(const uint8_t* p, size_t n) {
  __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
  for (size_t i = 0; i + 256 <= n; i += 256) {
    a0 = _mm256_add_epi64(a0, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i)));
    a1 = _mm256_add_epi64(a1, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 32)));
    a2 = _mm256_add_epi64(a2, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 64)));
    a3 = _mm256_add_epi64(a3, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 96)));
    a4 = _mm256_add_epi64(a4, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 128)));
    a5 = _mm256_add_epi64(a5, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 160)));
    a6 = _mm256_add_epi64(a6, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 192)));
    a7 = _mm256_add_epi64(a7, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 224)));
  }
  const __m256i s = _mm256_add_epi64(_mm256_add_epi64(_mm256_add_epi64(a0, a1), _mm256_add_epi64(a2, a3)),
                                     _mm256_add_epi64(_mm256_add_epi64(a4, a5), _mm256_add_epi64(a6, a7)));
  alignas(32) uint64_t lanes[4];
  _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), s);
  return lanes[0] + lanes[1] + lanes[2] + lanes[3];
}
#endif

uint64_t sum_bytes(const uint8_t* p, size_t n) {
#if R1_ROOFLINE_X86
  if (features().avx512) return sum_avx512(p, n);
  if (features().avx2fma) return sum_avx2(p, n);
#endif
  return sum_portable(p, n);
}

// A large page-aligned buffer, on transparent huge pages where the kernel allows (fewer TLB misses while
// streaming, as a long decode over big weights would see at best).
struct Buffer {
  uint8_t* data = nullptr;
  size_t size = 0;
  explicit Buffer(size_t n) : size(n) {
#if defined(__linux__)
    void* p = mmap(nullptr, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return;
    madvise(p, n, MADV_HUGEPAGE);
    data = static_cast<uint8_t*>(p);
#else
    data = static_cast<uint8_t*>(std::aligned_alloc(4096, (n + 4095) / 4096 * 4096));
#endif
  }
  ~Buffer() {
#if defined(__linux__)
    if (data) munmap(data, size);
#else
    std::free(data);
#endif
  }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
};

// ---------------------------------------------------------------------------------------------------------------
// FP32 FMA throughput: acc = acc * a + b in independent chains, enough of them to cover the FMA latency on every
// FMA port (4 cycles x 2 ports needs 8; 16 zmm chains leave headroom). acc converges to b / (1 - a): no overflow,
// no denormals.

constexpr float kFmaA = 0.999f, kFmaB = 1e-4f;

float fma_portable(int64_t iters) {
  float acc[8];
  for (int j = 0; j < 8; ++j) acc[j] = float(j) * 1e-3f;
  for (int64_t i = 0; i < iters; ++i)
    for (int j = 0; j < 8; ++j) acc[j] = acc[j] * kFmaA + kFmaB;
  float s = 0;
  for (float a : acc) s += a;
  return s;
}

#if R1_ROOFLINE_X86
__attribute__((target("avx512f"))) float fma_avx512(int64_t iters) {
  constexpr int kChains = 16;
  __m512 acc[kChains];
  for (int j = 0; j < kChains; ++j) acc[j] = _mm512_set1_ps(float(j) * 1e-3f);
  const __m512 a = _mm512_set1_ps(kFmaA), b = _mm512_set1_ps(kFmaB);
  for (int64_t i = 0; i < iters; ++i) {
#pragma GCC unroll 16
    for (int j = 0; j < kChains; ++j) acc[j] = _mm512_fmadd_ps(acc[j], a, b);
  }
  __m512 s = acc[0];
  for (int j = 1; j < kChains; ++j) s = _mm512_add_ps(s, acc[j]);
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, s);
  float r = 0;
  for (float v : lanes) r += v;
  return r;
}

__attribute__((target("avx2,fma"))) float fma_avx2(int64_t iters) {
  constexpr int kChains = 12;  // of 16 ymm registers, two hold a and b
  __m256 acc[kChains];
  for (int j = 0; j < kChains; ++j) acc[j] = _mm256_set1_ps(float(j) * 1e-3f);
  const __m256 a = _mm256_set1_ps(kFmaA), b = _mm256_set1_ps(kFmaB);
  for (int64_t i = 0; i < iters; ++i) {
#pragma GCC unroll 12
    for (int j = 0; j < kChains; ++j) acc[j] = _mm256_fmadd_ps(acc[j], a, b);
  }
  __m256 s = acc[0];
  for (int j = 1; j < kChains; ++j) s = _mm256_add_ps(s, acc[j]);
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, s);
  return lanes[0] + lanes[1] + lanes[2] + lanes[3] + lanes[4] + lanes[5] + lanes[6] + lanes[7];
}
#endif

// Runs the widest FMA kernel for `iters` trips; returns the FLOPs done.
double fma_kernel(int64_t iters, float* result) {
#if R1_ROOFLINE_X86
  if (features().avx512) return *result = fma_avx512(iters), double(iters) * 16 * 16 * 2;
  if (features().avx2fma) return *result = fma_avx2(iters), double(iters) * 12 * 8 * 2;
#endif
  return *result = fma_portable(iters), double(iters) * 8 * 2;
}

// ---------------------------------------------------------------------------------------------------------------
// INT8 dot-product throughput: u8 x s8 products summed in groups of four into int32 (vpdpbusd), the instruction
// the quantized matmuls are built on. Wrap-around in the accumulators is harmless: only the time matters.

int32_t dot_portable(int64_t iters) {
  int32_t acc[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  const uint8_t a = 3;
  const int8_t b = -2;
  for (int64_t i = 0; i < iters; ++i)
    for (int j = 0; j < 8; ++j) acc[j] = int32_t(uint32_t(acc[j]) * 3u + uint32_t(int32_t(a) * int32_t(b)));
  int32_t s = 0;
  for (int32_t v : acc) s ^= v;
  return s;
}

#if R1_ROOFLINE_X86
__attribute__((target("avx512f,avx512bw,avx512vnni"))) int32_t dot_avx512vnni(int64_t iters) {
  constexpr int kChains = 16;  // latency 5 x 2 ports
  __m512i acc[kChains];
  for (int j = 0; j < kChains; ++j) acc[j] = _mm512_set1_epi32(j);
  const __m512i a = _mm512_set1_epi8(3), b = _mm512_set1_epi8(-2);
  for (int64_t i = 0; i < iters; ++i) {
#pragma GCC unroll 16
    for (int j = 0; j < kChains; ++j) acc[j] = _mm512_dpbusd_epi32(acc[j], a, b);
  }
  __m512i s = acc[0];
  for (int j = 1; j < kChains; ++j) s = _mm512_xor_si512(s, acc[j]);
  alignas(64) int32_t lanes[16];
  _mm512_store_si512(lanes, s);
  int32_t r = 0;
  for (int32_t v : lanes) r ^= v;
  return r;
}

__attribute__((target("avx2,avxvnni"))) int32_t dot_avxvnni(int64_t iters) {
  constexpr int kChains = 12;
  __m256i acc[kChains];
  for (int j = 0; j < kChains; ++j) acc[j] = _mm256_set1_epi32(j);
  const __m256i a = _mm256_set1_epi8(3), b = _mm256_set1_epi8(-2);
  for (int64_t i = 0; i < iters; ++i) {
#pragma GCC unroll 12
    for (int j = 0; j < kChains; ++j) acc[j] = _mm256_dpbusd_avx_epi32(acc[j], a, b);
  }
  __m256i s = acc[0];
  for (int j = 1; j < kChains; ++j) s = _mm256_xor_si256(s, acc[j]);
  return _mm256_extract_epi32(s, 0) ^ _mm256_extract_epi32(s, 7);
}

// Without VNNI: vpmaddubsw (u8 x s8 pairs -> s16) then vpmaddwd by ones (-> s32) and an add, three instructions for
// the work of one vpdpbusd.
__attribute__((target("avx2"))) int32_t dot_avx2(int64_t iters) {
  constexpr int kChains = 8;
  __m256i acc[kChains];
  for (int j = 0; j < kChains; ++j) acc[j] = _mm256_set1_epi32(j);
  const __m256i a = _mm256_set1_epi8(3), b = _mm256_set1_epi8(-2), ones = _mm256_set1_epi16(1);
  for (int64_t i = 0; i < iters; ++i) {
#pragma GCC unroll 8
    for (int j = 0; j < kChains; ++j)
      acc[j] = _mm256_add_epi32(acc[j], _mm256_madd_epi16(_mm256_maddubs_epi16(a, b), ones));
  }
  __m256i s = acc[0];
  for (int j = 1; j < kChains; ++j) s = _mm256_xor_si256(s, acc[j]);
  return _mm256_extract_epi32(s, 0) ^ _mm256_extract_epi32(s, 7);
}
#endif

// Runs the widest INT8 kernel for `iters` trips; returns the operations done (2 per multiply-add).
double dot_kernel(int64_t iters, int32_t* result) {
#if R1_ROOFLINE_X86
  if (features().avx512vnni) return *result = dot_avx512vnni(iters), double(iters) * 16 * 64 * 2;
  if (features().avxvnni) return *result = dot_avxvnni(iters), double(iters) * 12 * 32 * 2;
  if (features().avx2fma) return *result = dot_avx2(iters), double(iters) * 8 * 32 * 2;
#endif
  return *result = dot_portable(iters), double(iters) * 8 * 2;
}

// Runs `kernel(iters)` once on every thread of the pool at the same time; returns the total work done.
template <typename Kernel>
double on_every_thread(ThreadPool& pool, int64_t iters, Kernel&& kernel) {
  std::vector<double> work(size_t(pool.size()), 0.0);
  pool.parallel_for(pool.size(), 1, [&](int64_t b, int64_t e) {
    for (int64_t t = b; t < e; ++t) work[size_t(t)] = kernel(iters);
  });
  double total = 0;
  for (double w : work) total += w;
  return total;
}

}  // namespace

double measure_read_bandwidth(ThreadPool& pool, const RooflineOptions& options) {
  // Slices of at most 4 MiB handed out dynamically, so a thread that is held up does not stall the whole pass.
  const size_t threads = size_t(pool.size());
  const size_t chunk = std::clamp<size_t>(options.read_bytes / (threads * 16) / 4096 * 4096, 4096, size_t(4) << 20);
  const size_t n_chunks = std::max<size_t>(1, options.read_bytes / chunk);
  Buffer buf(n_chunks * chunk);
  if (!buf.data) return 0;
  // First touch from the threads that will read (NUMA placement), with non-zero bytes (no shared zero page).
  pool.parallel_for(int64_t(n_chunks), 1, [&](int64_t b, int64_t e) {
    std::memset(buf.data + size_t(b) * chunk, 1, size_t(e - b) * chunk);
  });
  const double bytes_per_s = best_rate(options.passes, [&] {
    pool.parallel_for(int64_t(n_chunks), 1, [&](int64_t b, int64_t e) {
      uint64_t s = 0;
      for (int64_t c = b; c < e; ++c) s += sum_bytes(buf.data + size_t(c) * chunk, chunk);
      consume(s);
    });
    return double(n_chunks * chunk);
  });
  return bytes_per_s / 1e9;
}

double measure_fp32_peak(ThreadPool& pool, const RooflineOptions& options) {
  const double flops_per_s = best_rate(options.passes, [&] {
    return on_every_thread(pool, options.compute_iterations, [](int64_t iters) {
      float r = 0;
      const double flops = fma_kernel(iters, &r);
      uint32_t bits;
      std::memcpy(&bits, &r, 4);
      consume(bits);
      return flops;
    });
  });
  return flops_per_s / 1e9;
}

double measure_int8_peak(ThreadPool& pool, const RooflineOptions& options) {
  const double ops_per_s = best_rate(options.passes, [&] {
    return on_every_thread(pool, options.compute_iterations, [](int64_t iters) {
      int32_t r = 0;
      const double ops = dot_kernel(iters, &r);
      consume(uint32_t(r));
      return ops;
    });
  });
  return ops_per_s / 1e9;
}

std::string roofline_kernels() {
  const Features& f = features();
  std::string read = f.avx512 ? "AVX-512" : f.avx2fma ? "AVX2" : "portable";
  std::string fp32 = f.avx512 ? "AVX-512 FMA" : f.avx2fma ? "AVX2 FMA" : "portable";
  std::string int8 = f.avx512vnni ? "AVX-512 VNNI" : f.avxvnni ? "AVX-VNNI" : f.avx2fma ? "AVX2 maddubs" : "portable";
  return "read " + read + ", fp32 " + fp32 + ", int8 " + int8;
}

}  // namespace r1::kernels
