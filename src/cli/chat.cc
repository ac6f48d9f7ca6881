// `r1 chat`: interactive multi-turn chat. Reasoning is shown dimmed (or folded with --hide-thinking) and earlier
// turns go back into the prompt without it; the KV cache is reused up to the first token that changed.
#include <unistd.h>

#include <chrono>
#include <iostream>

#include "cli/common.h"
#include "runtime/generator.h"
#include "tokenizer/chat_format.h"
#include "tokenizer/reasoning.h"

namespace r1::cli {

namespace {

struct ChatFlags {
  std::string model_dir, quant, system, chat_template;
  int64_t max_tokens = 4096;
  int64_t ctx_size = 8192;
  int64_t max_thinking_tokens = -1;
  bool hide_thinking = false;
  SamplingFlags sampling;
};

ChatFlags g_chat;

// One assistant turn: generate after `prompt`, stream it, return the full answer text (reasoning excluded).
Result<std::string> reply(LoadedModel& m, KvCache& cache, std::vector<int32_t>& cached,
                          const std::vector<int32_t>& prompt, bool in_reasoning, const Style& style) {
  // Reuse the cached prefix; the template re-renders history, so only the tail is new.
  size_t keep = 0;
  while (keep < cached.size() && keep < prompt.size() && cached[keep] == prompt[keep]) ++keep;
  if (keep == prompt.size()) --keep;  // at least one token must run to get logits
  cache.truncate(int64_t(keep));
  cached.resize(keep);
  GenerateParams params;
  params.max_tokens = std::min<int64_t>(g_chat.max_tokens, cache.capacity() - int64_t(prompt.size()));
  if (params.max_tokens <= 0) return Status::error("the conversation no longer fits in the context; /reset");
  params.sampling = g_chat.sampling.resolve(m.generation);
  params.stop_ids = stop_ids(m.generation, *m.tokenizer);
  R1_ASSIGN_OR_RETURN(params.thinking, thinking_budget(*m.tokenizer, g_chat.max_thinking_tokens, in_reasoning));

  StreamDecoder decoder(*m.tokenizer, true);
  ReasoningParser parser(in_reasoning);
  std::string content;
  const auto t0 = std::chrono::steady_clock::now();
  bool thinking_shown = false, folded = false, reasoning_shown = false;
  auto emit = [&](const ReasoningDelta& d) {
    if (!d.reasoning.empty()) {
      if (g_chat.hide_thinking) {
        if (!thinking_shown) fmt::print("{}Thinking...{}", style.dim(), style.reset()), thinking_shown = true;
      } else {
        fmt::print("{}{}{}", style.dim(), d.reasoning, style.reset());
        reasoning_shown = true;
      }
    }
    if (!d.content.empty()) {
      if (thinking_shown && !folded) {
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        fmt::print("\r{}Thought for {:.0f} seconds.{}\n", style.dim(), s, style.reset());
        folded = true;
      } else if (reasoning_shown && content.empty()) {
        fmt::print("\n\n");  // the parser drops the newlines around </think>: a blank line after the thought
      }
      fmt::print("{}", d.content);
      content += d.content;
    }
    std::fflush(stdout);
  };
  const std::span<const int32_t> tail(prompt.data() + keep, prompt.size() - keep);
  clear_interrupt();
  auto result = generate(*m.model, cache, tail, params, [&](int32_t id) {
    emit(parser.push(decoder.push(id)));
    return !interrupted();
  });
  if (!result) return result.status();
  emit(parser.push(decoder.flush()));
  emit(parser.finish());
  fmt::print("\n");
  print_speed(int64_t(tail.size()), result->prefill_tokens_per_s(), int64_t(result->ids.size()),
              result->decode_tokens_per_s());
  cached = prompt;
  cached.insert(cached.end(), result->ids.begin(), result->ids.end());
  // The cache holds every generated token but the last (never fed back); keep the two in step.
  cached.resize(size_t(cache.size()));
  return content;
}

}  // namespace

int cmd_chat() {
  auto loaded = load(g_chat.model_dir, g_chat.chat_template, LoadOptions{.quant = g_chat.quant});
  if (!loaded) {
    fmt::print(stderr, "error: {}\n", loaded.message());
    return 1;
  }
  LoadedModel& m = *loaded;
  if (m.tokenizer->chat_template().empty()) {
    fmt::print(stderr, "error: {} has no chat template (tokenizer_config.json); use `r1 run` for plain text\n",
               m.dir);
    return 1;
  }
  const bool tty = isatty(STDIN_FILENO) != 0;
  install_interrupt_handler();
  const Style style{.tty = isatty(STDOUT_FILENO) != 0};
  auto cache = m.model->new_cache(std::min<int64_t>(g_chat.ctx_size, m.model->info().max_position_embeddings));
  std::vector<int32_t> cached;
  std::vector<ChatMessage> messages;
  if (!g_chat.system.empty()) messages.push_back({.role = "system", .content = g_chat.system});
  if (tty)
    fmt::print(stderr, "r1 chat with {} — Ctrl-C stops an answer, /reset clears the conversation, /exit or Ctrl-D "
                       "quits\n", m.dir);
  std::string line;
  for (;;) {
    if (tty) fmt::print("> "), std::fflush(stdout);
    if (!std::getline(std::cin, line)) break;
    if (line == "/exit" || line == "/quit") break;
    if (line == "/reset") {
      messages.resize(g_chat.system.empty() ? 0 : 1);
      continue;
    }
    if (line.empty()) continue;
    messages.push_back({.role = "user", .content = line});
    auto text = render_chat(*m.tokenizer, messages, /*add_generation_prompt=*/true);
    if (!text) {
      fmt::print(stderr, "error: {}\n", text.message());
      return 1;
    }
    const std::vector<int32_t> prompt = m.tokenizer->encode(*text, /*add_special=*/false);
    auto answer = reply(m, *cache, cached, prompt, prompt_ends_in_reasoning(*text), style);
    if (!answer) {
      fmt::print(stderr, "error: {}\n", answer.message());
      messages.pop_back();
      continue;
    }
    messages.push_back({.role = "assistant", .content = *answer});
  }
  return 0;
}

CLI::App* add_chat_command(CLI::App& app) {
  CLI::App* chat = app.add_subcommand("chat", "Interactive multi-turn chat");
  chat->add_option("-m,--model", g_chat.model_dir, "Hugging Face model folder");
  chat->add_option("-s,--system", g_chat.system, "System prompt (R1 advises none)");
  chat->add_option("-n,--max-tokens", g_chat.max_tokens, "Most tokens per answer")->check(CLI::Range(1, 1 << 24));
  chat->add_option("-c,--ctx-size", g_chat.ctx_size, "Context size in tokens")->check(CLI::Range(1, 1 << 24));
  chat->add_flag("--hide-thinking", g_chat.hide_thinking, "Fold the reasoning into one line");
  chat->add_option("--max-thinking-tokens", g_chat.max_thinking_tokens,
                   "Close the reasoning with </think> after this many tokens and let the model answer")
      ->check(CLI::Range(int64_t(0), int64_t(1) << 30));
  add_quant_option(*chat, g_chat.quant);
  chat->add_option("--chat-template", g_chat.chat_template, "Jinja chat template file replacing the model's own");
  g_chat.sampling.add_to(*chat);
  return chat;
}

}  // namespace r1::cli
