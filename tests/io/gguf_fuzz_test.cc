// Seeded mutations of real GGUF files (tests/fixtures/gguf/) through the reader and the model loader: byte flips,
// truncation at every region boundary, count and length fields set huge, tensor offsets and dims shifted. Every
// case must come back as a Status (or a valid file), never a crash, a hang or a huge allocation; the sanitizer
// build runs this too.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>

#include "io/gguf.h"
#include "model/gguf_model.h"
#include "test_util.h"

namespace r1 {
namespace {

const std::string kGguf = std::string(R1_FIXTURES_DIR) + "/gguf/";

std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

void put_u64(std::vector<uint8_t>& b, size_t at, uint64_t v) {
  if (at + 8 <= b.size()) std::memcpy(b.data() + at, &v, 8);
}
void put_u32(std::vector<uint8_t>& b, size_t at, uint32_t v) {
  if (at + 4 <= b.size()) std::memcpy(b.data() + at, &v, 4);
}
uint64_t get_u64(const std::vector<uint8_t>& b, size_t at) {
  uint64_t v = 0;
  if (at + 8 <= b.size()) std::memcpy(&v, b.data() + at, 8);
  return v;
}

// Where the fields of a valid file are, found from the parsed file and the raw bytes (key and tensor names are
// searched for; each is preceded by its u64 length).
struct Layout {
  std::vector<size_t> boundaries;     // starts of regions: header fields, each key, each tensor info, data
  std::vector<size_t> lengths;        // u64 string-length fields
  std::vector<size_t> array_counts;   // u64 element counts of arrays
  std::vector<size_t> n_dims;         // u32 per tensor info
  std::vector<size_t> dims;           // u64 per dimension
  std::vector<size_t> offsets;        // u64 tensor data offsets
};

size_t find_name(const std::vector<uint8_t>& b, std::string_view name, size_t from) {
  for (size_t at = from; at + 8 + name.size() <= b.size(); ++at) {
    auto it = std::search(b.begin() + ptrdiff_t(at), b.end(), name.begin(), name.end());
    if (it == b.end()) return std::string::npos;
    const size_t p = size_t(it - b.begin());
    if (p >= 8 && get_u64(b, p - 8) == name.size()) return p;
    at = p;
  }
  return std::string::npos;
}

Layout layout_of(const std::vector<uint8_t>& bytes, const GgufFile& f) {
  Layout l;
  l.boundaries = {0, 4, 8, 16, 24};
  size_t pos = 24;
  for (const auto& kv : f.metadata()) {
    const size_t p = find_name(bytes, kv.key, pos);
    if (p == std::string::npos) continue;
    l.boundaries.push_back(p - 8);
    l.lengths.push_back(p - 8);
    const size_t value = p + kv.key.size() + 4;  // after the u32 type
    l.boundaries.push_back(value);
    if (kv.value.type() == GgufType::kString) l.lengths.push_back(value);
    if (kv.value.type() == GgufType::kArray) l.array_counts.push_back(value + 4);
    pos = p + kv.key.size();
  }
  for (const auto& t : f.tensors()) {
    const size_t p = find_name(bytes, t.name, pos);
    if (p == std::string::npos) continue;
    l.boundaries.push_back(p - 8);
    l.lengths.push_back(p - 8);
    size_t q = p + t.name.size();
    l.n_dims.push_back(q);
    q += 4;
    for (size_t d = 0; d < t.dims.size(); ++d, q += 8) l.dims.push_back(q);
    l.boundaries.push_back(q);  // type
    l.offsets.push_back(q + 4);
    pos = q + 12;
    l.boundaries.push_back(size_t(f.data_offset() + t.offset));
  }
  l.boundaries.push_back(pos);
  l.boundaries.push_back(size_t(f.data_offset()));
  l.boundaries.push_back(bytes.size());
  return l;
}

// Reads everything a loader would from a parsed file: keys of every type, every tensor's span.
void exercise(const GgufFile& f) {
  size_t sum = 0;
  for (const auto& kv : f.metadata()) {
    sum += kv.value.type_string().size();
    (void)kv.value.as_int(), (void)kv.value.as_float(), (void)kv.value.as_string();
    if (const GgufArray* a = kv.value.as_array())
      for (uint64_t i = 0; i < std::min<uint64_t>(a->size, 4); ++i) (void)a->int_at(i), (void)a->float_at(i);
  }
  for (const auto& t : f.tensors()) {
    const auto span = f.tensor_data(t);
    if (!span.empty()) sum += span.front() + span.back();
  }
  (void)f.get_string("general.architecture");
  (void)f.get_int("qwen2.block_count");
  EXPECT_GE(sum, 0u);
}

class GgufFuzz : public ::testing::TestWithParam<std::string> {};

TEST_P(GgufFuzz, MutationsNeverCrash) {
  const auto original = read_bytes(kGguf + GetParam());
  ASSERT_FALSE(original.empty());
  auto parsed = GgufFile::from_bytes(original, "orig.gguf");
  ASSERT_TRUE(parsed.is_ok()) << parsed.message();
  const Layout l = layout_of(original, *parsed);
  // Every key and tensor was located, so the field mutations below hit real fields.
  ASSERT_EQ(l.offsets.size(), parsed->tensors().size());
  ASSERT_GE(l.lengths.size(), parsed->metadata().size() + parsed->tensors().size());
  // The mutated files need only their header: keep the tensor data short to make each case cheap, except where a
  // mutation is about the data region.
  const size_t header_end = size_t(parsed->data_offset());

  std::mt19937_64 rng(20261128);
  auto pick = [&](const std::vector<size_t>& v) { return v[rng() % v.size()]; };
  const uint64_t huge[] = {~0ull, 1ull << 62, 1ull << 40, 0xffffffffull, 1ull << 31, 0};
  int ok = 0, failed = 0;
  auto run = [&](std::vector<uint8_t> bytes) {
    auto f = GgufFile::from_bytes(std::move(bytes), "fuzz.gguf");
    if (f.is_ok()) {
      exercise(*f);
      ++ok;
    } else {
      EXPECT_FALSE(f.message().empty());
      ++failed;
    }
  };
  // Truncation at every boundary and one byte either side.
  for (size_t b : l.boundaries)
    for (size_t at : {b, b + 1, b ? b - 1 : 0})
      if (at <= original.size()) run(std::vector<uint8_t>(original.begin(), original.begin() + ptrdiff_t(at)));
  for (int i = 0; i < 1000; ++i) {
    std::vector<uint8_t> b = original;
    switch (rng() % 7) {
      case 0:  // byte flips in the header
        for (int k = 0, n = 1 + int(rng() % 4); k < n; ++k) b[rng() % header_end] ^= uint8_t(1 + rng() % 255);
        break;
      case 1: put_u64(b, pick(l.lengths), huge[rng() % 6] + (rng() % 3)); break;
      case 2: put_u64(b, 8 + 8 * (rng() % 2), huge[rng() % 6] - (rng() % 3)); break;  // n_tensors / n_kv
      case 3: put_u64(b, pick(l.offsets), get_u64(b, pick(l.offsets)) + (rng() % 5) * 16 - 32); break;
      case 4: put_u64(b, pick(l.dims), rng() % 2 ? huge[rng() % 6] : rng() % 300); break;
      case 5: put_u32(b, pick(l.n_dims), uint32_t(rng() % 2 ? rng() : rng() % 8)); break;
      case 6:  // type fields and random words anywhere in the header
        put_u32(b, pick(l.boundaries) % header_end, uint32_t(rng() % 64));
        if (!l.array_counts.empty()) put_u64(b, pick(l.array_counts), huge[rng() % 6]);
        break;
    }
    if (rng() % 4 == 0) b.resize(std::max(header_end, size_t(rng() % b.size())));
    run(std::move(b));
  }
  std::printf("%s: %d mutated files parsed, %d rejected\n", GetParam().c_str(), ok, failed);
  EXPECT_GT(failed, 500);
  EXPECT_GT(ok + failed, 1000);
}

// Mutated files through the whole model loader (metadata -> config, tensors -> weights): errors, never crashes.
TEST_P(GgufFuzz, LoaderSurvivesMutatedFiles) {
  const auto original = read_bytes(kGguf + GetParam());
  auto parsed = GgufFile::from_bytes(original, "orig.gguf");
  ASSERT_TRUE(parsed.is_ok());
  const Layout l = layout_of(original, *parsed);
  test::TempDir dir;
  std::mt19937_64 rng(7);
  int loaded = 0;
  for (int i = 0; i < 60; ++i) {
    std::vector<uint8_t> b = original;
    switch (rng() % 3) {
      case 0:  // a metadata value changed (counts and sizes become other integers, floats other bits)
        for (int k = 0; k < 2; ++k) {
          const size_t at = l.boundaries[rng() % l.boundaries.size()];
          if (at + 4 <= size_t(parsed->data_offset())) b[at + rng() % 4] ^= uint8_t(1u << (rng() % 8));
        }
        break;
      case 1: put_u64(b, l.dims[rng() % l.dims.size()], rng() % 200); break;
      case 2: {  // small integer metadata set to 0, 1 or a large value
        const size_t at = l.boundaries[5 + rng() % (l.boundaries.size() - 8)];
        put_u32(b, at, uint32_t(std::vector<uint32_t>{0, 1, 3, 1000, 1u << 20}[rng() % 5]));
        break;
      }
    }
    const std::string path = dir.file("m" + std::to_string(i) + ".gguf");
    test::write_file(path, std::string(b.begin(), b.end()));
    auto model = load_gguf_model(path, {});
    if (model.is_ok()) {
      ++loaded;
      const int64_t V = (*model)->info().vocab_size;
      std::vector<int32_t> ids = {0, int32_t(V - 1)};
      auto cache = (*model)->new_cache(4);
      std::vector<float> logits(static_cast<size_t>(V));
      (void)(*model)->forward(ids, *cache, logits.data(), false);
    } else {
      EXPECT_FALSE(model.message().empty());
    }
  }
  std::printf("%s: %d of 60 mutated files loaded\n", GetParam().c_str(), loaded);
  EXPECT_LT(loaded, 60);
}

// All three architectures; the split-kv_b file (900 KB) is the only one with attn_k_b / attn_v_b. 1000 random
// mutations per file plus the truncations keep the sanitizer build's run short (each mutation copies the file).
INSTANTIATE_TEST_SUITE_P(Fixtures, GgufFuzz,
                         ::testing::Values("qwen2_gqa4.q8_0.gguf", "llama_llama3rope.q8_0.gguf",
                                           "deepseek_v3.q8_0.gguf", "deepseek_v2_lite_split_kv.f32.gguf"));

}  // namespace
}  // namespace r1
