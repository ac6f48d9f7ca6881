// Tokenizer features that the model fixtures do not exercise, on small hand-written tokenizer.json files.
// Expected ids and decodes are what HF `tokenizers` 0.23.3 gives for the same JSON (Tokenizer.from_str).
#include <gtest/gtest.h>

#include "tokenizer/tokenizer_test_util.h"

namespace r1 {
namespace {

using Ids = std::vector<int32_t>;

std::unique_ptr<Tokenizer> load_json(const tok_test::TempDir& dir, const std::string& json) {
  dir.write("tokenizer.json", json);
  auto t = Tokenizer::load_dir(dir.path());
  EXPECT_TRUE(t.is_ok()) << t.message();
  return t.is_ok() ? std::move(t).value() : nullptr;
}

// ByteLevel with add_prefix_space (applied to every piece, also after added tokens),
// lstrip/rstrip/single_word added tokens, RobertaProcessing BOS/EOS.
constexpr const char* kByteLevelJson = R"({
 "added_tokens": [
  {"id": 14, "content": "<x>", "lstrip": true, "special": false},
  {"id": 15, "content": "<y>", "rstrip": true, "special": false},
  {"id": 16, "content": "wd", "single_word": true, "special": false},
  {"id": 17, "content": "<s>", "special": true},
  {"id": 18, "content": "</s>", "special": true}],
 "normalizer": null,
 "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true},
 "post_processor": {"type": "RobertaProcessing", "sep": ["</s>", 18], "cls": ["<s>", 17]},
 "decoder": {"type": "ByteLevel"},
 "model": {"type": "BPE", "unk_token": null,
   "vocab": {"Ġ": 0, "h": 1, "i": 2, "a": 3, "b": 4, "w": 5, "d": 6, "x": 7, "Ġh": 8, "Ġhi": 9, "Ġa": 10,
             "Ġb": 11, "Ġw": 12, "Ġwd": 13},
   "merges": ["Ġ h", "Ġh i", "Ġ a", "Ġ b", "Ġ w", "Ġw d"]}})";

TEST(TokenizerFeatures, ByteLevelPrefixSpaceAndAddedTokenOptions) {
  tok_test::TempDir dir;
  auto t = load_json(dir, kByteLevelJson);
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->encode("hi<x>hi", true), (Ids{17, 9, 14, 9, 18}));
  EXPECT_EQ(t->encode("hi  <x> hi", true), (Ids{17, 9, 14, 9, 18}));         // lstrip takes both spaces
  EXPECT_EQ(t->encode("a <y>  b", true), (Ids{17, 10, 0, 15, 11, 18}));      // rstrip
  EXPECT_EQ(t->encode("wd wdx wd", true), (Ids{17, 16, 13, 7, 0, 16, 18}));  // not inside "wdx"
  EXPECT_EQ(t->decode(Ids{17, 9, 14, 9, 18}), "<s> hi<x> hi</s>");
  EXPECT_EQ(t->decode(Ids{17, 9, 14, 9, 18}, true), " hi<x> hi");
  EXPECT_EQ(t->bos_id(), 17);
  EXPECT_EQ(t->eos_id(), 18);
}

// SentencePiece-style without byte tokens: unknown characters become one fused <unk>; Metaspace decoder.
constexpr const char* kUnkJson = R"({
 "added_tokens": [{"id": 0, "content": "<unk>", "special": true}],
 "normalizer": {"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": "▁"},
                {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]},
 "pre_tokenizer": null, "post_processor": null,
 "decoder": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": true},
 "model": {"type": "BPE", "unk_token": "<unk>", "fuse_unk": true, "byte_fallback": true,
   "vocab": {"<unk>": 0, "▁": 1, "a": 2, "b": 3, "▁a": 4, "ab": 5, "▁ab": 6},
   "merges": [["▁", "a"], ["a", "b"], ["▁a", "b"]]}})";

TEST(TokenizerFeatures, FusedUnknownAndMetaspaceDecoder) {
  tok_test::TempDir dir;
  auto t = load_json(dir, kUnkJson);
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->encode("ab a"), (Ids{6, 4}));
  EXPECT_EQ(t->encode("xyz ab"), (Ids{1, 0, 6}));
  EXPECT_EQ(t->encode(" a"), (Ids{1, 4}));
  EXPECT_EQ(t->encode("aéb"), (Ids{4, 0, 3}));
  EXPECT_EQ(t->decode(Ids{1, 0, 6}), "<unk> ab");
  EXPECT_EQ(t->decode(Ids{1, 0, 6}, true), " ab");
  EXPECT_EQ(t->decode(Ids{4, 0, 3}, true), "ab");
  EXPECT_FALSE(t->add_bos());
}

TEST(TokenizerFeatures, IgnoreMerges) {
  const std::string json =
      R"({"pre_tokenizer": {"type": "Split", "pattern": {"String": " "}, "behavior": "Removed"},
    "model": {"type": "BPE", "ignore_merges": IGNORE,
              "vocab": {"a": 0, "b": 1, "c": 2, "ab": 3, "bc": 4, "abc": 5}, "merges": ["b c", "a b"]}})";
  for (bool ignore : {true, false}) {
    std::string j = json;
    j.replace(j.find("IGNORE"), 6, ignore ? "true" : "false");
    tok_test::TempDir dir;
    auto t = load_json(dir, j);
    ASSERT_NE(t, nullptr);
    // "abc" is in the vocab but no merge sequence reaches it.
    EXPECT_EQ(t->encode("abc ab bc"), ignore ? (Ids{5, 3, 4}) : (Ids{0, 4, 3, 4}));
    EXPECT_EQ(t->encode("cab"), (Ids{2, 3}));
  }
}

// NFC normalizer: a `normalized` added token matches after normalization, a raw one only in the raw text.
// Digits without individual_digits keeps runs together.
constexpr const char* kNormalizedJson = R"({
 "added_tokens": [{"id": 10, "content": "é", "normalized": true, "special": false},
                  {"id": 11, "content": "ñ", "normalized": false, "special": false}],
 "normalizer": {"type": "NFC"},
 "pre_tokenizer": {"type": "Sequence", "pretokenizers": [{"type": "Digits", "individual_digits": false},
                   {"type": "ByteLevel", "add_prefix_space": false, "use_regex": false}]},
 "decoder": {"type": "ByteLevel"},
 "model": {"type": "BPE",
           "vocab": {"n": 0, "Ì": 1, "ĥ": 2, "1": 3, "2": 4, "12": 5, "e": 6, "Ã": 7, "±": 8, "©": 9},
           "merges": ["1 2"]}})";

TEST(TokenizerFeatures, NormalizedAddedTokensAndDigits) {
  tok_test::TempDir dir;
  auto t = load_json(dir, kNormalizedJson);
  ASSERT_NE(t, nullptr);
  // "e + U+0301" composes to the token é; "n + U+0303" composes to ñ but the raw-matched token does not see
  // it.
  EXPECT_EQ(t->encode("e\u0301 n\u0303 \u00f1 12 1 2 112"), (Ids{10, 7, 8, 11, 5, 3, 4, 3, 5}));
  // The ByteLevel decoder maps "é" (in its byte alphabet) to the lone byte 0xE9.
  EXPECT_EQ(t->decode(Ids{10}), "\xEF\xBF\xBD");
}

}  // namespace
}  // namespace r1
