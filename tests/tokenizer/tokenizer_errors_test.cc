// Malformed tokenizer folders give an error naming the file and the problem; nothing crashes.
#include <gtest/gtest.h>

#include "tokenizer/tokenizer_test_util.h"

namespace r1 {
namespace {

using tok_test::TempDir;

// A small valid byte-level tokenizer.json; `patch` replaces one top-level section.
std::string tokenizer_json(const std::string& section = "", const std::string& value = "") {
  std::map<std::string, std::string> s = {
      {"added_tokens", R"([{"id": 4, "content": "<s>", "special": true}])"},
      {"normalizer", "null"},
      {"pre_tokenizer", R"({"type": "ByteLevel", "add_prefix_space": false, "use_regex": true})"},
      {"post_processor", "null"},
      {"decoder", R"({"type": "ByteLevel"})"},
      {"model", R"({"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2, "Ġ": 3}, "merges": ["a b"]})"},
  };
  if (!section.empty()) s[section] = value;
  std::string out = "{";
  for (const auto& [k, v] : s) out += (out.size() > 1 ? ", \"" : "\"") + k + "\": " + v;
  return out + "}";
}

// Loads `dir` and expects an error mentioning every one of `needles`.
void expect_error(const std::string& dir, std::initializer_list<std::string> needles) {
  auto t = Tokenizer::load_dir(dir);
  ASSERT_FALSE(t.is_ok()) << "loaded although it should not";
  for (const std::string& n : needles) EXPECT_NE(t.message().find(n), std::string::npos) << t.message();
}

TEST(TokenizerErrors, ValidMinimalTokenizerLoads) {
  TempDir dir;
  dir.write("tokenizer.json", tokenizer_json());
  auto t = Tokenizer::load_dir(dir.path());
  ASSERT_TRUE(t.is_ok()) << t.message();
  EXPECT_EQ((*t)->encode("ab a<s>"), (std::vector<int32_t>{2, 3, 0, 4}));
  EXPECT_EQ((*t)->vocab_size(), 5);
  EXPECT_FALSE((*t)->add_bos());
}

TEST(TokenizerErrors, MissingFolderOrFiles) {
  expect_error("/nonexistent/r1/tokenizer", {"/nonexistent/r1/tokenizer", "does not exist"});
  TempDir empty;
  expect_error(empty.path(), {"no tokenizer.json"});
  TempDir vocab_only;
  vocab_only.write("vocab.json", R"({"a": 0})");
  expect_error(vocab_only.path(), {"no tokenizer.json, and no vocab.json + merges.txt"});
}

TEST(TokenizerErrors, MalformedJson) {
  TempDir dir;
  dir.write("tokenizer.json", tokenizer_json().substr(0, 100));
  expect_error(dir.path(), {"tokenizer.json", "malformed JSON"});
  TempDir config;
  config.write("tokenizer.json", tokenizer_json());
  config.write("tokenizer_config.json", "{\"bos_token\": ");
  expect_error(config.path(), {"tokenizer_config.json", "malformed JSON"});
  TempDir not_object;
  not_object.write("tokenizer.json", "[1, 2, 3]");
  expect_error(not_object.path(), {"tokenizer.json", "expected a JSON object"});
}

TEST(TokenizerErrors, BadMergesLine) {
  TempDir dir;
  dir.write("vocab.json", R"({"a": 0, "b": 1, "ab": 2})");
  dir.write("merges.txt", "#version: 0.2\na b\nab\n");
  expect_error(dir.path(), {"merges.txt", "line 3", "\"ab\""});
  TempDir unknown;
  unknown.write("vocab.json", R"({"a": 0, "b": 1, "ab": 2})");
  unknown.write("merges.txt", "a c\n");
  expect_error(unknown.path(), {"merges.txt", "merge 1 \"a c\"", "right token is not in the vocab"});
  TempDir in_json;
  in_json.write("tokenizer.json",
                tokenizer_json("model", R"({"type": "BPE", "vocab": {"a": 0}, "merges": ["a b c"]})"));
  expect_error(in_json.path(), {"tokenizer.json", "model.merges[0]", "bad merge"});
}

TEST(TokenizerErrors, UnsupportedModelAndComponents) {
  TempDir model;
  model.write("tokenizer.json", tokenizer_json("model", R"({"type": "WordPiece", "vocab": {"a": 0}})"));
  expect_error(model.path(), {"tokenizer.json", "model type \"WordPiece\" is not supported"});
  TempDir pre;
  pre.write("tokenizer.json", tokenizer_json("pre_tokenizer", R"({"type": "BertPreTokenizer"})"));
  expect_error(pre.path(), {"pre_tokenizer", "BertPreTokenizer"});
  TempDir norm;
  norm.write("tokenizer.json",
             tokenizer_json("normalizer", R"({"type": "Sequence", "normalizers": [{"type": "Lowercase"}]})"));
  expect_error(norm.path(), {"normalizer.normalizers[0]", "Lowercase"});
  TempDir regex;
  regex.write("tokenizer.json",
              tokenizer_json("pre_tokenizer",
                             R"({"type": "Split", "pattern": {"Regex": "(["}, "behavior": "Isolated"})"));
  expect_error(regex.path(), {"tokenizer.json", "does not compile"});
  TempDir behavior;
  behavior.write("tokenizer.json",
                 tokenizer_json("pre_tokenizer",
                                R"({"type": "Split", "pattern": {"String": " "}, "behavior": "Sideways"})"));
  expect_error(behavior.path(), {"unknown Split behavior \"Sideways\""});
}

TEST(TokenizerErrors, BadIdsAndTokens) {
  TempDir huge;
  huge.write("tokenizer.json",
             tokenizer_json("model", R"({"type": "BPE", "vocab": {"a": 2000000000}, "merges": []})"));
  expect_error(huge.path(), {"implausibly large"});
  TempDir negative;
  negative.write("tokenizer.json",
                 tokenizer_json("model", R"({"type": "BPE", "vocab": {"a": -1}, "merges": []})"));
  expect_error(negative.path(), {"model.vocab", "\"a\" has an invalid id"});
  TempDir bos;
  bos.write("tokenizer.json", tokenizer_json());
  bos.write("tokenizer_config.json", R"({"bos_token": {"content": "<bos>"}, "add_bos_token": true})");
  expect_error(bos.path(), {"bos_token \"<bos>\" is not in the vocabulary"});
  TempDir added;
  added.write("tokenizer.json", tokenizer_json());
  added.write("tokenizer_config.json", R"({"added_tokens_decoder": {"x7": {"content": "<y>"}}})");
  expect_error(added.path(), {"tokenizer_config.json", "\"x7\" is not a token id"});
  TempDir wrong_type;
  wrong_type.write("tokenizer.json", tokenizer_json("added_tokens", R"([{"id": 9, "content": 5}])"));
  expect_error(wrong_type.path(), {"added_tokens[0]", "\"content\" must be a string"});
}

TEST(TokenizerErrors, HostileTextDoesNotCrash) {
  TempDir dir;
  dir.write("tokenizer.json", tokenizer_json());
  auto t = Tokenizer::load_dir(dir.path());
  ASSERT_TRUE(t.is_ok()) << t.message();
  std::string junk;
  for (int i = 0; i < 4096; ++i) junk += static_cast<char>((i * 7919) & 0xFF);
  junk += std::string(100000, ' ') + std::string(1, '\0') + "<s" + "<s>";
  const std::vector<int32_t> ids = (*t)->encode(junk);  // bytes outside this tiny vocab are dropped
  EXPECT_FALSE(ids.empty());
  EXPECT_EQ(ids.back(), 4);
  (void)(*t)->decode(std::vector<int32_t>{-1, 1 << 30, 4, 2});
}

}  // namespace
}  // namespace r1
