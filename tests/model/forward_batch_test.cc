// forward_batch against forward: several sequences of different lengths run together over ONE shared store
// with shuffled block tables, mixing prefill chunks and decode steps across calls, must give the logits each
// sequence gets alone with an owned cache. Also: passes longer than kMaxChunk, quantized weights, a prefix
// reused by copied or shared blocks (set_size), and errors that must leave every cache unchanged.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "model/model.h"

namespace r1 {
namespace {

const std::string kDir = std::string(R1_FIXTURES_DIR) + "/models/";

std::vector<int32_t> random_ids(size_t n, int64_t vocab, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<int32_t> ids(n);
  for (auto& id : ids) id = int32_t(rng() % uint32_t(vocab));
  return ids;
}

// Logits of every position of `ids` run alone through forward() with an owned cache: [ids.size(), V].
std::vector<float> alone(Model& model, const std::vector<int32_t>& ids) {
  const size_t V = size_t(model.info().vocab_size);
  auto cache = model.new_cache(int64_t(ids.size()));
  std::vector<float> logits(ids.size() * V);
  EXPECT_TRUE(model.forward(ids, *cache, logits.data(), /*all_logits=*/true).is_ok());
  return logits;
}

// max |got - want| <= tol * max |want| over one row of V logits.
void expect_row_near(const float* got, const float* want, size_t V, float tol, const std::string& what) {
  float max_abs = 0, max_diff = 0;
  for (size_t v = 0; v < V; ++v) {
    max_abs = std::max(max_abs, std::fabs(want[v]));
    max_diff = std::max(max_diff, std::fabs(got[v] - want[v]));
  }
  EXPECT_LE(max_diff, tol * max_abs) << what;
}

// Shuffled block tables covering `lengths` positions, drawn from one store.
std::vector<std::vector<int32_t>> shuffled_tables(const std::vector<size_t>& lengths, int64_t B,
                                                  int64_t n_blocks, uint32_t seed) {
  std::vector<int32_t> all(static_cast<size_t>(n_blocks));
  for (size_t i = 0; i < all.size(); ++i) all[i] = int32_t(i);
  std::shuffle(all.begin(), all.end(), std::mt19937(seed));
  std::vector<std::vector<int32_t>> tables;
  size_t next = 0;
  for (size_t len : lengths) {
    const size_t n = (len + size_t(B) - 1) / size_t(B);
    tables.emplace_back(all.begin() + int64_t(next), all.begin() + int64_t(next + n));
    next += n;
  }
  return tables;
}

// One call of a schedule: for each sequence, how many of its next tokens it runs (0 = not in this call).
using Step = std::vector<size_t>;

// Runs `schedule` over sequences `ids` with forward_batch on one shared store (block size B) and checks every
// returned row against the sequence alone. Sequence 1 asks for its last logits only, the others for all.
void check_schedule(Model& model, const std::vector<std::vector<int32_t>>& ids,
                    const std::vector<Step>& schedule, int64_t B, float tol) {
  const size_t V = size_t(model.info().vocab_size);
  std::vector<size_t> lengths;
  for (const auto& s : ids) lengths.push_back(s.size());
  int64_t n_blocks = 5;
  for (size_t len : lengths) n_blocks += int64_t((len + size_t(B) - 1) / size_t(B));
  auto store = model.new_kv_store(n_blocks, B);
  ASSERT_NE(store, nullptr);
  const auto tables = shuffled_tables(lengths, B, n_blocks, 7);
  std::vector<std::unique_ptr<KvCache>> caches;
  std::vector<std::vector<float>> want;
  for (size_t i = 0; i < ids.size(); ++i) {
    caches.push_back(std::make_unique<KvCache>(*store));
    caches.back()->blocks() = tables[i];
    want.push_back(alone(model, ids[i]));
  }
  std::vector<size_t> done(ids.size(), 0);
  for (size_t call = 0; call < schedule.size(); ++call) {
    std::vector<SeqChunk> chunks;
    std::vector<size_t> who;
    size_t rows = 0;
    for (size_t i = 0; i < ids.size(); ++i) {
      const size_t n = schedule[call][i];
      if (n == 0) continue;
      const bool all = i != 1;
      chunks.push_back(
          {.tokens = std::span(ids[i]).subspan(done[i], n), .cache = caches[i].get(), .all_logits = all});
      who.push_back(i);
      rows += all ? n : 1;
    }
    std::vector<float> logits(rows * V, NAN);
    ASSERT_TRUE(model.forward_batch(chunks, logits.data()).is_ok()) << "call " << call;
    size_t row = 0;
    for (size_t c = 0; c < chunks.size(); ++c) {
      const size_t i = who[c], n = chunks[c].tokens.size();
      for (size_t t = chunks[c].all_logits ? 0 : n - 1; t < n; ++t, ++row)
        expect_row_near(logits.data() + row * V, want[i].data() + (done[i] + t) * V, V, tol,
                        "call " + std::to_string(call) + " sequence " + std::to_string(i) + " position " +
                            std::to_string(done[i] + t));
      done[i] += n;
      EXPECT_EQ(caches[i]->size(), int64_t(done[i]));
    }
  }
}

class ForwardBatchTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ForwardBatchTest, MatchesEachSequenceAlone) {
  auto model = load_model(kDir + GetParam());
  ASSERT_TRUE(model.is_ok()) << model.message();
  const int64_t V = (*model)->info().vocab_size;
  const std::vector<std::vector<int32_t>> ids = {random_ids(41, V, 1), random_ids(14, V, 2),
                                                 random_ids(13, V, 3), random_ids(3, V, 4)};
  // A prefills 37 while B prefills 3; then A decodes while B finishes its prompt and C prefills; then decode
  // steps.
  const std::vector<Step> schedule = {{37, 3, 0, 0}, {1, 8, 12, 1}, {1, 1, 1, 1}, {1, 1, 0, 1}, {1, 1, 0, 0}};
  for (const int64_t B : {4, 16}) check_schedule(**model, ids, schedule, B, 1e-4f);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, ForwardBatchTest,
                         ::testing::Values("qwen2_gqa4", "qwen2_tied_mha", "llama_llama3rope",
                                           "llama_mqa_f16", "deepseek_v2_lite", "deepseek_v3"));

TEST(ForwardBatch, NaiveMlaMatchesAlone) {
  auto model = load_model(kDir + "deepseek_v3", {.mla_naive = true});
  ASSERT_TRUE(model.is_ok()) << model.message();
  const int64_t V = (*model)->info().vocab_size;
  check_schedule(**model, {random_ids(20, V, 5), random_ids(6, V, 6)}, {{17, 2}, {1, 3}, {2, 1}}, 4, 1e-4f);
}

TEST(ForwardBatch, QuantizedWeightsMatchAlone) {
  for (const std::string name : {"qwen2_gqa4", "deepseek_v3"}) {
    auto model = load_model(kDir + name, {.quant = "q8_0"});
    ASSERT_TRUE(model.is_ok()) << model.message();
    const int64_t V = (*model)->info().vocab_size;
    check_schedule(**model, {random_ids(21, V, 7), random_ids(5, V, 8)}, {{19, 3}, {1, 1}, {1, 1}}, 8, 1e-3f);
  }
}

TEST(ForwardBatch, MoreRowsThanOnePass) {
  // 300 + 1 + 40 rows: the first sequence spans two passes, the others ride in the second.
  for (const std::string name : {"qwen2_gqa4", "deepseek_v2_lite"}) {
    auto model = load_model(kDir + name);
    ASSERT_TRUE(model.is_ok()) << model.message();
    const int64_t V = (*model)->info().vocab_size;
    check_schedule(**model, {random_ids(302, V, 9), random_ids(3, V, 10), random_ids(40, V, 11)},
                   {{300, 2, 40}, {2, 1, 0}}, 16, 1e-4f);
  }
}

// A computed prefix reused in a second cache, through copied blocks and through shared ones: continuing from
// set_size gives the logits of computing everything from scratch.
TEST(ForwardBatch, PrefixReuseBySetSize) {
  for (const std::string name : {"qwen2_gqa4", "deepseek_v3"}) {
    auto model = load_model(kDir + name);
    ASSERT_TRUE(model.is_ok()) << model.message();
    const size_t V = size_t((*model)->info().vocab_size);
    const int64_t B = 4, prefix = 12;  // three whole blocks
    const auto ids = random_ids(19, int64_t(V), 12);
    const auto want = alone(**model, ids);
    auto store = (*model)->new_kv_store(16, B);
    KvCache first(*store);
    first.blocks() = {9, 2, 14, 5, 0};
    // The prefix's logits are not needed: null skips lm_head.
    ASSERT_TRUE((*model)->forward(std::span(ids).first(size_t(prefix)), first, nullptr, false).is_ok());

    KvCache copied(*store), shared(*store);
    copied.blocks() = {3, 7, 11, 1, 6};
    for (size_t b = 0; b < 3; ++b) store->copy_block(first.blocks()[b], copied.blocks()[b]);
    shared.blocks() = {9, 2, 14, 8, 10};  // the prefix's blocks themselves, fresh ones after
    copied.set_size(prefix), shared.set_size(prefix);
    const auto rest = std::span(ids).subspan(size_t(prefix));
    const SeqChunk chunks[] = {{.tokens = rest, .cache = &copied, .all_logits = true},
                               {.tokens = rest, .cache = &shared, .all_logits = true}};
    std::vector<float> both(2 * rest.size() * V);
    ASSERT_TRUE((*model)->forward_batch(chunks, both.data()).is_ok());
    for (size_t t = 0; t < rest.size(); ++t) {
      expect_row_near(both.data() + t * V, want.data() + (size_t(prefix) + t) * V, V, 1e-4f,
                      name + " copied");
      expect_row_near(both.data() + (rest.size() + t) * V, want.data() + (size_t(prefix) + t) * V, V, 1e-4f,
                      name + " shared");
    }
  }
}

TEST(ForwardBatch, ErrorsLeaveEveryCacheUnchanged) {
  auto model = load_model(kDir + "qwen2_gqa4");
  auto other = load_model(kDir + "deepseek_v3");
  ASSERT_TRUE(model.is_ok() && other.is_ok());
  const size_t V = size_t((*model)->info().vocab_size);
  auto store = (*model)->new_kv_store(8, 4);
  auto foreign = (*other)->new_kv_store(8, 4);
  KvCache a(*store), b(*store), c(*foreign);
  a.blocks() = {0, 1}, b.blocks() = {2}, c.blocks() = {0, 1};
  const std::vector<int32_t> two = {5, 6}, five = {1, 2, 3, 4, 5}, bad = {3, int32_t(V)};
  std::vector<float> logits(8 * V);
  ASSERT_TRUE((*model)->forward(two, a, logits.data(), false).is_ok());
  std::vector<std::byte> before(store->block_bytes()), after(store->block_bytes());
  store->read_block(0, before);
  const auto fails = [&](std::vector<SeqChunk> chunks, const std::string& what) {
    const Status s = (*model)->forward_batch(chunks, logits.data());
    EXPECT_FALSE(s.is_ok()) << what;
    EXPECT_EQ(a.size(), 2) << what;
    EXPECT_EQ(b.size(), 0) << what;
    store->read_block(0, after);
    EXPECT_EQ(before, after) << what;
    return s.message();
  };
  // b's table holds 4 positions: 5 new tokens do not fit.
  EXPECT_NE(fails({{.tokens = two, .cache = &a}, {.tokens = five, .cache = &b}}, "short table")
                .find("context full"),
            std::string::npos);
  fails({{.tokens = two, .cache = &a}, {.tokens = bad, .cache = &b}}, "bad token");
  fails({{.tokens = two, .cache = &a}, {.tokens = two, .cache = &a}}, "twice");
  fails({{.tokens = two, .cache = &a}, {.tokens = two, .cache = &c}}, "foreign store");
  fails({{.tokens = two, .cache = &a}, {.tokens = {}, .cache = &b}}, "no tokens");
  b.blocks() = {2, 99};
  fails({{.tokens = two, .cache = &a}, {.tokens = five, .cache = &b}}, "block outside the store");
  EXPECT_EQ((*model)->new_kv_store(4, 12), nullptr);  // not a power of two
}

}  // namespace
}  // namespace r1
