#include "io/safetensors.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace r1 {
namespace {

using test::RawTensor;
using test::TempDir;

std::string error_of(const std::string& image) {
  TempDir dir;
  test::write_file(dir.file("model.safetensors"), image);
  auto st = SafetensorsFile::open(dir.file("model.safetensors"));
  EXPECT_FALSE(st.is_ok());
  return st.is_ok() ? "" : st.message();
}

// A header written by hand, for malformations the writer cannot produce.
std::string with_header(const std::string& json, const std::string& data) {
  uint64_t n = json.size();
  std::string out(8, '\0');
  std::memcpy(out.data(), &n, 8);
  return out + json + data;
}

TEST(Safetensors, ReadsTensorsInPlace) {
  TempDir dir;
  const std::vector<float> a = {1, 2, 3, 4, 5, 6};
  test::write_file(dir.file("model.safetensors"),
                   test::safetensors_image({{"a", "F32", {2, 3}, test::f32_bytes(a)},
                                            {"b", "BF16", {2}, std::string("\x80\x3f\x00\xc0", 4)}}));
  auto st = SafetensorsFile::open(dir.file("model.safetensors"));
  ASSERT_TRUE(st.is_ok()) << st.message();
  const Tensor& ta = st->tensors().at("a");
  EXPECT_EQ(ta.dtype, DType::kF32);
  EXPECT_EQ(ta.shape_string(), "[2, 3]");
  EXPECT_EQ(ta.as<float>()[5], 6.0f);
  const Tensor& tb = st->tensors().at("b");
  EXPECT_EQ(tensor_get_f32(tb, 0), 1.0f);
  EXPECT_EQ(tensor_get_f32(tb, 1), -2.0f);
}

TEST(Safetensors, MalformedFilesAreErrorsNamingTheFault) {
  EXPECT_NE(error_of("abc").find("truncated"), std::string::npos);
  EXPECT_NE(error_of(std::string("\xff\xff\xff\xff\x00\x00\x00\x00{}", 10)).find("beyond the file"),
            std::string::npos);
  EXPECT_NE(error_of(with_header("{\"a\": [", "")).find("malformed header"), std::string::npos);
  EXPECT_NE(error_of(with_header("[1, 2]", "")).find("malformed header"), std::string::npos);
  // Offsets outside the data.
  std::string e = error_of(with_header(R"({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}})",
                                       std::string(8, '\0')));
  EXPECT_NE(e.find("'w'"), std::string::npos) << e;
  EXPECT_NE(e.find("outside"), std::string::npos) << e;
  // Shape disagreeing with the byte span.
  e = error_of(with_header(R"({"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 16]}})", std::string(16, '\0')));
  EXPECT_NE(e.find("needs 12 bytes"), std::string::npos) << e;
  // Overlapping tensors.
  e = error_of(with_header(R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},)"
                           R"( "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}})",
                           std::string(16, '\0')));
  EXPECT_NE(e.find("overlap"), std::string::npos) << e;
  // Unknown dtype, bad shapes, missing fields.
  e = error_of(with_header(R"({"w": {"dtype": "Q9", "shape": [1], "data_offsets": [0, 1]}})", std::string(8, '\0')));
  EXPECT_NE(e.find("unsupported dtype Q9"), std::string::npos) << e;
  e = error_of(with_header(R"({"w": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}})", std::string(8, '\0')));
  EXPECT_NE(e.find("shape"), std::string::npos) << e;
  e = error_of(with_header(R"({"w": {"dtype": "F32", "shape": [1]}})", std::string(8, '\0')));
  EXPECT_NE(e.find("data_offsets"), std::string::npos) << e;
  e = error_of(with_header(R"({"w": 5})", ""));
  EXPECT_NE(e.find("not an object"), std::string::npos) << e;
  // Dimension products that overflow 64 bits must not wrap around into a valid-looking size.
  e = error_of(with_header(R"({"w": {"dtype": "F32", "shape": [1099511627776, 1099511627776, 16],)"
                           R"( "data_offsets": [0, 0]}})", ""));
  EXPECT_FALSE(e.empty());
}

TEST(Safetensors, EveryTruncationOfAValidFileIsAnError) {
  const std::string image = test::safetensors_image(
      {{"a", "F32", {3}, test::f32_bytes({1, 2, 3})}, {"b", "F16", {2}, std::string(4, '\1')}});
  for (size_t n = 0; n < image.size(); ++n) {
    TempDir dir;
    test::write_file(dir.file("x.safetensors"), image.substr(0, n));
    auto st = SafetensorsFile::open(dir.file("x.safetensors"));
    EXPECT_FALSE(st.is_ok()) << "truncated to " << n << " bytes";
  }
}

TEST(Safetensors, MisalignedTensorIsCopiedNotReadMisaligned) {
  TempDir dir;
  // A 2-byte tensor first pushes the F32 tensor to an odd offset.
  test::write_file(dir.file("model.safetensors"),
                   test::safetensors_image({{"a", "BF16", {1}, std::string(2, '\0')},
                                            {"b", "F32", {2}, test::f32_bytes({7, 8})}}));
  auto st = SafetensorsFile::open(dir.file("model.safetensors"));
  ASSERT_TRUE(st.is_ok()) << st.message();
  const Tensor& b = st->tensors().at("b");
  EXPECT_EQ(reinterpret_cast<uintptr_t>(b.data) % 4, 0u);
  EXPECT_EQ(b.as<float>()[1], 8.0f);
}

TEST(WeightStore, ShardedFolderAndShapeChecks) {
  TempDir dir;
  test::write_file(dir.file("model-00001-of-00002.safetensors"),
                   test::safetensors_image({{"x.weight", "F32", {2, 2}, test::f32_bytes({1, 2, 3, 4})}}));
  test::write_file(dir.file("model-00002-of-00002.safetensors"),
                   test::safetensors_image({{"y.weight", "F32", {2}, test::f32_bytes({5, 6})},
                                            {"z.weight", "F32", {1}, test::f32_bytes({7})}}));
  test::write_file(dir.file("model.safetensors.index.json"),
                   R"({"metadata": {}, "weight_map": {"x.weight": "model-00001-of-00002.safetensors",)"
                   R"( "y.weight": "model-00002-of-00002.safetensors", "z.weight": "model-00002-of-00002.safetensors"}})");
  auto ws = WeightStore::open_dir(dir.path());
  ASSERT_TRUE(ws.is_ok()) << ws.message();
  auto x = ws->get("x.weight", {2, 2});
  ASSERT_TRUE(x.is_ok());
  EXPECT_EQ(x->as<float>()[3], 4.0f);
  auto bad = ws->get("y.weight", {3});
  ASSERT_FALSE(bad.is_ok());
  EXPECT_NE(bad.message().find("'y.weight' has shape [2] but the config implies [3]"), std::string::npos)
      << bad.message();
  EXPECT_NE(bad.message().find("model-00002-of-00002.safetensors"), std::string::npos);
  auto missing = ws->get("w.weight", {1});
  ASSERT_FALSE(missing.is_ok());
  EXPECT_NE(missing.message().find("missing tensor 'w.weight'"), std::string::npos);
  EXPECT_EQ(ws->unused(), (std::vector<std::string>{"y.weight", "z.weight"}));
}

TEST(WeightStore, IndexNamingAMissingTensorOrShard) {
  TempDir dir;
  test::write_file(dir.file("a.safetensors"), test::safetensors_image({{"x", "F32", {1}, test::f32_bytes({1})}}));
  test::write_file(dir.file("model.safetensors.index.json"), R"({"weight_map": {"y": "a.safetensors"}})");
  auto ws = WeightStore::open_dir(dir.path());
  ASSERT_FALSE(ws.is_ok());
  EXPECT_NE(ws.message().find("'y'"), std::string::npos) << ws.message();
  test::write_file(dir.file("model.safetensors.index.json"), R"({"weight_map": {"x": "../a.safetensors"}})");
  EXPECT_FALSE(WeightStore::open_dir(dir.path()).is_ok());
  test::write_file(dir.file("model.safetensors.index.json"), R"({"weight_map": {"x": "b.safetensors"}})");
  ws = WeightStore::open_dir(dir.path());
  ASSERT_FALSE(ws.is_ok());
  EXPECT_NE(ws.message().find("b.safetensors"), std::string::npos) << ws.message();
  test::write_file(dir.file("model.safetensors.index.json"), "{not json");
  EXPECT_FALSE(WeightStore::open_dir(dir.path()).is_ok());
}

TEST(WeightStore, EmptyFolder) {
  TempDir dir;
  auto ws = WeightStore::open_dir(dir.path());
  ASSERT_FALSE(ws.is_ok());
  EXPECT_NE(ws.message().find("no model.safetensors"), std::string::npos);
}

}  // namespace
}  // namespace r1
