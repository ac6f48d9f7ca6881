#include "server/api_request.h"

#include <fmt/core.h>

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

namespace r1::server {

namespace {

using nlohmann::json;

// Reads typed fields out of one JSON object and remembers the first problem. A field that is absent or null is
// left unset (OpenAI clients send null for "not given"); a field of the wrong type or out of range is an error.
class FieldReader {
 public:
  explicit FieldReader(const json& object) : object_(object) {}

  const json* find(const char* key) const {
    auto it = object_.find(key);
    return it == object_.end() || it->is_null() ? nullptr : &*it;
  }

  void fail(std::string param, std::string message) {
    if (!error) error = ApiError{.message = std::move(message), .param = std::move(param)};
  }

  bool boolean(const char* key, bool& out) {
    const json* v = find(key);
    if (!v || error) return false;
    if (!v->is_boolean()) {
      fail(key, fmt::format("'{}' must be a boolean", key));
      return false;
    }
    out = v->get<bool>();
    return true;
  }

  // An integer in [lo, hi]; 3.0 is not an integer here (OpenAI rejects it too).
  template <typename T>
  bool integer(const char* key, int64_t lo, int64_t hi, T& out) {
    const json* v = find(key);
    if (!v || error) return false;
    if (!v->is_number_integer()) {
      fail(key, fmt::format("'{}' must be an integer", key));
      return false;
    }
    const bool huge = v->is_number_unsigned() && v->get<uint64_t>() > uint64_t(INT64_MAX);
    const int64_t x = huge ? INT64_MAX : v->get<int64_t>();
    if (huge || x < lo || x > hi) {
      fail(key, fmt::format("'{}' must be between {} and {}, got {}", key, lo, hi, v->dump()));
      return false;
    }
    out = T(x);
    return true;
  }

  template <typename T>
  bool integer(const char* key, int64_t lo, int64_t hi, std::optional<T>& out) {
    T value{};
    if (!integer(key, lo, hi, value)) return false;
    out = value;
    return true;
  }

  // A finite number in [lo, hi]; open_lo excludes lo itself (top_p 0 would keep no token).
  bool number(const char* key, double lo, double hi, std::optional<float>& out, bool open_lo = false) {
    const json* v = find(key);
    if (!v || error) return false;
    if (!v->is_number()) {
      fail(key, fmt::format("'{}' must be a number", key));
      return false;
    }
    const double x = v->get<double>();
    if (!std::isfinite(x) || x < lo || x > hi || (open_lo && x == lo)) {
      fail(key, fmt::format("'{}' must be {} {} and <= {}, got {}", key, open_lo ? ">" : ">=", lo, hi, v->dump()));
      return false;
    }
    out = float(x);
    return true;
  }

  bool string(const char* key, std::string& out) {
    const json* v = find(key);
    if (!v || error) return false;
    if (!v->is_string()) {
      fail(key, fmt::format("'{}' must be a string", key));
      return false;
    }
    out = v->get<std::string>();
    return true;
  }

  std::optional<ApiError> error;

 private:
  const json& object_;
};

// A message's content: a string, or an array of {"type": "text", "text": ...} parts joined together.
void read_content(const json& content, const std::string& param, FieldReader& r, std::string& out) {
  if (content.is_string()) {
    out = content.get<std::string>();
    return;
  }
  if (!content.is_array()) return r.fail(param, "content must be a string or an array of text parts");
  for (size_t i = 0; i < content.size(); ++i) {
    const json& part = content[i];
    const std::string part_param = fmt::format("{}[{}]", param, i);
    if (!part.is_object()) return r.fail(part_param, "a content part must be an object");
    auto type = part.find("type");
    if (type == part.end() || !type->is_string()) return r.fail(part_param + ".type", "a content part needs a type");
    if (*type != "text")
      return r.fail(part_param + ".type", fmt::format("content parts of type {} are not supported", type->dump()));
    auto text = part.find("text");
    if (text == part.end() || !text->is_string()) return r.fail(part_param + ".text", "'text' must be a string");
    out += text->get<std::string>();
  }
}

void read_messages(const json* messages, FieldReader& r, std::vector<ChatMessage>& out) {
  if (!messages) return r.fail("messages", "'messages' is required");
  if (!messages->is_array() || messages->empty())
    return r.fail("messages", "'messages' must be a non-empty array");
  for (size_t i = 0; i < messages->size(); ++i) {
    const json& m = (*messages)[i];
    const std::string param = fmt::format("messages[{}]", i);
    if (!m.is_object()) return r.fail(param, "a message must be an object");
    auto role = m.find("role");
    if (role == m.end() || !role->is_string()) return r.fail(param + ".role", "a message needs a string 'role'");
    ChatMessage msg{.role = role->get<std::string>(), .content = ""};
    if (msg.role != "system" && msg.role != "user" && msg.role != "assistant")
      return r.fail(param + ".role", fmt::format("unsupported role '{}'", msg.role));
    auto content = m.find("content");
    // An assistant turn may carry only reasoning_content (dropped: R1 prompts never include earlier reasoning).
    const bool may_be_empty = msg.role == "assistant";
    if (content == m.end() || content->is_null()) {
      if (!may_be_empty) return r.fail(param + ".content", "a message needs 'content'");
    } else {
      read_content(*content, param + ".content", r, msg.content);
      if (r.error) return;
    }
    out.push_back(std::move(msg));
  }
}

void read_prompt(const json* prompt, FieldReader& r, GenerationRequest& out) {
  if (!prompt) return r.fail("prompt", "'prompt' is required");
  const json* p = prompt;
  // One prompt only: "text", ["text"], [ids] or [[ids]].
  if (p->is_array() && p->size() == 1 && ((*p)[0].is_string() || (*p)[0].is_array())) p = &(*p)[0];
  if (p->is_string()) {
    out.prompt_text = p->get<std::string>();
    return;
  }
  if (!p->is_array() || p->empty())
    return r.fail("prompt", "'prompt' must be a string, an array of one string, or an array of token ids");
  for (const json& id : *p) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > std::numeric_limits<int32_t>::max())
      return r.fail("prompt", "'prompt' must be one string or token ids (batched prompts are not supported)");
    out.prompt_ids.push_back(id.get<int32_t>());
  }
  out.prompt_is_ids = true;
}

void read_stop(const json* stop, FieldReader& r, std::vector<std::string>& out) {
  if (!stop) return;
  if (stop->is_string()) {
    out.push_back(stop->get<std::string>());
  } else if (stop->is_array()) {
    if (stop->size() > size_t(kMaxStopStrings))
      return r.fail("stop", fmt::format("'stop' takes at most {} strings", kMaxStopStrings));
    for (const json& s : *stop) {
      if (!s.is_string()) return r.fail("stop", "'stop' must be a string or an array of strings");
      out.push_back(s.get<std::string>());
    }
  } else {
    return r.fail("stop", "'stop' must be a string or an array of strings");
  }
  for (const std::string& s : out)
    if (s.empty()) return r.fail("stop", "stop strings must not be empty");
}

void read_logprobs(FieldReader& r, Endpoint endpoint, GenerationRequest& out) {
  if (endpoint == Endpoint::kCompletion) {
    // Completions: "logprobs": N asks for the chosen token's logprob and N alternatives.
    r.integer("logprobs", 0, kMaxTopLogprobs, out.top_logprobs);
    return;
  }
  bool logprobs = false;
  r.boolean("logprobs", logprobs);
  int top = -1;
  if (r.integer("top_logprobs", 0, kMaxTopLogprobs, top) && !logprobs)
    return r.fail("top_logprobs", "'top_logprobs' needs 'logprobs': true");
  if (logprobs) out.top_logprobs = std::max(top, 0);
}

void read_response_format(const json* format, FieldReader& r, bool& json_object) {
  if (!format) return;
  if (!format->is_object()) return r.fail("response_format", "'response_format' must be an object");
  auto type = format->find("type");
  if (type == format->end() || !type->is_string())
    return r.fail("response_format.type", "'response_format' needs a string 'type'");
  if (*type == "json_object") json_object = true;
  else if (*type != "text")
    return r.fail("response_format.type",
                  fmt::format("response_format type {} is not supported (use text or json_object)", type->dump()));
}

Result<json> parse_object(std::string_view body) {
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Status::error("the request body is not valid JSON");
  if (!j.is_object()) return Status::error("the request body must be a JSON object");
  return j;
}

}  // namespace

std::optional<ApiError> parse_generation_request(std::string_view body, Endpoint endpoint, GenerationRequest& out) {
  auto parsed = parse_object(body);
  if (!parsed) return ApiError{.message = parsed.message()};
  const json& j = *parsed;
  FieldReader r(j);
  out = GenerationRequest{};
  out.endpoint = endpoint;
  r.string("model", out.model);
  if (endpoint == Endpoint::kChat) read_messages(r.find("messages"), r, out.messages);
  else if (!r.error) read_prompt(r.find("prompt"), r, out);

  // max_completion_tokens is the newer name of max_tokens; both are accepted, the newer one wins.
  r.integer("max_tokens", 1, INT32_MAX, out.max_tokens);
  r.integer("max_completion_tokens", 1, INT32_MAX, out.max_tokens);
  SamplingOverrides& s = out.sampling;
  r.number("temperature", 0.0, 2.0, s.temperature);
  r.number("top_p", 0.0, 1.0, s.top_p, /*open_lo=*/true);
  r.number("min_p", 0.0, 1.0, s.min_p);
  r.number("presence_penalty", -2.0, 2.0, s.presence_penalty);
  r.number("frequency_penalty", -2.0, 2.0, s.frequency_penalty);
  r.number("repetition_penalty", 0.0, 10.0, s.repetition_penalty, /*open_lo=*/true);
  // top_k: -1 and 0 both mean "off" (vLLM uses -1).
  if (int k = 0; r.integer("top_k", -1, INT32_MAX, k)) s.top_k = std::max(k, 0);
  if (!r.error && r.find("seed")) {
    const json& seed = *r.find("seed");
    if (!seed.is_number_integer()) r.fail("seed", "'seed' must be an integer");
    else s.seed = seed.is_number_unsigned() ? seed.get<uint64_t>() : uint64_t(seed.get<int64_t>());
  }
  if (!r.error) read_stop(r.find("stop"), r, out.stop);
  r.integer("n", 1, kMaxChoices, out.n);
  r.boolean("stream", out.stream);
  if (const json* options = r.find("stream_options"); options && !r.error) {
    if (!options->is_object()) r.fail("stream_options", "'stream_options' must be an object");
    else if (FieldReader o(*options); !o.boolean("include_usage", out.include_usage) && o.error)
      r.fail("stream_options.include_usage", o.error->message);
  }
  if (!r.error) read_logprobs(r, endpoint, out);
  if (!r.error) read_response_format(r.find("response_format"), r, out.json_object);
  r.integer("max_thinking_tokens", 0, INT32_MAX, out.max_thinking_tokens);
  r.boolean("ignore_eos", out.ignore_eos);
  if (!r.error && (r.find("tools") || r.find("functions")))
    r.fail(r.find("tools") ? "tools" : "functions", "tool calling is not supported");
  return r.error;
}

std::optional<ApiError> parse_tokenize_request(std::string_view body, TokenizeRequest& out) {
  auto parsed = parse_object(body);
  if (!parsed) return ApiError{.message = parsed.message()};
  FieldReader r(*parsed);
  out = TokenizeRequest{};
  const bool has_text = r.string("content", out.text) || r.string("prompt", out.text);
  if (r.find("messages") && !r.error) {
    if (has_text) r.fail("messages", "give either 'content'/'prompt' or 'messages', not both");
    read_messages(r.find("messages"), r, out.messages);
    out.is_chat = true;
  } else if (!has_text && !r.error) {
    r.fail("content", "'content' (or 'prompt', or 'messages') is required");
  }
  r.boolean("add_special", out.add_special);
  return r.error;
}

std::optional<ApiError> parse_detokenize_request(std::string_view body, std::vector<int32_t>& tokens) {
  auto parsed = parse_object(body);
  if (!parsed) return ApiError{.message = parsed.message()};
  auto it = parsed->find("tokens");
  if (it == parsed->end() || !it->is_array())
    return ApiError{.message = "'tokens' must be an array of token ids", .param = "tokens"};
  tokens.clear();
  for (const json& id : *it) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > std::numeric_limits<int32_t>::max())
      return ApiError{.message = "'tokens' must be an array of token ids", .param = "tokens"};
    tokens.push_back(id.get<int32_t>());
  }
  return std::nullopt;
}

}  // namespace r1::server
