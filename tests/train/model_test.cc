// The trainable model against PyTorch (tools/gen_train_fixtures.py): loss, logits and every parameter's gradient,
// five AdamW steps with clipping and the warmup + cosine schedule; against r1's inference model on the same
// parameters; and the per-token log-prob path against the loss path.
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>

#include "test_util.h"
#include "train/model.h"
#include "train/optim.h"
#include "train/train_fixture.h"

namespace r1::train {
namespace {

// f32 forward/backward through a few layers against PyTorch's f32, worst per-tensor relative error measured (and
// printed by the tests): gradients ~2.5e-6, so 1e-4 leaves room for other compilers and SIMD widths. The change of
// the parameters over five AdamW steps ~6e-5: Adam divides by sqrt(v), which amplifies the f32 differences of
// small gradient entries, hence 5e-4.
constexpr double kGradTol = 1e-4, kStepTol = 5e-4;

struct Loaded {
  TrainFixture fx;
  std::unique_ptr<TrainModel> model;
  std::vector<int32_t> tokens, targets;
  std::vector<float> weights;
  explicit Loaded(const std::string& name) : fx(name) {
    auto m = TrainModel::load(fx.dir);
    EXPECT_TRUE(m.is_ok()) << m.message();
    if (m) model = std::move(*m);
    tokens = fx.ints("tokens"), targets = fx.ints("targets"), weights = fx.floats("weights");
  }
};

TEST(TrainModel, LossLogitsAndGradientsMatchPyTorch) {
  for (const char* name : kTrainFixtures) {
    SCOPED_TRACE(name);
    Loaded l(name);
    ASSERT_TRUE(l.model);
    auto loss = l.model->forward(l.tokens, l.targets, l.weights);
    ASSERT_TRUE(loss.is_ok()) << loss.message();
    EXPECT_NEAR(*loss, l.fx.floats("loss")[0], 1e-5 * std::fabs(l.fx.floats("loss")[0]));
    EXPECT_LT(relative_error(l.model->logits().data(), l.fx.floats("logits")), 1e-5);

    ParamStore& p = l.model->params();
    p.zero_grad();
    ASSERT_TRUE(l.model->backward().is_ok());
    size_t compared = 0;
    double worst = 0.0;
    for (size_t i = 0; i < p.size(); ++i) {
      const ParamSpec& s = p.spec(i);
      if (!s.trainable) {
        EXPECT_FALSE(l.fx.has("grad." + s.name)) << s.name;
        continue;
      }
      ASSERT_TRUE(l.fx.has("grad." + s.name)) << s.name;
      const std::vector<float> want = l.fx.floats("grad." + s.name);
      ASSERT_EQ(int64_t(want.size()), s.numel()) << s.name;
      const double err = relative_error(p.grad(i), want);
      EXPECT_LT(err, kGradTol) << s.name;
      worst = std::max(worst, err);
      ++compared;
    }
    EXPECT_EQ(compared, l.fx.names("grad.").size()) << "every PyTorch gradient has a parameter here";
    std::printf("[%s] loss %.6f, %zu gradients, worst relative error %.2e\n", name, double(*loss), compared, worst);
  }
}

TEST(TrainModel, FiveAdamWStepsWithClippingMatchPyTorch) {
  for (const char* name : kTrainFixtures) {
    SCOPED_TRACE(name);
    Loaded l(name);
    ASSERT_TRUE(l.model);
    const auto& c = l.fx.case_json;
    const AdamWConfig config{.beta1 = c["beta1"], .beta2 = c["beta2"], .eps = c["eps"],
                             .weight_decay = c["weight_decay"]};
    const LrSchedule schedule{.lr = c["lr"], .min_lr = c["min_lr"], .warmup_steps = c["warmup_steps"],
                              .total_steps = c["total_steps"]};
    const double max_norm = c["max_norm"];
    ParamStore& p = l.model->params();
    AdamW opt(p, config);
    const std::vector<float> initial(p.values().begin(), p.values().end());
    const std::vector<float> losses = l.fx.floats("losses"), norms = l.fx.floats("grad_norms");
    for (int step = 0; step < int(c["steps"]); ++step) {
      p.zero_grad();
      auto loss = l.model->forward(l.tokens, l.targets, l.weights);
      ASSERT_TRUE(loss.is_ok()) << loss.message();
      ASSERT_TRUE(l.model->backward().is_ok());
      const double norm = clip_grad_norm(p.grads(), max_norm);
      EXPECT_NEAR(*loss, losses[size_t(step)], 1e-4 * std::fabs(losses[size_t(step)])) << "step " << step;
      EXPECT_NEAR(norm, norms[size_t(step)], 1e-4 * norms[size_t(step)]) << "step " << step;
      opt.step(p, schedule.at(step));
    }
    EXPECT_EQ(opt.steps(), int(c["steps"]));
    double worst = 0.0;
    for (size_t i = 0; i < p.size(); ++i) {
      const ParamSpec& s = p.spec(i);
      if (!l.fx.has("after." + s.name)) {
        EXPECT_FALSE(s.trainable) << s.name;
        continue;
      }
      // Compare the change (what AdamW computed), not the values, which five small steps barely move.
      std::vector<float> want = l.fx.floats("after." + s.name), got(want.size());
      const float* start = initial.data() + (p.value(i) - p.values().data());
      for (size_t j = 0; j < want.size(); ++j) want[j] -= start[j], got[j] = p.value(i)[j] - start[j];
      const double err = relative_error(got.data(), want);
      EXPECT_LT(err, kStepTol) << s.name;
      worst = std::max(worst, err);
    }
    std::printf("[%s] after %d steps: loss %.4f -> %.4f, worst relative error %.2e\n", name, int(c["steps"]),
                double(losses.front()), double(losses.back()), worst);
  }
}

// The training forward and r1's inference engine (KV cache, its own kernels, MLA absorbed) on the same
// parameters, before and after an optimizer step (inference_model() must see the new values).
void expect_inference_logits_equal(TrainModel& model, const std::vector<int32_t>& tokens, const std::string& what) {
  const std::vector<int32_t> targets(tokens.size(), 0);
  auto loss = model.forward(tokens, targets, {});
  ASSERT_TRUE(loss.is_ok()) << loss.message();
  auto inference = model.inference_model();
  ASSERT_TRUE(inference.is_ok()) << inference.message();
  auto cache = (*inference)->new_cache(int64_t(tokens.size()));
  std::vector<float> logits(model.logits().size());
  ASSERT_TRUE((*inference)->forward(tokens, *cache, logits.data(), /*all_logits=*/true).is_ok());
  EXPECT_LT(relative_error(logits.data(), model.logits()), 1e-4) << what;
  float max_abs = 0.0f;
  for (float v : model.logits()) max_abs = std::max(max_abs, std::fabs(v));
  for (size_t i = 0; i < logits.size(); ++i)
    ASSERT_NEAR(logits[i], model.logits()[i], 1e-4f * std::max(1.0f, max_abs)) << what << " logit " << i;
}

TEST(TrainModel, TrainingLogitsEqualInferenceModelLogits) {
  for (const char* name : kTrainFixtures) {
    SCOPED_TRACE(name);
    Loaded l(name);
    ASSERT_TRUE(l.model);
    expect_inference_logits_equal(*l.model, l.tokens, "fixture parameters");
    ParamStore& p = l.model->params();
    p.zero_grad();
    ASSERT_TRUE(l.model->forward(l.tokens, l.targets, l.weights).is_ok());
    ASSERT_TRUE(l.model->backward().is_ok());
    AdamW opt(p, {});
    opt.step(p, 0.05);
    expect_inference_logits_equal(*l.model, l.tokens, "after one AdamW step");
  }
}

// Configs the PyTorch fixtures do not cover, initialised from config.json: llama (llama3 rope, no biases) and
// deepseek_v2 (q_proj without q_lora_rank, softmax greedy routing, tied embeddings).
TEST(TrainModel, RandomInitLlamaAndDeepseekV2MatchInference) {
  test::TempDir dir;
  test::write_file(dir.file("llama.json"), R"({"model_type": "llama", "architectures": ["LlamaForCausalLM"],
    "vocab_size": 40, "hidden_size": 24, "intermediate_size": 40, "num_hidden_layers": 2, "num_attention_heads": 4,
    "num_key_value_heads": 2, "max_position_embeddings": 64, "rms_norm_eps": 1e-5, "rope_theta": 500000.0,
    "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
    "original_max_position_embeddings": 16}, "initializer_range": 0.3, "tie_word_embeddings": false})");
  test::write_file(dir.file("v2.json"), R"({"model_type": "deepseek_v2", "architectures": ["DeepseekV2ForCausalLM"],
    "vocab_size": 40, "hidden_size": 24, "intermediate_size": 40, "moe_intermediate_size": 12,
    "num_hidden_layers": 2, "num_attention_heads": 2, "q_lora_rank": null, "kv_lora_rank": 8,
    "qk_nope_head_dim": 8, "qk_rope_head_dim": 4, "v_head_dim": 8, "n_routed_experts": 4, "n_shared_experts": 1,
    "num_experts_per_tok": 2, "first_k_dense_replace": 1, "topk_method": "greedy", "scoring_func": "softmax",
    "routed_scaling_factor": 1.5, "max_position_embeddings": 64, "initializer_range": 0.3,
    "tie_word_embeddings": true})");
  const std::vector<int32_t> tokens = {3, 17, 5, 39, 0, 22, 8, 8, 31};
  for (const char* config : {"llama.json", "v2.json"}) {
    SCOPED_TRACE(config);
    auto model = TrainModel::init(dir.file(config), 7);
    ASSERT_TRUE(model.is_ok()) << model.message();
    expect_inference_logits_equal(**model, tokens, config);
  }
}

// HF's _init_weights: matrices N(0, initializer_range²), norms 1, biases 0, the pad_token_id row of the embedding 0.
TEST(TrainModel, InitFollowsHfInitWeights) {
  test::TempDir dir;
  test::write_file(dir.file("config.json"), R"({"model_type": "qwen2", "architectures": ["Qwen2ForCausalLM"],
    "vocab_size": 64, "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1, "num_attention_heads": 4,
    "num_key_value_heads": 2, "initializer_range": 0.05, "pad_token_id": 3})");
  auto model = TrainModel::init(dir.file("config.json"), 11);
  ASSERT_TRUE(model.is_ok()) << model.message();
  const ParamStore& p = (*model)->params();
  for (size_t i = 0; i < p.size(); ++i) {
    const ParamSpec& s = p.spec(i);
    const float* v = p.value(i);
    SCOPED_TRACE(s.name);
    if (s.name.ends_with("norm.weight")) {
      for (int64_t j = 0; j < s.numel(); ++j) ASSERT_EQ(v[j], 1.0f);
    } else if (s.name.ends_with(".bias")) {
      for (int64_t j = 0; j < s.numel(); ++j) ASSERT_EQ(v[j], 0.0f);
    } else {
      double sq = 0.0;
      int64_t n = 0;
      for (int64_t j = 0; j < s.numel(); ++j)
        if (!(s.name == "model.embed_tokens.weight" && j / 32 == 3)) sq += double(v[j]) * v[j], ++n;
      EXPECT_NEAR(std::sqrt(sq / double(n)), 0.05, 0.05 * 6 / std::sqrt(double(n))) << "within ~8 standard errors (σ / sqrt(2n)) of the estimate";
    }
  }
  const float* pad_row = p.value(*p.find("model.embed_tokens.weight")) + 3 * 32;
  for (int j = 0; j < 32; ++j) EXPECT_EQ(pad_row[j], 0.0f);
  EXPECT_TRUE(p.has("lm_head.weight")) << "tie_word_embeddings defaults to false";
}

// backward_logprobs with dlogp = -w / Σw is the gradient of the weighted mean loss: the GRPO path and the SFT path
// (two different op pairs) agree.
TEST(TrainModel, LogprobBackwardEqualsLossBackward) {
  for (const char* name : {"qwen2_tied", "deepseek_v3"}) {
    SCOPED_TRACE(name);
    Loaded l(name);
    ASSERT_TRUE(l.model);
    ParamStore& p = l.model->params();
    p.zero_grad();
    auto loss = l.model->forward(l.tokens, l.targets, l.weights);
    ASSERT_TRUE(loss.is_ok());
    ASSERT_TRUE(l.model->backward().is_ok());
    const std::vector<float> want(p.grads().begin(), p.grads().end());

    p.zero_grad();
    auto logp = l.model->forward_logprobs(l.tokens, l.targets);
    ASSERT_TRUE(logp.is_ok()) << logp.message();
    const float wsum = std::accumulate(l.weights.begin(), l.weights.end(), 0.0f);
    double mean = 0.0;
    std::vector<float> dlogp(l.tokens.size());
    for (size_t t = 0; t < dlogp.size(); ++t) {
      mean -= double(l.weights[t]) * (*logp)[t] / wsum;
      dlogp[t] = -l.weights[t] / wsum;
    }
    EXPECT_NEAR(mean, *loss, 1e-5);
    ASSERT_TRUE(l.model->backward_logprobs(dlogp).is_ok());
    EXPECT_LT(relative_error(p.grads().data(), want), 1e-5);
  }
}

// Gradient accumulation: backward() of two sequences (the second shorter, so buffers sized by the first are
// reused) without zero_grad in between sums their separate gradients.
TEST(TrainModel, BackwardAccumulatesOverSequences) {
  for (const char* name : kTrainFixtures) {
    SCOPED_TRACE(name);
    Loaded l(name);
    ASSERT_TRUE(l.model);
    ParamStore& p = l.model->params();
    const std::vector<int32_t> a = l.tokens, b(l.tokens.begin() + 3, l.tokens.end() - 2);
    auto grads_of = [&](const std::vector<int32_t>& seq) {
      p.zero_grad();
      EXPECT_TRUE(l.model->forward(seq, seq, {}).is_ok());
      EXPECT_TRUE(l.model->backward().is_ok());
      return std::vector<float>(p.grads().begin(), p.grads().end());
    };
    std::vector<float> want = grads_of(a);
    const std::vector<float> gb = grads_of(b);
    for (size_t i = 0; i < want.size(); ++i) want[i] += gb[i];
    p.zero_grad();
    for (const auto* seq : {&a, &b}) {
      ASSERT_TRUE(l.model->forward(*seq, *seq, {}).is_ok());
      ASSERT_TRUE(l.model->backward().is_ok());
    }
    EXPECT_LT(relative_error(p.grads().data(), want), 1e-6);
  }
}

// Packing: three sequences in one forward_logprobs call give each token the log-prob its own call gives (each
// sequence starts at position 0 and sees only itself), and one backward the sum of the three gradients.
TEST(TrainModel, PackedSequencesEqualSeparateCalls) {
  for (const char* name : kTrainFixtures) {
    SCOPED_TRACE(name);
    Loaded l(name);
    ASSERT_TRUE(l.model);
    TrainModel& m = *l.model;
    ParamStore& p = m.params();
    const std::vector<int32_t>& full = l.tokens;
    const std::vector<std::vector<int32_t>> seqs = {std::vector<int32_t>(full.begin() + 2, full.end()), full,
                                                    std::vector<int32_t>(full.begin() + 1, full.begin() + 5)};
    std::vector<int32_t> packed;
    std::vector<int64_t> lengths;
    std::vector<float> want_logp, dlogp;
    std::vector<float> want_grads(p.grads().size(), 0.0f);
    uint32_t seed = 5;
    for (const auto& seq : seqs) {
      const std::vector<float> d = test::random_floats(seq.size(), seed++);
      p.zero_grad();
      auto logp = m.forward_logprobs(seq, seq, 0.7f);
      ASSERT_TRUE(logp.is_ok()) << logp.message();
      ASSERT_TRUE(m.backward_logprobs(d).is_ok());
      for (size_t i = 0; i < want_grads.size(); ++i) want_grads[i] += p.grads()[i];
      want_logp.insert(want_logp.end(), logp->begin(), logp->end());
      dlogp.insert(dlogp.end(), d.begin(), d.end());
      packed.insert(packed.end(), seq.begin(), seq.end());
      lengths.push_back(int64_t(seq.size()));
    }
    p.zero_grad();
    auto logp = m.forward_logprobs(packed, packed, 0.7f, lengths);
    ASSERT_TRUE(logp.is_ok()) << logp.message();
    ASSERT_EQ(logp->size(), want_logp.size());
    for (size_t t = 0; t < want_logp.size(); ++t) ASSERT_NEAR((*logp)[t], want_logp[t], 1e-5) << "token " << t;
    ASSERT_TRUE(m.backward_logprobs(dlogp).is_ok());
    EXPECT_LT(relative_error(p.grads().data(), want_grads), 1e-5);
  }
}

TEST(TrainModel, PackingChecksItsLengths) {
  Loaded l("qwen2_untied");  // max_position_embeddings 128
  ASSERT_TRUE(l.model);
  TrainModel& m = *l.model;
  const std::vector<int32_t> tokens(200, 1);
  EXPECT_FALSE(m.forward_logprobs(tokens, tokens, 1.0f, std::vector<int64_t>{100, 99}).is_ok()) << "sum != T";
  EXPECT_FALSE(m.forward_logprobs(tokens, tokens, 1.0f, std::vector<int64_t>{200, 0}).is_ok()) << "empty one";
  EXPECT_FALSE(m.forward_logprobs(tokens, tokens, 1.0f, std::vector<int64_t>{60, 140}).is_ok())
      << "one longer than max_position_embeddings";
  EXPECT_TRUE(m.forward_logprobs(tokens, tokens, 1.0f, std::vector<int64_t>{100, 100}).is_ok())
      << "a pack may exceed max_position_embeddings when each of its sequences fits";
}

TEST(TrainModel, ExpertLoadAndBiasUpdate) {
  Loaded l("deepseek_v3");
  ASSERT_TRUE(l.model);
  ParamStore& p = l.model->params();
  const size_t bias = *p.find("model.layers.1.mlp.gate.e_score_correction_bias");
  EXPECT_FALSE(p.spec(bias).trainable);
  const std::vector<float> before(p.value(bias), p.value(bias) + 8);
  EXPECT_EQ(l.model->expert_load(), std::vector<std::vector<int64_t>>(1, std::vector<int64_t>(8, 0)));
  for (int pass = 0; pass < 2; ++pass) {  // loads add up over the sequences of a step
    ASSERT_TRUE(l.model->forward(l.tokens, l.targets, l.weights).is_ok());
    ASSERT_TRUE(l.model->backward().is_ok());
  }
  const auto load = l.model->expert_load();
  ASSERT_EQ(load.size(), 1u);
  const int64_t routed = std::accumulate(load[0].begin(), load[0].end(), int64_t(0));
  EXPECT_EQ(routed, 2 * int64_t(l.tokens.size()) * 2) << "2 passes x T tokens x 2 experts per token";
  // Backward must not touch the bias; the update moves it by exactly ±gamma towards the mean load.
  EXPECT_EQ(std::vector<float>(p.value(bias), p.value(bias) + 8), before);
  l.model->update_moe_bias(0.01f);
  const double mean = double(routed) / 8;
  for (size_t e = 0; e < 8; ++e) {
    const float want = double(load[0][e]) > mean ? -0.01f : double(load[0][e]) < mean ? 0.01f : 0.0f;
    EXPECT_NEAR(p.value(bias)[e] - before[e], want, 1e-6) << "expert " << e;
  }
  EXPECT_EQ(l.model->expert_load()[0], std::vector<int64_t>(8, 0)) << "counts restart after an update";
}

TEST(TrainModel, BadInputIsAnError) {
  Loaded l("qwen2_untied");
  ASSERT_TRUE(l.model);
  TrainModel& m = *l.model;
  EXPECT_FALSE(m.backward().is_ok()) << "no forward yet";
  const std::vector<int32_t> tokens = {1, 2, 3}, targets = {2, 3, 4};
  EXPECT_FALSE(m.forward(tokens, std::vector<int32_t>{2, 3}, {}).is_ok());
  EXPECT_FALSE(m.forward(tokens, targets, std::vector<float>{1, 1}).is_ok());
  EXPECT_FALSE(m.forward({}, {}, {}).is_ok());
  EXPECT_FALSE(m.forward(std::vector<int32_t>{1, 2, 48}, targets, {}).is_ok()) << "token outside the vocabulary";
  EXPECT_FALSE(m.forward(tokens, std::vector<int32_t>{2, 3, -1}, {}).is_ok()) << "target outside the vocabulary";
  EXPECT_FALSE(m.backward().is_ok()) << "the failed forward left nothing to differentiate";
  ASSERT_TRUE(m.forward(tokens, targets, {}).is_ok());
  EXPECT_FALSE(m.backward_logprobs(std::vector<float>{1, 1, 1}).is_ok()) << "last forward was the loss";
  ASSERT_TRUE(m.forward_logprobs(tokens, targets).is_ok());
  EXPECT_FALSE(m.backward_logprobs(std::vector<float>{1, 1}).is_ok()) << "one dlogp per token";
  EXPECT_FALSE(m.forward(std::vector<int32_t>(129, 1), std::vector<int32_t>(129, 1), {}).is_ok())
      << "longer than max_position_embeddings";

  test::TempDir dir;
  test::write_file(dir.file("mtp.json"), R"({"model_type": "deepseek_v3", "architectures": ["DeepseekV3ForCausalLM"],
    "vocab_size": 40, "hidden_size": 24, "intermediate_size": 40, "num_hidden_layers": 1, "num_attention_heads": 2,
    "kv_lora_rank": 8, "qk_nope_head_dim": 8, "qk_rope_head_dim": 4, "v_head_dim": 8, "num_nextn_predict_layers": 1})");
  auto mtp = TrainModel::init(dir.file("mtp.json"), 1);
  ASSERT_FALSE(mtp.is_ok());
  EXPECT_NE(mtp.message().find("num_nextn_predict_layers"), std::string::npos) << mtp.message();
  test::write_file(dir.file("gpt2.json"), R"({"model_type": "gpt2", "vocab_size": 40})");
  auto gpt2 = TrainModel::init(dir.file("gpt2.json"), 1);
  ASSERT_FALSE(gpt2.is_ok());
  EXPECT_NE(gpt2.message().find("gpt2"), std::string::npos) << gpt2.message();
  EXPECT_FALSE(TrainModel::init(dir.file("missing.json"), 1).is_ok());
}

}  // namespace
}  // namespace r1::train
