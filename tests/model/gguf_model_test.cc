// GGUF models against their Hugging Face folders: the fixtures in tests/fixtures/gguf/ were written by
// tools/make_gguf_fixtures.py (an independent Python implementation of llama.cpp's converter mapping, using PyPI's
// gguf package) from the folders in tests/fixtures/models/, so equal logits mean r1 reads llama.cpp's layout
// (names, metadata, q/k row order, llama3 rope_freqs, stacked experts, split kv_b) the way llama.cpp writes it.
#include "model/gguf_model.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>

#include "io/gguf.h"
#include "kernels/quant.h"
#include "test_util.h"

namespace r1 {
namespace {

const std::string kModels = std::string(R1_FIXTURES_DIR) + "/models/";
const std::string kGguf = std::string(R1_FIXTURES_DIR) + "/gguf/";

// A fixed token sequence over the vocabulary.
std::vector<int32_t> tokens(int64_t vocab) {
  std::vector<int32_t> ids;
  for (int i = 0; i < 24; ++i) ids.push_back(int32_t((i * 37 + 11) % vocab));
  return ids;
}

std::vector<float> logits_of(const std::string& path, const LoadOptions& options = {}) {
  auto model = load_model(path, options);
  EXPECT_TRUE(model.is_ok()) << path << ": " << model.message();
  if (!model.is_ok()) return {};
  const auto ids = tokens((*model)->info().vocab_size);
  auto cache = (*model)->new_cache(64);
  std::vector<float> out(ids.size() * size_t((*model)->info().vocab_size));
  auto st = (*model)->forward(ids, *cache, out.data(), /*all_logits=*/true);
  EXPECT_TRUE(st.is_ok()) << st.message();
  return out;
}

struct Diff {
  float max_diff = 0, max_abs = 0;
  double top1_agree = 0;  // share of positions whose argmax agrees
};
Diff compare(const std::vector<float>& a, const std::vector<float>& b, int64_t positions) {
  Diff d;
  if (a.size() != b.size() || a.empty()) {
    ADD_FAILURE() << "logit counts differ: " << a.size() << " vs " << b.size();
    d.max_diff = INFINITY;
    return d;
  }
  for (size_t i = 0; i < a.size(); ++i) {
    d.max_abs = std::max(d.max_abs, std::fabs(a[i]));
    d.max_diff = std::max(d.max_diff, std::fabs(a[i] - b[i]));
  }
  const size_t V = a.size() / size_t(positions);
  int agree = 0;
  for (int64_t t = 0; t < positions; ++t) {
    auto pa = a.begin() + t * V, pb = b.begin() + t * V;
    agree += std::max_element(pa, pa + V) - pa == std::max_element(pb, pb + V) - pb;
  }
  d.top1_agree = double(agree) / double(positions);
  return d;
}

const std::vector<std::string> kArchs = {"qwen2_gqa4", "llama_llama3rope", "deepseek_v2_lite", "deepseek_v3"};

class GgufModelTest : public ::testing::TestWithParam<std::string> {};

// (a) the f32 GGUF gives the safetensors folder's logits.
TEST_P(GgufModelTest, F32FileMatchesSafetensors) {
  const auto want = logits_of(kModels + GetParam());
  const auto got = logits_of(kGguf + GetParam() + ".f32.gguf");
  const Diff d = compare(want, got, 24);
  EXPECT_LE(d.max_diff, 1e-5f * d.max_abs) << "max |logit| " << d.max_abs;
}

// (b) Q8_0 weights: close, and the same top token almost everywhere. The bound is set by r1's own Q8_0 path on
// the safetensors folder (LoadOptions::quant, independent of GGUF): the file may deviate from f32 by no more
// than that does, plus a little for the token embedding, which the file holds in Q8_0 as well.
TEST_P(GgufModelTest, Q8FileIsCloseToF32) {
  const auto want = logits_of(kModels + GetParam());
  const auto got = logits_of(kGguf + GetParam() + ".q8_0.gguf");
  LoadOptions q8;
  q8.quant = "q8_0";
  const auto ref = logits_of(kModels + GetParam(), q8);
  const Diff d = compare(want, got, 24), r = compare(want, ref, 24);
  std::printf("%s: q8_0 file max|dlogit| %.4f, load-time q8_0 %.4f, max|logit| %.3f, top-1 agreement %.2f / %.2f\n",
              GetParam().c_str(), d.max_diff, r.max_diff, d.max_abs, d.top1_agree, r.top1_agree);
  EXPECT_LE(d.max_diff, 2 * r.max_diff + 0.02f * d.max_abs);
  EXPECT_GE(d.top1_agree, 0.75);
}

// The loader's options apply to GGUF files too: converting the f32 file's Linear weights to q8_0 at load gives
// exactly what the same conversion gives the safetensors folder (rows are quantized independently, so llama's
// row order does not matter).
TEST_P(GgufModelTest, LoadTimeQuantMatchesSafetensors) {
  LoadOptions q8;
  q8.quant = "q8_0";
  const Diff d = compare(logits_of(kModels + GetParam(), q8), logits_of(kGguf + GetParam() + ".f32.gguf", q8), 24);
  EXPECT_LE(d.max_diff, 1e-5f * d.max_abs);
}

// (d) export_gguf_model -> GgufWriter -> load: the safetensors logits again (no quant), and q8_0 close.
TEST_P(GgufModelTest, ExportRoundTrip) {
  test::TempDir dir;
  const auto want = logits_of(kModels + GetParam());
  for (std::string recipe : {"", "q8_0", "f32"}) {
    GgufWriter w;
    auto st = export_gguf_model(kModels + GetParam(), recipe, w);
    ASSERT_TRUE(st.is_ok()) << st.message();
    const std::string path = dir.file(GetParam() + "." + recipe + ".gguf");
    st = w.write(path);
    ASSERT_TRUE(st.is_ok()) << st.message();
    const auto got = logits_of(path);
    const Diff d = compare(want, got, 24);
    if (recipe != "q8_0") {  // stored type kept, or every Linear weight in f32: exact
      EXPECT_LE(d.max_diff, 1e-5f * d.max_abs);
    } else {
      LoadOptions q8;
      q8.quant = "q8_0";
      const Diff r = compare(want, logits_of(kModels + GetParam(), q8), 24);
      EXPECT_LE(d.max_diff, 2 * r.max_diff + 0.02f * d.max_abs);
      EXPECT_GE(d.top1_agree, 0.75);
      // And close to gguf-py's Q8_0 file of the same weights.
      const Diff py = compare(logits_of(kGguf + GetParam() + ".q8_0.gguf"), got, 24);
      EXPECT_LE(py.max_diff, 1e-3f * py.max_abs);
    }
  }
}

// The exported f32 file holds the tensors the independent Python mapping wrote, byte for byte (same names, ggml
// dims, types and data), for the fixtures stored in f32.
TEST_P(GgufModelTest, ExportMatchesConverterLayout) {
  if (GetParam() == "deepseek_v2_lite") GTEST_SKIP() << "stored in bf16: export keeps bf16, the fixture is f32";
  test::TempDir dir;
  GgufWriter w;
  ASSERT_TRUE(export_gguf_model(kModels + GetParam(), "", w).is_ok());
  ASSERT_TRUE(w.write(dir.file("x.gguf")).is_ok());
  auto ours = GgufFile::open(dir.file("x.gguf"));
  auto ref = GgufFile::open(kGguf + GetParam() + ".f32.gguf");
  ASSERT_TRUE(ours.is_ok() && ref.is_ok());
  EXPECT_EQ(ours->tensors().size(), ref->tensors().size());
  for (const auto& t : ref->tensors()) {
    const GgufTensorInfo* o = ours->find_tensor(t.name);
    ASSERT_NE(o, nullptr) << t.name;
    EXPECT_EQ(o->dims, t.dims) << t.name;
    EXPECT_EQ(o->type, t.type) << t.name;
    const auto a = ref->tensor_data(t), b = ours->tensor_data(*o);
    ASSERT_EQ(a.size(), b.size()) << t.name;
    if (t.name == "rope_freqs.weight") {  // computed in f64 here, partly in f32 by the script: an ulp apart
      for (size_t i = 0; i < a.size() / 4; ++i) {
        float x, y;
        std::memcpy(&x, a.data() + 4 * i, 4);
        std::memcpy(&y, b.data() + 4 * i, 4);
        EXPECT_NEAR(x, y, 1e-6f * x) << t.name << "[" << i << "]";
      }
      continue;
    }
    EXPECT_TRUE(std::equal(a.begin(), a.end(), b.begin())) << t.name;
  }
  // The hyperparameters the converter writes, with the same values.
  for (const auto& kv : ref->metadata()) {
    if (kv.key == "general.name" || kv.key.starts_with("general.")) continue;
    const GgufValue* o = ours->find(kv.key);
    ASSERT_NE(o, nullptr) << kv.key;
    if (kv.value.as_int()) {
      EXPECT_EQ(o->as_int(), kv.value.as_int()) << kv.key;
    } else if (kv.value.as_float()) {
      EXPECT_FLOAT_EQ(float(o->as_float().value_or(-1)), float(*kv.value.as_float())) << kv.key;
    } else if (kv.value.as_bool()) {
      EXPECT_EQ(o->as_bool(), kv.value.as_bool()) << kv.key;
    } else if (kv.value.as_string()) {
      EXPECT_EQ(o->as_string(), kv.value.as_string()) << kv.key;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, GgufModelTest, ::testing::ValuesIn(kArchs));

// (c) kv_b split into attn_k_b / attn_v_b (the newer converter, key_length_mla keys) reads as the whole kv_b.
TEST(GgufModel, SplitKvBEqualsKvB) {
  const auto a = logits_of(kGguf + "deepseek_v2_lite.f32.gguf");
  const auto b = logits_of(kGguf + "deepseek_v2_lite_split_kv.f32.gguf");
  const Diff d = compare(a, b, 24);
  EXPECT_LE(d.max_diff, 1e-6f * d.max_abs);
  // And the naive MLA path too.
  LoadOptions naive;
  naive.mla_naive = true;
  const Diff n = compare(logits_of(kModels + "deepseek_v2_lite", naive),
                         logits_of(kGguf + "deepseek_v2_lite_split_kv.f32.gguf", naive), 24);
  EXPECT_LE(n.max_diff, 1e-5f * n.max_abs);
}

// DeepSeek's FP8 block-scaled checkpoints export with the weights dequantised (llama.cpp has no FP8 type): the
// file runs as the folder does, which r1 also dequantises at load.
TEST(GgufModel, ExportDequantisesFp8) {
  test::TempDir dir;
  GgufWriter w;
  auto st = export_gguf_model(kModels + "deepseek_v3_fp8", "", w);
  ASSERT_TRUE(st.is_ok()) << st.message();
  ASSERT_TRUE(w.write(dir.file("fp8.gguf")).is_ok());
  auto f = GgufFile::open(dir.file("fp8.gguf"));
  ASSERT_TRUE(f.is_ok());
  for (const auto& t : f->tensors()) EXPECT_EQ(t.name.find("scale_inv"), std::string::npos) << t.name;
  const Diff d = compare(logits_of(kModels + "deepseek_v3_fp8"), logits_of(dir.file("fp8.gguf")), 24);
  EXPECT_LE(d.max_diff, 1e-5f * d.max_abs);
}

TEST(GgufModel, InfoDescribesTheFile) {
  auto model = load_model(kGguf + "deepseek_v3.q8_0.gguf");
  ASSERT_TRUE(model.is_ok()) << model.message();
  const ModelInfo& i = (*model)->info();
  EXPECT_EQ(i.model_type, "deepseek_v3");
  EXPECT_EQ(i.vocab_size, 256);
  EXPECT_EQ(i.num_hidden_layers, 3);
  EXPECT_EQ(i.dtype, DType::kQ8_0);
  auto v2 = load_model(kGguf + "deepseek_v2_lite.f32.gguf");
  ASSERT_TRUE(v2.is_ok());
  EXPECT_EQ((*v2)->info().model_type, "deepseek_v2");
}

// ---- (e) broken files: a copy of the qwen2 f32 fixture with one thing changed ----

struct Edit {
  std::string drop_key, drop_tensor;
  std::string set_arch;
  std::string short_tensor;  // written with its first dimension one shorter (a vector or matrix)
  std::string extra_tensor;
};

std::string write_edited(const std::string& src, const Edit& e, const test::TempDir& dir) {
  auto f = GgufFile::open(src);
  EXPECT_TRUE(f.is_ok()) << f.message();
  GgufWriter w;
  for (const auto& kv : f->metadata()) {
    const std::string key(kv.key);
    if (key == e.drop_key || key == "general.alignment") continue;
    const GgufValue& v = kv.value;
    if (key == "general.architecture" && !e.set_arch.empty()) {
      w.set_string(key, e.set_arch);
      continue;
    }
    switch (v.type()) {
      case GgufType::kString: w.set_string(key, std::string(*v.as_string())); break;
      case GgufType::kFloat32: w.set_f32(key, float(*v.as_float())); break;
      case GgufType::kBool: w.set_bool(key, *v.as_bool()); break;
      case GgufType::kInt32: w.set_i32(key, int32_t(*v.as_int())); break;
      case GgufType::kUint64: w.set_u64(key, uint64_t(*v.as_int())); break;
      default: w.set_u32(key, uint32_t(*v.as_int())); break;
    }
  }
  for (const auto& t : f->tensors()) {
    if (t.name == e.drop_tensor) continue;
    const auto data = f->tensor_data(t);
    std::vector<int64_t> shape(t.dims.rbegin(), t.dims.rend());
    auto type = kernels::dtype_of_ggml(t.type);
    std::vector<uint8_t> bytes(data.begin(), data.end());
    if (t.name == e.short_tensor) {
      bytes.resize(bytes.size() / size_t(shape[0]) * size_t(shape[0] - 1));
      shape[0] -= 1;
    }
    w.add_tensor(t.name, *type, shape, std::move(bytes));
  }
  if (!e.extra_tensor.empty()) w.add_tensor(e.extra_tensor, DType::kF32, {4}, std::vector<uint8_t>(16));
  const std::string path = dir.file("edited.gguf");
  auto st = w.write(path);
  EXPECT_TRUE(st.is_ok()) << st.message();
  return path;
}

std::string load_error(const std::function<void(Edit&)>& edit) {
  Edit e;
  edit(e);
  test::TempDir dir;
  const std::string path = write_edited(kGguf + "qwen2_gqa4.f32.gguf", e, dir);
  auto model = load_model(path);
  return model.is_ok() ? "" : model.message();
}

TEST(GgufModel, UneditedCopyLoads) { EXPECT_EQ(load_error([](Edit&) {}), ""); }

TEST(GgufModel, MissingTensor) {
  const std::string e = load_error([](Edit& x) { x.drop_tensor = "blk.1.ffn_down.weight"; });
  EXPECT_NE(e.find("missing tensor 'model.layers.1.mlp.down_proj.weight'"), std::string::npos) << e;
  EXPECT_NE(e.find("edited.gguf"), std::string::npos) << e;
}

TEST(GgufModel, WrongShape) {
  std::string e = load_error([](Edit& x) { x.short_tensor = "blk.0.attn_norm.weight"; });
  EXPECT_NE(e.find("'model.layers.0.input_layernorm.weight' has shape [127]"), std::string::npos) << e;
  e = load_error([](Edit& x) { x.short_tensor = "blk.1.attn_q.weight"; });
  EXPECT_NE(e.find("'model.layers.1.self_attn.q_proj.weight' has shape [127, 128]"), std::string::npos) << e;
}

TEST(GgufModel, UnsupportedArchitecture) {
  const std::string e = load_error([](Edit& x) { x.set_arch = "gpt2"; });
  EXPECT_NE(e.find("architecture \"gpt2\" is not supported (supported: llama, qwen2, deepseek2)"),
            std::string::npos) << e;
}

TEST(GgufModel, MissingKeyAndUnknownTensor) {
  std::string e = load_error([](Edit& x) { x.drop_key = "qwen2.block_count"; });
  EXPECT_NE(e.find("missing metadata key \"qwen2.block_count\""), std::string::npos) << e;
  e = load_error([](Edit& x) { x.extra_tensor = "blk.0.attn_sinks.weight"; });
  EXPECT_NE(e.find("tensor 'blk.0.attn_sinks.weight' is not a qwen2 tensor"), std::string::npos) << e;
  e = load_error([](Edit& x) { x.drop_key = "general.architecture"; });
  EXPECT_NE(e.find("general.architecture"), std::string::npos) << e;
}

TEST(GgufModel, ExportRejectsUnsupportedModels) {
  GgufWriter w;
  auto st = export_gguf_model(kModels + "no_such_model", "", w);
  EXPECT_FALSE(st.is_ok());
  st = export_gguf_model(kModels + "qwen2_gqa4", "q3_k", w);
  EXPECT_NE(st.message().find("unknown quantization 'q3_k'"), std::string::npos) << st.message();
  GgufWriter f16;
  ASSERT_TRUE(export_gguf_model(kModels + "qwen2_gqa4", "f16", f16).is_ok());
}

}  // namespace
}  // namespace r1
