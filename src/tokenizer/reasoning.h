// Splits streamed DeepSeek-R1 output into reasoning and answer. R1 writes "<think>\n...\n</think>\n\nanswer";
// newer R1 chat templates put "<think>\n" at the end of the prompt, so the output starts inside the think
// block and only "</think>" appears (ARCHITECTURE.md, "Reasoning conventions").
#pragma once

#include <string>
#include <string_view>

namespace r1 {

struct ReasoningDelta {
  std::string reasoning;  // new reasoning text (DeepSeek API: delta.reasoning_content)
  std::string content;    // new answer text (delta.content)
};

// Feed text chunks as they are decoded; each push returns the newly classified text. Tags split across chunks
// are handled by holding back a possible partial tag. Trimmed: the newline(s) right after <think>, the
// newline(s) right before </think>, and the whitespace right after </think>. The tags themselves appear in
// neither output, and nothing after <think> reaches content before </think> has been seen.
// Without starts_in_reasoning, a think block is recognised only at the very start of the output (after
// optional whitespace); output that starts with anything else is all content.
class ReasoningParser {
 public:
  explicit ReasoningParser(bool starts_in_reasoning = false);

  ReasoningDelta push(std::string_view chunk);
  // End of output: releases held-back text. An unclosed think block leaves everything in reasoning (the model
  // ran out of tokens while thinking); a held partial tag is released as the text it was.
  ReasoningDelta finish();

  bool in_reasoning() const { return state_ == State::kAfterOpen || state_ == State::kReasoning; }

 private:
  enum class State {
    kStart,       // nothing decided yet: waiting for "<think>" after optional whitespace
    kAfterOpen,   // just after <think>: dropping newlines
    kReasoning,   // inside the think block
    kAfterClose,  // just after </think>: dropping whitespace
    kContent,     // answer text
  };
  void process(bool final, ReasoningDelta& out);

  State state_;
  std::string pending_;  // text received but not yet classified
};

// An earlier assistant message without its reasoning, for putting it back into a prompt: the text after the
// last "</think>", with leading whitespace removed. Text without "</think>" is returned unchanged.
std::string strip_reasoning(std::string_view text);

}  // namespace r1
