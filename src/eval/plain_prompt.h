// Base models have no chat template: evaluation harnesses prompt them with the plain text of the user turn through
// /v1/completions. These convert a chat request into that form and the completion reply back into chat shape, for
// the in-process backend (a model without a template) and for endpoints asked with `--api completions`.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>

namespace r1::eval {

// The /v1/completions body for a /v1/chat/completions one: the user turns' text, each followed by a newline, is the
// prompt; the sampling fields stay. `default_max_tokens` fills in max_tokens when the request has none (completions
// endpoints default to 16 tokens).
nlohmann::json completion_request(const nlohmann::json& chat_request, int64_t default_max_tokens);

// A text_completion reply in chat.completion shape: choices[i].text becomes choices[i].message.content.
nlohmann::json chat_reply(nlohmann::json completion_reply);

}  // namespace r1::eval
