// The NFC normalizer's fast paths (ASCII split points, the NFC-stable quick check) against a plain utf8proc
// NFC of the whole string, over every code point below U+30000 in several contexts.
#include <gtest/gtest.h>
#include <utf8proc.h>

#include <cstdlib>

#include "tokenizer/pre_tokenizer.h"
#include "tokenizer/utf8.h"

namespace r1::tok {
namespace {

std::string reference_nfc(const std::string& s) {
  utf8proc_uint8_t* out = utf8proc_NFC(reinterpret_cast<const utf8proc_uint8_t*>(s.c_str()));
  std::string r = out == nullptr ? "<error>" : reinterpret_cast<const char*>(out);
  std::free(out);
  return r;
}

TEST(Normalizer, NfcFastPathsAgreeWithUtf8procOnEveryCodePoint) {
  const Normalizer nfc({UnicodeNormalize{UnicodeForm::kNfc}});
  // Followers that compose with, reorder against or attach to what precedes them.
  const std::vector<uint32_t> followers = {0,      0x0301, 0x0327, 0x1161, 0x11A8, 0x0CD5,
                                           0x093C, 0x0BBE, 0x3099, 0x0345, 0x05B0};
  size_t mismatches = 0;
  for (uint32_t cp = 0x80; cp < 0x30000; ++cp) {
    if (cp >= 0xD800 && cp <= 0xDFFF) continue;
    for (const uint32_t before : {uint32_t('e'), uint32_t(0x1100), uint32_t(0x0B47)}) {
      std::string s;
      utf8::append_char(s, before);
      utf8::append_char(s, cp);
      const uint32_t f = followers[(cp + before) % followers.size()];
      if (f != 0) utf8::append_char(s, f);
      s += "z";
      if (nfc.apply(s) != reference_nfc(s) && ++mismatches <= 5) {
        ADD_FAILURE() << "U+" << std::hex << cp << " after U+" << before << " before U+" << f;
      }
    }
  }
  EXPECT_EQ(mismatches, 0u);
}

TEST(Normalizer, NfcKeepsInvalidBytesAndComposesAroundAscii) {
  const Normalizer nfc({UnicodeNormalize{UnicodeForm::kNfc}});
  EXPECT_EQ(nfc.apply("e\xCC\x81 x"), "\xC3\xA9 x");  // e + U+0301 -> é
  EXPECT_EQ(nfc.apply("a\xFF"
                      "e\xCC\x81"),
            "a\xFF\xC3\xA9");                                        // stray byte kept
  EXPECT_EQ(nfc.apply("\xEA\xB0\x80\xE1\x86\xA8"), "\xEA\xB0\x81");  // 가 + jamo T -> 각
  EXPECT_EQ(nfc.apply("\xEF\xA4\x80"), "\xE8\xB1\x88");              // CJK compatibility U+F900 -> U+8C48
  EXPECT_EQ(nfc.apply("plain ascii"), "plain ascii");
}

}  // namespace
}  // namespace r1::tok
