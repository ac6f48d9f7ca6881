// `r1 run`: one prompt in, the streamed answer out (reasoning dimmed on a terminal), speeds on stderr.
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/common.h"
#include "core/thread_pool.h"
#include "runtime/generator.h"
#include "tokenizer/chat_format.h"
#include "tokenizer/reasoning.h"

namespace r1::cli {

namespace {

struct RunFlags {
  std::string model_dir, quant, prompt, prompt_ids, chat_template;
  int64_t max_tokens = 256;
  int64_t ctx_size = 4096;
  int64_t max_thinking_tokens = -1;
  bool json = false, raw = false, force_think = false;
  SamplingFlags sampling;
};

RunFlags g_run;

Result<std::vector<int32_t>> parse_ids(const std::string& s) {
  std::vector<int32_t> ids;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    try {
      size_t used = 0;
      const long v = std::stol(item, &used);
      if (used != item.size() || v < 0 || v > INT32_MAX) throw std::invalid_argument(item);
      ids.push_back(int32_t(v));
    } catch (const std::exception&) {
      return Status::errorf("--prompt-ids: \"{}\" is not a token id", item);
    }
  }
  return ids;
}

// The prompt as token ids: given ids, the chat template around the text, or the raw text after BOS.
Result<std::vector<int32_t>> build_prompt(const LoadedModel& m, bool* starts_in_reasoning) {
  *starts_in_reasoning = false;
  if (!g_run.prompt_ids.empty()) return parse_ids(g_run.prompt_ids);
  const Tokenizer& tok = *m.tokenizer;
  if (!g_run.raw && !tok.chat_template().empty()) {
    const ChatMessage user{.role = "user", .content = g_run.prompt};
    R1_ASSIGN_OR_RETURN(std::string text, render_chat(tok, std::span(&user, 1), /*add_generation_prompt=*/true));
    // DeepSeek's advice for R1: make sure the answer starts with a thought.
    if (g_run.force_think && !prompt_ends_in_reasoning(text)) text += "<think>\n";
    *starts_in_reasoning = prompt_ends_in_reasoning(text);
    return tok.encode(text, /*add_special=*/false);
  }
  std::vector<int32_t> ids = tok.encode(g_run.prompt, /*add_special=*/true);
  if (ids.empty()) {
    if (!tok.bos_id()) return Status::error("empty prompt and the tokenizer has no BOS token to start from");
    ids.push_back(*tok.bos_id());
  }
  return ids;
}

}  // namespace

int cmd_run() {
  auto loaded = load(g_run.model_dir, g_run.chat_template, LoadOptions{.quant = g_run.quant});
  if (!loaded) {
    fmt::print(stderr, "error: {}\n", loaded.message());
    return 1;
  }
  LoadedModel& m = *loaded;
  bool in_reasoning = false;
  auto prompt = build_prompt(m, &in_reasoning);
  if (!prompt) {
    fmt::print(stderr, "error: {}\n", prompt.message());
    return 1;
  }
  GenerateParams params;
  params.max_tokens = g_run.max_tokens;
  params.sampling = g_run.sampling.resolve(m.generation);
  params.stop_ids = stop_ids(m.generation, *m.tokenizer);
  auto budget = thinking_budget(*m.tokenizer, g_run.max_thinking_tokens, in_reasoning);
  if (!budget) {
    fmt::print(stderr, "error: {}\n", budget.message());
    return 1;
  }
  params.thinking = *budget;
  const int64_t ctx = std::min<int64_t>(g_run.ctx_size, m.model->info().max_position_embeddings);
  if (int64_t(prompt->size()) >= ctx) {
    fmt::print(stderr, "error: the prompt has {} tokens, the context size is {}\n", prompt->size(), ctx);
    return 1;
  }
  auto cache = m.model->new_cache(ctx);

  const Style style{.tty = !g_run.json && isatty(STDOUT_FILENO) != 0};
  StreamDecoder decoder(*m.tokenizer, /*skip_special=*/true);
  ReasoningParser parser(in_reasoning);
  std::string reasoning, content;
  auto emit = [&](const ReasoningDelta& d) {
    reasoning += d.reasoning;
    content += d.content;
    if (g_run.json) return;
    if (!d.reasoning.empty()) fmt::print("{}{}{}", style.dim(), d.reasoning, style.reset());
    // The parser drops the newlines around </think>; a blank line keeps the answer apart from the thought.
    if (!d.content.empty() && content.size() == d.content.size() && !reasoning.empty()) fmt::print("\n\n");
    if (!d.content.empty()) fmt::print("{}", d.content);
    std::fflush(stdout);
  };
  install_interrupt_handler();
  auto result = generate(*m.model, *cache, *prompt, params, [&](int32_t id) {
    emit(parser.push(decoder.push(id)));
    return !interrupted();
  });
  if (!result) {
    fmt::print(stderr, "\nerror: {}\n", result.message());
    return 1;
  }
  emit(parser.push(decoder.flush()));
  emit(parser.finish());
  if (g_run.json) {
    nlohmann::json j = {{"prompt_ids", *prompt},
                        {"ids", result->ids},
                        {"text", content},
                        {"reasoning", reasoning},
                        {"finish_reason", finish_reason_name(result->finish_reason)},
                        {"prefill_tokens_per_s", result->prefill_tokens_per_s()},
                        {"decode_tokens_per_s", result->decode_tokens_per_s()}};
    fmt::print("{}\n", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  } else {
    fmt::print("\n");
  }
  print_speed(result->prefill_tokens, result->prefill_tokens_per_s(), int64_t(result->ids.size()),
              result->decode_tokens_per_s());
  return 0;
}

CLI::App* add_run_command(CLI::App& app) {
  CLI::App* run = app.add_subcommand("run", "Generate from one prompt (the bundled default model without -m)");
  run->add_option("-m,--model", g_run.model_dir, "Hugging Face model folder");
  run->add_option("-p,--prompt", g_run.prompt, "Prompt text (chat template applied when the model has one)");
  run->add_option("--prompt-ids", g_run.prompt_ids, "Comma-separated token ids to feed as the prompt");
  run->add_option("-n,--max-tokens", g_run.max_tokens, "Most tokens to generate")->check(CLI::Range(1, 1 << 24));
  run->add_option("-c,--ctx-size", g_run.ctx_size, "Context size in tokens")->check(CLI::Range(1, 1 << 24));
  run->add_flag("--raw", g_run.raw, "Do not apply the chat template");
  add_quant_option(*run, g_run.quant);
  run->add_option("--chat-template", g_run.chat_template, "Jinja chat template file replacing the model's own");
  run->add_flag("--json", g_run.json, "Print one JSON object instead of streaming text");
  run->add_option("--max-thinking-tokens", g_run.max_thinking_tokens,
                  "Close the reasoning with </think> after this many tokens and let the model answer")
      ->check(CLI::Range(int64_t(0), int64_t(1) << 30));
  run->add_flag("--force-think", g_run.force_think, "Start the answer with <think> (DeepSeek's advice for R1)");
  g_run.sampling.add_to(*run);
  return run;
}

}  // namespace r1::cli
