// GgufWriter: files with every metadata type the writer makes and tensors of every supported type are read
// back with our validated GgufFile reader (keys, types, values, dims in ggml order, type ids, aligned
// offsets, bytes); invalid tensors and unwritable paths are errors that leave no file behind.
#include "io/gguf_writer.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "io/gguf.h"
#include "test_util.h"

namespace r1 {
namespace {

#define EXPECT_HAS(haystack, needle) EXPECT_NE((haystack).find(needle), std::string::npos) << (haystack)

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::vector<uint8_t> random_bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> v(n);
  for (auto& b : v) b = static_cast<uint8_t>(rng());
  return v;
}

struct TensorCase {
  std::string name;
  DType type;
  std::vector<int64_t> shape;
  uint32_t ggml_type;  // ggml.h enum ggml_type, written out here independently of kernels::ggml_type_of
  size_t nbytes;       // computed by hand from ggml's block sizes
};

// Bytes per tensor: F32 4/elt, F16/BF16 2/elt, Q8_0 34 per 32, Q4_0 18 per 32, Q4_K 144 per 256, Q6_K 210 per
// 256.
const std::vector<TensorCase> kTensors = {
    {"f32.odd", DType::kF32, {3, 5, 7}, 0, 3 * 5 * 7 * 4},
    {"f16.vec", DType::kF16, {13}, 1, 13 * 2},
    {"bf16.mat", DType::kBF16, {2, 9}, 30, 2 * 9 * 2},
    {"q8_0", DType::kQ8_0, {3, 64}, 8, 3 * 2 * 34},
    {"q4_0", DType::kQ4_0, {5, 32}, 2, 5 * 18},
    {"q4_k", DType::kQ4_K, {2, 512}, 12, 2 * 2 * 144},
    {"q6_k.4d", DType::kQ6_K, {1, 2, 3, 256}, 14, 6 * 210},
    {"f32.scalar", DType::kF32, {}, 0, 4},
    {"f32.empty", DType::kF32, {0, 4}, 0, 0},
};

GgufWriter sample(uint32_t alignment) {
  GgufWriter w(alignment);
  w.set_string("general.architecture", "qwen2");
  w.set_u32("u32", 4000000000u);
  w.set_i32("i32", -2000000000);
  w.set_u64("u64", 0x123456789abcdefULL);
  w.set_f32("f32", 3.25f);
  w.set_bool("true", true);
  w.set_bool("false", false);
  w.set_string("empty", "");
  w.set_string("utf8",
               "caf\xC3\xA9 \xE2\x96\x81 <\xEF\xBD\x9C"
               "User\xEF\xBD\x9C>");
  w.set_string_array("strings", {"a b", "", "\xC4\xA0hello"});
  w.set_string_array("no.strings", {});
  w.set_i32_array("ints", {1, -2, 2147483647, -2147483647 - 1});
  w.set_f32_array("floats", {0.5f, -1e30f, 0.0f});
  w.set_u32("replaced", 1);
  w.set_string("replaced", "second");  // replaces in place, keeps the first position
  uint32_t seed = 1;
  for (const TensorCase& t : kTensors) w.add_tensor(t.name, t.type, t.shape, random_bytes(t.nbytes, seed++));
  return w;
}

void check_sample(const GgufFile& f, uint32_t alignment) {
  EXPECT_EQ(f.version(), 3u);
  EXPECT_EQ(f.alignment(), alignment);
  std::vector<std::string> keys;
  for (const auto& kv : f.metadata()) keys.emplace_back(kv.key);
  std::vector<std::string> want = {
      "general.architecture", "u32",  "i32",    "u64",     "f32", "true", "false", "empty", "utf8", "strings",
      "no.strings",           "ints", "floats", "replaced"};
  if (alignment != 32) want.insert(want.begin(), "general.alignment");
  EXPECT_EQ(keys, want);

  EXPECT_EQ(f.find("u32")->type(), GgufType::kUint32);
  EXPECT_EQ(*f.find("u32")->as_int(), 4000000000LL);
  EXPECT_EQ(f.find("i32")->type(), GgufType::kInt32);
  EXPECT_EQ(*f.find("i32")->as_int(), -2000000000);
  EXPECT_EQ(f.find("u64")->type(), GgufType::kUint64);
  EXPECT_EQ(*f.find("u64")->as_int(), 0x123456789abcdefLL);
  EXPECT_EQ(f.find("f32")->type(), GgufType::kFloat32);
  EXPECT_EQ(*f.find("f32")->as_float(), 3.25);
  EXPECT_EQ(*f.find("true")->as_bool(), true);
  EXPECT_EQ(*f.find("false")->as_bool(), false);
  EXPECT_EQ(*f.find("empty")->as_string(), "");
  EXPECT_EQ(*f.find("utf8")->as_string(),
            "caf\xC3\xA9 \xE2\x96\x81 <\xEF\xBD\x9C"
            "User\xEF\xBD\x9C>");
  EXPECT_EQ(*f.find("replaced")->as_string(), "second");
  if (alignment != 32) {
    EXPECT_EQ(f.find("general.alignment")->type(), GgufType::kUint32);
    EXPECT_EQ(*f.find("general.alignment")->as_int(), alignment);
  }

  const GgufArray* strings = f.find("strings")->as_array();
  ASSERT_NE(strings, nullptr);
  EXPECT_EQ(strings->type, GgufType::kString);
  ASSERT_EQ(strings->size, 3u);
  EXPECT_EQ(strings->strings[0], "a b");
  EXPECT_EQ(strings->strings[1], "");
  EXPECT_EQ(strings->strings[2], "\xC4\xA0hello");
  EXPECT_EQ(f.find("no.strings")->as_array()->size, 0u);
  EXPECT_EQ(f.find("no.strings")->type_string(), "array of string");

  const GgufArray* ints = f.find("ints")->as_array();
  ASSERT_EQ(ints->size, 4u);
  EXPECT_EQ(ints->type, GgufType::kInt32);
  EXPECT_EQ(*ints->int_at(0), 1);
  EXPECT_EQ(*ints->int_at(1), -2);
  EXPECT_EQ(*ints->int_at(2), 2147483647);
  EXPECT_EQ(*ints->int_at(3), -2147483648LL);
  const GgufArray* floats = f.find("floats")->as_array();
  ASSERT_EQ(floats->size, 3u);
  EXPECT_EQ(floats->type, GgufType::kFloat32);
  EXPECT_EQ(*floats->float_at(0), 0.5);
  EXPECT_EQ(*floats->float_at(1), static_cast<double>(-1e30f));
  EXPECT_EQ(*floats->float_at(2), 0.0);

  ASSERT_EQ(f.tensors().size(), kTensors.size());
  EXPECT_EQ(f.data_offset() % alignment, 0u);
  uint32_t seed = 1;
  for (size_t i = 0; i < kTensors.size(); ++i) {
    const TensorCase& want_t = kTensors[i];
    const GgufTensorInfo& t = f.tensors()[i];
    SCOPED_TRACE(want_t.name);
    EXPECT_EQ(t.name, want_t.name);
    EXPECT_EQ(t.type, want_t.ggml_type);
    std::vector<uint64_t> ggml_dims(want_t.shape.rbegin(), want_t.shape.rend());
    EXPECT_EQ(t.dims, ggml_dims);
    EXPECT_EQ(t.offset % alignment, 0u);
    EXPECT_EQ(t.nbytes, want_t.nbytes);
    const std::span<const uint8_t> data = f.tensor_data(t);
    const std::vector<uint8_t> expected = random_bytes(want_t.nbytes, seed++);
    EXPECT_TRUE(std::equal(data.begin(), data.end(), expected.begin(), expected.end()));
  }
}

TEST(GgufWriter, RoundTripsEveryTypeDefaultAlignment) {
  test::TempDir dir;
  const std::string path = dir.file("m.gguf");
  ASSERT_TRUE(sample(32).write(path).is_ok());
  auto f = GgufFile::open(path);
  ASSERT_TRUE(f.is_ok()) << f.message();
  check_sample(*f, 32);
  EXPECT_EQ(f->find("general.alignment"), nullptr);  // the default is not written
  // Only the final file is left in the folder.
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()), {}), 1);
}

TEST(GgufWriter, RoundTripsCustomAlignment) {
  for (uint32_t alignment : {1u, 8u, 64u, 4096u}) {
    SCOPED_TRACE(alignment);
    test::TempDir dir;
    const std::string path = dir.file("m.gguf");
    const Status s = sample(alignment).write(path);
    ASSERT_TRUE(s.is_ok()) << s.message();
    auto f = GgufFile::open(path);
    ASSERT_TRUE(f.is_ok()) << f.message();
    check_sample(*f, alignment);
  }
}

TEST(GgufWriter, HeaderBytesFollowTheSpec) {
  // One u32 key and one 2x3 F32 tensor, checked byte by byte against the layout in io/gguf.h.
  test::TempDir dir;
  GgufWriter w;
  w.set_u32("k", 7);
  std::vector<uint8_t> data(24, 0xAB);
  w.add_tensor("t", DType::kF32, {2, 3}, data);
  ASSERT_TRUE(w.write(dir.file("a.gguf")).is_ok());
  const std::string bytes = read_all(dir.file("a.gguf"));
  std::string want("GGUF", 4);
  auto le32 = [](uint32_t v) { return std::string(reinterpret_cast<const char*>(&v), 4); };
  auto le64 = [](uint64_t v) { return std::string(reinterpret_cast<const char*>(&v), 8); };
  want += le32(3) + le64(1) + le64(1);
  want += le64(1) + "k" + le32(4) + le32(7);
  want += le64(1) + "t" + le32(2) + le64(3) + le64(2) + le32(0) + le64(0);
  want.resize((want.size() + 31) / 32 * 32, '\0');
  want += std::string(24, '\xAB');
  want.resize((want.size() + 31) / 32 * 32, '\0');
  EXPECT_EQ(bytes, want);
}

TEST(GgufWriter, EmptyFileHasNoTensors) {
  test::TempDir dir;
  ASSERT_TRUE(GgufWriter().write(dir.file("e.gguf")).is_ok());
  auto f = GgufFile::open(dir.file("e.gguf"));
  ASSERT_TRUE(f.is_ok()) << f.message();
  EXPECT_TRUE(f->tensors().empty());
  EXPECT_TRUE(f->metadata().empty());
}

// Each bad writer fails with a message containing `needle` and leaves the folder empty.
void expect_refused(const GgufWriter& w, const std::string& needle) {
  test::TempDir dir;
  const std::string path = dir.file("bad.gguf");
  const Status s = w.write(path);
  ASSERT_FALSE(s.is_ok());
  EXPECT_HAS(s.message(), needle);
  EXPECT_HAS(s.message(), path);
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()), {}), 0);
}

TEST(GgufWriter, RefusesBadTensors) {
  {
    GgufWriter w;
    w.add_tensor("w", DType::kF32, {2, 3}, std::vector<uint8_t>(23));
    expect_refused(w, "23 bytes");
  }
  {
    GgufWriter w;
    w.add_tensor("w", DType::kQ8_0, {2, 48}, std::vector<uint8_t>(2 * 34));
    expect_refused(w, "not a multiple of the Q8_0 block size 32");
  }
  {
    GgufWriter w;
    w.add_tensor("w", DType::kQ4_K, {128}, std::vector<uint8_t>(72));
    expect_refused(w, "block size 256");
  }
  {
    GgufWriter w;
    w.add_tensor("w", DType::kF32, {1}, std::vector<uint8_t>(4));
    w.add_tensor("w", DType::kF32, {1}, std::vector<uint8_t>(4));
    expect_refused(w, "\"w\" is added twice");
  }
  {
    GgufWriter w;
    w.add_tensor(std::string(64, 'n'), DType::kF32, {1}, std::vector<uint8_t>(4));
    expect_refused(w, "longer than ggml's limit of 63");
  }
  {
    GgufWriter w;
    w.add_tensor("", DType::kF32, {1}, std::vector<uint8_t>(4));
    expect_refused(w, "empty name");
  }
  {
    GgufWriter w;
    w.add_tensor("w", DType::kF32, {1, 1, 1, 1, 1}, std::vector<uint8_t>(4));
    expect_refused(w, "5 dimensions");
  }
  {
    GgufWriter w;
    w.add_tensor("w", DType::kF32, {-1, 2}, {});
    expect_refused(w, "negative dimension");
  }
  {
    GgufWriter w;
    w.add_tensor("w", DType::kI32, {1}, std::vector<uint8_t>(4));
    expect_refused(w, "no GGUF equivalent");
  }
  {
    GgufWriter w(48);
    expect_refused(w, "alignment 48");
  }
  {
    GgufWriter w;
    w.set_u32("general.alignment", 64);
    expect_refused(w, "set by the writer");
  }
}

TEST(GgufWriter, FailedWriteLeavesNoFile) {
  test::TempDir dir;
  const Status missing = sample(32).write(dir.file("no/such/folder/m.gguf"));
  ASSERT_FALSE(missing.is_ok());
  EXPECT_HAS(missing.message(), "no/such/folder/m.gguf");

  // The target is a non-empty folder: everything is written, then the rename fails (even as root), and the
  // temporary file must be gone.
  const std::string target = dir.file("taken");
  std::filesystem::create_directories(target + "/inside");
  const Status rename = sample(32).write(target);
  ASSERT_FALSE(rename.is_ok());
  EXPECT_HAS(rename.message(), target);
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()), {}), 1);  // just the folder
}

TEST(GgufWriter, ReadOnlyFolderLeavesNoFile) {
  test::TempDir dir;
  const std::string sub = dir.file("ro");
  std::filesystem::create_directories(sub);
  std::filesystem::permissions(sub, std::filesystem::perms::owner_read | std::filesystem::perms::owner_exec);
  const std::string path = sub + "/m.gguf";
  const Status s = sample(32).write(path);
  std::filesystem::permissions(sub, std::filesystem::perms::owner_all);
  if (::geteuid() == 0 && s.is_ok()) GTEST_SKIP() << "running as root: permissions do not stop writes";
  ASSERT_FALSE(s.is_ok());
  EXPECT_HAS(s.message(), path);
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(sub), {}), 0);
}

TEST(GgufWriter, ReplacesAnExistingFile) {
  test::TempDir dir;
  const std::string path = dir.file("m.gguf");
  test::write_file(path, "old contents");
  ASSERT_TRUE(sample(32).write(path).is_ok());
  auto f = GgufFile::open(path);
  ASSERT_TRUE(f.is_ok()) << f.message();
  check_sample(*f, 32);
}

}  // namespace
}  // namespace r1
