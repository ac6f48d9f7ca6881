// Our GGUF block formats against PyPI's `gguf` package (llama.cpp's gguf-py), an independent implementation:
// tests/fixtures/quant/ (written by tools/gen_quant_fixtures.py) holds float rows with gguf.quants.quantize
// bytes (Q8_0, Q4_0: byte-exact with ggml's reference quantizers) and blocks of all four types with
// gguf.quants.dequantize floats. quantize_row must give the same bytes, dequantize_row the same floats.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <set>

#include "core/dtype.h"
#include "kernels/quant.h"

namespace r1::kernels {
namespace {

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

struct Fixtures {
  nlohmann::json meta;
  std::string blob;
};

const Fixtures& fixtures() {
  static const Fixtures f = [] {
    Fixtures out;
    const std::string dir = std::string(R1_FIXTURES_DIR) + "/quant/";
    const std::string json = read_all(dir + "quant.json");
    out.meta = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
    out.blob = read_all(dir + "quant.bin");
    return out;
  }();
  return f;
}

std::string slice(const nlohmann::json& range) {
  const auto offset = range.at(0).get<size_t>(), size = range.at(1).get<size_t>();
  EXPECT_LE(offset + size, fixtures().blob.size());
  return fixtures().blob.substr(offset, size);
}

std::vector<float> floats(const std::string& bytes) {
  std::vector<float> v(bytes.size() / 4);
  std::memcpy(v.data(), bytes.data(), v.size() * 4);
  return v;
}

uint32_t bits(float f) {
  uint32_t b;
  std::memcpy(&b, &f, 4);
  return b;
}

const nlohmann::json& cases() {
  const auto& meta = fixtures().meta;
  static const nlohmann::json kEmpty = nlohmann::json::array();
  if (meta.is_discarded() || !meta.contains("cases")) return kEmpty;
  return meta["cases"];
}

TEST(QuantFormat, FixturesPresent) {
  ASSERT_FALSE(fixtures().meta.is_discarded()) << "tests/fixtures/quant/quant.json missing or not JSON";
  std::set<std::string> types;
  int quantized = 0;
  for (const auto& c : cases()) {
    types.insert(c["type"].get<std::string>());
    quantized += c.contains("input") ? 1 : 0;
  }
  EXPECT_EQ(types, (std::set<std::string>{"Q8_0", "Q4_0", "Q4_K", "Q6_K"}));
  EXPECT_GE(quantized, 2);
}

TEST(QuantFormat, QuantizeRowMatchesGgufPy) {
  for (const auto& c : cases()) {
    if (!c.contains("input")) continue;
    const std::string name = c["name"];
    SCOPED_TRACE(name);
    const std::optional<DType> t = dtype_from_any_name(c["type"].get<std::string>());
    ASSERT_TRUE(t.has_value());
    const int64_t n = c["n"], rows = c["rows"];
    const std::vector<float> x = floats(slice(c["input"]));
    const std::string want = slice(c["blocks"]);
    ASSERT_EQ(x.size(), size_t(n * rows));
    const size_t row_bytes = dtype_row_bytes(*t, n);
    ASSERT_EQ(want.size(), row_bytes * size_t(rows));
    for (int64_t r = 0; r < rows; ++r) {
      std::string got(row_bytes, '\0');
      quantize_row(*t, x.data() + r * n, got.data(), n);
      const std::string expected = want.substr(size_t(r) * row_bytes, row_bytes);
      if (got != expected) {
        size_t i = 0;
        while (got[i] == expected[i]) ++i;
        ADD_FAILURE() << "row " << r << ": first differing byte " << i << " (block "
                      << i / dtype_block_bytes(*t) << "): ours " << int(uint8_t(got[i])) << ", gguf-py "
                      << int(uint8_t(expected[i]));
      }
    }
  }
}

TEST(QuantFormat, DequantizeRowMatchesGgufPy) {
  int checked = 0;
  for (const auto& c : cases()) {
    const std::string name = c["name"];
    SCOPED_TRACE(name);
    const std::optional<DType> t = dtype_from_any_name(c["type"].get<std::string>());
    ASSERT_TRUE(t.has_value());
    const int64_t n = c["n"], rows = c["rows"];
    const std::string blocks = slice(c["blocks"]);
    const std::vector<float> want = floats(slice(c["dequant"]));
    const size_t row_bytes = dtype_row_bytes(*t, n);
    ASSERT_EQ(blocks.size(), row_bytes * size_t(rows));
    ASSERT_EQ(want.size(), size_t(n * rows));
    for (int64_t r = 0; r < rows; ++r) {
      std::vector<float> got(static_cast<size_t>(n));
      dequantize_row(*t, blocks.data() + size_t(r) * row_bytes, got.data(), n);
      int bad = 0;
      for (int64_t i = 0; i < n && bad < 5; ++i) {
        const float w = want[size_t(r * n + i)];
        // Bit-identical (a signed zero compares equal: gguf-py and ggml may differ only in the sign of 0).
        if (got[size_t(i)] != w || (std::isnan(w) != std::isnan(got[size_t(i)]))) {
          ADD_FAILURE() << "row " << r << " element " << i << ": ours " << got[size_t(i)] << " (0x"
                        << std::hex << bits(got[size_t(i)]) << "), gguf-py " << w << " (0x" << bits(w)
                        << std::dec << ")";
          ++bad;
        }
      }
      ++checked;
    }
  }
  EXPECT_GT(checked, 0);
}

// ggml type ids as gguf-py's GGMLQuantizationType (gguf 0.19.0, gguf/constants.py) defines them; the same
// values are the GGML_TYPE_* enum in ggml.h.
TEST(QuantFormat, GgmlTypeIdsMatchGgufPy) {
  const std::pair<DType, uint32_t> kTable[] = {
      {DType::kF32, 0},   {DType::kF16, 1},   {DType::kQ4_0, 2},  {DType::kQ8_0, 8},
      {DType::kQ4_K, 12}, {DType::kQ6_K, 14}, {DType::kBF16, 30},
  };
  for (const auto& [t, id] : kTable) {
    SCOPED_TRACE(std::string(dtype_name(t)));
    EXPECT_EQ(ggml_type_of(t), id);
    EXPECT_EQ(dtype_of_ggml(id), t);
  }
  for (DType t : {DType::kI32, DType::kI64, DType::kU8, DType::kI8, DType::kF8E4M3}) {
    EXPECT_FALSE(ggml_type_of(t).has_value()) << dtype_name(t);
  }
  // The fixture file records gguf-py's id of each type it wrote.
  for (const auto& c : cases()) {
    const std::optional<DType> t = dtype_from_any_name(c["type"].get<std::string>());
    ASSERT_TRUE(t.has_value());
    EXPECT_EQ(ggml_type_of(*t), c["ggml_type"].get<uint32_t>()) << c["type"];
  }
  // Block geometry as gguf-py's GGML_QUANT_SIZES gives it: (elements per block, bytes per block).
  EXPECT_EQ(dtype_block_size(DType::kQ8_0), 32);
  EXPECT_EQ(dtype_block_bytes(DType::kQ8_0), 34u);
  EXPECT_EQ(dtype_block_size(DType::kQ4_0), 32);
  EXPECT_EQ(dtype_block_bytes(DType::kQ4_0), 18u);
  EXPECT_EQ(dtype_block_size(DType::kQ4_K), 256);
  EXPECT_EQ(dtype_block_bytes(DType::kQ4_K), 144u);
  EXPECT_EQ(dtype_block_size(DType::kQ6_K), 256);
  EXPECT_EQ(dtype_block_bytes(DType::kQ6_K), 210u);
}

}  // namespace
}  // namespace r1::kernels
