// StreamDecoder: never emits part of a UTF-8 character, replaces hopeless bytes with U+FFFD, and its output
// concatenates to exactly what decode() returns.
#include <gtest/gtest.h>

#include "tokenizer/tokenizer_test_util.h"
#include "tokenizer/utf8.h"

namespace r1 {
namespace {

using Ids = std::vector<int32_t>;
const std::string kFffd = "\xEF\xBF\xBD";

// Pushes ids one at a time; every piece must be valid UTF-8 on its own. Returns the concatenation.
std::string stream(const Tokenizer& t, const Ids& ids, bool skip_special,
                   std::vector<std::string>* pieces = nullptr) {
  StreamDecoder decoder(t, skip_special);
  std::string all;
  for (int32_t id : ids) {
    const std::string piece = decoder.push(id);
    EXPECT_TRUE(utf8::is_valid(piece)) << "partial character after id " << id;
    if (pieces) pieces->push_back(piece);
    all += piece;
  }
  const std::string tail = decoder.flush();
  EXPECT_TRUE(utf8::is_valid(tail));
  return all + tail;
}

TEST(StreamDecoder, ByteLevelCharactersSplitAcrossTokens) {
  std::string error;
  const Tokenizer* t = tok_test::r1_distill_qwen(&error);
  ASSERT_NE(t, nullptr) << error;
  const std::string text = "毕老师😀👍🏽 ok €𝄞 <think>\n思考🧠</think>\n\n答案：٣";
  const Ids ids = t->encode(text);
  // The test only means something if some token holds part of a character: "𝄞" is split 3 + 1 bytes.
  int partial_tokens = 0;
  for (int32_t id : ids) partial_tokens += t->decode(Ids{id}).find(kFffd) != std::string::npos;
  EXPECT_GT(partial_tokens, 0);
  EXPECT_EQ(stream(*t, ids, true), text);
  EXPECT_EQ(stream(*t, ids, true), t->decode(ids, true));
}

TEST(StreamDecoder, HoldsBackUntilTheCharacterIsComplete) {
  std::string error;
  const Tokenizer* t = tok_test::stories260k(&error);
  ASSERT_NE(t, nullptr) << error;
  // "😀" is four byte-fallback tokens <0xF0> <0x9F> <0x98> <0x80> (ids 243 162 155 131).
  std::vector<std::string> pieces;
  EXPECT_EQ(stream(*t, Ids{1, 410, 243, 162, 155, 131, 261}, true, &pieces), "😀 a");
  EXPECT_EQ(pieces, (std::vector<std::string>{"", "", "", "", "", "😀", " a"}));  // BOS skipped, "▁" stripped
}

TEST(StreamDecoder, HopelessBytesBecomeReplacementCharacters) {
  std::string error;
  const Tokenizer* t = tok_test::stories260k(&error);
  ASSERT_NE(t, nullptr) << error;
  const int32_t byte0 = 3;  // <0x00>; token of byte b is 3 + b
  StreamDecoder d(*t);
  EXPECT_EQ(d.push(byte0 + 0xFF), kFffd);  // can never start a character: replaced at once
  EXPECT_EQ(d.push(byte0 + 0xE4), "");     // could start a 3-byte character
  EXPECT_EQ(d.push(byte0 + 0xB8), "");
  EXPECT_EQ(d.push(byte0 + 'a'), kFffd + "a");  // the incomplete E4 B8 is one maximal subpart
  EXPECT_EQ(d.push(byte0 + 0xF0), "");
  EXPECT_EQ(d.flush(), kFffd);  // end of stream with an incomplete character
  EXPECT_EQ(d.flush(), "");
  EXPECT_EQ(t->decode(Ids{byte0 + 0xFF, byte0 + 0xE4, byte0 + 0xB8, byte0 + 'a', byte0 + 0xF0}),
            kFffd + kFffd + "a" + kFffd);
}

TEST(StreamDecoder, MatchesDecodeOnEveryPrefix) {
  std::string error;
  const Tokenizer* t = tok_test::deepseek_v3(&error);
  ASSERT_NE(t, nullptr) << error;
  const Ids ids = t->encode(
      "<｜begin▁of▁sentence｜>Hello! 毕老师！😀 ĠÑĤÐ²ÑĬÑĢ \xF0\x9F"
      "x<｜end▁of▁sentence｜>");
  for (size_t n = 0; n <= ids.size(); ++n) {
    const Ids prefix(ids.begin(), ids.begin() + static_cast<long>(n));
    for (bool skip : {false, true}) EXPECT_EQ(stream(*t, prefix, skip), t->decode(prefix, skip)) << n;
  }
}

TEST(StreamDecoder, LeadingSpaceStripSpansTokens) {
  std::string error;
  const Tokenizer* t = tok_test::stories260k(&error);
  ASSERT_NE(t, nullptr) << error;
  // "▁" then "▁a": decode strips exactly one leading space of the whole text.
  const Ids ids = {410, 261};
  EXPECT_EQ(t->decode(ids), " a");
  EXPECT_EQ(stream(*t, ids, true), " a");
  EXPECT_EQ(stream(*t, Ids{1, 410, 261}, false), t->decode(Ids{1, 410, 261}));  // "<s>  a": nothing stripped
}

TEST(Utf8, LossyDecodingUsesMaximalSubparts) {
  EXPECT_EQ(utf8::to_valid("a\x80"
                           "b"),
            "a" + kFffd + "b");
  EXPECT_EQ(utf8::to_valid("\xE4\xB8"), kFffd);                      // truncated 3-byte character
  EXPECT_EQ(utf8::to_valid("\xED\xA0\x80"), kFffd + kFffd + kFffd);  // surrogate: ED then A0 is ill-formed
  EXPECT_EQ(utf8::to_valid("\xC0\xAF"), kFffd + kFffd);              // overlong
  EXPECT_EQ(utf8::to_valid("\xF4\x90\x80\x80"), kFffd + kFffd + kFffd + kFffd);  // above U+10FFFF
  EXPECT_EQ(utf8::to_valid("€😀"), "€😀");
  std::string out;
  EXPECT_EQ(utf8::append_lossy("ok\xF0\x9F\x98", /*final=*/false, out), 2u);
  EXPECT_EQ(out, "ok");
}

}  // namespace
}  // namespace r1
