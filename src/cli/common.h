// What every subcommand shares: locating and loading a model folder, and sampling flags.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <optional>
#include <string>

#include "io/hf_config.h"
#include "model/model.h"
#include "runtime/generation_defaults.h"
#include "runtime/generator.h"
#include "sampling/sampler.h"
#include "tokenizer/tokenizer.h"

namespace r1::cli {

// The bundled default model: models/tiny-r1 (r1's own tiny reasoning model, trained by scripts/train_demo.sh)
// beside the binary's build tree or the source tree.
std::string default_model_dir();

struct LoadedModel {
  std::string dir;
  std::unique_ptr<Model> model;
  std::unique_ptr<Tokenizer> tokenizer;
  GenerationConfig generation;  // generation_config.json defaults
};

// Loads weights, tokenizer and generation defaults from `dir` (empty: the default model). A non-empty
// `chat_template_file` replaces the template in tokenizer_config.json.
// `options.quant` converts Linear weights at load time (--quant).
Result<LoadedModel> load(const std::string& dir, const std::string& chat_template_file = "",
                         const LoadOptions& options = {});

// --quant TYPE, shared by the commands that load a model.
void add_quant_option(CLI::App& app, std::string& quant);

// The sampling flags of `run` and `chat`; unset flags fall back to generation_config.json, then to r1's defaults.
struct SamplingFlags {
  std::optional<float> temperature, top_p, min_p, repetition_penalty;
  std::optional<int> top_k;
  float presence_penalty = 0.0f, frequency_penalty = 0.0f;
  std::optional<uint64_t> seed;
  bool greedy = false;

  void add_to(CLI::App& app);
  SamplingParams resolve(const GenerationConfig& g) const;
};

// An API key kept in a file (trailing whitespace and newline dropped); `flag` names the option in errors.
Result<std::string> read_key_file(const std::string& path, const char* flag);

// The name a model goes by in APIs and reports: the folder's (or GGUF file's) name.
std::string model_display_name(const std::string& dir);

// Dims text on a terminal (reasoning), plain otherwise.
struct Style {
  bool tty;
  const char* dim() const { return tty ? "\x1b[2m" : ""; }
  const char* reset() const { return tty ? "\x1b[0m" : ""; }
};

// The first Ctrl-C stops the answer being generated (the token callback sees interrupted()); a second one before
// clear_interrupt() ends the program as usual.
void install_interrupt_handler();
bool interrupted();
void clear_interrupt();

// "1.76 GiB", "1.78B": sizes and counts as people read them.
std::string human_bytes(double bytes);
std::string human_count(double n);

void print_speed(int64_t prefill_tokens, double prefill_tps, int64_t decode_tokens, double decode_tps);

// Each subcommand registers its flags, and main runs the one that was parsed.
CLI::App* add_run_command(CLI::App& app);
CLI::App* add_chat_command(CLI::App& app);
CLI::App* add_info_command(CLI::App& app);
CLI::App* add_tokenize_command(CLI::App& app);
CLI::App* add_quantize_command(CLI::App& app);
CLI::App* add_bench_command(CLI::App& app);
CLI::App* add_serve_command(CLI::App& app);
CLI::App* add_eval_command(CLI::App& app);
CLI::App* add_train_command(CLI::App& app);
int cmd_run();
int cmd_chat();
int cmd_info();
int cmd_tokenize();
int cmd_quantize();
int cmd_bench();
int cmd_serve();
int cmd_eval();
int cmd_train();

}  // namespace r1::cli
