#include "tokenizer/reasoning.h"

namespace r1 {
namespace {

constexpr std::string_view kOpen = "<think>";
constexpr std::string_view kClose = "</think>";

bool is_newline(char c) {
  return c == '\n' || c == '\r';
}
bool is_space(char c) {
  return c == ' ' || c == '\t' || is_newline(c);
}

size_t count_leading(std::string_view s, bool (*pred)(char)) {
  size_t n = 0;
  while (n < s.size() && pred(s[n])) ++n;
  return n;
}

// Length of the longest suffix of s that is a proper prefix of tag (a tag that may still be completing).
size_t partial_tag_suffix(std::string_view s, std::string_view tag) {
  for (size_t n = std::min(s.size(), tag.size() - 1); n > 0; --n) {
    if (s.substr(s.size() - n) == tag.substr(0, n)) return n;
  }
  return 0;
}

}  // namespace

ReasoningParser::ReasoningParser(bool starts_in_reasoning)
    : state_(starts_in_reasoning ? State::kAfterOpen : State::kStart) {}

ReasoningDelta ReasoningParser::push(std::string_view chunk) {
  pending_.append(chunk);
  ReasoningDelta out;
  process(/*final=*/false, out);
  return out;
}

ReasoningDelta ReasoningParser::finish() {
  ReasoningDelta out;
  process(/*final=*/true, out);
  return out;
}

// Consumes pending_ as far as it can be classified; with `final`, nothing is held back.
void ReasoningParser::process(bool final, ReasoningDelta& out) {
  for (bool moved = true; moved;) {
    moved = false;
    switch (state_) {
      case State::kStart: {
        const size_t ws = count_leading(pending_, is_space);
        const std::string_view rest = std::string_view(pending_).substr(ws);
        if (rest.starts_with(kOpen)) {
          pending_.erase(0, ws + kOpen.size());
          state_ = State::kAfterOpen;
          moved = true;
        } else if (final || !kOpen.starts_with(rest)) {  // cannot become "<think>": it is all answer
          state_ = State::kContent;
          moved = true;
        }
        break;
      }
      case State::kAfterOpen:
        pending_.erase(0, count_leading(pending_, is_newline));
        if (!pending_.empty()) {
          state_ = State::kReasoning;
          moved = true;
        }
        break;
      case State::kReasoning: {
        const size_t tag = pending_.find(kClose);
        if (tag != std::string::npos) {
          size_t end = tag;
          while (end > 0 && is_newline(pending_[end - 1])) --end;
          out.reasoning.append(pending_, 0, end);
          pending_.erase(0, tag + kClose.size());
          state_ = State::kAfterClose;
          moved = true;
          break;
        }
        size_t emit = pending_.size();
        if (!final) {  // hold a partial "</thi" and the newlines before it: both may belong to the tag
          emit -= partial_tag_suffix(pending_, kClose);
          while (emit > 0 && is_newline(pending_[emit - 1])) --emit;
        }
        out.reasoning.append(pending_, 0, emit);
        pending_.erase(0, emit);
        break;
      }
      case State::kAfterClose:
        pending_.erase(0, count_leading(pending_, is_space));
        if (!pending_.empty()) {
          state_ = State::kContent;
          moved = true;
        }
        break;
      case State::kContent:
        out.content += pending_;
        pending_.clear();
        break;
    }
  }
}

std::string strip_reasoning(std::string_view text) {
  const size_t tag = text.rfind(kClose);
  if (tag == std::string_view::npos) return std::string(text);
  std::string_view rest = text.substr(tag + kClose.size());
  rest.remove_prefix(count_leading(rest, is_space));
  return std::string(rest);
}

}  // namespace r1
