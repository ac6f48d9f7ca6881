// render_chat against the real chat templates. The expected strings were produced by rendering each template
// with Python jinja2 3.1 configured like transformers' apply_chat_template
// (ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])) with
// bos_token "<｜begin▁of▁sentence｜>" (DeepSeek) or none (Qwen), for the same messages as below.
#include "tokenizer/chat_format.h"

#include <gtest/gtest.h>

#include "tokenizer/reasoning.h"
#include "tokenizer/tokenizer_test_util.h"

namespace r1 {
namespace {

using tok_test::fixture;
using tok_test::read_file;

const std::vector<ChatMessage> kMultiTurn = {
    {"system", "You are a careful assistant."},
    {"user", "What is 2+2?"},
    {"assistant", "<think>\nTwo plus two.\n</think>\n\n2+2 = 4."},
    {"user", "And 3+3?"},
};
const std::vector<ChatMessage> kPlain = {{"user", "Hi!"}};
const std::vector<ChatMessage> kTwoSystems = {{"system", "First."}, {"system", "Second."}, {"user", "Go"}};
const std::vector<ChatMessage> kNoThinkHistory = {{"user", "a"}, {"assistant", "b"}, {"user", "c"}};

// A tiny tokenizer folder with the given bos token and chat template (render_chat reads only those two).
class TemplateTokenizer {
 public:
  explicit TemplateTokenizer(const std::string& chat_template) {
    dir_.write("vocab.json", R"({"a": 0, "b": 1, "ab": 2})");
    dir_.write("merges.txt", "a b\n");
    dir_.write("tokenizer_config.json",
               R"({"bos_token": "<｜begin▁of▁sentence｜>",)"
               R"( "added_tokens_decoder": {"3": {"content": "<｜begin▁of▁sentence｜>", "special": true}}})");
    auto t = Tokenizer::load_dir(dir_.path());
    if (t) {
      tokenizer_ = std::move(t).value();
      tokenizer_->set_chat_template(chat_template);
    } else {
      error_ = t.message();
    }
  }
  const Tokenizer* get() const { return tokenizer_.get(); }
  const std::string& error() const { return error_; }

 private:
  tok_test::TempDir dir_;
  std::unique_ptr<Tokenizer> tokenizer_;
  std::string error_;
};

std::string render(const Tokenizer& t, const std::vector<ChatMessage>& messages, bool generation_prompt) {
  auto r = render_chat(t, messages, generation_prompt);
  EXPECT_TRUE(r.is_ok()) << r.message();
  return r.is_ok() ? *r : std::string();
}

TEST(ChatFormat, DeepSeekR1MultiTurnStripsEarlierReasoning) {
  // The R1-Distill fixture folder carries the Feb-2025 template as chat_template.jinja.
  std::string error;
  const Tokenizer* t = tok_test::r1_distill_qwen(&error);
  ASSERT_NE(t, nullptr) << error;
  const std::string prompt = render(*t, kMultiTurn, true);
  // As the template does it: content.split('</think>')[-1], so the blank line after </think> stays.
  EXPECT_EQ(
      prompt,
      "<｜begin▁of▁sentence｜>You are a careful assistant.<｜User｜>What is 2+2?<｜Assistant｜>\n\n2+2 = 4."
      "<｜end▁of▁sentence｜><｜User｜>And 3+3?<｜Assistant｜><think>\n");
  EXPECT_TRUE(prompt_ends_in_reasoning(prompt));
  EXPECT_EQ(render(*t, kPlain, true), "<｜begin▁of▁sentence｜><｜User｜>Hi!<｜Assistant｜><think>\n");
  EXPECT_EQ(render(*t, kTwoSystems, false),
            "<｜begin▁of▁sentence｜>Second.<｜User｜>Go");  // the last system wins
  EXPECT_EQ(render(*t, kNoThinkHistory, true),
            "<｜begin▁of▁sentence｜><｜User｜>a<｜Assistant｜>b<｜end▁of▁sentence｜><｜User｜>c<"
            "｜Assistant｜><think>\n");
}

TEST(ChatFormat, DeepSeekR1PromptEncodesWithTheSpecialTokens) {
  std::string error;
  const Tokenizer* t = tok_test::r1_distill_qwen(&error);
  ASSERT_NE(t, nullptr) << error;
  const std::vector<int32_t> ids = t->encode(render(*t, kPlain, true));  // BOS is in the text
  EXPECT_EQ(ids, (std::vector<int32_t>{151646, 151644, 13048, 0, 151645, 151648, 198}));
}

TEST(ChatFormat, DeepSeekR1January2025TemplateHasNoThinkInThePrompt) {
  TemplateTokenizer t(read_file(fixture("chat-templates/deepseek-r1-distill-qwen-14b-jan2025.jinja")));
  ASSERT_NE(t.get(), nullptr) << t.error();
  const std::string prompt = render(*t.get(), kMultiTurn, true);
  EXPECT_EQ(
      prompt,
      "<｜begin▁of▁sentence｜>You are a careful assistant.<｜User｜>What is 2+2?<｜Assistant｜>\n\n2+2 = 4."
      "<｜end▁of▁sentence｜><｜User｜>And 3+3?<｜Assistant｜>");
  EXPECT_FALSE(prompt_ends_in_reasoning(prompt));
}

TEST(ChatFormat, DeepSeekV3KeepsHistoryAndJoinsSystemPrompts) {
  std::string error;
  const Tokenizer* t = tok_test::deepseek_v3(&error);
  ASSERT_NE(t, nullptr) << error;
  EXPECT_EQ(
      render(*t, kMultiTurn, true),
      "<｜begin▁of▁sentence｜>You are a careful assistant.<｜User｜>What is 2+2?<｜Assistant｜><think>\nTwo "
      "plus two.\n</think>\n\n2+2 = 4.<｜end▁of▁sentence｜><｜User｜>And 3+3?<｜Assistant｜>");
  EXPECT_EQ(render(*t, kTwoSystems, true),
            "<｜begin▁of▁sentence｜>First.\n\nSecond.<｜User｜>Go<｜Assistant｜>");
}

TEST(ChatFormat, ChatMlWithQwenDefaultSystemPrompt) {
  std::string error;
  const Tokenizer* t = tok_test::shared_tokenizer("qwen2", &error);
  ASSERT_NE(t, nullptr) << error;
  EXPECT_EQ(
      render(*t, kMultiTurn, true),
      "<|im_start|>system\nYou are a careful assistant.<|im_end|>\n<|im_start|>user\nWhat is 2+2?<|im_end|>\n"
      "<|im_start|>assistant\n<think>\nTwo plus two.\n</think>\n\n2+2 = 4.<|im_end|>\n<|im_start|>user\nAnd "
      "3+3?<|im_end|>\n<|im_start|>assistant\n");
  EXPECT_EQ(
      render(*t, kPlain, true),
      "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n"
      "<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\n");
  EXPECT_EQ(
      render(*t, kNoThinkHistory, false),
      "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n"
      "<|im_start|>user\na<|im_end|>\n<|im_start|>assistant\nb<|im_end|>\n<|im_start|>user\nc<|im_end|>\n");
}

// The bundled tiny-r1 (models/tiny-r1): its template against jinja2 3.1 (transformers' environment, the outputs
// below printed by it), and its tokenizer against Hugging Face tokenizers 0.23 (the ids below).
TEST(ChatFormat, TinyR1TemplateAndTokenizerMatchTheReferences) {
  auto tok = Tokenizer::load_dir(std::string(R1_MODELS_DIR) + "/tiny-r1");
  ASSERT_TRUE(tok.is_ok()) << tok.message();
  const std::string bos = "<｜begin▁of▁sentence｜>", ask = "<｜User｜>", answer = "<｜Assistant｜>";
  const std::string instruction = "\nPlease reason step by step, and put your final answer within \\boxed{}.";
  struct Case {
    std::vector<ChatMessage> messages;
    bool generation_prompt;
    std::string want;
  };
  const std::vector<Case> cases = {
      // The instruction is appended when missing, and not twice when present.
      {{{"user", "What is 123 + 456?"}}, true, bos + ask + "What is 123 + 456?" + instruction + answer + "<think>\n"},
      {{{"user", "What is 1 + 2?" + instruction}}, true, bos + ask + "What is 1 + 2?" + instruction + answer + "<think>\n"},
      // Only the last user turn is shown.
      {{{"user", "What is 1 + 2?"}, {"assistant", "3"}, {"user", "And 5 + 6?"}},
       true,
       bos + ask + "And 5 + 6?" + instruction + answer + "<think>\n"},
      {{{"system", "S"}, {"user", "Q"}, {"assistant", "A"}},
       false,
       bos + "S" + ask + "Q" + instruction + answer + "A<｜end▁of▁sentence｜>"},
  };
  for (const Case& c : cases) {
    auto text = render_chat(**tok, c.messages, c.generation_prompt);
    ASSERT_TRUE(text.is_ok()) << text.message();
    EXPECT_EQ(*text, c.want);
  }
  EXPECT_EQ((*tok)->encode(cases[0].want, false),
            (std::vector<int32_t>{505, 507, 373, 16, 17, 18, 259, 19, 20, 21, 371, 508, 509, 198}));
  EXPECT_EQ((*tok)->encode("Add 708 and 295 digit by digit, starting from the ones place.\n8 + 5 + 0 = 13, write 3, "
                           "carry 1.\n</think>\n\nThe answer is \\boxed{1003}.",
                           false),
            (std::vector<int32_t>{372, 22, 15, 23, 378, 17, 24, 20, 383, 23, 259, 20, 259, 15, 264, 16, 18, 277, 18, 280, 16,
                                  261, 510, 358, 16, 15, 15, 18, 291}));
  EXPECT_EQ((*tok)->encode("Héllo wörld 12,345 ünïcödé 日本", false),
            (std::vector<int32_t>{39, 127, 102, 75, 75, 78, 220, 86, 127, 114, 81, 75, 278, 16, 17, 11, 18, 19, 20,
                                  220, 127, 120, 77, 127, 107, 66, 127, 114, 67, 127, 102, 220, 162, 245, 98, 162, 250,
                                  105}));
}

TEST(ChatFormat, Errors) {
  std::string error;
  const Tokenizer* stories = tok_test::stories260k(&error);
  ASSERT_NE(stories, nullptr) << error;
  auto none = render_chat(*stories, kPlain, true);
  ASSERT_FALSE(none.is_ok());
  EXPECT_NE(none.message().find("model has no chat template"), std::string::npos) << none.message();

  // Any template is rendered as Jinja: a syntax error or raise_exception comes back with line and column.
  TemplateTokenizer broken("line one\n{% if messages %}{{ messages[0]['content'] }");
  ASSERT_NE(broken.get(), nullptr) << broken.error();
  auto r = render_chat(*broken.get(), kPlain, true);
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.message().find("chat_template:2:"), std::string::npos) << r.message();
  TemplateTokenizer raises("{% if messages[0]['role'] != 'system' %}{{ raise_exception('system first') }}{% endif %}");
  ASSERT_NE(raises.get(), nullptr) << raises.error();
  r = render_chat(*raises.get(), kPlain, true);
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.message().find("system first"), std::string::npos) << r.message();
  TemplateTokenizer plain("{{ messages[0]['content'] }}");
  ASSERT_NE(plain.get(), nullptr) << plain.error();
  auto ok = render_chat(*plain.get(), kPlain, true);
  ASSERT_TRUE(ok.is_ok()) << ok.message();
}

TEST(ChatFormat, ParserStartsInReasoningAfterAnR1Prompt) {
  std::string error;
  const Tokenizer* t = tok_test::r1_distill_qwen(&error);
  ASSERT_NE(t, nullptr) << error;
  ReasoningParser parser(prompt_ends_in_reasoning(render(*t, kPlain, true)));
  ReasoningDelta d = parser.push("Greeting.\n</think>\n\nHello!");
  EXPECT_EQ(d.reasoning, "Greeting.");
  EXPECT_EQ(d.content, "Hello!");
}

}  // namespace
}  // namespace r1
