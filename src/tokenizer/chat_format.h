// Chat prompts from the model's own Jinja chat template (tokenizer_config.json `chat_template`, or
// --chat-template), rendered by r1's Jinja engine exactly as transformers' apply_chat_template renders it.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "core/status.h"
#include "tokenizer/tokenizer.h"

namespace r1 {

struct ChatMessage {
  std::string role;  // "system", "user" or "assistant"
  std::string content;
};

// Renders the conversation. The text already contains BOS when the template writes it, so encode it with
// add_special = false. Errors: no chat template, a template that does not parse, or one that raises (with
// chat_template:line:column).
Result<std::string> render_chat(const Tokenizer& tokenizer, std::span<const ChatMessage> messages,
                                bool add_generation_prompt);

// True when the prompt ends inside an open think block (R1 templates whose generation prompt is
// "<｜Assistant｜><think>\n"): the model's output then starts in reasoning, see ReasoningParser.
bool prompt_ends_in_reasoning(std::string_view prompt);

}  // namespace r1
