// Single-thread encode throughput (MB/s of UTF-8 input) of the R1-Distill-Qwen (Qwen2) and DeepSeek-V3/R1
// tokenizers, on two fixed texts from tests/fixtures/tokenizers/:
//   gsm8k        the first 500 GSM8K test problems with their solutions (English, numbers, arithmetic);
//   conformance  the 5,000 generated strings of conformance/deepseek-v3.jsonl (many scripts, emoji, code).
// Each is encoded document by document ("docs") and as one string ("whole"). tools/bench_tokenizers.py runs
// this and the PyPI `tokenizers` package on the same texts and prints the figures side by side:
//   build/r1_bench --benchmark_filter=Tokenizer
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "tokenizer/tokenizer.h"

namespace r1 {
namespace {

const std::string kDir = std::string(R1_SOURCE_DIR) + "/tests/fixtures/tokenizers/";

[[noreturn]] void die(const std::string& message) {
  std::fprintf(stderr, "%s\n", message.c_str());
  std::exit(1);
}

const Tokenizer& tokenizer(const std::string& name) {
  static std::map<std::string, std::unique_ptr<Tokenizer>> cache;
  auto& t = cache[name];
  if (!t) {
    // The R1-Distill-Qwen fixture folder has vocab.json + merges.txt and needs the Qwen2 preset named.
    const TokenizerLoadOptions options{.pre_tokenizer = name == "deepseek-r1-distill-qwen"
                                                            ? std::optional(PreTokenizerKind::kQwen2)
                                                            : std::nullopt};
    auto loaded = Tokenizer::load_dir(kDir + name, options);
    if (!loaded) die(loaded.message());
    t = std::move(loaded).value();
  }
  return *t;
}

// The documents of a text: GSM8K "question\nanswer" pairs, or the conformance strings.
const std::vector<std::string>& documents(const std::string& text) {
  static std::map<std::string, std::vector<std::string>> cache;
  auto& docs = cache[text];
  if (!docs.empty()) return docs;
  const bool gsm8k = text == "gsm8k";
  std::ifstream in(kDir + (gsm8k ? "bench/gsm8k-test-first500.jsonl" : "conformance/deepseek-v3.jsonl"));
  if (!in) die("cannot read the " + text + " text under " + kDir);
  for (std::string line; std::getline(in, line);) {
    const auto j = nlohmann::json::parse(line);
    docs.push_back(gsm8k ? j.at("question").get<std::string>() + "\n" + j.at("answer").get<std::string>()
                         : j.at("text").get<std::string>());
  }
  return docs;
}

void BM_TokenizerEncodeDocs(benchmark::State& state, const std::string& vocab, const std::string& text) {
  const Tokenizer& t = tokenizer(vocab);
  const std::vector<std::string>& docs = documents(text);
  int64_t bytes = 0, tokens = 0;
  for (const std::string& d : docs) bytes += static_cast<int64_t>(d.size());
  for (auto _ : state) {
    tokens = 0;
    for (const std::string& d : docs) tokens += static_cast<int64_t>(t.encode(d).size());
    benchmark::DoNotOptimize(tokens);
  }
  state.SetBytesProcessed(state.iterations() * bytes);
  state.counters["tokens"] = static_cast<double>(tokens);
}

void BM_TokenizerEncodeWhole(benchmark::State& state, const std::string& vocab, const std::string& text) {
  const Tokenizer& t = tokenizer(vocab);
  std::string whole;
  for (const std::string& d : documents(text)) whole += d + "\n\n";
  int64_t tokens = 0;
  for (auto _ : state) {
    tokens = static_cast<int64_t>(t.encode(whole).size());
    benchmark::DoNotOptimize(tokens);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(whole.size()));
  state.counters["tokens"] = static_cast<double>(tokens);
}

// Loading cost, for reference: the 150k-token vocabularies are parsed from JSON each time.
void BM_TokenizerLoad(benchmark::State& state, const std::string& vocab) {
  for (auto _ : state) {
    const TokenizerLoadOptions options{.pre_tokenizer = vocab == "deepseek-r1-distill-qwen"
                                                            ? std::optional(PreTokenizerKind::kQwen2)
                                                            : std::nullopt};
    auto t = Tokenizer::load_dir(kDir + vocab, options);
    if (!t) die(t.message());
  }
}

// Names like BM_TokenizerEncodeDocs/r1_qwen/gsm8k, which tools/bench_tokenizers.py parses.
const bool kRegistered = [] {
  for (const auto& [vocab, short_name] :
       {std::pair{"deepseek-r1-distill-qwen", "r1_qwen"}, std::pair{"deepseek-v3", "deepseek_v3"}}) {
    for (const char* text : {"gsm8k", "conformance"}) {
      const std::string suffix = fmt::format("/{}/{}", short_name, text);
      benchmark::RegisterBenchmark(("BM_TokenizerEncodeDocs" + suffix).c_str(), BM_TokenizerEncodeDocs, vocab,
                                   text);
      benchmark::RegisterBenchmark(("BM_TokenizerEncodeWhole" + suffix).c_str(), BM_TokenizerEncodeWhole,
                                   vocab, text);
    }
  }
  return true;
}();
BENCHMARK_CAPTURE(BM_TokenizerLoad, deepseek_v3, "deepseek-v3")->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace r1
