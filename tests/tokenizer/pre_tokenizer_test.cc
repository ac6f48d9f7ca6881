// Pre-tokenizer building blocks against HF `tokenizers` (expected pieces from pre_tokenize_str in 0.23.3),
// added-token matching rules and the byte table.
#include "tokenizer/pre_tokenizer.h"

#include <gtest/gtest.h>

#include "tokenizer/added_vocab.h"

namespace r1::tok {
namespace {

using Pieces = std::vector<std::string>;

Pieces pre_tokenize(const std::vector<PreTokenizerStep>& steps, const std::string& text) {
  auto pt = PreTokenizer::build(steps);
  EXPECT_TRUE(pt.is_ok()) << pt.message();
  if (!pt.is_ok()) return {};
  Words words;
  pt->split(text, /*at_start=*/true, words);
  Pieces out;
  for (const Word& w : words.items) out.emplace_back(w.text);
  return out;
}

SplitStep digit_split(SplitBehavior behavior, bool invert) {
  return SplitStep{R"(\d)", true, behavior, invert};
}

TEST(PreTokenizer, SplitBehaviors) {
  const std::string s = "a1b22c333";
  using B = SplitBehavior;
  EXPECT_EQ(pre_tokenize({digit_split(B::kIsolated, false)}, s),
            (Pieces{"a", "1", "b", "2", "2", "c", "3", "3", "3"}));
  EXPECT_EQ(pre_tokenize({digit_split(B::kRemoved, false)}, s), (Pieces{"a", "b", "c"}));
  EXPECT_EQ(pre_tokenize({digit_split(B::kRemoved, true)}, s), (Pieces{"1", "2", "2", "3", "3", "3"}));
  EXPECT_EQ(pre_tokenize({digit_split(B::kMergedWithPrevious, false)}, s),
            (Pieces{"a1", "b2", "2", "c3", "3", "3"}));
  EXPECT_EQ(pre_tokenize({digit_split(B::kMergedWithPrevious, true)}, s),
            (Pieces{"a", "1b", "2", "2c", "3", "3", "3"}));
  EXPECT_EQ(pre_tokenize({digit_split(B::kMergedWithNext, false)}, s),
            (Pieces{"a", "1b", "2", "2c", "3", "3", "3"}));
  EXPECT_EQ(pre_tokenize({digit_split(B::kMergedWithNext, true)}, s),
            (Pieces{"a1", "b2", "2", "c3", "3", "3"}));
  EXPECT_EQ(pre_tokenize({digit_split(B::kContiguous, false)}, s), (Pieces{"a", "1", "b", "22", "c", "333"}));
  EXPECT_EQ(pre_tokenize({digit_split(B::kContiguous, true)}, s), (Pieces{"a", "1", "b", "22", "c", "333"}));
  EXPECT_EQ(pre_tokenize({SplitStep{" ", false, B::kMergedWithNext, false}}, "  hi there "),
            (Pieces{" ", " hi", " there", " "}));
}

TEST(PreTokenizer, DigitsMetaspaceAndByteLevel) {
  EXPECT_EQ(pre_tokenize({DigitsStep{false}}, "ab123c4"), (Pieces{"ab", "123", "c", "4"}));
  EXPECT_EQ(pre_tokenize({DigitsStep{true}}, "ab123c4"), (Pieces{"ab", "1", "2", "3", "c", "4"}));
  EXPECT_EQ(pre_tokenize({MetaspaceStep{"▁", PrependScheme::kAlways, true}}, "hi  there"),
            (Pieces{"▁hi", "▁", "▁there"}));
  // Words stay raw bytes (the byte-level alphabet is applied to the vocab instead): "ĠHello" is " Hello".
  EXPECT_EQ(pre_tokenize({ByteLevelStep{true, true}}, "Hello world's 123!!"),
            (Pieces{" Hello", " world", "'s", " 123", "!!"}));
}

TEST(PreTokenizer, PresetsCompile) {
  for (PreTokenizerKind kind :
       {PreTokenizerKind::kQwen2, PreTokenizerKind::kDeepSeekV3, PreTokenizerKind::kDeepSeekLlm,
        PreTokenizerKind::kDeepSeekCoder, PreTokenizerKind::kLlamaBpe, PreTokenizerKind::kGpt2}) {
    TokenizerSpec spec;
    apply_preset(kind, spec);
    auto pt = PreTokenizer::build(spec.pre_tokenizer);
    EXPECT_TRUE(pt.is_ok()) << pre_tokenizer_kind_name(kind) << ": " << pt.message();
    EXPECT_EQ(pre_tokenizer_kind_from_name(pre_tokenizer_kind_name(kind)), kind);
  }
  EXPECT_EQ(pre_tokenizer_kind_from_name("bert"), std::nullopt);
  TokenizerSpec spec;
  apply_preset(PreTokenizerKind::kDeepSeekV3, spec);
  // DeepSeek-V3: digits in threes, CJK runs apart, then the word regex (HF pre_tokenize_str).
  EXPECT_EQ(pre_tokenize(spec.pre_tokenizer, "12345毕老师！.hello"),
            (Pieces{"123", "45", "毕老师", "！.", "hello"}));
}

TEST(PreTokenizer, LongWhitespaceRunsAndInvalidUtf8) {
  TokenizerSpec spec;
  apply_preset(PreTokenizerKind::kQwen2, spec);
  const std::string spaces(200000, ' ');
  EXPECT_EQ(pre_tokenize(spec.pre_tokenizer, spaces + "x"), (Pieces{spaces.substr(1), " x"}));
  // Invalid bytes never match the regex, so they end up in pieces of their own.
  EXPECT_EQ(pre_tokenize(spec.pre_tokenizer,
                         "ab\xff\xfe"
                         "cd"),
            (Pieces{"ab", "\xff\xfe", "cd"}));
}

TEST(AddedVocab, LeftmostLongestAndStripOptions) {
  AddedVocab v;
  v.add("<a>", 1, {});
  v.add("<a><b>", 2, {});
  v.add("<b>", 3, {.lstrip = true, .rstrip = true});
  v.add("word", 4, {.single_word = true});
  auto split = [&](const std::string& text) {
    std::vector<AddedVocab::Segment> segs;
    v.split(text, segs);
    Pieces out;
    for (const auto& s : segs) {
      std::string piece;
      if (s.id >= 0) piece.append("#").append(std::to_string(s.id)).append(":");
      out.push_back(piece.append(text, s.start, s.end - s.start));
    }
    return out;
  };
  EXPECT_EQ(split("x<a><b>y"), (Pieces{"x", "#2:<a><b>", "y"}));
  EXPECT_EQ(split("x<a> <b> y"), (Pieces{"x", "#1:<a>", "#3: <b> ", "y"}));
  EXPECT_EQ(split("a word, words"), (Pieces{"a ", "#4:word", ", words"}));
  EXPECT_EQ(split("<a"), (Pieces{"<a"}));
}

TEST(ByteLevel, TableRoundTrips) {
  const auto& table = byte_to_unicode();
  EXPECT_EQ(table[' '], "Ġ");
  EXPECT_EQ(table['A'], "A");
  EXPECT_EQ(table['\n'], "Ċ");
  std::string all, raw;
  for (int b = 0; b < 256; ++b) all += table[b];
  ASSERT_TRUE(byte_level_decode(all, raw));
  ASSERT_EQ(raw.size(), 256u);
  for (int b = 0; b < 256; ++b) EXPECT_EQ(static_cast<uint8_t>(raw[b]), b);
  EXPECT_EQ(byte_level_decode_lossy("Ġ<｜User｜>"), " <｜User｜>");
}

}  // namespace
}  // namespace r1::tok
