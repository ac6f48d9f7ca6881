// JsonRecognizer: valid documents and every prefix of them, invalid ones rejected at the first impossible
// byte, numbers, escapes, UTF-8, limits, and a differential test against nlohmann's parser on mutated
// documents.
#include "server/json_recognizer.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "server/json_test_util.h"

namespace r1::server {
namespace {

using json_test::closing_bytes;
using json_test::parses_as_object;

// Index of the first byte the recognizer rejects, or -1 if it accepts them all.
int first_rejected(std::string_view text, int max_whitespace_run = 8) {
  JsonRecognizer r(max_whitespace_run);
  for (size_t i = 0; i < text.size(); ++i) {
    if (!r.push(static_cast<uint8_t>(text[i]))) return static_cast<int>(i);
  }
  return -1;
}

bool complete(std::string_view text, int max_whitespace_run = 8) {
  JsonRecognizer r(max_whitespace_run);
  return r.push(text) && r.complete();
}

const std::vector<std::string> kValidDocuments = {
    "{}",
    " \n{ }\t",
    R"({"a":1})",
    R"({"a": -0, "b": 1e5, "c": 1.5E-3, "d": -12.25e+10, "e": 0.0, "f": 10, "g": 0e0})",
    R"({"list": [1, [2, []], {}, "x", true, false, null], "nested": {"k": {"k": {}}}})",
    R"({"esc": "\" \\ \/ \b \f \n \r \t \u00e9 \uD83D\uDE00 \u0000 \uFFFF"})",
    "{\"utf8\": \"\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 \xF4\x8F\xBF\xBF \xED\x9F\xBF \xEE\x80\x80 \x7F\"}",
    "{\"k\xC3\xA9y\": [\"\", \"  spaces   inside  are   free           \"]}",
};

TEST(JsonRecognizer, AcceptsValidDocumentsAndEveryPrefix) {
  for (const std::string& doc : kValidDocuments) {
    SCOPED_TRACE(doc);
    ASSERT_TRUE(parses_as_object(doc)) << "the test table itself is wrong";
    const size_t closing_brace = doc.find_last_of('}');
    JsonRecognizer r;
    for (size_t i = 0; i < doc.size(); ++i) {
      EXPECT_EQ(r.complete(), i > closing_brace) << "after " << i << " bytes";
      ASSERT_TRUE(r.push(static_cast<uint8_t>(doc[i]))) << "rejected byte " << i;
    }
    EXPECT_TRUE(r.complete());
  }
}

struct Invalid {
  std::string text;
  int rejected_at;  // the first byte no continuation can follow
};

TEST(JsonRecognizer, RejectsInvalidDocumentsAtTheFirstImpossibleByte) {
  const std::vector<Invalid> cases = {
      // top level and structure
      {"[1]", 0},
      {R"("a")", 0},
      {"1", 0},
      {"{,}", 1},
      {"{1:2}", 1},
      {"{'a':1}", 1},
      {R"({"a" 1})", 5},
      {R"({"a":1,})", 7},
      {R"({"a":1}})", 7},
      {R"({"a":1}x)", 7},
      {R"({"a":[1,]})", 8},
      {R"({"a":1 "b":2})", 7},
      {R"({"a":[})", 6},
      {R"({"a":[1})", 7},
      {R"({"a":{]})", 6},
      {R"({"a"::1})", 5},
      {R"({"a":})", 5},
      // numbers
      {R"({"a":01})", 6},
      {R"({"a":1.})", 7},
      {R"({"a":.5})", 5},
      {R"({"a":+1})", 5},
      {R"({"a":-})", 6},
      {R"({"a":1e})", 7},
      {R"({"a":1e+})", 8},
      {R"({"a":--1})", 6},
      {R"({"a":1.5.})", 8},
      {R"({"a":-01})", 7},
      {R"({"a":0x1})", 6},
      {R"({"a":1.e5})", 7},
      {R"({"a":1E5.0})", 8},
      // literals
      {R"({"a":tru})", 8},
      {R"({"a":True})", 5},
      {R"({"a":nulll})", 9},
      {R"({"a":truefalse})", 9},
      // strings and escapes
      {"{\"a\":\"x\ny\"}", 7},
      {"{\"a\":\"\t\"}", 6},
      {R"({"a":"\q"})", 7},
      {R"({"a":"\u12G4"})", 10},
      {R"({"a":"\U0041"})", 7},
      {R"({"a":"\x41"})", 7},
      // surrogate escapes: a low one alone, a high one not followed by a low one
      {R"({"a":"\uDC00"})", 9},
      {R"({"a":"\uDfff"})", 9},
      {R"({"a":"\uD83Dx"})", 12},
      {R"({"a":"\uD83D\n"})", 13},
      {R"({"a":"\uD83D\u0041"})", 14},
      {R"({"a":"\uD83D\uD83D"})", 15},
      {R"({"a":"\uD83D"})", 12},
      // UTF-8: overlong forms, surrogates, above U+10FFFF, stray and truncated sequences
      {"{\"a\":\"\xC0\x80\"}", 6},
      {"{\"a\":\"\xC1\xBF\"}", 6},
      {"{\"a\":\"\xE0\x80\x80\"}", 7},
      {"{\"a\":\"\xE0\x9F\xBF\"}", 7},
      {"{\"a\":\"\xED\xA0\x80\"}", 7},
      {"{\"a\":\"\xF0\x80\x80\x80\"}", 7},
      {"{\"a\":\"\xF4\x90\x80\x80\"}", 7},
      {"{\"a\":\"\xF5\x80\x80\x80\"}", 6},
      {"{\"a\":\"\x80\"}", 6},
      {"{\"a\":\"\xC3\"}", 7},
      {"{\"a\":\"\xE2\x82\"}", 8},
      {"{\"a\":\"\xF0\x9F\x98\"}", 9},
      {"{\"a\":\"\xC3\xA9\xA9\"}", 8},
      {"{\xC3\xA9:1}", 1},
  };
  for (const Invalid& c : cases) {
    SCOPED_TRACE(c.text);
    EXPECT_FALSE(parses_as_object(c.text)) << "the test table itself is wrong";
    EXPECT_EQ(first_rejected(c.text), c.rejected_at);
  }
}

TEST(JsonRecognizer, RejectedByteLeavesTheStateUnchanged) {
  for (const std::string& doc : kValidDocuments) {
    SCOPED_TRACE(doc);
    JsonRecognizer r;
    for (size_t i = 0; i < doc.size(); ++i) {
      for (int b = 0; b < 256; ++b) {
        JsonRecognizer copy = r;
        if (copy.push(static_cast<uint8_t>(b))) continue;
        ASSERT_TRUE(copy.push(std::string_view(doc).substr(i)) && copy.complete())
            << "after rejecting byte " << b << " at " << i;
      }
      ASSERT_TRUE(r.push(static_cast<uint8_t>(doc[i])));
    }
  }
}

TEST(JsonRecognizer, WhitespaceRunsOutsideStringsAreBounded) {
  const std::string eight(8, ' '), nine(9, ' ');
  EXPECT_TRUE(complete(eight + "{" + eight + "}" + eight));
  EXPECT_EQ(first_rejected(nine + "{}"), 8);
  EXPECT_EQ(first_rejected("{" + nine + "}"), 9);
  EXPECT_EQ(first_rejected("{}" + nine), 10);
  EXPECT_EQ(first_rejected(R"({"a":1)" + nine + "}"), 14);  // the run that ends a number counts too
  EXPECT_EQ(first_rejected("{\"a\":" + std::string(5, ' ') + "\n\t\r \r" + "1}"), 13);  // any mix
  // Runs separated by other bytes are counted apart, and whitespace inside strings is free.
  EXPECT_TRUE(complete("{" + eight + "\"a\"" + eight + ":" + eight + "1" + eight + "}"));
  EXPECT_TRUE(complete(R"({"a":")" + std::string(100, ' ') + "\"}"));
  EXPECT_TRUE(complete(" {\"a\":  1 } ", /*max_whitespace_run=*/2));
  EXPECT_EQ(first_rejected(" {\"a\":   1}", /*max_whitespace_run=*/2), 8);
  EXPECT_EQ(first_rejected(" {}", /*max_whitespace_run=*/0), 0);
}

TEST(JsonRecognizer, NestingStopsAtTheDepthLimit) {
  // The top-level object is depth 1; the document may reach kMaxJsonDepth but not go past it.
  const int arrays = kMaxJsonDepth - 1;
  const std::string deepest = "{\"a\":" + std::string(arrays, '[') + std::string(arrays, ']') + "}";
  EXPECT_TRUE(complete(deepest));
  EXPECT_TRUE(parses_as_object(deepest));
  EXPECT_EQ(first_rejected("{\"a\":" + std::string(arrays + 1, '[')), 5 + arrays);
  std::string objects;
  for (int d = 1; d < kMaxJsonDepth; ++d) objects += "{\"k\":";
  EXPECT_TRUE(complete(objects + "{}" + std::string(kMaxJsonDepth - 1, '}')));
  EXPECT_EQ(first_rejected(objects + "{\"k\":{"), static_cast<int>(objects.size()) + 5);
  // Closing brackets must match what was opened at each depth, however deep.
  EXPECT_EQ(first_rejected("{\"a\":[{\"b\":[[{}]}"), 16);
}

TEST(JsonRecognizer, AcceptedPrefixesCanBeCompleted) {
  // Cut every valid document at every byte: the closing bytes finish it into something nlohmann parses.
  for (const std::string& doc : kValidDocuments) {
    for (size_t cut = 0; cut <= doc.size(); ++cut) {
      JsonRecognizer r;
      ASSERT_TRUE(r.push(std::string_view(doc).substr(0, cut)));
      const std::optional<std::string> tail = closing_bytes(r);
      ASSERT_TRUE(tail.has_value()) << doc.substr(0, cut);
      EXPECT_TRUE(parses_as_object(doc.substr(0, cut) + *tail)) << doc.substr(0, cut) + *tail;
    }
  }
}

// Random edits of valid documents, judged by both: the recognizer completes a document iff nlohmann parses it
// as an object, and whatever the recognizer accepts as a prefix can be finished into one nlohmann parses.
TEST(JsonRecognizer, AgreesWithNlohmannOnMutatedDocuments) {
  const std::string alphabet =
      "{}[]\":,0123456789-+.eEtrufalsn \t\n\\/uDdCx\x01\x1F\x7F\x80\xA9\xBF\xC3\xE2\xED\xF0\xF4\xC0\xF5";
  std::mt19937 rng(20261128);
  auto pick = [&](size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng); };
  int agreed_valid = 0, agreed_invalid = 0;
  for (int trial = 0; trial < 20000; ++trial) {
    std::string doc = kValidDocuments[pick(kValidDocuments.size())];
    for (size_t edits = 1 + pick(3); edits > 0; --edits) {
      const size_t at = pick(doc.size() + 1);
      const char c = alphabet[pick(alphabet.size())];
      switch (pick(3)) {
        case 0:
          if (at < doc.size()) doc[at] = c;
          break;
        case 1:
          doc.insert(doc.begin() + static_cast<std::ptrdiff_t>(at), c);
          break;
        default:
          if (at < doc.size()) doc.erase(at, 1);
      }
    }
    SCOPED_TRACE(doc);
    JsonRecognizer r(/*max_whitespace_run=*/255);
    const bool all_accepted = r.push(doc);
    const bool oracle = parses_as_object(doc);
    ASSERT_EQ(all_accepted && r.complete(), oracle);
    (oracle ? agreed_valid : agreed_invalid)++;
    if (all_accepted && !r.complete()) {
      const std::optional<std::string> tail = closing_bytes(r);
      ASSERT_TRUE(tail.has_value());
      ASSERT_TRUE(parses_as_object(doc + *tail)) << doc + *tail;
    }
  }
  // Both outcomes were exercised often enough for the agreement to mean something.
  EXPECT_GT(agreed_valid, 1000);
  EXPECT_GT(agreed_invalid, 1000);
}

}  // namespace
}  // namespace r1::server
