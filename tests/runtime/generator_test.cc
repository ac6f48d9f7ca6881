// The decode loop: stop tokens, cancellation, and the thinking budget that closes a long thought.
#include "runtime/generator.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace r1 {
namespace {

const std::string kModel = std::string(R1_FIXTURES_DIR) + "/models/qwen2_gqa4";
const std::vector<int32_t> kPrompt = {508, 506, 100, 507, 510, 198};  // BOS <｜User｜> x <｜Assistant｜> <think> \n

std::unique_ptr<Model> model() {
  auto m = load_model(kModel);
  EXPECT_TRUE(m.is_ok()) << m.message();
  return m.is_ok() ? std::move(*m) : nullptr;
}

GenerateParams greedy(int64_t n) {
  GenerateParams p;
  p.max_tokens = n;
  p.sampling.greedy = true;
  return p;
}

TEST(Generator, StopsAtAStopTokenAndReportsWhy) {
  auto m = model();
  auto cache = m->new_cache(64);
  auto free_run = generate(*m, *cache, kPrompt, greedy(12), nullptr);
  ASSERT_TRUE(free_run.is_ok());
  EXPECT_EQ(free_run->finish_reason, FinishReason::kLength);
  ASSERT_EQ(free_run->ids.size(), 12u);
  // Declaring the 5th generated token a stop token ends generation right after it.
  auto p = greedy(12);
  p.stop_ids = {free_run->ids[4]};
  const auto first = std::find(free_run->ids.begin(), free_run->ids.end(), free_run->ids[4]) - free_run->ids.begin();
  auto c2 = m->new_cache(64);
  auto stopped = generate(*m, *c2, kPrompt, p, nullptr);
  ASSERT_TRUE(stopped.is_ok());
  EXPECT_EQ(stopped->finish_reason, FinishReason::kStop);
  EXPECT_EQ(stopped->ids.size(), size_t(first + 1));
  // The cache holds the prompt and every generated token but the last.
  EXPECT_EQ(c2->size(), int64_t(kPrompt.size() + stopped->ids.size() - 1));
}

TEST(Generator, CallbackCancels) {
  auto m = model();
  auto cache = m->new_cache(64);
  int seen = 0;
  auto r = generate(*m, *cache, kPrompt, greedy(20), [&](int32_t) { return ++seen < 3; });
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r->finish_reason, FinishReason::kCancelled);
  EXPECT_EQ(r->ids.size(), 3u);
}

TEST(Generator, ThinkingBudgetClosesTheThought) {
  auto m = model();
  const std::vector<int32_t> close = {198, 511, 198, 198};  // "\n</think>\n\n"
  for (int64_t budget : {0, 3}) {
    auto p = greedy(12);
    p.thinking = {.max_tokens = budget, .starts_in_reasoning = true, .open_id = 510, .close_id = 511,
                  .close_ids = close};
    auto cache = m->new_cache(64);
    auto r = generate(*m, *cache, kPrompt, p, nullptr);
    ASSERT_TRUE(r.is_ok());
    // Either the model closed the thought itself within the budget, or exactly `budget` tokens of thought are
    // followed by the forced close.
    const auto own = std::find(r->ids.begin(), r->ids.begin() + std::min<int64_t>(budget, int64_t(r->ids.size())), 511);
    if (own != r->ids.begin() + budget) continue;
    ASSERT_GE(r->ids.size(), size_t(budget) + close.size());
    EXPECT_EQ(std::vector<int32_t>(r->ids.begin() + budget, r->ids.begin() + budget + int64_t(close.size())), close)
        << "budget " << budget;
    // After the close the model answers: no second forced close.
    EXPECT_EQ(std::count(r->ids.begin(), r->ids.end(), 511), 1 + std::count(r->ids.begin() + budget + int64_t(close.size()), r->ids.end(), 511));
  }
}

TEST(Generator, NoBudgetLeavesTheThoughtAlone) {
  auto m = model();
  auto a = m->new_cache(64), b = m->new_cache(64);
  auto p = greedy(10);
  p.thinking = {.max_tokens = -1, .starts_in_reasoning = true, .open_id = 510, .close_id = 511, .close_ids = {}};
  auto with = generate(*m, *a, kPrompt, p, nullptr);
  auto without = generate(*m, *b, kPrompt, greedy(10), nullptr);
  ASSERT_TRUE(with.is_ok() && without.is_ok());
  EXPECT_EQ(with->ids, without->ids);
}

}  // namespace
}  // namespace r1
