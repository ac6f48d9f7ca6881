// write_gguf_tokenizer: fixture tokenizers are written to a GGUF file with GgufWriter, loaded back with
// Tokenizer::load_gguf (the independent reader in gguf_vocab.cc) and must tokenize exactly like the original
// on every string of the conformance fixtures and vector files: same ids (with and without special tokens),
// same vocabulary, special tokens, BOS/EOS and chat template.
#include "tokenizer/gguf_export.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "io/gguf.h"
#include "io/gguf_keys.h"
#include "tokenizer/tokenizer_spec.h"
#include "tokenizer/tokenizer_test_util.h"

namespace r1 {
namespace {

using tok_test::fixture;

#define EXPECT_HAS(haystack, needle) EXPECT_NE((haystack).find(needle), std::string::npos) << (haystack)

// Every test string the tokenizer fixtures hold: the conformance .jsonl texts and the vector .inp files.
const std::vector<std::string>& test_strings() {
  static const std::vector<std::string> strings = [] {
    std::vector<std::string> out;
    for (const char* name : {"deepseek-r1-distill-qwen", "deepseek-v3", "stories260k"}) {
      std::istringstream lines(tok_test::read_file(fixture(std::string("conformance/") + name + ".jsonl")));
      for (std::string line; std::getline(lines, line);) {
        const auto j = nlohmann::json::parse(line, nullptr, false);
        if (!j.is_discarded() && j.contains("text")) out.push_back(j["text"].get<std::string>());
      }
    }
    for (const char* name : {"hf-deepseek-v3", "hf-deepseek-r1-distill-qwen", "hf-stories260k",
                             "ggml-vocab-qwen2.gguf", "ggml-vocab-deepseek-llm.gguf"}) {
      const std::string base = fixture(std::string("vectors/") + name);
      for (const auto& c : tok_test::read_vectors(base + ".inp", base + ".out")) out.push_back(c.text);
    }
    out.push_back("<｜User｜>Hi<｜Assistant｜><think>\nx</think> <|im_start|>user\nhey<|im_end|>");
    return out;
  }();
  return strings;
}

std::unique_ptr<Tokenizer> round_trip(const Tokenizer& original, const std::string& path,
                                      std::string* error) {
  GgufWriter w;
  w.set_string("general.architecture", "qwen2");
  const Status s = write_gguf_tokenizer(original, w);
  if (!s.is_ok()) {
    *error = s.message();
    return nullptr;
  }
  const Status written = w.write(path);
  if (!written.is_ok()) {
    *error = written.message();
    return nullptr;
  }
  auto loaded = Tokenizer::load_gguf(path);
  if (!loaded.is_ok()) {
    *error = loaded.message();
    return nullptr;
  }
  return std::move(loaded).value();
}

void expect_same(const Tokenizer& a, const Tokenizer& b) {
  ASSERT_EQ(a.vocab_size(), b.vocab_size());
  for (int32_t id = 0; id < a.vocab_size(); ++id) {
    if (a.token_text(id) != b.token_text(id) || a.is_special(id) != b.is_special(id)) {
      ADD_FAILURE() << "id " << id << ": \"" << a.token_text(id) << "\" special " << a.is_special(id)
                    << " became \"" << b.token_text(id) << "\" special " << b.is_special(id);
      break;
    }
  }
  EXPECT_EQ(a.bos_id(), b.bos_id());
  EXPECT_EQ(a.eos_id(), b.eos_id());
  EXPECT_EQ(a.add_bos(), b.add_bos());
  EXPECT_EQ(a.bos_token(), b.bos_token());
  EXPECT_EQ(a.eos_token(), b.eos_token());
  EXPECT_EQ(a.chat_template(), b.chat_template());
  int mismatches = 0, checked = 0;
  for (const std::string& s : test_strings()) {
    for (bool add_special : {false, true}) {
      const std::vector<int32_t> want = a.encode(s, add_special);
      const std::vector<int32_t> got = b.encode(s, add_special);
      ++checked;
      if (want != got && ++mismatches <= 5) {
        ADD_FAILURE() << "encode(\"" << s.substr(0, 80) << "\", add_special=" << add_special
                      << ") differs: " << want.size() << " ids vs " << got.size();
      }
      if (want == got && b.decode(got) != a.decode(want) && ++mismatches <= 5) {
        ADD_FAILURE() << "decode differs for \"" << s.substr(0, 80) << "\"";
      }
    }
  }
  EXPECT_EQ(mismatches, 0) << "of " << checked << " encodings";
  EXPECT_GT(checked, 200);
}

struct Case {
  std::string dir;  // under tests/fixtures/
  std::optional<PreTokenizerKind> preset;
  std::string model;  // tokenizer.ggml.model written
  std::string pre;    // tokenizer.ggml.pre written
};

class GgufExport : public ::testing::TestWithParam<Case> {};

TEST_P(GgufExport, RoundTripsThroughGguf) {
  const Case& c = GetParam();
  auto original =
      Tokenizer::load_dir(std::string(R1_FIXTURES_DIR) + "/" + c.dir, {.pre_tokenizer = c.preset});
  ASSERT_TRUE(original.is_ok()) << original.message();
  tok_test::TempDir dir;
  const std::string path = dir.path() + "/tok.gguf";
  std::string error;
  auto exported = round_trip(**original, path, &error);
  ASSERT_NE(exported, nullptr) << error;

  auto f = GgufFile::open(path);
  ASSERT_TRUE(f.is_ok()) << f.message();
  EXPECT_EQ(*f->get_string(gguf_key::kTokenizerModel), c.model);
  EXPECT_EQ(*f->get_string(gguf_key::kTokenizerPre), c.pre);
  EXPECT_EQ(f->find(gguf_key::kTokens)->as_array()->size, uint64_t((*original)->vocab_size()));
  EXPECT_EQ(f->find(gguf_key::kTokenType)->type_string(), "array of int32");

  expect_same(**original, *exported);
}

INSTANTIATE_TEST_SUITE_P(
    Fixtures, GgufExport,
    ::testing::Values(Case{"tokenizers/deepseek-r1-distill-qwen", PreTokenizerKind::kQwen2, "gpt2", "qwen2"},
                      Case{"tokenizers/deepseek-v3", std::nullopt, "gpt2", "deepseek-v3"},
                      Case{"tokenizers/qwen2", std::nullopt, "gpt2", "qwen2"},
                      Case{"models/qwen2_gqa4", std::nullopt, "gpt2", "qwen2"},
                      Case{"tokenizers/stories260k", std::nullopt, "llama", "default"}),
    [](const ::testing::TestParamInfo<Case>& info) {
      std::string name = info.param.dir.substr(info.param.dir.find('/') + 1);
      for (char& ch : name)
        if (!isalnum(static_cast<unsigned char>(ch))) ch = '_';
      return name;
    });

TEST(GgufExport, ControlAndUserDefinedTokenTypes) {
  const Tokenizer* t = tok_test::deepseek_v3();
  ASSERT_NE(t, nullptr);
  GgufWriter w;
  ASSERT_TRUE(write_gguf_tokenizer(*t, w).is_ok());
  tok_test::TempDir dir;
  ASSERT_TRUE(w.write(dir.path() + "/t.gguf").is_ok());
  auto f = GgufFile::open(dir.path() + "/t.gguf");
  ASSERT_TRUE(f.is_ok()) << f.message();
  const GgufArray* types = f->find(gguf_key::kTokenType)->as_array();
  const GgufArray* tokens = f->find(gguf_key::kTokens)->as_array();
  ASSERT_EQ(types->size, tokens->size);
  // llama.cpp's llama_token_type: 1 normal, 3 control (special added tokens), 4 user-defined (other added
  // ones).
  std::map<int32_t, bool> added;
  for (const auto& a : t->spec().added_tokens) added[a.id] = t->is_special(a.id);
  ASSERT_FALSE(added.empty());
  int bad = 0;
  for (uint64_t id = 0; id < tokens->size; ++id) {
    const auto it = added.find(int32_t(id));
    const int64_t want = it == added.end() ? 1 : it->second ? 3 : 4;
    if (*types->int_at(id) != want && ++bad <= 5) {
      ADD_FAILURE() << "id " << id << " \"" << tokens->strings[id] << "\" type " << *types->int_at(id);
    }
  }
  const auto bos = t->token_id("<｜begin▁of▁sentence｜>");
  ASSERT_TRUE(bos.has_value());
  EXPECT_EQ(*types->int_at(uint64_t(*bos)), 3);
  EXPECT_EQ(*f->get_int(gguf_key::kBosTokenId), *t->bos_id());
  EXPECT_EQ(*f->get_int(gguf_key::kEosTokenId), *t->eos_id());
  EXPECT_EQ(*f->get_bool(gguf_key::kAddBosToken), t->add_bos());
  const GgufArray* merges = f->find(gguf_key::kMerges)->as_array();
  ASSERT_NE(merges, nullptr);
  EXPECT_GT(merges->size, 0u);
  EXPECT_EQ(std::count(merges->strings[0].begin(), merges->strings[0].end(), ' '), 1);
}

TEST(GgufExport, RefusesUnexpressibleTokenizers) {
  // A byte-level tokenizer whose split regex is none of the presets.
  tok_test::TempDir dir;
  dir.write("tokenizer.json", R"({
    "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b"]},
    "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
      {"type": "Split", "pattern": {"Regex": "[ab]+"}, "behavior": "Isolated", "invert": false},
      {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false}]},
    "decoder": {"type": "ByteLevel"}
  })");
  auto t = Tokenizer::load_dir(dir.path());
  ASSERT_TRUE(t.is_ok()) << t.message();
  GgufWriter w;
  const Status s = write_gguf_tokenizer(**t, w);
  ASSERT_FALSE(s.is_ok());
  EXPECT_HAS(s.message(), "matches none of the presets");
}

}  // namespace
}  // namespace r1

namespace r1 {
namespace {

// A model whose embedding has more rows than the tokenizer has tokens (Qwen2: 151936 vs 151665) gets the list
// padded with unused "[PAD<id>]" placeholders, as llama.cpp's converter writes it; encoding is unchanged.
TEST(GgufExport, PadsTokenListToModelVocabulary) {
  const Tokenizer* t = tok_test::deepseek_v3();
  ASSERT_NE(t, nullptr);
  const int64_t padded = int64_t(t->vocab_size()) + 7;
  GgufWriter w;
  ASSERT_TRUE(write_gguf_tokenizer(*t, w, padded).is_ok());
  tok_test::TempDir dir;
  ASSERT_TRUE(w.write(dir.path() + "/t.gguf").is_ok());
  auto f = GgufFile::open(dir.path() + "/t.gguf");
  ASSERT_TRUE(f.is_ok()) << f.message();
  const GgufArray* tokens = f->find(gguf_key::kTokens)->as_array();
  const GgufArray* types = f->find(gguf_key::kTokenType)->as_array();
  ASSERT_EQ(int64_t(tokens->size), padded);
  ASSERT_EQ(int64_t(types->size), padded);
  EXPECT_EQ(tokens->strings.back(), fmt::format("[PAD{}]", padded - 1));
  EXPECT_EQ(types->int_at(types->size - 1), 5);  // llama.cpp's LLAMA_TOKEN_TYPE_UNUSED
  auto back = Tokenizer::load_gguf(dir.path() + "/t.gguf");
  ASSERT_TRUE(back.is_ok()) << back.message();
  const std::string text = "Hello, world! 1234 <think>reasoning</think> answer";
  EXPECT_EQ((*back)->encode(text), t->encode(text));
}

}  // namespace
}  // namespace r1
