#include "server/output_stream.h"

#include <algorithm>

namespace r1::server {

StopMatcher::StopMatcher(std::vector<std::string> stops) : stops_(std::move(stops)) {}

std::string StopMatcher::push(std::string_view text) {
  if (matched_) return {};
  held_ += text;
  // The earliest match of any stop string wins; everything from it on is dropped.
  size_t cut = std::string::npos;
  for (const std::string& s : stops_) cut = std::min(cut, held_.find(s));
  if (cut != std::string::npos) {
    matched_ = true;
    std::string out = held_.substr(0, cut);
    held_.clear();
    return out;
  }
  // Hold the longest tail of held_ that is a proper prefix of some stop string. Stop strings are valid UTF-8 and
  // so is held_, so a prefix match never starts inside a character: the released part stays valid UTF-8.
  size_t keep = 0;
  for (const std::string& s : stops_)
    for (size_t len = std::min(s.size() - 1, held_.size()); len > keep; --len)
      if (held_.compare(held_.size() - len, len, s, 0, len) == 0) {
        keep = len;
        break;
      }
  std::string out = held_.substr(0, held_.size() - keep);
  held_.erase(0, held_.size() - keep);
  return out;
}

std::string StopMatcher::finish() {
  std::string out;
  out.swap(held_);
  return matched_ ? std::string() : out;
}

OutputStream::OutputStream(const Tokenizer& tokenizer, OutputStreamOptions options)
    : tokenizer_(tokenizer),
      options_(std::move(options)),
      decoder_(tokenizer, /*skip_special=*/true),
      stop_(options_.stop),
      parser_(options_.starts_in_reasoning) {}

void OutputStream::classify(std::string_view text, StreamPiece& out) {
  if (text.empty()) return;
  if (!options_.split_reasoning) {
    out.content += text;
    return;
  }
  ReasoningDelta d = parser_.push(text);
  out.reasoning += d.reasoning;
  out.content += d.content;
}

StreamPiece OutputStream::push(const TokenEvent& event) {
  StreamPiece piece;
  if (stop_.matched() || finished_) return piece;
  ++tokens_;
  const bool was_reasoning = options_.split_reasoning && parser_.in_reasoning();
  classify(stop_.push(decoder_.push(event.id)), piece);
  // A token counts as reasoning when it was spent inside the think block, closing tag included.
  if (was_reasoning || (options_.split_reasoning && parser_.in_reasoning())) ++reasoning_tokens_;
  if (options_.logprobs) {
    const int32_t id[1] = {event.id};
    TokenLogprobText lp{.token = tokenizer_.decode(id), .logprob = event.logprob, .top = {}};
    for (const TokenLogprob& alt : event.top) {
      const int32_t alt_id[1] = {alt.id};
      lp.top.emplace_back(tokenizer_.decode(alt_id), alt.logprob);
    }
    piece.logprobs.push_back(std::move(lp));
  }
  // A stop string ends the output here: flush the text before it out of the parser.
  if (stop_.matched() && options_.split_reasoning) {
    ReasoningDelta d = parser_.finish();
    piece.reasoning += d.reasoning;
    piece.content += d.content;
    finished_ = true;
  }
  return piece;
}

StreamPiece OutputStream::finish() {
  StreamPiece piece;
  if (finished_) return piece;
  finished_ = true;
  if (!stop_.matched()) classify(stop_.push(decoder_.flush()), piece);
  classify(stop_.finish(), piece);
  if (options_.split_reasoning) {
    ReasoningDelta d = parser_.finish();
    piece.reasoning += d.reasoning;
    piece.content += d.content;
  }
  return piece;
}

}  // namespace r1::server
