// Tokenizers from GGUF vocabularies: llama.cpp's DeepSeek-LLM and DeepSeek-Coder vocab files with their
// golden vectors, a SentencePiece ("llama") vocabulary that merges by score (stories260K, checked against the
// HF tokenizer.json of the same vocabulary), malformed metadata as errors, and corrupted files that never
// crash.
#include <gtest/gtest.h>

#include <random>

#include "io/gguf.h"
#include "tokenizer/gguf_writer.h"
#include "tokenizer/tokenizer_test_util.h"

namespace r1 {
namespace {

using namespace gguf_test;  // NOLINT
using tok_test::fixture;
using Ids = std::vector<int32_t>;

std::unique_ptr<Tokenizer> load(const std::string& rel) {
  auto t = Tokenizer::load(fixture(rel));
  EXPECT_TRUE(t.is_ok()) << t.message();
  return t.is_ok() ? std::move(t).value() : nullptr;
}

const Tokenizer& shared(const std::string& rel) {
  static std::map<std::string, std::unique_ptr<Tokenizer>> cache;
  auto& t = cache[rel];
  if (!t) t = load(rel);
  return *t;
}

void expect_vectors(const Tokenizer& t, const std::string& name, size_t n_cases) {
  const auto cases =
      tok_test::read_vectors(fixture("vectors/" + name + ".inp"), fixture("vectors/" + name + ".out"));
  ASSERT_EQ(cases.size(), n_cases) << name;
  for (size_t i = 0; i < cases.size(); ++i) {
    const Ids ids = t.encode(cases[i].text);
    EXPECT_EQ(ids, cases[i].ids) << name << " case " << i << ": \"" << cases[i].text << "\"";
    EXPECT_EQ(t.decode(ids), cases[i].text) << name << " case " << i;
  }
}

TEST(TokenizerGguf, DeepSeekLlmGoldenVectors) {
  expect_vectors(shared("vectors/ggml-vocab-deepseek-llm.gguf"), "ggml-vocab-deepseek-llm.gguf", 47);
}

TEST(TokenizerGguf, DeepSeekCoderGoldenVectors) {
  expect_vectors(shared("vectors/ggml-vocab-deepseek-coder.gguf"), "ggml-vocab-deepseek-coder.gguf", 47);
}

TEST(TokenizerGguf, DeepSeekLlmSpecialTokensAndBos) {
  const Tokenizer& t = shared("vectors/ggml-vocab-deepseek-llm.gguf");
  EXPECT_EQ(t.vocab_size(), 102400);
  EXPECT_EQ(t.bos_id(), 100000);
  EXPECT_EQ(t.eos_id(), 100001);
  EXPECT_TRUE(t.add_bos());
  EXPECT_EQ(t.bos_token(), "<｜begin▁of▁sentence｜>");
  // Control tokens are matched in text and are special; user-defined ones are matched but not special.
  const Ids ids = t.encode("<｜begin▁of▁sentence｜>Hi[PAD100015]", /*add_special=*/false);
  ASSERT_EQ(ids.size(), 3u);
  EXPECT_EQ(ids[0], 100000);
  EXPECT_EQ(ids[2], 100015);
  EXPECT_TRUE(t.is_special(100000));
  EXPECT_FALSE(t.is_special(100015));
  EXPECT_EQ(t.decode(ids, /*skip_special=*/true), "Hi[PAD100015]");
  EXPECT_EQ(t.encode("Hi", /*add_special=*/true).front(), 100000);
  EXPECT_EQ(t.encode("Hi", /*add_special=*/true).size(), 2u);  // no EOS: add_eos_token is false
}

TEST(TokenizerGguf, SentencePieceVocabMergesByScore) {
  // The same 512-piece vocabulary as stories260k/tokenizer.json, whose merges HF derived from the scores.
  std::string error;
  const Tokenizer* hf = tok_test::stories260k(&error);
  ASSERT_NE(hf, nullptr) << error;
  const Tokenizer& t = shared("stories260k/stories260k-vocab.gguf");
  EXPECT_EQ(t.vocab_size(), 512);
  EXPECT_EQ(t.bos_id(), 1);
  EXPECT_EQ(t.eos_id(), 2);
  EXPECT_TRUE(t.add_bos());
  const auto cases =
      tok_test::read_vectors(fixture("vectors/hf-stories260k.inp"), fixture("vectors/hf-stories260k.out"));
  ASSERT_EQ(cases.size(), 92u);
  for (size_t i = 0; i < cases.size(); ++i) {
    EXPECT_EQ(t.encode(cases[i].text), cases[i].ids) << "case " << i << ": \"" << cases[i].text << "\"";
    EXPECT_EQ(t.decode(cases[i].ids), hf->decode(cases[i].ids)) << "case " << i;
  }
  EXPECT_EQ(t.encode("Once upon a time", true), hf->encode("Once upon a time", true));
  EXPECT_EQ(t.decode(t.encode("Once upon a time")), "Once upon a time");
}

TEST(TokenizerGguf, LoadDispatchesOnFileOrFolderAndPreOverride) {
  EXPECT_TRUE(Tokenizer::load(fixture("deepseek-v3")).is_ok());
  auto missing = Tokenizer::load("/nonexistent/x.gguf");
  ASSERT_FALSE(missing.is_ok());
  EXPECT_NE(missing.message().find("/nonexistent/x.gguf"), std::string::npos) << missing.message();
  auto not_gguf = Tokenizer::load(fixture("deepseek-v3/tokenizer.json"));
  ASSERT_FALSE(not_gguf.is_ok());
  EXPECT_NE(not_gguf.message().find("not a GGUF file"), std::string::npos) << not_gguf.message();
  // The DeepSeek-LLM vocab with the qwen2 preset instead of its own, which NFC-normalizes "e" + U+0301 to
  // "é".
  auto qwen2 = Tokenizer::load(fixture("vectors/ggml-vocab-deepseek-llm.gguf"),
                               TokenizerLoadOptions{.pre_tokenizer = PreTokenizerKind::kQwen2});
  ASSERT_TRUE(qwen2.is_ok()) << qwen2.message();
  const Tokenizer& own = shared("vectors/ggml-vocab-deepseek-llm.gguf");
  EXPECT_EQ((*qwen2)->encode("e\xCC\x81"), own.encode("\xC3\xA9"));
  EXPECT_NE(own.encode("e\xCC\x81"), own.encode("\xC3\xA9"));
}

// ---- hand-written vocabularies ----

// A tiny byte-level vocabulary: a b ab, a control BOS; `edit` can add or replace keys.
GgufWriter tiny_gpt2(const std::string& pre = "gpt2") {
  GgufWriter w;
  w.kv_string("tokenizer.ggml.model", "gpt2");
  if (!pre.empty()) w.kv_string("tokenizer.ggml.pre", pre);
  w.kv("tokenizer.ggml.tokens", kArray, string_array({"a", "b", "ab", "Ġ", "<s>", "<u>"}))
      .kv("tokenizer.ggml.token_type", kArray, scalar_array<int32_t>(kI32, {1, 1, 1, 1, 3, 4}))
      .kv("tokenizer.ggml.merges", kArray, string_array({"a b"}))
      .kv_u32("tokenizer.ggml.bos_token_id", 4);
  return w;
}

Result<std::unique_ptr<Tokenizer>> from(const GgufWriter& w) {
  auto f = GgufFile::from_bytes(w.bytes(), "v.gguf");
  if (!f.is_ok()) return f.status();
  return Tokenizer::from_gguf(*f);
}

void expect_error(const GgufWriter& w, std::initializer_list<std::string> needles) {
  auto t = from(w);
  ASSERT_FALSE(t.is_ok()) << "loaded although it should not";
  for (const std::string& n : needles) EXPECT_NE(t.message().find(n), std::string::npos) << t.message();
}

TEST(TokenizerGguf, TinyVocabulary) {
  auto t = from(tiny_gpt2()
                    .kv_string("tokenizer.chat_template", "{{ x }}")
                    .kv_bool("tokenizer.ggml.add_bos_token", true));
  ASSERT_TRUE(t.is_ok()) << t.message();
  EXPECT_EQ((*t)->encode("ab a<s>b<u>", true), (Ids{4, 2, 3, 0, 4, 1, 5}));
  EXPECT_EQ((*t)->decode(Ids{4, 2, 3, 0, 4, 1, 5}, true), "ab ab<u>");
  EXPECT_EQ((*t)->chat_template(), "{{ x }}");
  EXPECT_EQ((*t)->bos_id(), 4);
  // No tokenizer.ggml.pre: gpt2.
  EXPECT_TRUE(from(tiny_gpt2("")).is_ok());
}

TEST(TokenizerGguf, MalformedVocabularyIsAnErrorNamingTheKey) {
  expect_error(
      tiny_gpt2("deepseek-v9"),
      {"v.gguf", "\"tokenizer.ggml.pre\" is \"deepseek-v9\"",
       "supported: qwen2, deepseek-v3, deepseek-llm, deepseek-coder, llama-bpe, gpt2, deepseek-r1-qwen"});
  expect_error(GgufWriter().kv_string("tokenizer.ggml.model", "bert"),
               {"\"tokenizer.ggml.model\" is \"bert\"", "supported: gpt2, llama"});
  expect_error(GgufWriter().kv_string("general.name", "x"), {"\"tokenizer.ggml.model\" is missing"});
  expect_error(GgufWriter().kv_string("tokenizer.ggml.model", "gpt2"),
               {"\"tokenizer.ggml.tokens\" is missing"});
  expect_error(GgufWriter()
                   .kv_string("tokenizer.ggml.model", "gpt2")
                   .kv("tokenizer.ggml.tokens", kArray, scalar_array<int32_t>(kI32, {1})),
               {"\"tokenizer.ggml.tokens\" is of type array of int32, expected an array of string"});
  expect_error(tiny_gpt2().kv("tokenizer.ggml.merges", kArray, string_array({})),
               {"\"tokenizer.ggml.merges\" appears twice"});
  GgufWriter no_merges;
  no_merges.kv_string("tokenizer.ggml.model", "gpt2")
      .kv("tokenizer.ggml.tokens", kArray, string_array({"a"}));
  expect_error(no_merges, {"\"tokenizer.ggml.merges\" is missing"});
  GgufWriter bad_merge;
  bad_merge.kv_string("tokenizer.ggml.model", "gpt2")
      .kv("tokenizer.ggml.tokens", kArray, string_array({"a", "b"}))
      .kv("tokenizer.ggml.merges", kArray, string_array({"ab"}));
  expect_error(bad_merge, {"\"tokenizer.ggml.merges\"[0] = \"ab\" is not two tokens"});
  GgufWriter unknown_merge;
  unknown_merge.kv_string("tokenizer.ggml.model", "gpt2")
      .kv("tokenizer.ggml.tokens", kArray, string_array({"a", "b"}))
      .kv("tokenizer.ggml.merges", kArray, string_array({"a c"}));
  expect_error(unknown_merge, {"v.gguf", "merge 1 \"a c\""});
  GgufWriter bad_bos;
  bad_bos.kv_string("tokenizer.ggml.model", "gpt2")
      .kv("tokenizer.ggml.tokens", kArray, string_array({"a"}))
      .kv("tokenizer.ggml.merges", kArray, string_array({}))
      .kv_u32("tokenizer.ggml.bos_token_id", 7);
  expect_error(bad_bos, {"\"tokenizer.ggml.bos_token_id\" is 7, outside the 1 tokens"});
  GgufWriter bad_types;
  bad_types.kv_string("tokenizer.ggml.model", "gpt2")
      .kv("tokenizer.ggml.tokens", kArray, string_array({"a", "b"}))
      .kv("tokenizer.ggml.token_type", kArray, scalar_array<int32_t>(kI32, {1}));
  expect_error(bad_types, {"\"tokenizer.ggml.token_type\" has 1 entries for 2 tokens"});
  GgufWriter bad_type_value;
  bad_type_value.kv_string("tokenizer.ggml.model", "gpt2")
      .kv("tokenizer.ggml.tokens", kArray, string_array({"a"}))
      .kv("tokenizer.ggml.token_type", kArray, scalar_array<int32_t>(kI32, {9}));
  expect_error(bad_type_value, {"\"tokenizer.ggml.token_type\"[0] is not a token type"});
  GgufWriter no_scores;
  no_scores.kv_string("tokenizer.ggml.model", "llama")
      .kv("tokenizer.ggml.tokens", kArray, string_array({"a"}));
  expect_error(no_scores, {"\"tokenizer.ggml.scores\" is missing"});
  GgufWriter bad_add_bos = tiny_gpt2();
  bad_add_bos.kv_u32("tokenizer.ggml.add_bos_token", 1);
  expect_error(bad_add_bos, {"\"tokenizer.ggml.add_bos_token\" is of type uint32, expected a bool"});
}

TEST(TokenizerGguf, CorruptedVocabFilesNeverCrash) {
  const std::string image = tok_test::read_file(fixture("stories260k/stories260k-vocab.gguf"));
  ASSERT_FALSE(image.empty());
  std::mt19937 rng(99);
  int loaded = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string m = image;
    for (int k = 0, n = 1 + static_cast<int>(rng() % 3); k < n && !m.empty(); ++k) {
      const size_t pos = rng() % m.size();
      switch (rng() % 4) {
        case 0:
          m[pos] = static_cast<char>(m[pos] ^ (1 << (rng() % 8)));
          break;
        case 1:
          m[pos] = static_cast<char>(rng());
          break;
        case 2:
          m.resize(pos);
          break;
        default:
          m.erase(pos, 1 + rng() % 8);
          break;
      }
    }
    auto f = GgufFile::from_bytes(to_bytes(m), "m.gguf");
    if (!f.is_ok()) continue;
    auto t = Tokenizer::from_gguf(*f);
    if (!t.is_ok()) {
      EXPECT_EQ(t.message().rfind("m.gguf", 0), 0u) << t.message();
      continue;
    }
    ++loaded;
    const Ids ids = (*t)->encode("Once upon a time, <s> 毕 \xff", true);
    (*t)->decode(ids);
  }
  EXPECT_GT(loaded, 0);
}

}  // namespace
}  // namespace r1
