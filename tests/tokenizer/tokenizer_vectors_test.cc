// Encoding conformance: llama.cpp's tokenizer vectors (Qwen2, R1-Distill-Qwen) and vectors produced by the HF
// `tokenizers` library for every tokenizer fixture (see tests/fixtures/tokenizers/README.md).
#include <gtest/gtest.h>

#include "tokenizer/tokenizer_test_util.h"

namespace r1 {
namespace {

using tok_test::fixture;
using tok_test::read_vectors;

// Every case encodes to its ids; with `roundtrip`, decoding them gives the string back.
void expect_vectors(const Tokenizer& t, const std::string& inp, const std::string& out, size_t n_cases,
                    bool roundtrip) {
  const auto cases = read_vectors(fixture("vectors/" + inp), fixture("vectors/" + out));
  ASSERT_EQ(cases.size(), n_cases) << inp;
  for (size_t i = 0; i < cases.size(); ++i) {
    const std::vector<int32_t> ids = t.encode(cases[i].text);
    EXPECT_EQ(ids, cases[i].ids) << inp << " case " << i << ": \"" << cases[i].text << "\"";
    if (roundtrip) {
      EXPECT_EQ(t.decode(ids), cases[i].text) << inp << " case " << i;
    }
  }
}

TEST(TokenizerVectors, Qwen2FolderPicksQwen2PresetFromTokenizerClass) {
  std::string error;
  const Tokenizer* t = tok_test::shared_tokenizer("qwen2", &error);  // tokenizer_class: Qwen2Tokenizer
  ASSERT_NE(t, nullptr) << error;
  expect_vectors(*t, "ggml-vocab-qwen2.gguf.inp", "ggml-vocab-qwen2.gguf.out", 47, /*roundtrip=*/true);
}

TEST(TokenizerVectors, R1DistillQwenLlamaCppVectors) {
  std::string error;
  const Tokenizer* t = tok_test::r1_distill_qwen(&error);
  ASSERT_NE(t, nullptr) << error;
  expect_vectors(*t, "ggml-vocab-deepseek-r1-qwen.gguf.inp", "ggml-vocab-deepseek-r1-qwen.gguf.out", 47,
                 /*roundtrip=*/true);
}

TEST(TokenizerVectors, R1DistillQwenMatchesHfTokenizers) {
  std::string error;
  const Tokenizer* t = tok_test::r1_distill_qwen(&error);
  ASSERT_NE(t, nullptr) << error;
  // No round trip: some random strings are not in NFC, and the normalizer composes them.
  expect_vectors(*t, "hf-deepseek-r1-distill-qwen.inp", "hf-deepseek-r1-distill-qwen.out", 97, false);
}

TEST(TokenizerVectors, DeepSeekV3MatchesHfTokenizers) {
  std::string error;
  const Tokenizer* t = tok_test::deepseek_v3(&error);
  ASSERT_NE(t, nullptr) << error;
  expect_vectors(*t, "hf-deepseek-v3.inp", "hf-deepseek-v3.out", 97, /*roundtrip=*/true);
}

TEST(TokenizerVectors, Stories260kMatchesHfTokenizers) {
  std::string error;
  const Tokenizer* t = tok_test::stories260k(&error);
  ASSERT_NE(t, nullptr) << error;
  expect_vectors(*t, "hf-stories260k.inp", "hf-stories260k.out", 92, false);
}

TEST(TokenizerVectors, Stories260kMetaspaceVariantMatchesHfTokenizers) {
  std::string error;
  const Tokenizer* t = tok_test::shared_tokenizer("stories260k/metaspace", &error);
  ASSERT_NE(t, nullptr) << error;
  expect_vectors(*t, "hf-stories260k.inp", "hf-stories260k-metaspace.out", 92, false);
}

}  // namespace
}  // namespace r1
