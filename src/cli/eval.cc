// `r1 eval`: the DeepSeek-R1 paper's evaluation protocol (pass@1 over k samples at temperature 0.6, top-p 0.95;
// cons@k majority vote) on GSM8K, MATH-500, AIME or any set in their shape, against a local model or any
// OpenAI-compatible endpoint. Results go to a JSONL file one problem at a time, so an interrupted run resumes.
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "cli/common.h"
#include "eval/dataset.h"
#include "eval/endpoint.h"
#include "eval/local_backend.h"
#include "eval/runner.h"

namespace r1::cli {
namespace {

using json = nlohmann::json;

struct EvalFlags {
  std::string data, model, endpoint, api = "chat", api_key, api_key_file, out, summary, quant, chat_template;
  int64_t k = 8, limit = 0, concurrency = 0, ctx_size = 4096, max_retries = 8;
  double temperature = 0.6, top_p = 0.95, timeout_s = 1800;
  std::optional<int64_t> max_tokens;
  uint64_t seed = 0, kv_memory = uint64_t(2) << 30;
  bool quiet = false;
};

EvalFlags g_eval;

int fail(const std::string& message) {
  fmt::print(stderr, "r1 eval: error: {}\n", message);
  return 1;
}

std::string duration(double s) {
  if (!std::isfinite(s) || s < 0) return "--";
  const int64_t t = int64_t(s + 0.5);
  if (t >= 3600) return fmt::format("{}h{:02}m", t / 3600, t / 60 % 60);
  if (t >= 60) return fmt::format("{}m{:02}s", t / 60, t % 60);
  return fmt::format("{}s", t);
}

// A progress line on stderr: redrawn in place on a terminal, printed now and then into a log.
class ProgressBar {
 public:
  explicit ProgressBar(bool quiet) : quiet_(quiet), tty_(isatty(STDERR_FILENO)) {}

  void update(const eval::Progress& p, bool last) {
    if (quiet_) return;
    const bool changed = p.problems_done != last_done_;
    if (!tty_ && !(changed && (last || p.elapsed_s - last_print_s_ >= 10.0))) return;
    last_done_ = p.problems_done;
    last_print_s_ = p.elapsed_s;
    const double fraction = p.problems ? double(p.problems_done) / double(p.problems) : 1.0;
    const int width = 24, filled = int(fraction * width);
    std::string bar(size_t(filled), '=');
    if (filled < width) bar += '>' + std::string(size_t(width - filled - 1), ' ');
    const double rate = p.elapsed_s > 0 ? double(p.samples_done) / p.elapsed_s : 0.0;
    const double eta = rate > 0 ? double(p.samples_planned - p.samples_done) / rate : NAN;
    std::string line = fmt::format("[{}] {}/{} problems · {}/{} samples", bar, p.problems_done, p.problems,
                                   p.samples_done, p.samples_planned);
    if (p.samples_done) line += fmt::format(" · acc {:.1f}%", 100.0 * double(p.samples_correct) / double(p.samples_done));
    line += fmt::format(" · {:.2f} samples/s · {} elapsed · ETA {}", rate, duration(p.elapsed_s),
                        p.samples_done == p.samples_planned ? "0s" : duration(eta));
    if (p.retries) line += fmt::format(" · {} retries", p.retries);
    if (tty_)
      fmt::print(stderr, "\r\x1b[K{}{}", line, last ? "\n" : "");
    else
      fmt::print(stderr, "{}\n", line);
    std::fflush(stderr);
  }

 private:
  bool quiet_, tty_;
  int64_t last_done_ = -1;
  double last_print_s_ = -1e9;
};

void print_summary(const eval::Summary& s, const EvalFlags& f, const std::string& model, int64_t total_problems,
                   const eval::Progress& p) {
  const auto pct = [](double x) { return fmt::format("{:.1f}%", 100.0 * x); };
  fmt::print("\nr1 eval · {} · model {} · {} of {} problems · k={} · temperature {} · top-p {}\n\n", f.data, model,
             s.problems, total_problems, s.k, f.temperature, f.top_p);
  const auto row = [](const std::string& name, const std::string& value) { fmt::print("  {:<30} {}\n", name, value); };
  row("metric", "value");
  row(fmt::format("pass@1 (mean of {})", s.k), fmt::format("{} ± {:.1f}", pct(s.pass1), 100.0 * s.pass1_stderr));
  for (const auto& [j, v] : s.pass_at)
    if (j > 1) row(fmt::format("pass@{}", j), pct(v));
  row(fmt::format("cons@{}", s.k), pct(s.cons));
  row("format failures (no \\boxed)", fmt::format("{} of {} samples ({})", s.format_failures, s.samples,
                                                 pct(s.samples ? double(s.format_failures) / double(s.samples) : 0)));
  row("truncated (length)", fmt::format("{} of {}", s.truncated, s.samples));
  if (s.rejected) row("rejected by the endpoint", fmt::format("{}", s.rejected));
  const auto tokens = [&](double v) { return s.token_counts_known ? fmt::format("{:.1f}", v) : std::string("n/a"); };
  row("mean reasoning tokens", tokens(s.mean_reasoning_tokens));
  row("mean answer tokens", tokens(s.mean_answer_tokens));
  if (p.samples_done)
    row("this run", fmt::format("{} samples in {} ({:.2f}/s{})", p.samples_done, duration(p.elapsed_s),
                                double(p.samples_done) / std::max(p.elapsed_s, 1e-9),
                                p.output_tokens ? fmt::format(", {:.1f} output tok/s",
                                                              double(p.output_tokens) / std::max(p.elapsed_s, 1e-9))
                                                : ""));
  if (p.problems_resumed) row("resumed from --out", fmt::format("{} problems", p.problems_resumed));
  std::fflush(stdout);
}

std::string default_summary_path(const std::string& out) {
  std::filesystem::path p(out);
  if (p.extension() == ".jsonl") p.replace_extension();
  return p.string() + ".summary.json";
}

Status write_summary(const std::string& path, const eval::Summary& s, const EvalFlags& f, const std::string& model,
                     const eval::RunOutcome& outcome, int64_t total_problems) {
  json j = s.to_json();
  j["data"] = f.data;
  j["model"] = model;
  j["endpoint"] = f.endpoint.empty() ? json(nullptr) : json(f.endpoint);
  j["problems_in_data"] = total_problems;
  j["temperature"] = f.temperature;
  j["top_p"] = f.top_p;
  j["max_tokens"] = f.max_tokens ? json(*f.max_tokens) : json(nullptr);
  j["seed"] = f.seed;
  j["results"] = f.out.empty() ? json(nullptr) : json(f.out);
  j["complete"] = outcome.complete();
  j["run"] = {{"samples", outcome.progress.samples_done},
              {"seconds", outcome.progress.elapsed_s},
              {"retries", outcome.progress.retries},
              {"resumed_problems", outcome.progress.problems_resumed},
              {"output_tokens", outcome.progress.output_tokens}};
  const std::string tmp = path + ".tmp";
  {
    std::ofstream o(tmp, std::ios::binary | std::ios::trunc);
    o << j.dump(2, ' ', false, json::error_handler_t::replace) << "\n";
    if (!o.flush()) return Status::errorf("{}: cannot write the summary", path);
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return Status::errorf("{}: cannot write the summary: {}", path, ec.message());
  return Status::ok();
}

}  // namespace

int cmd_eval() {
  EvalFlags& f = g_eval;
  auto problems = eval::load_problems(f.data);
  if (!problems) return fail(problems.message());
  const int64_t total_problems = int64_t(problems->size());
  if (f.limit > 0 && f.limit < total_problems) problems->resize(size_t(f.limit));

  // The samples' source: an endpoint, or the model (default: the bundled one) loaded here.
  std::unique_ptr<eval::ChatBackend> backend;
  std::optional<LoadedModel> loaded;
  bool loaded_plain = false;  // a local model prompted with plain text (--api completions, or no chat template)
  if (!f.endpoint.empty()) {
    if (f.model.empty()) return fail("--endpoint needs --model NAME (the model name the endpoint serves)");
    if (f.api == "completions" && !f.max_tokens)
      return fail("--api completions needs --max-tokens (completions endpoints default to 16 tokens)");
    std::string key = f.api_key;
    if (!f.api_key_file.empty()) {
      auto k = read_key_file(f.api_key_file, "--api-key-file");
      if (!k) return fail(k.message());
      key = *k;
    } else if (key.empty() && std::getenv("OPENAI_API_KEY")) {
      key = std::getenv("OPENAI_API_KEY");
    }
    auto ep = eval::EndpointBackend::create(
        {.url = f.endpoint,
         .model = f.model,
         .api_key = key,
         .timeout = std::chrono::milliseconds(int64_t(f.timeout_s * 1000)),
         .max_retries = int(f.max_retries),
         .completions = f.api == "completions"});
    if (!ep) return fail(ep.message());
    backend = std::move(*ep);
  } else {
    auto m = load(f.model, f.chat_template, LoadOptions{.quant = f.quant});
    if (!m) return fail(m.message());
    loaded = std::move(*m);
    auto local = eval::LocalBackend::create(*loaded->model, *loaded->tokenizer, loaded->generation,
                                            {.name = model_display_name(loaded->dir),
                                             .parallel = f.concurrency > 0 ? f.concurrency : 16,
                                             .ctx_size = f.ctx_size,
                                             .kv_memory = size_t(f.kv_memory),
                                             .plain_prompt = f.api == "completions"});
    if (!local) return fail(local.message());
    if ((*local)->plain_prompt() && f.api != "completions")
      fmt::print(stderr, "r1 eval: {} has no chat template: prompting with the plain text of the user turn\n",
                 (*local)->model_name());
    loaded_plain = (*local)->plain_prompt();
    backend = std::move(*local);
  }
  const eval::EvalSettings settings{.model = backend->model_name(),
                                    .k = f.k,
                                    .temperature = f.temperature,
                                    .top_p = f.top_p,
                                    .max_tokens = f.max_tokens,
                                    .seed = f.seed,
                                    .api = f.endpoint.empty() && loaded_plain ? "completions" : f.api};

  std::optional<eval::ResultsFile> file;
  if (!f.out.empty()) {
    auto opened = eval::ResultsFile::open(f.out, settings, *problems);
    if (!opened) return fail(opened.message());
    file.emplace(std::move(*opened));
    if (file->dropped_partial_bytes())
      fmt::print(stderr, "r1 eval: {}: dropped a partial last record ({} bytes) left by an interrupted run\n", f.out,
                 file->dropped_partial_bytes());
    if (!file->done().empty())
      fmt::print(stderr, "r1 eval: {}: resuming, {} problems already evaluated\n", f.out, file->done().size());
  }

  fmt::print(stderr, "r1 eval: {} problems × {} samples from {} ({})\n", problems->size(), f.k, settings.model,
             f.endpoint.empty() ? "local" : f.endpoint);
  ProgressBar bar(f.quiet);
  install_interrupt_handler();
  const eval::RunOutcome outcome = eval::run_eval(
      *backend, *problems, file ? &*file : nullptr,
      {.settings = settings,
       .concurrency = f.concurrency > 0 ? f.concurrency : (f.endpoint.empty() ? 16 : 8),
       .on_progress = [&](const eval::Progress& p) { bar.update(p, false); },
       .should_stop = [] { return interrupted(); }});
  bar.update(outcome.progress, true);

  std::vector<const eval::ProblemResult*> results;
  for (const eval::ProblemResult& r : outcome.results) results.push_back(&r);
  const eval::Summary summary = eval::summarize(results, f.k);
  print_summary(summary, f, settings.model, total_problems, outcome.progress);
  const std::string summary_path = !f.summary.empty() ? f.summary : f.out.empty() ? "" : default_summary_path(f.out);
  if (!summary_path.empty()) {
    if (Status s = write_summary(summary_path, summary, f, settings.model, outcome, total_problems); !s)
      return fail(s.message());
    fmt::print("\n  results {} · summary {}\n", f.out.empty() ? "(not kept)" : f.out, summary_path);
  }
  std::fflush(stdout);
  if (outcome.complete()) return 0;
  const std::string resume = f.out.empty() ? "" : "; run the same command again to resume";
  if (outcome.interrupted)
    fmt::print(stderr, "r1 eval: interrupted after {} of {} problems{}\n", summary.problems, problems->size(), resume);
  else
    fmt::print(stderr, "r1 eval: error: {}\nr1 eval: stopped after {} of {} problems{}\n", outcome.error.message(),
               summary.problems, problems->size(), resume);
  std::fflush(stderr);
  // Requests still in flight were abandoned with their threads: end here rather than wait for them.
  std::_Exit(outcome.interrupted ? 130 : 1);
}

CLI::App* add_eval_command(CLI::App& app) {
  EvalFlags& f = g_eval;
  CLI::App* cmd = app.add_subcommand("eval", "Evaluate a model on GSM8K / MATH-500 / AIME (pass@1 over k samples, "
                                             "cons@k) locally or against an OpenAI-compatible endpoint");
  cmd->add_option("--data", f.data, "JSONL data set: GSM8K (question/answer with ####) or MATH-500/AIME "
                                    "(problem/answer)")->required();
  cmd->add_option("-m,--model", f.model, "Local: model folder or GGUF file (default: the bundled model). With "
                                         "--endpoint: the model name to request");
  cmd->add_option("--endpoint", f.endpoint, "OpenAI-compatible base URL, e.g. http://127.0.0.1:8080/v1 or "
                                            "https://api.deepseek.com");
  cmd->add_option("--api", f.api, "chat (/v1/chat/completions, the chat template) or completions (/v1/completions "
                                  "with the user turn as a plain prompt, for base models; automatic for a local "
                                  "model without a chat template)")
      ->check(CLI::IsMember({"chat", "completions"}));
  auto* key = cmd->add_option("--api-key", f.api_key, "Bearer key for --endpoint (default: $OPENAI_API_KEY)");
  cmd->add_option("--api-key-file", f.api_key_file, "Read the key from this file")->excludes(key);
  cmd->add_option("-k,--samples", f.k, "Samples per problem")->check(CLI::Range(1, 1024));
  cmd->add_option("--temperature", f.temperature, "Sampling temperature (R1 protocol: 0.6)")
      ->check(CLI::Range(0.0, 2.0));
  cmd->add_option("--top-p", f.top_p, "Nucleus sampling (R1 protocol: 0.95)")->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--max-tokens", f.max_tokens, "Completion tokens per sample (default: the rest of the context)")
      ->check(CLI::Range(int64_t(1), int64_t(1) << 30));
  cmd->add_option("--concurrency", f.concurrency, "Requests in flight (default: 16 local, 8 endpoint)")
      ->check(CLI::Range(1, 4096));
  cmd->add_option("--limit", f.limit, "Evaluate only the first N problems")->check(CLI::Range(int64_t(1), int64_t(1) << 40));
  cmd->add_option("--seed", f.seed, "Run seed; every sample's request seed derives from it");
  cmd->add_option("--out", f.out, "Per-problem results (JSONL); an existing file is resumed");
  cmd->add_option("--summary", f.summary, "Summary JSON (default: beside --out, .summary.json)");
  cmd->add_option("--max-retries", f.max_retries, "Endpoint: retries on 429/5xx/timeouts")->check(CLI::Range(0, 100));
  cmd->add_option("--timeout", f.timeout_s, "Endpoint: seconds one request may take")->check(CLI::Range(1.0, 86400.0));
  cmd->add_option("-c,--ctx-size", f.ctx_size, "Local: context per sample in tokens")->check(CLI::Range(2, 1 << 24));
  cmd->add_option("--kv-memory", f.kv_memory, "Local: memory for the KV cache, e.g. 2GiB")
      ->transform(CLI::AsSizeValue(false));
  add_quant_option(*cmd, f.quant);
  cmd->add_option("--chat-template", f.chat_template, "Local: Jinja chat template file replacing the model's own");
  cmd->add_flag("-q,--quiet", f.quiet, "No progress line");
  return cmd;
}

}  // namespace r1::cli
