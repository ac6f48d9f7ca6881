#include "tokenizer/chat_format.h"

#include <map>
#include <mutex>
#include <nlohmann/json.hpp>

#include "tokenizer/jinja/json.h"
#include "tokenizer/jinja/template.h"

namespace r1 {

namespace {

// Parsed templates by source text: a server renders the same template for every request, SFT for every example.
// Templates are immutable once parsed (render is const), so one parse serves every thread.
Result<jinja::Template> parsed_template(const std::string& source) {
  static std::mutex mu;
  static std::map<std::string, jinja::Template> cache;
  {
    const std::lock_guard<std::mutex> lock(mu);
    if (auto it = cache.find(source); it != cache.end()) return it->second;
  }
  R1_ASSIGN_OR_RETURN(jinja::Template tpl, jinja::Template::parse(source, "chat_template"));
  const std::lock_guard<std::mutex> lock(mu);
  if (cache.size() >= 16) cache.clear();  // a process sees a handful of templates; bound it anyway
  cache.emplace(source, tpl);
  return tpl;
}

}  // namespace

Result<std::string> render_chat(const Tokenizer& tokenizer, std::span<const ChatMessage> messages,
                                bool add_generation_prompt) {
  if (tokenizer.chat_template().empty())
    return Status::error("model has no chat template (no chat_template in tokenizer_config.json); "
                         "pass one with --chat-template FILE");
  R1_ASSIGN_OR_RETURN(jinja::Template tpl, parsed_template(tokenizer.chat_template()));
  // The variables transformers' apply_chat_template passes (tools and documents are None when absent).
  nlohmann::ordered_json context;
  context["messages"] = nlohmann::ordered_json::array();
  for (const ChatMessage& m : messages) context["messages"].push_back({{"role", m.role}, {"content", m.content}});
  context["add_generation_prompt"] = add_generation_prompt;
  // Like transformers, a token the tokenizer does not have is left undefined rather than empty.
  if (tokenizer.bos_id()) context["bos_token"] = tokenizer.bos_token();
  if (tokenizer.eos_id()) context["eos_token"] = tokenizer.eos_token();
  context["tools"] = nullptr;
  context["documents"] = nullptr;
  R1_ASSIGN_OR_RETURN(jinja::Value value, jinja::from_json(context));
  return tpl.render(value);
}

bool prompt_ends_in_reasoning(std::string_view prompt) {
  // Whitespace after the tag is part of the opening ("<think>\n").
  size_t end = prompt.size();
  while (end > 0 && (prompt[end - 1] == '\n' || prompt[end - 1] == ' ' || prompt[end - 1] == '\r')) --end;
  return prompt.substr(0, end).ends_with("<think>");
}

}  // namespace r1
