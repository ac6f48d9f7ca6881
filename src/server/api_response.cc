#include "server/api_response.h"

#include <random>

namespace r1::server {

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

namespace {

json null_if_empty(const std::string& s) { return s.empty() ? json(nullptr) : json(s); }

const char* object_name(Endpoint endpoint, bool chunk) {
  if (endpoint == Endpoint::kChat) return chunk ? "chat.completion.chunk" : "chat.completion";
  return "text_completion";  // OpenAI names streamed completion chunks the same
}

json meta_fields(Endpoint endpoint, const ResponseMeta& meta, bool chunk) {
  return {{"id", meta.id},
          {"object", object_name(endpoint, chunk)},
          {"created", meta.created},
          {"model", meta.model},
          {"system_fingerprint", meta.system_fingerprint}};
}

json byte_values(const std::string& s) {
  json bytes = json::array();
  for (unsigned char c : s) bytes.push_back(int(c));
  return bytes;
}

}  // namespace

json error_body(const ApiError& e) {
  return {{"error",
           {{"message", e.message}, {"type", e.type}, {"param", null_if_empty(e.param)}, {"code", null_if_empty(e.code)}}}};
}

json usage_json(const Usage& u) {
  return {{"prompt_tokens", u.prompt_tokens},
          {"completion_tokens", u.completion_tokens},
          {"total_tokens", u.prompt_tokens + u.completion_tokens},
          {"prompt_tokens_details", {{"cached_tokens", u.cached_tokens}}},
          {"completion_tokens_details", {{"reasoning_tokens", u.reasoning_tokens}}},
          // DeepSeek's names for the same split of the prompt.
          {"prompt_cache_hit_tokens", u.cached_tokens},
          {"prompt_cache_miss_tokens", u.prompt_tokens - u.cached_tokens}};
}

std::string new_response_id(Endpoint endpoint) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::string id = endpoint == Endpoint::kChat ? "chatcmpl-" : "cmpl-";
  std::uniform_int_distribution<size_t> pick(0, sizeof(kAlphabet) - 2);
  for (int i = 0; i < 24; ++i) id += kAlphabet[pick(rng)];
  return id;
}

json chat_logprobs(const std::vector<TokenLogprobText>& tokens) {
  json content = json::array();
  for (const TokenLogprobText& t : tokens) {
    json top = json::array();
    for (const auto& [text, lp] : t.top) top.push_back({{"token", text}, {"logprob", lp}, {"bytes", byte_values(text)}});
    content.push_back({{"token", t.token}, {"logprob", t.logprob}, {"bytes", byte_values(t.token)}, {"top_logprobs", top}});
  }
  return {{"content", content}};
}

json completion_logprobs(const std::vector<TokenLogprobText>& tokens, int64_t text_offset) {
  json texts = json::array(), logprobs = json::array(), tops = json::array(), offsets = json::array();
  for (const TokenLogprobText& t : tokens) {
    texts.push_back(t.token);
    logprobs.push_back(t.logprob);
    json top = json::object();
    for (const auto& [text, lp] : t.top)
      if (!top.contains(text)) top[text] = lp;  // distinct ids may share a text; keep the likelier one
    tops.push_back(top);
    offsets.push_back(text_offset);
    text_offset += int64_t(t.token.size());
  }
  return {{"tokens", texts}, {"token_logprobs", logprobs}, {"top_logprobs", tops}, {"text_offset", offsets}};
}

json completion_object(Endpoint endpoint, const ResponseMeta& meta, const std::vector<ChoiceResult>& choices,
                       const Usage& usage) {
  json out = meta_fields(endpoint, meta, /*chunk=*/false);
  json list = json::array();
  for (size_t i = 0; i < choices.size(); ++i) {
    const ChoiceResult& c = choices[i];
    json choice = {{"index", i}, {"finish_reason", c.finish_reason}};
    if (endpoint == Endpoint::kChat) {
      choice["message"] = {{"role", "assistant"}, {"content", c.content},
                           {"reasoning_content", null_if_empty(c.reasoning)}};
      choice["logprobs"] = c.has_logprobs ? chat_logprobs(c.logprobs) : json(nullptr);
    } else {
      choice["text"] = c.content;
      choice["logprobs"] = c.has_logprobs ? completion_logprobs(c.logprobs, 0) : json(nullptr);
    }
    list.push_back(std::move(choice));
  }
  out["choices"] = std::move(list);
  out["usage"] = usage_json(usage);
  return out;
}

json chunk_object(Endpoint endpoint, const ResponseMeta& meta, int index, const StreamPiece& piece, bool first,
                  const std::optional<std::string>& finish_reason, bool has_logprobs, int64_t text_offset) {
  json out = meta_fields(endpoint, meta, /*chunk=*/true);
  json choice = {{"index", index}, {"finish_reason", finish_reason ? json(*finish_reason) : json(nullptr)}};
  if (endpoint == Endpoint::kChat) {
    json delta = json::object();
    if (first) delta = {{"role", "assistant"}, {"content", ""}};
    if (!piece.reasoning.empty()) delta["reasoning_content"] = piece.reasoning;
    if (!piece.content.empty()) delta["content"] = piece.content;
    choice["delta"] = std::move(delta);
    choice["logprobs"] = has_logprobs && !piece.logprobs.empty() ? chat_logprobs(piece.logprobs) : json(nullptr);
  } else {
    choice["text"] = piece.content;
    choice["logprobs"] = has_logprobs && !piece.logprobs.empty() ? completion_logprobs(piece.logprobs, text_offset)
                                                                  : json(nullptr);
  }
  out["choices"] = json::array({std::move(choice)});
  return out;
}

json usage_chunk(Endpoint endpoint, const ResponseMeta& meta, const Usage& usage) {
  json out = meta_fields(endpoint, meta, /*chunk=*/true);
  out["choices"] = json::array();
  out["usage"] = usage_json(usage);
  return out;
}

json model_object(const std::string& id, int64_t created, int64_t max_model_len) {
  return {{"id", id}, {"object", "model"}, {"created", created}, {"owned_by", "r1"}, {"max_model_len", max_model_len}};
}

}  // namespace r1::server
