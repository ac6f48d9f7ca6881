// One choice's generated tokens turned into API text, in order: StreamDecoder (ids -> complete UTF-8 characters)
// -> StopMatcher (OpenAI `stop` strings, cut before the match) -> ReasoningParser (DeepSeek reasoning_content vs
// content). Every stage holds back what it cannot decide yet (a partial character, a possible start of a stop
// string, a possible partial <think> tag), so whatever it releases is final and valid UTF-8, and reasoning never
// reaches content.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "runtime/engine.h"
#include "tokenizer/reasoning.h"
#include "tokenizer/tokenizer.h"

namespace r1::server {

// Releases text as it streams in, minus everything from the first occurrence of any stop string on. Text that
// could be the start of a stop string is held until the next chunk decides it.
class StopMatcher {
 public:
  explicit StopMatcher(std::vector<std::string> stops);
  std::string push(std::string_view text);  // what is now certain to come before any stop string
  std::string finish();                     // end of output: the held text (no stop string followed)
  bool matched() const { return matched_; }

 private:
  std::vector<std::string> stops_;
  std::string held_;
  bool matched_ = false;
};

struct TokenLogprobText {
  std::string token;  // the token's text (lossy UTF-8: a partial character is U+FFFD)
  float logprob = 0.0f;
  std::vector<std::pair<std::string, float>> top;  // alternatives, most likely first
};

struct StreamPiece {
  std::string reasoning;  // delta.reasoning_content
  std::string content;    // delta.content (completions: text)
  std::vector<TokenLogprobText> logprobs;  // the tokens pushed since the last piece, when logprobs were asked for
  bool empty() const { return reasoning.empty() && content.empty() && logprobs.empty(); }
};

struct OutputStreamOptions {
  std::vector<std::string> stop;
  bool split_reasoning = true;       // chat: reasoning_content apart; completions: all text is content
  bool starts_in_reasoning = false;  // the prompt ended inside <think>
  bool logprobs = false;
};

class OutputStream {
 public:
  OutputStream(const Tokenizer& tokenizer, OutputStreamOptions options);

  // The text this token completes. After a stop string matched, tokens are ignored (the engine may emit a few
  // more before the cancellation reaches it).
  StreamPiece push(const TokenEvent& event);
  // End of generation: everything still held back.
  StreamPiece finish();

  bool stopped() const { return stop_.matched(); }  // a stop string ended the output: finish_reason "stop"
  int64_t tokens() const { return tokens_; }        // tokens that made up the output (none after a stop)
  int64_t reasoning_tokens() const { return reasoning_tokens_; }

 private:
  void classify(std::string_view text, StreamPiece& out);

  const Tokenizer& tokenizer_;
  OutputStreamOptions options_;
  StreamDecoder decoder_;
  StopMatcher stop_;
  ReasoningParser parser_;
  int64_t tokens_ = 0, reasoning_tokens_ = 0;
  bool finished_ = false;
};

}  // namespace r1::server
