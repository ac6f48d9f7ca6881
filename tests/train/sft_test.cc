// The SFT trainer on the tiny chat models: the loss falls on a memorisable set, prompt tokens carry no
// gradient, the batch gradient is the token-weighted mean of the per-sequence ones, a resumed run ends
// bit-identical to an uninterrupted one (dense and MLA + MoE), checkpoints load as r1 models, and a cut-short
// save is never resumed.
#include "train/sft.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "test_util.h"
#include "tokenizer/chat_format.h"
#include "train/checkpoint.h"
#include "train/tiny_chat.h"

namespace r1::train {
namespace {
namespace fs = std::filesystem;

std::vector<SftExample> sums(int n) {
  std::vector<SftExample> out;
  for (int i = 0; i < n; ++i) {
    const int a = 1 + i % 5, b = 2 + (3 * i) % 7;
    out.push_back({std::to_string(a) + "+" + std::to_string(b) + "?",
                   "add\n</think>\n\n\\boxed{" + std::to_string(a + b) + "}"});
  }
  return out;
}

std::vector<float> final_params(const std::string& output_dir) {
  auto m = TrainModel::load(output_dir + "/final");
  EXPECT_TRUE(m.is_ok()) << m.message();
  if (!m) return {};
  auto v = (*m)->params().values();
  return {v.begin(), v.end()};
}

TEST(Sft, SequenceMasksThePromptAndEndsWithEos) {
  auto tok = tiny_chat_tokenizer();
  ASSERT_TRUE(tok);
  const SftExample e{"1+2?", "x\n</think>\n\n\\boxed{3}"};
  auto s = tokenize_sft(*tok, e);
  ASSERT_TRUE(s.is_ok()) << s.message();
  // The prompt is the rendered chat template, which for this tokenizer ends in the R1 generation prompt.
  const ChatMessage user{.role = "user", .content = e.prompt};
  auto prompt = render_chat(*tok, std::span(&user, 1), true);
  ASSERT_TRUE(prompt.is_ok());
  EXPECT_TRUE(prompt->ends_with("<｜Assistant｜><think>\n"));
  EXPECT_EQ(tok->decode(std::span(s->ids).first(size_t(s->prompt_tokens))), *prompt);
  EXPECT_EQ(s->ids.back(), *tok->eos_id());
  const SftBatchRow row = sft_row(*s);
  ASSERT_EQ(row.tokens.size() + 1, s->ids.size());
  int64_t weighted = 0;
  for (size_t t = 0; t < row.weights.size(); ++t) {
    EXPECT_EQ(row.targets[t], s->ids[t + 1]);
    weighted += row.weights[t] != 0;
  }
  // Completion tokens (one per byte here, but "</think>" is one special token) and EOS carry loss, nothing
  // else.
  EXPECT_EQ(weighted, int64_t(e.completion.size() - std::string("</think>").size()) + 1 + 1);
  EXPECT_EQ(row.weights[size_t(s->prompt_tokens) - 2], 0.0f);
  EXPECT_EQ(row.weights[size_t(s->prompt_tokens) - 1], 1.0f);
}

TEST(Sft, PromptTargetsGetNoGradientAndBatchLossIsTokenWeighted) {
  auto tok = tiny_chat_tokenizer();
  auto model = init_model(tiny_chat_dir() + "/config.json", 7);
  ASSERT_TRUE(tok && model);
  const auto examples = sums(2);
  std::vector<SftBatchRow> rows;
  for (const auto& e :
       {examples[0], SftExample{"7+1 and more words?", "a longer completion\n</think>\n\n\\boxed{8}"}})
    rows.push_back(sft_row(*tokenize_sft(*tok, e)));
  auto loss = sft_accumulate(*model, rows);
  ASSERT_TRUE(loss.is_ok()) << loss.message();
  const auto g = model->params().grads();
  const std::vector<float> grads(g.begin(), g.end());

  // Reference: TrainModel::forward's own masked mean per row, combined by completion-token counts.
  double want_loss = 0, total_w = 0;
  std::vector<double> want_grads(grads.size(), 0.0);
  for (const auto& row : rows) {
    double w = 0;
    for (float x : row.weights) w += x;
    model->params().zero_grad();
    auto l = model->forward(row.tokens, row.targets, row.weights);
    ASSERT_TRUE(l.is_ok()) << l.message();
    ASSERT_TRUE(model->backward().is_ok());
    want_loss += *l * w;
    total_w += w;
    for (size_t i = 0; i < grads.size(); ++i) want_grads[i] += double(model->params().grads()[i]) * w;
  }
  EXPECT_NEAR(*loss, want_loss / total_w, 1e-5);
  double diff = 0, norm = 0;
  for (size_t i = 0; i < grads.size(); ++i) {
    const double r = want_grads[i] / total_w;
    diff += (grads[i] - r) * (grads[i] - r);
    norm += r * r;
  }
  EXPECT_GT(norm, 0);
  EXPECT_LT(std::sqrt(diff / norm), 1e-4);

  // Changing what the prompt positions "predict" changes nothing.
  for (auto& row : rows)
    for (size_t t = 0; t < row.targets.size(); ++t)
      if (row.weights[t] == 0) row.targets[t] = (row.targets[t] + 5) % 256;
  auto loss2 = sft_accumulate(*model, rows);
  ASSERT_TRUE(loss2.is_ok());
  EXPECT_EQ(*loss2, *loss);
  const auto g2 = model->params().grads();
  EXPECT_TRUE(std::equal(g2.begin(), g2.end(), grads.begin()));
}

TEST(Sft, LossFallsOnAMemorisableSet) {
  test::TempDir out;
  auto tok = tiny_chat_tokenizer();
  auto model = init_model(tiny_chat_dir() + "/config.json", 1);
  ASSERT_TRUE(tok && model);
  SftOptions o{.lr = 1e-2, .warmup_steps = 3, .steps = 40, .batch_size = 4, .output_dir = out.path()};
  std::vector<double> losses;
  SftCallbacks cb{.on_log = [&](const SftStepLog& s) {
    losses.push_back(s.loss);
    EXPECT_TRUE(std::isfinite(s.grad_norm) && s.grad_norm > 0);
    EXPECT_GT(s.tokens_per_s, 0);
  }};
  auto r = train_sft(std::move(model), *tok, sums(4), o, cb);
  ASSERT_TRUE(r.is_ok()) << r.message();
  ASSERT_EQ(losses.size(), 40u);
  // Uniform over 262 tokens is ln 262 ≈ 5.6 at the start; four short completions are learnt almost exactly.
  EXPECT_GT(losses.front(), 4.0);
  EXPECT_LT(losses.back(), 0.25 * losses.front());
  EXPECT_EQ(r->steps_done, 40);
  EXPECT_TRUE(fs::exists(r->final_dir + "/model.safetensors"));
  std::ifstream log(out.file("train_log.jsonl"));
  int lines = 0;
  for (std::string line; std::getline(log, line);) ++lines;
  EXPECT_EQ(lines, 40);
}

// N steps straight vs a stop after k steps (checkpoint) and a resumed run: the same final floats.
void expect_resume_identical(const std::string& config_path) {
  auto tok = tiny_chat_tokenizer();
  ASSERT_TRUE(tok);
  const auto examples = sums(5);  // batch 2 over 5 sequences: steps straddle epochs
  test::TempDir straight, resumed;
  SftOptions o{.lr = 5e-3,
               .warmup_steps = 2,
               .steps = 6,
               .batch_size = 2,
               .max_grad_norm = 0.5,
               .weight_decay = 0.1,
               .seed = 3,
               .save_every = 4,
               .output_dir = straight.path()};
  auto a = train_sft(init_model(config_path, 5), *tok, examples, o);
  ASSERT_TRUE(a.is_ok()) << a.message();
  EXPECT_TRUE(fs::exists(straight.file("checkpoint-4/trainer_state.json")));

  o.output_dir = resumed.path();
  int polls = 0;
  auto b = train_sft(init_model(config_path, 5), *tok, examples, o, {.stop = [&] { return polls++ == 3; }});
  ASSERT_TRUE(b.is_ok()) << b.message();
  EXPECT_TRUE(b->stopped);
  EXPECT_EQ(b->steps_done, 3);
  EXPECT_EQ(latest_checkpoint(resumed.path()), resumed.file("checkpoint-3"));
  // The resumed run ignores the model it is given (another seed) and continues from checkpoint-3.
  auto c = train_sft(init_model(config_path, 99), *tok, examples, o, {}, /*must_resume=*/true);
  ASSERT_TRUE(c.is_ok()) << c.message();
  EXPECT_EQ(c->resumed_from, 3);
  EXPECT_EQ(c->steps_done, 6);
  const auto want = final_params(straight.path()), got = final_params(resumed.path());
  ASSERT_FALSE(want.empty());
  ASSERT_EQ(want.size(), got.size());
  EXPECT_EQ(0, std::memcmp(want.data(), got.data(), want.size() * sizeof(float)));
  // And training did move the parameters (a resume that trained nothing would also be "identical" to
  // nothing).
  const auto init = init_model(config_path, 5);
  EXPECT_NE(0, std::memcmp(want.data(), init->params().values().data(), want.size() * sizeof(float)));
  // The JSONL log reads as one run of 6 steps.
  std::ifstream log(resumed.file("train_log.jsonl"));
  int64_t expected_step = 1;
  for (std::string line; std::getline(log, line); ++expected_step)
    EXPECT_EQ(nlohmann::json::parse(line)["step"].get<int64_t>(), expected_step);
  EXPECT_EQ(expected_step, 7);
}

TEST(Sft, ResumedRunEndsBitIdenticalDense) {
  expect_resume_identical(tiny_chat_dir() + "/config.json");
}

TEST(Sft, ResumedRunEndsBitIdenticalMlaMoe) {
  test::TempDir dir;
  write_tiny_deepseek_v3(dir.path());
  expect_resume_identical(dir.file("config.json"));
}

TEST(Sft, CheckpointLoadsAsAnR1ModelAndATrainModel) {
  test::TempDir out;
  auto tok = tiny_chat_tokenizer();
  auto model = init_model(tiny_chat_dir() + "/config.json", 2);
  ASSERT_TRUE(tok && model);
  auto r = train_sft(std::move(model), *tok, sums(3),
                     {.steps = 2, .batch_size = 2, .save_every = 1, .output_dir = out.path()});
  ASSERT_TRUE(r.is_ok()) << r.message();
  for (const std::string& dir : {out.file("checkpoint-1"), r->final_dir}) {
    SCOPED_TRACE(dir);
    auto trained = TrainModel::load(dir);
    ASSERT_TRUE(trained.is_ok()) << trained.message();
    auto loaded = load_model(dir);  // what `r1 run -m DIR` does
    ASSERT_TRUE(loaded.is_ok()) << loaded.message();
    auto t2 = Tokenizer::load_dir(dir);
    ASSERT_TRUE(t2.is_ok()) << t2.message();
    EXPECT_EQ((*t2)->chat_template(), tok->chat_template());
    // The loaded model's logits equal the ones of the inference model built on the trained parameters.
    auto built = (*trained)->inference_model();
    ASSERT_TRUE(built.is_ok()) << built.message();
    const std::vector<int32_t> ids = tok->encode("<｜User｜>3+4?<｜Assistant｜><think>\n");
    const int64_t V = (*loaded)->info().vocab_size;
    std::vector<float> want(size_t(V * int64_t(ids.size()))), got(want.size());
    auto c1 = (*built)->new_cache(64);
    auto c2 = (*loaded)->new_cache(64);
    ASSERT_TRUE((*built)->forward(ids, *c1, want.data(), true).is_ok());
    ASSERT_TRUE((*loaded)->forward(ids, *c2, got.data(), true).is_ok());
    for (size_t i = 0; i < want.size(); ++i) ASSERT_NEAR(got[i], want[i], 1e-5) << i;
  }
  EXPECT_FALSE(fs::exists(out.file("checkpoint-1.partial")));
}

TEST(Sft, ACutShortSaveIsNeverResumed) {
  test::TempDir out;
  auto tok = tiny_chat_tokenizer();
  ASSERT_TRUE(tok);
  auto r = train_sft(init_model(tiny_chat_dir() + "/config.json", 4), *tok, sums(3),
                     {.steps = 2, .batch_size = 1, .save_every = 1, .output_dir = out.path()});
  ASSERT_TRUE(r.is_ok()) << r.message();
  ASSERT_EQ(latest_checkpoint(out.path()), out.file("checkpoint-1"));
  // A save killed before its rename leaves checkpoint-N.partial; one killed some other way (or a folder
  // copied by hand) may lack the trainer state or the optimizer. None of them may be picked up.
  fs::copy(out.file("checkpoint-1"), out.file("checkpoint-7.partial"), fs::copy_options::recursive);
  fs::copy(out.file("checkpoint-1"), out.file("checkpoint-8"), fs::copy_options::recursive);
  fs::remove(out.file("checkpoint-8/trainer_state.json"));
  fs::copy(out.file("checkpoint-1"), out.file("checkpoint-9"), fs::copy_options::recursive);
  fs::remove(out.file("checkpoint-9/optimizer.safetensors"));
  fs::create_directories(out.file("checkpoint-10.tmp-save"));
  EXPECT_EQ(latest_checkpoint(out.path()), out.file("checkpoint-1"));
  // A complete later checkpoint wins by step, not by name order.
  fs::copy(out.file("checkpoint-1"), out.file("checkpoint-12"), fs::copy_options::recursive);
  EXPECT_EQ(latest_checkpoint(out.path()), out.file("checkpoint-12"));
  EXPECT_EQ(latest_checkpoint(out.file("no-such-dir")), std::nullopt);
}

TEST(Sft, RefusesToResumeOnOtherDataAndBadInput) {
  test::TempDir out, empty;
  auto tok = tiny_chat_tokenizer();
  ASSERT_TRUE(tok);
  SftOptions o{.steps = 2, .batch_size = 1, .output_dir = out.path()};
  int polls = 0;  // a stop after one step leaves checkpoint-1
  ASSERT_TRUE(train_sft(init_model(tiny_chat_dir() + "/config.json", 4), *tok, sums(2), o,
                        {.stop = [&] { return polls++ == 1; }})
                  .is_ok());
  ASSERT_EQ(latest_checkpoint(out.path()), out.file("checkpoint-1"));
  auto other = train_sft(nullptr, *tok, sums(3), o);
  ASSERT_FALSE(other.is_ok());
  EXPECT_NE(other.message().find("other data"), std::string::npos) << other.message();
  o.seed = 1;
  auto seed = train_sft(nullptr, *tok, sums(2), o);
  ASSERT_FALSE(seed.is_ok());
  EXPECT_NE(seed.message().find("seed"), std::string::npos) << seed.message();

  // A hand-edited trainer state is an error naming the file, never an exception.
  o.seed = 0;
  test::write_file(out.file("checkpoint-1/trainer_state.json"),
                   R"({"step": 1, "data_fingerprint": "x", "options": 3})");
  auto edited = train_sft(nullptr, *tok, sums(2), o);
  ASSERT_FALSE(edited.is_ok());
  EXPECT_NE(edited.message().find("other data"), std::string::npos) << edited.message();
  test::write_file(out.file("checkpoint-1/trainer_state.json"), R"({"step": "one"})");
  auto no_step = train_sft(nullptr, *tok, sums(2), o);
  ASSERT_FALSE(no_step.is_ok());
  EXPECT_NE(no_step.message().find("trainer_state.json: no step"), std::string::npos) << no_step.message();

  o.output_dir = empty.path();
  EXPECT_FALSE(train_sft(nullptr, *tok, sums(2), o, {}, /*must_resume=*/true).is_ok());
  o.max_seq_len = 4;
  auto too_long = train_sft(init_model(tiny_chat_dir() + "/config.json", 4), *tok, sums(2), o);
  ASSERT_FALSE(too_long.is_ok());
  EXPECT_NE(too_long.message().find("2 skipped"), std::string::npos) << too_long.message();

  test::write_file(empty.file("bad.jsonl"), "{\"prompt\": \"a\", \"completion\": \"b\"}\n{\"prompt\": 3}\n");
  auto bad = read_sft_jsonl(empty.file("bad.jsonl"));
  ASSERT_FALSE(bad.is_ok());
  EXPECT_NE(bad.message().find("bad.jsonl:2"), std::string::npos) << bad.message();
  test::write_file(empty.file("ok.jsonl"),
                   "{\"prompt\": \"a\", \"completion\": \"b\", \"answer\": \"c\"}\n\n");
  auto ok = read_sft_jsonl(empty.file("ok.jsonl"));
  ASSERT_TRUE(ok.is_ok()) << ok.message();
  EXPECT_EQ(ok->size(), 1u);
}

}  // namespace
}  // namespace r1::train
