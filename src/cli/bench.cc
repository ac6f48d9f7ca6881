// `r1 bench`: prefill and decode speed as a markdown table to paste into an issue (like llama-bench), or one JSON
// object. --roofline measures this machine's read bandwidth and FP32 / INT8 peaks and gives each speed as a fraction
// of its bound: decode reads every active weight (and the KV cache) once per token, so its bound is bandwidth;
// prefill is arithmetic, bound by the INT8 peak for quantized weights (their matmuls run on int8 activations) and
// the FP32 peak otherwise. --accuracy compares a quantized model's next-token distributions with the unquantized
// reference on a fixed text.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <optional>
#include <nlohmann/json.hpp>
#include <random>

#include "cli/common.h"
#include "core/thread_pool.h"
#include "kernels/roofline.h"

namespace r1::cli {

namespace {

struct BenchFlags {
  std::string model, quant, reference;
  int64_t n_prompt = 512;  // -p: prefill length
  int64_t n_gen = 128;     // -n: decoded tokens
  int64_t depth = 0;       // tokens in the cache before either test
  int64_t repeat = 5;
  int64_t accuracy_tokens = 256;
  bool roofline = false, json = false, accuracy = false;
};
BenchFlags g_bench;

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// Mean and sample standard deviation of tokens/s over the repeats.
struct Stats {
  double mean = 0, sd = 0;
};

Stats stats_of(const std::vector<double>& v) {
  Stats s;
  if (v.empty()) return s;
  for (double x : v) s.mean += x;
  s.mean /= double(v.size());
  if (v.size() > 1) {
    double ss = 0;
    for (double x : v) ss += (x - s.mean) * (x - s.mean);
    s.sd = std::sqrt(ss / double(v.size() - 1));
  }
  return s;
}

std::vector<int32_t> random_ids(int64_t n, int64_t vocab, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int32_t> id(0, int32_t(vocab - 1));
  std::vector<int32_t> ids(static_cast<size_t>(n));
  for (int32_t& x : ids) x = id(rng);
  return ids;
}

// ---------------------------------------------------------------------------------------------------------------
// Timing. The cache is filled to `depth` once; every run truncates back to it, so each repeat sees the same state.

// pp: `prompt` in one forward call appended at depth; one untimed run first.
Result<Stats> time_prefill(Model& model, KvCache& cache, std::span<const int32_t> prompt, int64_t depth,
                           int64_t repeat, float* logits) {
  std::vector<double> tps;
  for (int64_t r = -1; r < repeat; ++r) {
    cache.truncate(depth);
    const auto t0 = Clock::now();
    R1_RETURN_IF_ERROR(model.forward(prompt, cache, logits, /*all_logits=*/false));
    const double s = seconds_since(t0);
    if (r >= 0) tps.push_back(double(prompt.size()) / std::max(s, 1e-9));
  }
  return stats_of(tps);
}

// tg: one forward call per token, fixed ids (no sampling cost); a short untimed run first.
Result<Stats> time_decode(Model& model, KvCache& cache, std::span<const int32_t> ids, int64_t depth, int64_t repeat,
                          float* logits) {
  std::vector<double> tps;
  for (int64_t r = -1; r < repeat; ++r) {
    cache.truncate(depth);
    const size_t n = r < 0 ? std::min<size_t>(ids.size(), 4) : ids.size();
    const auto t0 = Clock::now();
    for (size_t i = 0; i < n; ++i) R1_RETURN_IF_ERROR(model.forward(ids.subspan(i, 1), cache, logits, false));
    const double s = seconds_since(t0);
    if (r >= 0) tps.push_back(double(n) / std::max(s, 1e-9));
  }
  return stats_of(tps);
}

// ---------------------------------------------------------------------------------------------------------------
// Accuracy: KL(p_ref || p_quant) of the next-token distributions at every position of a fixed token sequence.

// A fixed English paragraph (long enough for 256 tokens with large vocabularies).
constexpr const char* kAccuracyText =
    "Once upon a time, in a small town by the sea, there lived a girl named Lily. Every morning she walked to the "
    "harbor with her little dog, Max, to watch the fishing boats come home. The fishermen waved at her and sometimes "
    "gave her a shiny shell or a smooth stone. One day a storm came over the water. The sky turned dark, the wind "
    "pulled at the trees, and the waves grew tall and angry. Lily was scared, but she saw that one boat was still "
    "far from the shore. She ran to the old lighthouse at the end of the pier. The door was heavy, and the stairs "
    "were long and steep, but she climbed to the top and turned on the big lamp. Its bright light swept across the "
    "sea. Out in the rain, the fisherman saw the light and steered his boat toward it. When he reached the harbor "
    "safely, the whole town cheered. The fisherman thanked Lily and gave her a small wooden boat that he had carved "
    "himself. From that day on, Lily kept the lamp clean and ready, and whenever a storm came, she was the first to "
    "climb the stairs. Her mother told her that being brave does not mean you are never afraid. It means you do what "
    "is right even when your heart is beating fast. Lily smiled, hugged Max, and looked out at the calm blue water. "
    "The next spring the town built a new bench beside the lighthouse, and on it they carved her name, so that "
    "every child who sat there would remember the night a little girl kept the boats safe.";

struct Accuracy {
  int64_t tokens = 0;
  std::string source;  // "text" (the paragraph through the tokenizer) or "random"
  double mean_kl = 0, max_kl = 0, top1_agreement = 0, ppl_ref = 0, ppl_quant = 0;
};

// The paragraph through the model's tokenizer (BOS first when it has one), or fixed random ids without one.
std::vector<int32_t> accuracy_ids(const std::string& path, int64_t vocab, int64_t n, std::string* source) {
  if (auto tok = Tokenizer::load(path); tok) {
    std::vector<int32_t> ids;
    if (auto bos = (*tok)->bos_id()) ids.push_back(*bos);
    for (int32_t id : (*tok)->encode(kAccuracyText)) ids.push_back(id);
    if (ids.size() > size_t(n)) ids.resize(size_t(n));
    const bool in_vocab = std::all_of(ids.begin(), ids.end(), [&](int32_t id) { return id >= 0 && id < vocab; });
    if (ids.size() >= 2 && in_vocab) {
      *source = "text";
      return ids;
    }
  }
  *source = "random";
  return random_ids(n, vocab, 1234);
}

// Log-softmax of one row in double.
void log_softmax(const float* x, int64_t n, std::vector<double>& out) {
  out.resize(size_t(n));
  double mx = -INFINITY;
  for (int64_t i = 0; i < n; ++i) mx = std::max(mx, double(x[i]));
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += std::exp(double(x[i]) - mx);
  const double lse = mx + std::log(sum);
  for (int64_t i = 0; i < n; ++i) out[size_t(i)] = double(x[i]) - lse;
}

Result<Accuracy> compare_models(Model& ref, Model& quant, std::span<const int32_t> ids) {
  const int64_t V = ref.info().vocab_size, T = int64_t(ids.size());
  if (quant.info().vocab_size != V)
    return Status::errorf("--accuracy: the reference has {} vocabulary entries, the model {}", V,
                          quant.info().vocab_size);
  const double logit_bytes = 2.0 * double(T) * double(V) * sizeof(float);
  if (logit_bytes > double(size_t(8) << 30))
    return Status::errorf("--accuracy: {} tokens x {} vocabulary entries need {:.1f} GiB of logits; use fewer "
                          "--accuracy-tokens", T, V, logit_bytes / double(1 << 30));
  std::vector<float> lr(size_t(T * V)), lq(size_t(T * V));
  auto cr = ref.new_cache(T), cq = quant.new_cache(T);
  R1_RETURN_IF_ERROR(ref.forward(ids, *cr, lr.data(), /*all_logits=*/true));
  R1_RETURN_IF_ERROR(quant.forward(ids, *cq, lq.data(), /*all_logits=*/true));
  Accuracy a;
  a.tokens = T;
  std::vector<double> pr, pq;
  double nll_ref = 0, nll_quant = 0;
  int64_t agree = 0;
  for (int64_t t = 0; t < T; ++t) {
    log_softmax(lr.data() + t * V, V, pr);
    log_softmax(lq.data() + t * V, V, pq);
    double kl = 0;
    size_t top_r = 0, top_q = 0;
    for (size_t i = 0; i < size_t(V); ++i) {
      kl += std::exp(pr[i]) * (pr[i] - pq[i]);
      if (pr[i] > pr[top_r]) top_r = i;
      if (pq[i] > pq[top_q]) top_q = i;
    }
    kl = std::max(kl, 0.0);  // rounding can leave a tiny negative
    a.mean_kl += kl;
    a.max_kl = std::max(a.max_kl, kl);
    agree += top_r == top_q;
    if (t + 1 < T) {
      nll_ref -= pr[size_t(ids[size_t(t + 1)])];
      nll_quant -= pq[size_t(ids[size_t(t + 1)])];
    }
  }
  a.mean_kl /= double(T);
  a.top1_agreement = double(agree) / double(T);
  a.ppl_ref = std::exp(nll_ref / double(std::max<int64_t>(1, T - 1)));
  a.ppl_quant = std::exp(nll_quant / double(std::max<int64_t>(1, T - 1)));
  return a;
}

// The reference for --accuracy: --reference, else the same folder loaded without --quant.
Result<std::unique_ptr<Model>> load_reference(const std::string& model_path) {
  if (!g_bench.reference.empty()) return load_model(g_bench.reference);
  if (!g_bench.quant.empty() && !model_path.ends_with(".gguf")) return load_model(model_path);
  return Status::error(
      "--accuracy needs an unquantized reference: give --quant TYPE (the folder unquantized is the reference), or "
      "--reference DIR_OR_GGUF");
}

// ---------------------------------------------------------------------------------------------------------------
// Report.

struct Roofline {
  double bandwidth_gb_s = 0, fp32_gflops = 0, int8_gops = 0;
};

struct Report {
  std::string name, quant;
  const ModelInfo* info = nullptr;
  Model::TokenCost cost;
  size_t kv_bytes_per_position = 0;
  int threads = 0;
  bool quantized = false;
  std::optional<Stats> prefill, decode;
  double decode_bytes_per_token = 0;   // weights + KV cache at the mean decode depth
  double prefill_flops_per_token = 0;  // matmuls + attention at the mean prefill depth
  std::optional<Roofline> roof;
  std::optional<Accuracy> accuracy;

  double prefill_peak() const { return quantized ? roof->int8_gops : roof->fp32_gflops; }
  double decode_fraction() const { return decode->mean * decode_bytes_per_token / (roof->bandwidth_gb_s * 1e9); }
  double prefill_fraction() const { return prefill->mean * prefill_flops_per_token / (prefill_peak() * 1e9); }
};

std::string test_name(char kind, int64_t n, int64_t depth) {
  return fmt::format("{}{}{}", kind == 'p' ? "pp" : "tg", n, depth > 0 ? fmt::format("@d{}", depth) : "");
}

void print_table(const Report& r) {
  const size_t size = r.cost.weight_bytes ? r.cost.weight_bytes : r.info->weight_bytes;
  if (r.roof)
    fmt::print("roofline: read {:.1f} GB/s, fp32 {:.1f} GFLOP/s, int8 {:.1f} GOP/s ({} threads; {})\n\n",
               r.roof->bandwidth_gb_s, r.roof->fp32_gflops, r.roof->int8_gops, r.threads,
               kernels::roofline_kernels());
  if (r.prefill || r.decode) {
    fmt::print("| model | size | params | quant | threads | test | t/s |{}\n",
               r.roof ? " achieved | bound | % of bound |" : "");
    fmt::print("| --- | ---: | ---: | --- | ---: | --- | ---: |{}\n", r.roof ? " ---: | ---: | ---: |" : "");
  }
  const std::string head = fmt::format("| {} | {} | {} | {} | {} |", r.name, human_bytes(double(size)),
                                       human_count(double(r.info->n_params)), r.quant, r.threads);
  if (r.prefill) {
    fmt::print("{} {} | {:.2f} ± {:.2f} |", head, test_name('p', g_bench.n_prompt, g_bench.depth), r.prefill->mean,
               r.prefill->sd);
    if (r.roof)
      fmt::print(" {:.1f} G{}/s | {:.1f} G{}/s ({}) | {:.1f}% |", r.prefill->mean * r.prefill_flops_per_token / 1e9,
                 r.quantized ? "OP" : "FLOP", r.prefill_peak(), r.quantized ? "OP" : "FLOP",
                 r.quantized ? "int8" : "fp32", 100 * r.prefill_fraction());
    fmt::print("\n");
  }
  if (r.decode) {
    fmt::print("{} {} | {:.2f} ± {:.2f} |", head, test_name('g', g_bench.n_gen, g_bench.depth), r.decode->mean,
               r.decode->sd);
    if (r.roof)
      fmt::print(" {:.2f} GB/s | {:.2f} GB/s (read) | {:.1f}% |", r.decode->mean * r.decode_bytes_per_token / 1e9,
                 r.roof->bandwidth_gb_s, 100 * r.decode_fraction());
    fmt::print("\n");
  }
  if (r.accuracy) {
    const Accuracy& a = *r.accuracy;
    fmt::print("\naccuracy of {} against the reference, {} tokens ({}):\n\n", r.quant, a.tokens,
               a.source == "text" ? "a built-in paragraph" : "random ids");
    fmt::print("| mean KL(ref ‖ quant) | max KL | top-1 agreement | perplexity ref | perplexity quant |\n");
    fmt::print("| ---: | ---: | ---: | ---: | ---: |\n");
    fmt::print("| {:.6f} | {:.6f} | {:.2f}% | {:.4f} | {:.4f} |\n", a.mean_kl, a.max_kl, 100 * a.top1_agreement,
               a.ppl_ref, a.ppl_quant);
  }
}

void print_json(const Report& r) {
  nlohmann::json j;
  j["model"] = r.name;
  j["model_type"] = r.info->model_type;
  j["quant"] = r.quant;
  j["params"] = r.info->n_params;
  j["active_params"] = r.info->n_active_params;
  j["size_bytes"] = r.cost.weight_bytes ? r.cost.weight_bytes : r.info->weight_bytes;
  j["threads"] = r.threads;
  j["n_prompt"] = g_bench.n_prompt;
  j["n_gen"] = g_bench.n_gen;
  j["depth"] = g_bench.depth;
  j["repeat"] = g_bench.repeat;
  j["weight_bytes_per_token"] = r.cost.active_weight_bytes;
  j["kv_bytes_per_position"] = r.kv_bytes_per_position;
  if (r.prefill) {
    j["prefill_tokens_per_s"] = r.prefill->mean;
    j["prefill_tokens_per_s_sd"] = r.prefill->sd;
    j["prefill_flops_per_token"] = r.prefill_flops_per_token;
  }
  if (r.decode) {
    j["decode_tokens_per_s"] = r.decode->mean;
    j["decode_tokens_per_s_sd"] = r.decode->sd;
    j["decode_bytes_per_token"] = r.decode_bytes_per_token;
  }
  if (r.roof) {
    j["read_bandwidth_gb_s"] = r.roof->bandwidth_gb_s;
    j["fp32_peak_gflops"] = r.roof->fp32_gflops;
    j["int8_peak_gops"] = r.roof->int8_gops;
    j["roofline_kernels"] = kernels::roofline_kernels();
    j["prefill_peak"] = r.quantized ? "int8" : "fp32";
    if (r.prefill) j["prefill_roofline_fraction"] = r.prefill_fraction();
    if (r.decode) j["decode_roofline_fraction"] = r.decode_fraction();
  }
  if (r.accuracy) {
    const Accuracy& a = *r.accuracy;
    j["accuracy"] = {{"tokens", a.tokens},
                     {"source", a.source},
                     {"mean_kl", a.mean_kl},
                     {"max_kl", a.max_kl},
                     {"top1_agreement", a.top1_agreement},
                     {"perplexity_ref", a.ppl_ref},
                     {"perplexity_quant", a.ppl_quant}};
  }
  fmt::print("{}\n", j.dump());
}

Status run_bench() {
  const BenchFlags& f = g_bench;
  if (f.n_prompt == 0 && f.n_gen == 0 && !f.accuracy)
    return Status::error("nothing to measure: -p and -n are both 0 (and no --accuracy)");
  const std::string path = f.model.empty() ? default_model_dir() : f.model;
  R1_ASSIGN_OR_RETURN(std::unique_ptr<Model> model, load_model(path, LoadOptions{.quant = f.quant}));
  Report r;
  r.info = &model->info();
  r.name = std::filesystem::path(path).filename().string();
  if (r.name.empty()) r.name = std::filesystem::path(path).parent_path().filename().string();
  r.quant = !f.quant.empty() ? f.quant : std::string(dtype_name(r.info->dtype));
  std::transform(r.quant.begin(), r.quant.end(), r.quant.begin(), [](unsigned char c) { return std::toupper(c); });
  r.quantized = !f.quant.empty() || dtype_is_quantized(r.info->dtype);
  r.cost = model->token_cost();
  r.threads = ThreadPool::global().size();

  const int64_t V = r.info->vocab_size;
  auto cache = model->new_cache(f.depth + std::max(f.n_prompt, f.n_gen));
  r.kv_bytes_per_position = cache->store().bytes_per_token();
  std::vector<float> logits(static_cast<size_t>(V));
  if (f.depth > 0) {
    const auto fill = random_ids(f.depth, V, 1);
    R1_RETURN_IF_ERROR(model->forward(fill, *cache, logits.data(), false));
  }
  if (f.n_prompt > 0) {
    const auto prompt = random_ids(f.n_prompt, V, 2);
    R1_ASSIGN_OR_RETURN(r.prefill, time_prefill(*model, *cache, prompt, f.depth, f.repeat, logits.data()));
  }
  if (f.n_gen > 0) {
    const auto ids = random_ids(f.n_gen, V, 3);
    R1_ASSIGN_OR_RETURN(r.decode, time_decode(*model, *cache, ids, f.depth, f.repeat, logits.data()));
  }
  cache.reset();

  // Decode token i (0-based) attends to depth + i + 1 positions; prefill token i likewise.
  const double kv = double(r.kv_bytes_per_position), attn = r.cost.attention_flops_per_position;
  r.decode_bytes_per_token = r.cost.active_weight_bytes + kv * (double(f.depth) + double(f.n_gen + 1) / 2);
  // Matmul FLOPs: 2 per active parameter, except lm_head, which prefill runs for the last token only.
  const double lm_head = double(V) * double(r.info->hidden_size);
  r.prefill_flops_per_token = 2 * (double(r.info->n_active_params) - lm_head) +
                              2 * lm_head / double(std::max<int64_t>(1, f.n_prompt)) +
                              attn * (double(f.depth) + double(f.n_prompt + 1) / 2);

  if (f.roofline) {
    ThreadPool& pool = ThreadPool::global();
    r.roof = Roofline{.bandwidth_gb_s = kernels::measure_read_bandwidth(pool),
                      .fp32_gflops = kernels::measure_fp32_peak(pool),
                      .int8_gops = kernels::measure_int8_peak(pool)};
    if (!(r.roof->bandwidth_gb_s > 0) || !(r.roof->fp32_gflops > 0) || !(r.roof->int8_gops > 0))
      return Status::error("--roofline: a measurement failed (could not allocate the 1 GiB read buffer?)");
  }

  if (f.accuracy) {
    R1_ASSIGN_OR_RETURN(std::unique_ptr<Model> ref, load_reference(path));
    const std::string ref_path = f.reference.empty() ? path : f.reference;
    Accuracy a;
    const auto ids = accuracy_ids(ref_path, V, f.accuracy_tokens, &a.source);
    const std::string source = a.source;
    R1_ASSIGN_OR_RETURN(a, compare_models(*ref, *model, ids));
    a.source = source;
    r.accuracy = a;
  }

  if (f.json) print_json(r);
  else print_table(r);
  return Status::ok();
}

}  // namespace

int cmd_bench() {
  if (Status s = run_bench(); !s.is_ok()) {
    fmt::print(stderr, "error: {}\n", s.message());
    return 1;
  }
  return 0;
}

CLI::App* add_bench_command(CLI::App& app) {
  CLI::App* b = app.add_subcommand(
      "bench", "Prefill and decode speed (a markdown table, like llama-bench), against the machine's roofline");
  BenchFlags& f = g_bench;
  b->add_option("-m,--model", f.model, "Hugging Face model folder or .gguf file (default: the bundled model)");
  add_quant_option(*b, f.quant);
  b->add_option("-p,--n-prompt", f.n_prompt, "Prefill test: tokens in one forward pass (0: skip)")
      ->check(CLI::Range(int64_t(0), int64_t(1) << 20));
  b->add_option("-n,--n-gen", f.n_gen, "Decode test: tokens generated one at a time (0: skip)")
      ->check(CLI::Range(int64_t(0), int64_t(1) << 20));
  b->add_option("--depth", f.depth, "Tokens put in the KV cache (untimed) before each test")
      ->check(CLI::Range(int64_t(0), int64_t(1) << 24));
  b->add_option("-r,--repeat", f.repeat, "Timed runs of each test (after one warm-up)")
      ->check(CLI::Range(int64_t(1), int64_t(1000)));
  b->add_flag("--roofline", f.roofline,
              "Measure read bandwidth and FP32/INT8 peaks; report each speed as a fraction of its bound");
  b->add_flag("--json", f.json, "Print one JSON object instead of the table");
  b->add_flag("--accuracy", f.accuracy,
              "KL divergence, top-1 agreement and perplexity of the (quantized) model against the reference");
  b->add_option("--reference", f.reference,
                "Reference model for --accuracy (default: the -m folder without --quant)");
  b->add_option("--accuracy-tokens", f.accuracy_tokens, "Length of the --accuracy token sequence")
      ->check(CLI::Range(int64_t(2), int64_t(1) << 16));
  return b;
}

}  // namespace r1::cli
