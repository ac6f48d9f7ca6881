// GGUF reader: every value type, the tensor table, and malformed files (bad header, impossible counts and
// lengths, unknown types, misaligned or overlapping tensors, truncation, random corruption) as errors.
#include "io/gguf.h"

#include <gtest/gtest.h>

#include <array>
#include <functional>
#include <random>

#include "io/gguf_keys.h"
#include "test_util.h"
#include "tokenizer/gguf_writer.h"

namespace r1 {
namespace {

using namespace gguf_test;  // NOLINT: the writer's small vocabulary (le, str, kU32, ...)

Result<GgufFile> parse(const std::string& image) {
  return GgufFile::from_bytes(to_bytes(image), "test.gguf");
}

std::string error_of(const std::string& image) {
  auto f = parse(image);
  EXPECT_FALSE(f.is_ok()) << "parsed a malformed file";
  return f.is_ok() ? "" : f.message();
}

#define EXPECT_HAS(haystack, needle) EXPECT_NE((haystack).find(needle), std::string::npos) << (haystack)

// A small file with every value type, nested arrays and two tensors.
GgufWriter sample() {
  GgufWriter w;
  w.kv("u8", kU8, le<uint8_t>(200))
      .kv("i8", kI8, le<int8_t>(-5))
      .kv("u16", kU16, le<uint16_t>(60000))
      .kv("i16", kI16, le<int16_t>(-30000))
      .kv("u32", kU32, le<uint32_t>(4000000000u))
      .kv("i32", kI32, le<int32_t>(-2000000000))
      .kv("f32", kF32, le<float>(1.5f))
      .kv("bool", kBool, le<uint8_t>(1))
      .kv("str", kString, str("héllo"))
      .kv("u64", kU64, le<uint64_t>(1ull << 40))
      .kv("i64", kI64, le<int64_t>(-(1ll << 40)))
      .kv("f64", kF64, le<double>(-0.25))
      .kv("strings", kArray, string_array({"a", "", "ccc"}))
      .kv("ints", kArray, scalar_array<int32_t>(kI32, {1, -2, 3}))
      .kv("floats", kArray, scalar_array<float>(kF32, {0.5f, 2.0f}))
      .kv("bools", kArray, scalar_array<uint8_t>(kBool, {0, 1}))
      .kv("nested", kArray,
          array_payload(kArray, {scalar_array<uint16_t>(kU16, {7, 8}), string_array({"x"})}))
      .kv("empty", kArray, string_array({}))
      .alignment(64);
  std::string f32_data;
  for (float v : {1.0f, 2.0f, 3.0f, 4.0f, 5.0f, 6.0f, 7.0f, 8.0f}) f32_data += le(v);
  w.tensor("token_embd.weight", 0, {4, 2}, f32_data);                    // f32 [2, 4]
  w.tensor("blk.0.attn_q.weight", 8, {32, 2}, std::string(68, '\x11'));  // q8_0: 2 blocks of 34 bytes
  return w;
}

TEST(Gguf, ReadsEveryValueType) {
  auto f = parse(sample().image());
  ASSERT_TRUE(f.is_ok()) << f.message();
  EXPECT_EQ(f->version(), 3u);
  EXPECT_EQ(f->metadata().size(), 19u);
  EXPECT_EQ(f->metadata()[0].key, "u8");
  EXPECT_EQ(*f->find("u8")->as_int(), 200);
  EXPECT_EQ(*f->find("i8")->as_int(), -5);
  EXPECT_EQ(*f->find("u16")->as_int(), 60000);
  EXPECT_EQ(*f->find("i16")->as_int(), -30000);
  EXPECT_EQ(*f->find("u32")->as_int(), 4000000000ll);
  EXPECT_EQ(*f->find("i32")->as_int(), -2000000000);
  EXPECT_EQ(*f->find("f32")->as_float(), 1.5);
  EXPECT_FALSE(f->find("f32")->as_int().has_value());
  EXPECT_EQ(*f->find("bool")->as_bool(), true);
  EXPECT_EQ(*f->find("str")->as_string(), "héllo");
  EXPECT_EQ(*f->find("u64")->as_int(), 1ll << 40);
  EXPECT_EQ(*f->find("i64")->as_int(), -(1ll << 40));
  EXPECT_EQ(*f->find("f64")->as_float(), -0.25);
  EXPECT_EQ(*f->find("i32")->as_float(), -2e9);  // integers read as numbers too
  EXPECT_EQ(f->find("missing"), nullptr);

  const GgufArray* s = f->find("strings")->as_array();
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->type, GgufType::kString);
  EXPECT_EQ(s->strings, (std::vector<std::string_view>{"a", "", "ccc"}));
  const GgufArray* ints = f->find("ints")->as_array();
  EXPECT_EQ(*ints->int_at(1), -2);
  EXPECT_FALSE(ints->int_at(3).has_value());  // out of range
  EXPECT_EQ(*f->find("floats")->as_array()->float_at(1), 2.0);
  EXPECT_FALSE(f->find("floats")->as_array()->int_at(0).has_value());
  const GgufValue* nested = f->find("nested");
  EXPECT_EQ(nested->type_string(), "array of array of uint16");
  EXPECT_EQ(*nested->as_array()->arrays[0].as_array()->int_at(1), 8);
  EXPECT_EQ(nested->as_array()->arrays[1].as_array()->strings[0], "x");
  EXPECT_EQ(f->find("empty")->as_array()->size, 0u);

  // Typed getters name the key on a mismatch.
  EXPECT_EQ(*f->get_string("str"), "héllo");
  EXPECT_EQ(*f->get_int("u16"), 60000);
  EXPECT_TRUE(f->get_array("ints", GgufType::kInt32).is_ok());
  EXPECT_TRUE(f->get_array("ints", GgufType::kFloat32).is_ok());
  auto bad = f->get_string("u32");
  ASSERT_FALSE(bad.is_ok());
  EXPECT_HAS(bad.message(), "test.gguf: metadata key \"u32\" is of type uint32, expected a string");
  bad = f->get_string("nope");
  EXPECT_HAS(bad.message(), "\"nope\" is missing");
  auto bad_array = f->get_array("floats", GgufType::kInt32);
  EXPECT_HAS(bad_array.message(), "array of float32, expected an array of integers");
}

TEST(Gguf, TensorTableAndAlignedData) {
  auto f = parse(sample().image());
  ASSERT_TRUE(f.is_ok()) << f.message();
  EXPECT_EQ(f->alignment(), 64u);
  EXPECT_EQ(f->data_offset() % 64, 0u);
  ASSERT_EQ(f->tensors().size(), 2u);
  const GgufTensorInfo& emb = f->tensors()[0];
  EXPECT_EQ(emb.name, "token_embd.weight");
  EXPECT_EQ(emb.type, 0u);
  EXPECT_EQ(emb.dims, (std::vector<uint64_t>{4, 2}));
  EXPECT_EQ(emb.offset, 0u);
  EXPECT_EQ(emb.nbytes, 32u);
  float third;
  std::memcpy(&third, f->tensor_data(emb).data() + 8, 4);
  EXPECT_EQ(third, 3.0f);
  const GgufTensorInfo* q = f->find_tensor("blk.0.attn_q.weight");
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q->offset, 64u);
  EXPECT_EQ(q->nbytes, 68u);
  EXPECT_EQ(f->tensor_data(*q)[67], 0x11);
  EXPECT_EQ(ggml_type_info(q->type)->name, "q8_0");
  EXPECT_EQ(ggml_type_info(4), nullptr);  // removed q4_2
  EXPECT_EQ(f->find_tensor("nope"), nullptr);
}

TEST(Gguf, DefaultAlignmentIs32AndVersion2Reads) {
  GgufWriter w;
  w.version(2).kv_string("general.name", "x").tensor("a", 1, {3}, std::string(6, '\0'));
  auto f = parse(w.image());
  ASSERT_TRUE(f.is_ok()) << f.message();
  EXPECT_EQ(f->version(), 2u);
  EXPECT_EQ(f->alignment(), 32u);
  EXPECT_EQ(f->data_offset() % 32, 0u);
}

TEST(Gguf, ReadsTheVocabFixtures) {
  auto f = GgufFile::open(std::string(R1_FIXTURES_DIR) + "/tokenizers/vectors/ggml-vocab-deepseek-llm.gguf");
  ASSERT_TRUE(f.is_ok()) << f.message();
  EXPECT_EQ(f->version(), 3u);
  EXPECT_TRUE(f->tensors().empty());
  EXPECT_EQ(*f->get_string(gguf_key::kTokenizerPre), "deepseek-llm");
  EXPECT_EQ((*f->get_array(gguf_key::kTokens, GgufType::kString))->size, 102400u);
  EXPECT_EQ((*f->get_array(gguf_key::kMerges, GgufType::kString))->strings[0], "Ġ Ġ");
  EXPECT_EQ(*f->get_int(gguf_key::kBosTokenId), 100000);
}

TEST(Gguf, MalformedHeadersAreErrors) {
  EXPECT_HAS(error_of(""), "not a GGUF file");
  EXPECT_HAS(error_of("GGML" + le<uint32_t>(3)), "not a GGUF file");
  EXPECT_HAS(error_of("GGUF"), "truncated");
  EXPECT_HAS(error_of("GGUF" + le<uint32_t>(1) + le<uint64_t>(0) + le<uint64_t>(0)),
             "version 1 is not supported");
  EXPECT_HAS(error_of("GGUF" + le<uint32_t>(7) + le<uint64_t>(0) + le<uint64_t>(0)),
             "unsupported GGUF version 7");
  EXPECT_HAS(error_of("GGUF" + le<uint32_t>(3u << 24) + le<uint64_t>(0) + le<uint64_t>(0)), "big-endian");
  EXPECT_HAS(error_of("GGUF" + le<uint32_t>(3) + le<uint64_t>(0)), "truncated");
  EXPECT_HAS(error_of("GGUF" + le<uint32_t>(3) + le<uint64_t>(0) + le<uint64_t>(1ull << 60)),
             "metadata count 1152921504606846976 is beyond");
  EXPECT_HAS(error_of("GGUF" + le<uint32_t>(3) + le<uint64_t>(~0ull) + le<uint64_t>(0)), "tensor count");
  // Declares one key/value but has none.
  EXPECT_HAS(error_of("GGUF" + le<uint32_t>(3) + le<uint64_t>(0) + le<uint64_t>(1) + std::string(16, '\0')),
             "empty key");
}

TEST(Gguf, MalformedMetadataIsAnErrorNamingTheKey) {
  std::string e = error_of(GgufWriter().kv("k", kString, le<uint64_t>(1000) + "abc").image());
  EXPECT_HAS(e, "metadata key \"k\": string of 1000 bytes");
  EXPECT_HAS(e, "runs past the end");
  e = error_of(GgufWriter().kv("k", 13, le<uint32_t>(0)).image());
  EXPECT_HAS(e, "metadata key \"k\": unknown value type 13");
  e = error_of(GgufWriter().kv("k", kArray, le<uint32_t>(kU32) + le<uint64_t>(1ull << 62)).image());
  EXPECT_HAS(e, "metadata key \"k\": array of 4611686018427387904 uint32 runs past the end");
  e = error_of(
      GgufWriter()
          .kv("k", kArray, le<uint32_t>(kString) + le<uint64_t>(2) + str("a") + le<uint64_t>(100) + "xy")
          .image());
  EXPECT_HAS(e, "metadata key \"k\"[1]: string of 100 bytes");
  e = error_of(GgufWriter().kv("k", kArray, le<uint32_t>(99) + le<uint64_t>(0)).image());
  EXPECT_HAS(e, "unknown value type 99");
  e = error_of(GgufWriter().kv_u32("k", 1).kv_u32("k", 2).image());
  EXPECT_HAS(e, "metadata key \"k\" appears twice");
  e = error_of(GgufWriter().kv("b", kBool, le<uint8_t>(2)).image());
  EXPECT_HAS(e, "bool value 2");
  // Arrays nested deeper than the limit.
  std::string deep = scalar_array<uint8_t>(kU8, {1});
  for (int i = 0; i < 12; ++i) deep = array_payload(kArray, {deep});
  EXPECT_HAS(error_of(GgufWriter().kv("deep", kArray, deep).image()), "nested more than");
  // general.alignment: wrong type, not a power of two.
  EXPECT_HAS(error_of(GgufWriter().kv_string("general.alignment", "32").image()),
             "\"general.alignment\" is of type string, expected uint32");
  EXPECT_HAS(error_of(GgufWriter().kv_u32("general.alignment", 48).image()), "power of two");
  EXPECT_HAS(error_of(GgufWriter().kv_u32("general.alignment", 0).image()), "power of two");
}

TEST(Gguf, MalformedTensorsAreErrorsNamingTheTensor) {
  std::string e = error_of(GgufWriter().tensor("w", 77, {4}, std::string(16, '\0')).image());
  EXPECT_HAS(e, "tensor \"w\": unknown ggml type id 77");
  e = error_of(GgufWriter().tensor("w", 4, {4}, std::string(16, '\0')).image());  // a removed type id
  EXPECT_HAS(e, "unknown ggml type id 4");
  e = error_of(GgufWriter().tensor("w", 0, {1, 1, 1, 1, 1}, std::string(4, '\0')).image());
  EXPECT_HAS(e, "tensor \"w\" has 5 dimensions");
  e = error_of(GgufWriter().tensor("w", 8, {33}, std::string(68, '\0')).image());
  EXPECT_HAS(e, "dimension 0 (33) is not a multiple of the q8_0 block size 32");
  e = error_of(GgufWriter().tensor("w", 0, {4}, std::string(16, '\0'), /*offset=*/8).image());
  EXPECT_HAS(e, "tensor \"w\": data offset 8 is not a multiple of the alignment 32");
  e = error_of(GgufWriter().tensor("a", 0, {16}, std::string(64, '\0')).tensor("b", 0, {4}, "", 32).image());
  EXPECT_HAS(e, "tensors \"a\" and \"b\" overlap");
  e = error_of(GgufWriter().tensor("w", 0, {1ull << 40}, std::string(4, '\0'), 0).image());
  EXPECT_HAS(e, "more than the whole file");
  e = error_of(GgufWriter().tensor("w", 0, {1ull << 62, 1ull << 62}, "", 0).image());
  EXPECT_HAS(e, "overflows");
  e = error_of(GgufWriter()
                   .tensor("w", 0, {8}, std::string(32, '\0'))
                   .tensor("w", 0, {8}, std::string(32, '\0'))
                   .image());
  EXPECT_HAS(e, "tensor \"w\" appears twice");
  // Data running past the end of the file.
  std::string image = GgufWriter().tensor("w", 0, {8}, std::string(32, '\0')).image();
  e = error_of(image.substr(0, image.size() - 1));
  EXPECT_HAS(e, "tensor \"w\": data [0, 32) lies beyond the end of the file");
}

TEST(Gguf, EveryTruncationOfAValidFileIsAnError) {
  const std::string image = sample().image();
  ASSERT_TRUE(parse(image).is_ok());
  for (size_t n = 0; n < image.size(); ++n) {
    EXPECT_FALSE(parse(image.substr(0, n)).is_ok()) << "truncated to " << n << " bytes";
  }
}

// Reads everything a parsed file offers, so that ASan sees any out-of-bounds view.
size_t touch_everything(const GgufFile& f) {
  size_t sum = 0;
  std::function<void(const GgufValue&)> visit = [&](const GgufValue& v) {
    if (auto s = v.as_string()) {
      for (char c : *s) sum += static_cast<uint8_t>(c);
    }
    sum += static_cast<size_t>(v.as_int().value_or(0)) + v.type_string().size();
    if (const GgufArray* a = v.as_array()) {
      for (uint64_t i = 0; i < a->size; ++i) sum += static_cast<size_t>(a->float_at(i).value_or(0));
      for (auto s : a->strings) sum += s.size() + (s.empty() ? 0 : static_cast<uint8_t>(s.back()));
      for (const GgufValue& inner : a->arrays) visit(inner);
    }
  };
  for (const auto& kv : f.metadata()) visit(kv.value);
  for (const GgufTensorInfo& t : f.tensors()) {
    const auto data = f.tensor_data(t);
    if (!data.empty()) sum += data.front() + data.back();
  }
  return sum;
}

TEST(Gguf, RandomCorruptionNeverCrashes) {
  const std::string image = sample().image();
  std::mt19937 rng(1234);
  int parsed = 0;
  constexpr int kMutations = 6000;
  for (int i = 0; i < kMutations; ++i) {
    std::string m = image;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < edits; ++k) {
      const size_t pos = rng() % m.size();
      switch (rng() % 5) {
        case 0:  // flip a bit
          m[pos] = static_cast<char>(m[pos] ^ (1 << (rng() % 8)));
          break;
        case 1:  // random byte
          m[pos] = static_cast<char>(rng());
          break;
        case 2:  // a large or boundary number in a length/count/offset field
          m.replace(pos, std::min<size_t>(8, m.size() - pos),
                    le<uint64_t>(
                        std::array<uint64_t, 5>{~0ull, 1ull << 32, 0x7fffffffffffffffull, 0, 31}[rng() % 5])
                        .substr(0, std::min<size_t>(8, m.size() - pos)));
          break;
        case 3:  // truncate
          m.resize(pos);
          break;
        default:  // drop a byte
          m.erase(pos, 1);
          break;
      }
      if (m.empty()) break;
    }
    auto f = parse(m);
    if (f.is_ok()) {
      ++parsed;
      touch_everything(*f);
    } else {
      EXPECT_EQ(f.message().rfind("test.gguf: ", 0), 0u) << f.message();
    }
  }
  EXPECT_GT(parsed, 0);  // some mutations only touch values, which still parse
}

}  // namespace
}  // namespace r1
