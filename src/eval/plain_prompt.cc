#include "eval/plain_prompt.h"

#include <string>

namespace r1::eval {

using json = nlohmann::json;

json completion_request(const json& chat, int64_t default_max_tokens) {
  json c = chat;
  c.erase("messages");
  std::string prompt;
  if (auto m = chat.find("messages"); m != chat.end() && m->is_array())
    for (const json& message : *m)
      if (message.is_object() && message.value("role", "") == "user" && message.contains("content") &&
          message["content"].is_string())
        prompt += message["content"].get<std::string>() + "\n";
  c["prompt"] = prompt;
  if (!c.contains("max_tokens")) c["max_tokens"] = default_max_tokens;
  return c;
}

json chat_reply(json body) {
  if (auto choices = body.find("choices"); choices != body.end() && choices->is_array())
    for (json& choice : *choices) {
      if (!choice.is_object()) continue;
      const auto text = choice.find("text");
      choice["message"] = {{"role", "assistant"},
                           {"content", text != choice.end() && text->is_string() ? *text : json("")}};
      choice.erase("text");
    }
  if (body.is_object()) body["object"] = "chat.completion";
  return body;
}

}  // namespace r1::eval
