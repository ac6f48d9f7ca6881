// The bundled default model (Karpathy's stories260K, converted by tools/convert_llama2c.py) must reproduce the
// greedy story documented in llama2.c's doc/stories260K.md.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "model/model.h"
#include "runtime/generator.h"
#include "tokenizer/tokenizer.h"

namespace r1 {
namespace {

TEST(Stories260K, GreedyStoryMatchesLlama2c) {
  const std::string dir = std::string(R1_MODELS_DIR) + "/stories260K";
  auto model = load_model(dir);
  ASSERT_TRUE(model.is_ok()) << model.message();
  auto tok = Tokenizer::load_dir(dir);
  ASSERT_TRUE(tok.is_ok()) << tok.message();
  std::ifstream in(std::string(R1_FIXTURES_DIR) + "/models/stories260K_greedy.txt");
  std::stringstream ss;
  ss << in.rdbuf();
  std::string want = ss.str();
  while (!want.empty() && want.back() == '\n') want.pop_back();

  auto cache = (*model)->new_cache(512);
  GenerateParams params;
  params.max_tokens = 256;  // llama2.c's default of 256 steps: one token sampled at each position
  params.sampling.greedy = true;
  params.stop_ids = {1};  // llama2.c ends a story at BOS
  const int32_t bos[1] = {1};
  auto result = generate(**model, *cache, bos, params, nullptr);
  ASSERT_TRUE(result.is_ok()) << result.message();
  // First ids as listed by an independent implementation of run.c (shared/data/MANIFEST.md, section 5).
  const std::vector<int32_t> first = {403, 407, 261, 378, 432, 383, 286, 261, 376, 298,
                                      315, 421, 395, 317, 426, 338, 401, 396, 267, 337};
  ASSERT_GE(result->ids.size(), first.size());
  EXPECT_EQ(std::vector<int32_t>(result->ids.begin(), result->ids.begin() + 20), first);
  const std::string text = (*tok)->decode(result->ids, /*skip_special=*/true);
  EXPECT_EQ(text.substr(0, want.size()), want);
}

}  // namespace
}  // namespace r1
