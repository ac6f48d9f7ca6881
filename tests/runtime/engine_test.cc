// The serving engine against the plain decode loop: whatever the batching, chunking, preemption and prefix
// caching do, a request must produce the tokens generate() produces for it alone.
#include "runtime/engine.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <thread>

#include "test_util.h"

namespace r1 {
namespace {

using namespace std::chrono_literals;

std::unique_ptr<Model> load(const std::string& name) {
  auto m = load_model(std::string(R1_FIXTURES_DIR) + "/models/" + name);
  EXPECT_TRUE(m.is_ok()) << m.message();
  return m.is_ok() ? std::move(*m) : nullptr;
}

// Prompts of assorted lengths (some longer than several 16-token blocks), sharing a prefix in pairs.
std::vector<std::vector<int32_t>> prompts(int n, int64_t vocab, int64_t base_len = 5) {
  std::vector<std::vector<int32_t>> out;
  for (int i = 0; i < n; ++i) {
    std::vector<int32_t> p;
    const int64_t len = base_len + 11 * i;
    for (int64_t t = 0; t < len; ++t) p.push_back(int32_t((t * 7 + (i / 2) * 13 + (t > 20 ? i : 0)) % vocab));
    out.push_back(std::move(p));
  }
  return out;
}

GenerateParams greedy(int64_t n) {
  GenerateParams p;
  p.max_tokens = n;
  p.sampling.greedy = true;
  return p;
}

std::vector<int32_t> alone(Model& m, const std::vector<int32_t>& prompt, const GenerateParams& p) {
  auto cache = m.new_cache(int64_t(prompt.size()) + p.max_tokens + 1);
  auto r = generate(m, *cache, prompt, p, nullptr);
  EXPECT_TRUE(r.is_ok()) << r.message();
  return r.is_ok() ? r->ids : std::vector<int32_t>{};
}

// Reads a request to the end.
std::vector<TokenEvent> drain(RequestHandle& h) {
  std::vector<TokenEvent> out;
  while (h.next(out, 1000ms)) {
  }
  return out;
}

std::vector<int32_t> ids(const std::vector<TokenEvent>& events) {
  std::vector<int32_t> out;
  for (const TokenEvent& e : events) out.push_back(e.id);
  return out;
}

std::unique_ptr<Engine> engine(Model& m, EngineOptions o) {
  auto e = Engine::create(m, o);
  EXPECT_TRUE(e.is_ok()) << e.message();
  return e.is_ok() ? std::move(*e) : nullptr;
}

// Submits every prompt at once and returns each one's tokens.
std::vector<std::vector<int32_t>> run_all(Engine& e, const std::vector<std::vector<int32_t>>& ps,
                                          const GenerateParams& p) {
  std::vector<std::shared_ptr<RequestHandle>> hs;
  for (const auto& prompt : ps) {
    auto sub = e.submit({.prompt = prompt, .params = p});
    EXPECT_TRUE(sub.handle) << sub.message;
    hs.push_back(sub.handle);
  }
  std::vector<std::vector<int32_t>> out;
  for (auto& h : hs) {
    out.push_back(h ? ids(drain(*h)) : std::vector<int32_t>{});
    if (h) {
      EXPECT_EQ(h->error(), "");
    }
  }
  return out;
}

void expect_same_as_alone(const std::string& model_name, EngineOptions o, int n = 8, int64_t max_tokens = 12) {
  auto m = load(model_name);
  ASSERT_TRUE(m);
  const auto ps = prompts(n, m->info().vocab_size);
  const GenerateParams p = greedy(max_tokens);
  std::vector<std::vector<int32_t>> expected;
  for (const auto& prompt : ps) expected.push_back(alone(*m, prompt, p));
  auto e = engine(*m, o);
  ASSERT_TRUE(e);
  const auto got = run_all(*e, ps, p);
  for (int i = 0; i < n; ++i) EXPECT_EQ(got[size_t(i)], expected[size_t(i)]) << model_name << " request " << i;
  const EngineStats s = e->stats();
  EXPECT_EQ(s.running, 0);
  EXPECT_EQ(s.kv_blocks_used, 0) << "every block goes back to the pool";
  EXPECT_EQ(s.requests_finished, n);
}

TEST(Engine, ConcurrentGreedyRequestsMatchTheirSoloRunsDense) {
  expect_same_as_alone("qwen2_gqa4", {.max_running = 8});
}

TEST(Engine, ConcurrentGreedyRequestsMatchTheirSoloRunsMla) {
  expect_same_as_alone("deepseek_v3", {.max_running = 8});
  expect_same_as_alone("deepseek_v2_lite", {.max_running = 3});
}

TEST(Engine, ChunkedPrefillGivesTheSameTokens) {
  // 5 tokens per step: every prompt is prefilled over several steps, interleaved with others' decoding.
  expect_same_as_alone("qwen2_gqa4", {.max_running = 4, .step_tokens = 5});
}

TEST(Engine, PreemptionUnderBlockPressureGivesTheSameTokens) {
  // 12 blocks of 4 tokens for 6 sequences growing to ~70 tokens each: decoding runs out of blocks, the latest
  // admitted sequences are preempted and recomputed.
  auto m = load("qwen2_gqa4");
  ASSERT_TRUE(m);
  const auto ps = prompts(6, m->info().vocab_size);
  const GenerateParams p = greedy(20);
  std::vector<std::vector<int32_t>> expected;
  for (const auto& prompt : ps) expected.push_back(alone(*m, prompt, p));
  auto e = engine(*m, {.max_running = 6, .ctx_size = 96, .block_size = 4, .kv_blocks = 24, .step_tokens = 32});
  ASSERT_TRUE(e);
  const auto got = run_all(*e, ps, p);
  for (size_t i = 0; i < ps.size(); ++i) EXPECT_EQ(got[i], expected[i]) << "request " << i;
  EXPECT_GT(e->stats().requests_preempted, 0) << "the test did not exercise preemption";
}

TEST(Engine, PrefixCacheReusesBlocksOfAnEarlierRequest) {
  auto m = load("qwen2_gqa4");
  ASSERT_TRUE(m);
  std::vector<int32_t> prompt = prompts(1, m->info().vocab_size, 70)[0];  // 4 full blocks and a bit
  std::vector<int32_t> other = prompt;  // diverges inside block 2
  other[40] = (other[40] + 1) % int32_t(m->info().vocab_size);
  const GenerateParams p = greedy(8);
  // The model is not shared between threads: every solo run happens before the engine's scheduler starts.
  const auto expected = alone(*m, prompt, p), expected_other = alone(*m, other, p);
  auto e = engine(*m, {.max_running = 2});
  ASSERT_TRUE(e);
  auto first = e->submit({.prompt = prompt, .params = p}).handle;
  ASSERT_TRUE(first);
  EXPECT_EQ(ids(drain(*first)), expected);
  EXPECT_EQ(first->cached_tokens(), 0);
  auto second = e->submit({.prompt = prompt, .params = p}).handle;
  ASSERT_TRUE(second);
  EXPECT_EQ(ids(drain(*second)), expected);
  EXPECT_EQ(second->cached_tokens(), 64) << "4 full blocks of 16 before the last prompt token";
  auto third = e->submit({.prompt = other, .params = p}).handle;
  ASSERT_TRUE(third);
  EXPECT_EQ(ids(drain(*third)), expected_other);
  EXPECT_EQ(third->cached_tokens(), 32) << "only the blocks before the divergence";
  EXPECT_EQ(e->stats().cached_prompt_tokens, 96);
}

TEST(Engine, DiskCacheServesAPrefixAfterARestartAndIgnoresCorruptFiles) {
  auto m = load("qwen2_gqa4");
  ASSERT_TRUE(m);
  test::TempDir dir;
  const std::vector<int32_t> prompt = prompts(1, m->info().vocab_size, 50)[0];  // 3 full blocks
  const GenerateParams p = greedy(6);
  const auto expected = alone(*m, prompt, p);
  const EngineOptions o{.max_running = 2, .cache_dir = dir.path(), .model_fingerprint = "test-model"};
  {
    auto e = engine(*m, o);
    ASSERT_TRUE(e);
    EXPECT_EQ(ids(drain(*e->submit({.prompt = prompt, .params = p}).handle)), expected);
    e->shutdown(1000ms);  // flushes the disk tier
    EXPECT_EQ(e->stats().disk_writes, 3);
  }
  {
    auto e = engine(*m, o);  // a new process's memory cache is empty: only the disk can hit
    ASSERT_TRUE(e);
    auto h = e->submit({.prompt = prompt, .params = p}).handle;
    EXPECT_EQ(ids(drain(*h)), expected);
    EXPECT_EQ(h->cached_tokens(), 48);
    EXPECT_EQ(e->stats().disk_cached_prompt_tokens, 48);
  }
  // Corrupt every block file: they are rejected, the prompt is recomputed, the answer is unchanged.
  int corrupted = 0;
  for (const auto& f : std::filesystem::recursive_directory_iterator(dir.path())) {
    if (f.path().extension() != ".kvb") continue;
    std::FILE* fp = std::fopen(f.path().c_str(), "r+b");
    ASSERT_TRUE(fp);
    std::fseek(fp, -5, SEEK_END);
    std::fputc(0x5a, fp);
    std::fclose(fp);
    ++corrupted;
  }
  EXPECT_EQ(corrupted, 3);
  auto e = engine(*m, o);
  ASSERT_TRUE(e);
  auto h = e->submit({.prompt = prompt, .params = p}).handle;
  EXPECT_EQ(ids(drain(*h)), expected);
  EXPECT_EQ(h->cached_tokens(), 0);
  EXPECT_GE(e->stats().disk_rejected, 1);
}

TEST(Engine, CancelFreesTheSlotAndItsBlocks) {
  auto m = load("qwen2_gqa4");
  ASSERT_TRUE(m);
  auto e = engine(*m, {.max_running = 1, .ctx_size = 512});
  ASSERT_TRUE(e);
  auto h = e->submit({.prompt = prompts(1, m->info().vocab_size)[0], .params = greedy(400)}).handle;
  ASSERT_TRUE(h);
  std::vector<TokenEvent> got;
  while (got.size() < 3) h->next(got, 1000ms);
  h->cancel();
  drain(*h);
  EXPECT_EQ(h->finish_reason(), FinishReason::kCancelled);
  EXPECT_LT(h->completion_tokens(), 400);
  // The only slot is free again: a second request runs to its end.
  auto h2 = e->submit({.prompt = prompts(1, m->info().vocab_size)[0], .params = greedy(3)}).handle;
  ASSERT_TRUE(h2);
  EXPECT_EQ(drain(*h2).size(), 3u);
  EXPECT_EQ(e->stats().kv_blocks_used, 0);
}

TEST(Engine, RefusesWhatItCannotServe) {
  auto m = load("qwen2_gqa4");
  ASSERT_TRUE(m);
  auto e = engine(*m, {.max_running = 1, .max_waiting = 1, .ctx_size = 64});
  ASSERT_TRUE(e);
  EXPECT_EQ(e->submit({.prompt = {}, .params = greedy(1)}).error, SubmitError::kInvalid);
  EXPECT_EQ(e->submit({.prompt = {1, 100000}, .params = greedy(1)}).error, SubmitError::kInvalid);
  EXPECT_EQ(e->submit({.prompt = {1, 2}, .params = greedy(0)}).error, SubmitError::kInvalid);
  EXPECT_EQ(e->submit({.prompt = std::vector<int32_t>(64, 5), .params = greedy(1)}).error, SubmitError::kTooLong);
  // One running, one waiting, the third is refused.
  std::vector<std::shared_ptr<RequestHandle>> hs;
  int refused = 0;
  for (int i = 0; i < 3; ++i) {
    auto sub = e->submit({.prompt = {1, 2, 3}, .params = greedy(40)});
    if (sub.handle) {
      hs.push_back(sub.handle);
    } else {
      EXPECT_EQ(sub.error, SubmitError::kQueueFull);
      ++refused;
    }
  }
  EXPECT_GE(refused, 1);
  for (auto& h : hs) drain(*h);
  e->shutdown(1000ms);
  EXPECT_EQ(e->submit({.prompt = {1, 2, 3}, .params = greedy(1)}).error, SubmitError::kShuttingDown);
}

TEST(Engine, LogprobsAreTheRawLogSoftmax) {
  auto m = load("qwen2_gqa4");
  ASSERT_TRUE(m);
  const std::vector<int32_t> prompt = prompts(1, m->info().vocab_size)[0];
  // Reference: the model's logits for the prompt, log-softmaxed in double.
  const int64_t V = m->info().vocab_size;
  std::vector<float> logits(static_cast<size_t>(V));
  auto cache = m->new_cache(64);
  ASSERT_TRUE(m->forward(prompt, *cache, logits.data(), false).is_ok());
  double mx = -INFINITY, sum = 0;
  for (float x : logits) mx = std::max(mx, double(x));
  for (float x : logits) sum += std::exp(double(x) - mx);
  const auto lp = [&](int32_t id) { return double(logits[size_t(id)]) - mx - std::log(sum); };
  std::vector<int32_t> order(static_cast<size_t>(V));
  for (int32_t i = 0; i < V; ++i) order[size_t(i)] = i;
  std::sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return logits[size_t(a)] > logits[size_t(b)]; });
  auto e = engine(*m, {.max_running = 1});
  ASSERT_TRUE(e);
  GenerateParams p = greedy(1);
  p.sampling.temperature = 0.5f;  // logprobs are reported before temperature
  auto h = e->submit({.prompt = prompt, .params = p, .top_logprobs = 3}).handle;
  ASSERT_TRUE(h);
  const auto events = drain(*h);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].id, order[0]) << "greedy picks the most likely token";
  EXPECT_NEAR(events[0].logprob, lp(events[0].id), 1e-4);
  ASSERT_EQ(events[0].top.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(events[0].top[i].id, order[i]);
    EXPECT_NEAR(events[0].top[i].logprob, lp(order[i]), 1e-4);
  }
}

TEST(Engine, SeededSamplingIsReproducibleAcrossBatchCompositions) {
  auto m = load("qwen2_gqa4");
  ASSERT_TRUE(m);
  GenerateParams p;
  p.max_tokens = 10;
  p.sampling.temperature = 0.8f;
  p.sampling.seed = 1234;
  const auto ps = prompts(4, m->info().vocab_size);
  const auto expected = alone(*m, ps[2], p);
  auto e = engine(*m, {.max_running = 4});
  ASSERT_TRUE(e);
  EXPECT_EQ(run_all(*e, ps, p)[2], expected);
}

}  // namespace
}  // namespace r1
