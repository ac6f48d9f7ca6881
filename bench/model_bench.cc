// End-to-end decode and prefill speed of a model folder: R1_BENCH_MODEL=DIR build/r1_bench --benchmark_filter=Model
// (default: the bundled stories260K). Reports tokens/s and the active weight bytes streamed per second, to set
// against BM_ReadBandwidth.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <vector>

#include "model/model.h"

namespace r1 {
namespace {

std::unique_ptr<Model>& bench_model() {
  static std::unique_ptr<Model> model = [] {
    const char* dir = std::getenv("R1_BENCH_MODEL");
    auto m = load_model(dir ? dir : std::string(R1_SOURCE_DIR) + "/models/stories260K");
    if (!m) {
      fprintf(stderr, "%s\n", m.message().c_str());
      std::exit(1);
    }
    return std::move(*m);
  }();
  return model;
}

void BM_ModelDecode(benchmark::State& state) {
  Model& m = *bench_model();
  auto cache = m.new_cache(state.max_iterations + 64);
  std::vector<float> logits(size_t(m.info().vocab_size));
  int32_t tok = 1;
  for (auto _ : state) {
    if (cache->size() + 1 >= cache->capacity()) cache->truncate(0);
    (void)m.forward(std::span(&tok, 1), *cache, logits.data(), false);
    tok = int32_t((tok * 31 + 7) % m.info().vocab_size);
  }
  state.counters["tokens/s"] = benchmark::Counter(double(state.iterations()), benchmark::Counter::kIsRate);
  // Weight bytes a decode step streams: the active parameters (MoE: routed experts chosen) in the stored dtype.
  state.SetBytesProcessed(int64_t(state.iterations()) * m.info().n_active_params * int64_t(dtype_size(m.info().dtype)));
}
BENCHMARK(BM_ModelDecode)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_ModelPrefill(benchmark::State& state) {
  Model& m = *bench_model();
  const int64_t T = state.range(0);
  auto cache = m.new_cache(T);
  std::vector<int32_t> ids(static_cast<size_t>(T));
  for (int64_t i = 0; i < T; ++i) ids[size_t(i)] = int32_t((i * 31 + 7) % m.info().vocab_size);
  std::vector<float> logits(size_t(m.info().vocab_size));
  for (auto _ : state) {
    cache->truncate(0);
    (void)m.forward(ids, *cache, logits.data(), false);
  }
  state.counters["tokens/s"] = benchmark::Counter(double(state.iterations() * T), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_ModelPrefill)->Arg(128)->UseRealTime()->Unit(benchmark::kMillisecond);

// Batch scaling: one decode token for each of N sequences (32 cached positions each), as one forward_batch over a
// shared store ("Batch") or as N forward() calls ("Separate"). Linear weights are read once per pass in the
// first, N times in the second.
struct DecodeSequences {
  static constexpr int64_t kDepth = 32, kBlocks = kDepth / 16 + 1;  // blocks of 16 per sequence, one to grow into
  DecodeSequences(Model& m, int64_t n) : store(m.new_kv_store(n * kBlocks, 16)) {
    std::vector<int32_t> prompt(size_t(kDepth), 1);
    std::vector<float> logits(size_t(m.info().vocab_size));
    for (int64_t i = 0; i < n; ++i) {
      caches.push_back(std::make_unique<KvCache>(*store));
      for (int64_t b = 0; b < kBlocks; ++b) caches.back()->blocks().push_back(int32_t(i * kBlocks + b));
      (void)m.forward(prompt, *caches.back(), logits.data(), false);
    }
  }
  std::unique_ptr<KvStore> store;
  std::vector<std::unique_ptr<KvCache>> caches;
};

void BM_ModelDecodeBatch(benchmark::State& state) {
  Model& m = *bench_model();
  DecodeSequences seqs(m, state.range(0));
  const int32_t tok = 1;
  std::vector<float> logits(size_t(state.range(0) * m.info().vocab_size));
  std::vector<SeqChunk> chunks;
  for (auto& c : seqs.caches) chunks.push_back({.tokens = std::span(&tok, 1), .cache = c.get()});
  for (auto _ : state) {
    for (auto& c : seqs.caches) c->truncate(DecodeSequences::kDepth);
    (void)m.forward_batch(chunks, logits.data());
  }
  state.counters["tokens/s"] =
      benchmark::Counter(double(state.iterations() * state.range(0)), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_ModelDecodeBatch)->Arg(16)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_ModelDecodeSeparate(benchmark::State& state) {
  Model& m = *bench_model();
  DecodeSequences seqs(m, state.range(0));
  const int32_t tok = 1;
  std::vector<float> logits(size_t(m.info().vocab_size));
  for (auto _ : state)
    for (auto& c : seqs.caches) {
      c->truncate(DecodeSequences::kDepth);
      (void)m.forward(std::span(&tok, 1), *c, logits.data(), false);
    }
  state.counters["tokens/s"] =
      benchmark::Counter(double(state.iterations() * state.range(0)), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_ModelDecodeSeparate)->Arg(16)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace r1
