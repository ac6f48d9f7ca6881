// Chat prompts for the two template families r1 serves, until a Jinja engine lands: DeepSeek (V3 / R1 /
// R1-Distill: "<｜User｜>...<｜Assistant｜>...") and ChatML (Qwen: "<|im_start|>role\n...<|im_end|>\n"). The
// family and its variants are read from the tokenizer's chat_template text; the output equals what the HF
// template renders for plain system/user/assistant messages (no tools).
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
// add_special = false. Errors: no (recognisable) chat template, or a role the template family cannot express.
Result<std::string> render_chat(const Tokenizer& tokenizer, std::span<const ChatMessage> messages,
                                bool add_generation_prompt);

// True when the prompt ends inside an open think block (R1 templates whose generation prompt is
// "<｜Assistant｜><think>\n"): the model's output then starts in reasoning, see ReasoningParser.
bool prompt_ends_in_reasoning(std::string_view prompt);

}  // namespace r1
