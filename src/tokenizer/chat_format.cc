// The template text is only inspected for a few literal markers that distinguish the known variants; the
// rendering itself is hand-written per family. Reference templates: shared/data/chat-templates/ and the
// chat_template fields under shared/data/hf-tokenizers/.
#include "tokenizer/chat_format.h"

#include <optional>

namespace r1 {
namespace {

constexpr std::string_view kUser = "<｜User｜>";
constexpr std::string_view kAssistant = "<｜Assistant｜>";
constexpr std::string_view kEndOfSentence = "<｜end▁of▁sentence｜>";
constexpr std::string_view kImStart = "<|im_start|>";
constexpr std::string_view kImEnd = "<|im_end|>";

enum class Family { kDeepSeek, kChatMl };

struct ChatStyle {
  Family family = Family::kDeepSeek;
  // DeepSeek
  bool join_system_prompts = false;      // V3: all system messages, joined by "\n\n"; R1: the last one
  bool strip_history_reasoning = false;  // R1: assistant turns keep only the text after the last </think>
  bool generation_opens_think = false;   // R1 (Feb 2025 on): generation prompt ends with "<think>\n"
  // ChatML
  std::optional<std::string> default_system;  // Qwen2.5: used when the first message is not a system one
};

bool contains(std::string_view s, std::string_view what) {
  return s.find(what) != std::string_view::npos;
}

// Undoes the escapes of a Jinja string literal.
std::string unescape_jinja(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\' || i + 1 == s.size()) {
      out += s[i];
      continue;
    }
    const char c = s[++i];
    out += c == 'n' ? '\n' : c == 't' ? '\t' : c;
  }
  return out;
}

// The default system prompt of a ChatML template: a string literal '<|im_start|>system\n...<|im_end|>\n'
// that is complete in itself (not followed by `+ messages[0]['content']`).
std::optional<std::string> chatml_default_system(std::string_view tmpl) {
  constexpr std::string_view kOpen = "<|im_start|>system\\n";
  for (size_t p = tmpl.find(kOpen); p != std::string_view::npos; p = tmpl.find(kOpen, p + 1)) {
    const size_t begin = p + kOpen.size();
    const size_t end = tmpl.find(kImEnd, begin);
    if (end == std::string_view::npos) break;
    const std::string_view text = tmpl.substr(begin, end - begin);
    if (text.empty() || contains(text, "'") || contains(text, "\"") || contains(text, "{")) continue;
    return unescape_jinja(text);
  }
  return std::nullopt;
}

Result<ChatStyle> detect_style(std::string_view tmpl) {
  if (tmpl.empty()) return Status::error("model has no chat template");
  ChatStyle style;
  if (contains(tmpl, kAssistant)) {
    if (contains(tmpl, "thinking is defined")) {
      return Status::error("DeepSeek-V3.1-style chat templates (with a thinking flag) are not supported yet");
    }
    style.family = Family::kDeepSeek;
    style.join_system_prompts = contains(tmpl, "is_first_sp");
    style.strip_history_reasoning = contains(tmpl, "split('</think>')");
    style.generation_opens_think = contains(tmpl, "<｜Assistant｜><think>");
    return style;
  }
  if (contains(tmpl, kImStart)) {
    style.family = Family::kChatMl;
    style.default_system = chatml_default_system(tmpl);
    return style;
  }
  return Status::error("model has no chat template r1 can render (neither DeepSeek nor ChatML)");
}

Status unsupported_role(const ChatMessage& m) {
  return Status::errorf("chat message role \"{}\" is not supported (use system, user or assistant)", m.role);
}

Result<std::string> render_deepseek(const ChatStyle& style, const Tokenizer& tokenizer,
                                    std::span<const ChatMessage> messages, bool add_generation_prompt) {
  std::string system;
  bool first_system = true;
  for (const ChatMessage& m : messages) {
    if (m.role != "system") continue;
    if (style.join_system_prompts && !first_system) {
      system += "\n\n" + m.content;
    } else {
      system = m.content;
    }
    first_system = false;
  }
  std::string out = tokenizer.bos_token() + system;
  for (const ChatMessage& m : messages) {
    if (m.role == "user") {
      out.append(kUser).append(m.content);
    } else if (m.role == "assistant") {
      std::string_view content = m.content;
      // As the template does: content.split('</think>')[-1], without trimming.
      if (const size_t tag = content.rfind("</think>");
          style.strip_history_reasoning && tag != content.npos) {
        content.remove_prefix(tag + std::string_view("</think>").size());
      }
      out.append(kAssistant).append(content).append(kEndOfSentence);
    } else if (m.role != "system") {
      return unsupported_role(m);
    }
  }
  if (add_generation_prompt) {
    out.append(kAssistant);
    if (style.generation_opens_think) out.append("<think>\n");
  }
  return out;
}

Result<std::string> render_chatml(const ChatStyle& style, std::span<const ChatMessage> messages,
                                  bool add_generation_prompt) {
  auto turn = [](std::string& out, std::string_view role, std::string_view content) {
    out.append(kImStart).append(role).append("\n").append(content).append(kImEnd).append("\n");
  };
  std::string out;
  size_t first = 0;
  if (!messages.empty() && messages[0].role == "system") {
    turn(out, "system", messages[0].content);
    first = 1;
  } else if (style.default_system) {
    turn(out, "system", *style.default_system);
  }
  for (size_t i = first; i < messages.size(); ++i) {
    const ChatMessage& m = messages[i];
    if (m.role != "user" && m.role != "assistant" && m.role != "system") return unsupported_role(m);
    turn(out, m.role, m.content);
  }
  if (add_generation_prompt) out.append(kImStart).append("assistant\n");
  return out;
}

}  // namespace

Result<std::string> render_chat(const Tokenizer& tokenizer, std::span<const ChatMessage> messages,
                                bool add_generation_prompt) {
  R1_ASSIGN_OR_RETURN(ChatStyle style, detect_style(tokenizer.chat_template()));
  if (style.family == Family::kChatMl) return render_chatml(style, messages, add_generation_prompt);
  return render_deepseek(style, tokenizer, messages, add_generation_prompt);
}

bool prompt_ends_in_reasoning(std::string_view prompt) {
  while (!prompt.empty() && (prompt.back() == '\n' || prompt.back() == ' ' || prompt.back() == '\r')) {
    prompt.remove_suffix(1);
  }
  return prompt.ends_with("<think>");
}

}  // namespace r1
