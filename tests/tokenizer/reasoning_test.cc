// ReasoningParser: R1 output split into reasoning and answer, whatever the chunking.
#include "tokenizer/reasoning.h"

#include <gtest/gtest.h>

#include <vector>

namespace r1 {
namespace {

struct Split {
  std::string reasoning, content;
  bool operator==(const Split&) const = default;
};
std::ostream& operator<<(std::ostream& os, const Split& s) {
  return os << "{reasoning: \"" << s.reasoning << "\", content: \"" << s.content << "\"}";
}

Split run(const std::vector<std::string>& chunks, bool starts_in_reasoning = false) {
  ReasoningParser parser(starts_in_reasoning);
  Split out;
  for (const std::string& c : chunks) {
    ReasoningDelta d = parser.push(c);
    out.reasoning += d.reasoning;
    out.content += d.content;
  }
  ReasoningDelta d = parser.finish();
  out.reasoning += d.reasoning;
  out.content += d.content;
  return out;
}

// The same result for the whole text, every split into two chunks, and one byte at a time.
void expect_any_chunking(const std::string& text, const Split& expected, bool starts_in_reasoning = false) {
  EXPECT_EQ(run({text}, starts_in_reasoning), expected) << "whole: " << text;
  for (size_t i = 0; i <= text.size(); ++i) {
    EXPECT_EQ(run({text.substr(0, i), text.substr(i)}, starts_in_reasoning), expected) << "split at " << i;
  }
  std::vector<std::string> bytes;
  for (char c : text) bytes.emplace_back(1, c);
  EXPECT_EQ(run(bytes, starts_in_reasoning), expected) << "byte by byte";
}

TEST(ReasoningParser, ThinkBlockThenAnswer) {
  expect_any_chunking("<think>\nLet me add 2 and 2.\nThat is 4.\n</think>\n\nThe answer is 4.",
                      {"Let me add 2 and 2.\nThat is 4.", "The answer is 4."});
}

TEST(ReasoningParser, PromptAlreadyOpenedTheThinkBlock) {
  // Newer R1 templates end the prompt with "<think>\n": the output has only the closing tag.
  expect_any_chunking("Hmm, 2+2.\n</think>\n\n**4**", {"Hmm, 2+2.", "**4**"}, /*starts_in_reasoning=*/true);
  expect_any_chunking("\nHmm.</think>Answer", {"Hmm.", "Answer"}, true);
}

TEST(ReasoningParser, NoThinkTagsIsAllContent) {
  expect_any_chunking("Just an answer, with <b>tags</b> and a </think> in the middle.",
                      {"", "Just an answer, with <b>tags</b> and a </think> in the middle."});
  expect_any_chunking("<thin>not a tag", {"", "<thin>not a tag"});
  expect_any_chunking("  <", {"", "  <"});  // a partial tag that never completes is content
}

TEST(ReasoningParser, WhitespaceBeforeTheOpeningTag) {
  expect_any_chunking("\n  <think>x</think>y", {"x", "y"});
}

TEST(ReasoningParser, UnclosedThinkAtFinishStaysReasoning) {
  expect_any_chunking("<think>\nStill thinking about </thi", {"Still thinking about </thi", ""});
  expect_any_chunking("still thinking\n\n", {"still thinking\n\n", ""}, true);
}

TEST(ReasoningParser, EmptyReasoningAndEmptyAnswer) {
  expect_any_chunking("<think>\n\n</think>\n\nHi", {"", "Hi"});
  expect_any_chunking("<think>\nthought\n</think>\n\n", {"thought", ""});
  expect_any_chunking("", {"", ""});
}

TEST(ReasoningParser, ReasoningNeverLeaksIntoContent) {
  ReasoningParser parser(/*starts_in_reasoning=*/true);
  EXPECT_EQ(parser.push("a</").reasoning, "a");
  const ReasoningDelta d = parser.push("think>b");
  EXPECT_EQ(d.reasoning, "");
  EXPECT_EQ(d.content, "b");
  EXPECT_FALSE(parser.in_reasoning());
  // Once the answer started, a later <think> is just text.
  EXPECT_EQ(parser.push("<think>c").content, "<think>c");
}

TEST(ReasoningParser, StreamsReasoningWithoutWaitingForTheEnd) {
  ReasoningParser parser;
  EXPECT_EQ(parser.push("<think>\nStep one").reasoning, "Step one");
  EXPECT_TRUE(parser.in_reasoning());
  EXPECT_EQ(parser.push(".\n").reasoning, ".");  // the newline may precede </think>: held back
  EXPECT_EQ(parser.push("Step two").reasoning, "\nStep two");
}

TEST(StripReasoning, KeepsTheTextAfterTheLastThinkBlock) {
  EXPECT_EQ(strip_reasoning("<think>\nwork\n</think>\n\nThe answer."), "The answer.");
  EXPECT_EQ(strip_reasoning("a</think>b</think>  c"), "c");
  EXPECT_EQ(strip_reasoning("No reasoning here."), "No reasoning here.");
}

}  // namespace
}  // namespace r1
