// The model fingerprint that keys the disk cache: stable for the same files, different when they change.
#include "runtime/fingerprint.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>

#include "test_util.h"

namespace r1 {
namespace {

namespace fs = std::filesystem;

constexpr size_t kMiB = size_t(1) << 20;

std::string pattern(size_t n, int seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = char((i * 131 + size_t(seed) * 7 + i / 4096) & 0xff);
  return s;
}

// config.json, a small weight file and one of 3 MiB (so it has a middle that is not sampled).
void write_model(const std::string& dir) {
  fs::create_directories(dir);
  test::write_file(dir + "/config.json", R"({"model_type": "qwen2", "hidden_size": 64})");
  test::write_file(dir + "/model-00001-of-00002.safetensors", pattern(1000, 1));
  test::write_file(dir + "/model-00002-of-00002.safetensors", pattern(3 * kMiB, 2));
  test::write_file(dir + "/README.md", "not hashed");
}

void flip_byte(const std::string& file, size_t at) {
  std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(std::streamoff(at));
  char ch;
  f.get(ch);
  f.seekp(std::streamoff(at));
  f.put(char(ch ^ 1));
}

std::string fingerprint(const std::string& path, const std::string& extra = "q8_0;gqa f32 16x2x64") {
  auto fp = model_fingerprint(path, extra);
  EXPECT_TRUE(fp.is_ok()) << fp.message();
  return fp.is_ok() ? *fp : "";
}

TEST(ModelFingerprint, SameFilesSameFingerprintWhereverTheyAre) {
  test::TempDir dir;
  write_model(dir.file("a"));
  const std::string fp = fingerprint(dir.file("a"));
  ASSERT_EQ(fp.size(), 32u);
  EXPECT_EQ(fp.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_EQ(fingerprint(dir.file("a")), fp);
  fs::copy(dir.file("a"), dir.file("b"), fs::copy_options::recursive);
  EXPECT_EQ(fingerprint(dir.file("b")), fp);
  test::write_file(dir.file("b") + "/README.md", "other files do not count");
  EXPECT_EQ(fingerprint(dir.file("b")), fp);
}

TEST(ModelFingerprint, ChangesWithConfigWeightsNamesAndExtra) {
  test::TempDir dir;
  write_model(dir.file("m"));
  const std::string m = dir.file("m");
  const std::string base = fingerprint(m);
  EXPECT_NE(fingerprint(m, "q4_k;gqa f32 16x2x64"), base);
  EXPECT_NE(fingerprint(m, ""), base);
  struct Change {
    std::string what;
    std::function<void()> apply, undo;
  };
  const std::string small = m + "/model-00001-of-00002.safetensors";
  const std::string big = m + "/model-00002-of-00002.safetensors";
  const std::vector<Change> changes = {
      {"config byte", [&] { flip_byte(m + "/config.json", 3); }, [&] { flip_byte(m + "/config.json", 3); }},
      {"small weight byte", [&] { flip_byte(small, 999); }, [&] { flip_byte(small, 999); }},
      {"first MiB byte", [&] { flip_byte(big, kMiB - 1); }, [&] { flip_byte(big, kMiB - 1); }},
      {"last MiB byte", [&] { flip_byte(big, 2 * kMiB); }, [&] { flip_byte(big, 2 * kMiB); }},
      {"weight size", [&] { fs::resize_file(small, 1001); }, [&] { fs::resize_file(small, 1000); }},
      {"weight name", [&] { fs::rename(small, m + "/model-1.safetensors"); },
       [&] { fs::rename(m + "/model-1.safetensors", small); }},
      {"another weight file", [&] { test::write_file(m + "/extra.safetensors", "x"); },
       [&] { fs::remove(m + "/extra.safetensors"); }},
  };
  for (const auto& c : changes) {
    c.apply();
    EXPECT_NE(fingerprint(m), base) << c.what;
    c.undo();
    EXPECT_EQ(fingerprint(m), base) << "undoing " << c.what;
  }
  // By design only the ends of a weight file are read: a byte in the middle of the big file goes unnoticed.
  flip_byte(big, kMiB + kMiB / 2);
  EXPECT_EQ(fingerprint(m), base);
}

TEST(ModelFingerprint, HashesASingleGgufFile) {
  test::TempDir dir;
  test::write_file(dir.file("m.gguf"), pattern(2 * kMiB + 10, 3));
  const std::string base = fingerprint(dir.file("m.gguf"));
  EXPECT_EQ(base.size(), 32u);
  flip_byte(dir.file("m.gguf"), 5);
  EXPECT_NE(fingerprint(dir.file("m.gguf")), base);
}

TEST(ModelFingerprint, MissingOrIncompleteModelsAreErrors) {
  test::TempDir dir;
  auto missing = model_fingerprint(dir.file("nope"), "");
  ASSERT_FALSE(missing.is_ok());
  EXPECT_NE(missing.message().find("nope"), std::string::npos) << missing.message();
  write_model(dir.file("m"));
  fs::remove(dir.file("m") + "/config.json");
  EXPECT_FALSE(model_fingerprint(dir.file("m"), "").is_ok());
  fs::create_directories(dir.file("w"));
  test::write_file(dir.file("w") + "/config.json", "{}");
  auto no_weights = model_fingerprint(dir.file("w"), "");
  ASSERT_FALSE(no_weights.is_ok());
  EXPECT_NE(no_weights.message().find("safetensors"), std::string::npos) << no_weights.message();
}

}  // namespace
}  // namespace r1
