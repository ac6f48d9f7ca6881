#include "cli/common.h"

#include <fmt/ranges.h>

#include <unistd.h>

#include <csignal>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace r1::cli {

namespace fs = std::filesystem;

std::string default_model_dir() {
  const char* kName = "models/tiny-r1";
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec)
    for (fs::path p = exe.parent_path(); !p.empty() && p != p.root_path(); p = p.parent_path())
      if (fs::exists(p / kName / "config.json")) return (p / kName).string();
  return (fs::path(R1_SOURCE_DIR) / kName).string();
}

Result<std::string> read_key_file(const std::string& path, const char* flag) {
  std::ifstream in(path);
  if (!in) return Status::errorf("{} {}: cannot read it", flag, path);
  std::stringstream s;
  s << in.rdbuf();
  std::string key = s.str();
  // A key file usually ends with a newline that is not part of the key.
  key.erase(std::find_if(key.rbegin(), key.rend(), [](unsigned char c) { return !std::isspace(c); }).base(),
            key.end());
  if (key.empty()) return Status::errorf("{} {}: the file is empty", flag, path);
  return key;
}

std::string model_display_name(const std::string& dir) {
  fs::path p(dir);
  if (p.filename().empty()) p = p.parent_path();  // "models/x/"
  return p.filename().string();
}

Result<LoadedModel> load(const std::string& dir_arg, const std::string& chat_template_file,
                         const LoadOptions& options) {
  LoadedModel m;
  m.dir = dir_arg.empty() ? default_model_dir() : dir_arg;
  R1_ASSIGN_OR_RETURN(m.model, load_model(m.dir, options));
  // A folder, or a .gguf file that holds the tokenizer too (and no generation_config: defaults, with the
  // tokenizer's EOS as the stop token).
  R1_ASSIGN_OR_RETURN(m.tokenizer, Tokenizer::load(m.dir));
  if (fs::is_directory(m.dir)) {
    R1_ASSIGN_OR_RETURN(m.generation, GenerationConfig::load_dir(m.dir));
  }
  if (!chat_template_file.empty()) {
    std::ifstream in(chat_template_file, std::ios::binary);
    if (!in) return Status::errorf("{}: cannot read the chat template", chat_template_file);
    std::stringstream text;
    text << in.rdbuf();
    m.tokenizer->set_chat_template(text.str());
  }
  return m;
}

std::string human_bytes(double b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (b >= 1024 && u < 4) b /= 1024, ++u;
  return fmt::format("{:.{}f} {}", b, u == 0 ? 0 : 2, units[u]);
}

std::string human_count(double n) {
  const char* units[] = {"", "K", "M", "B", "T"};
  int u = 0;
  while (n >= 1000 && u < 4) n /= 1000, ++u;
  return fmt::format("{:.{}f}{}", n, u == 0 ? 0 : 2, units[u]);
}

void add_quant_option(CLI::App& app, std::string& quant) {
  app.add_option("--quant", quant,
                 fmt::format("Quantize Linear weights at load time: {}", fmt::join(quant_recipes(), ", ")));
}

void SamplingFlags::add_to(CLI::App& app) {
  app.add_option("--temperature", temperature, "Sampling temperature (0 = greedy); default from generation_config.json");
  app.add_option("--top-p", top_p, "Nucleus sampling mass");
  app.add_option("--top-k", top_k, "Keep only the k most likely tokens (0 = off)");
  app.add_option("--min-p", min_p, "Drop tokens below min-p times the most likely one");
  app.add_option("--repeat-penalty", repetition_penalty, "Repetition penalty over prompt and output (1 = off)");
  app.add_option("--presence-penalty", presence_penalty, "OpenAI presence penalty");
  app.add_option("--frequency-penalty", frequency_penalty, "OpenAI frequency penalty");
  app.add_option("--seed", seed, "Random seed; the same seed gives the same output");
  app.add_flag("--greedy", greedy, "Always take the most likely token");
}

SamplingParams SamplingFlags::resolve(const GenerationConfig& g) const {
  SamplingParams p = sampling_defaults(g);
  if (temperature) p.temperature = *temperature;
  if (top_p) p.top_p = *top_p;
  if (top_k) p.top_k = *top_k;
  if (min_p) p.min_p = *min_p;
  if (repetition_penalty) p.repetition_penalty = *repetition_penalty;
  p.presence_penalty = presence_penalty;
  p.frequency_penalty = frequency_penalty;
  p.seed = seed;
  p.greedy = greedy;
  return p;
}

namespace {
volatile std::sig_atomic_t g_interrupted = 0;

void on_sigint(int) {
  if (g_interrupted) {
    std::signal(SIGINT, SIG_DFL);
    std::raise(SIGINT);
  }
  g_interrupted = 1;
}
}  // namespace

void install_interrupt_handler() { std::signal(SIGINT, on_sigint); }
bool interrupted() { return g_interrupted != 0; }
void clear_interrupt() { g_interrupted = 0; }

void print_speed(int64_t prefill_tokens, double prefill_tps, int64_t decode_tokens, double decode_tps) {
  std::fflush(stdout);  // the streamed text first, then the figures
  fmt::print(stderr, "prefill: {} tokens, {:.1f} tokens/s | decode: {} tokens, {:.1f} tokens/s\n", prefill_tokens,
             prefill_tps, decode_tokens, decode_tps);
}

}  // namespace r1::cli
