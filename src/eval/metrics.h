// The R1 paper's metrics over k samples per problem (DeepSeek-R1 §3.1 "Evaluation Setup"):
//   pass@1 = mean over the k samples of correctness (then over problems),
//   pass@j = the unbiased estimator 1 - C(n-c, j) / C(n, j) of at least one of j samples being right, from n
//            samples of which c are right (Chen et al. 2021, "Evaluating Large Language Models Trained on Code"),
//   cons@k = the majority-voted answer of the k samples is right.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace r1::eval {

// 1 - C(n-c, k) / C(n, k) as a running product (no overflow). Requires 0 <= c <= n, 1 <= k <= n.
double pass_at_k(int64_t n, int64_t c, int64_t k);

// The answer most samples gave, compared by normalize_answer(); ties go to the answer reached first. Samples
// without an answer (nullopt) do not vote; nullopt when none has one.
std::optional<std::string> majority_answer(const std::vector<std::optional<std::string>>& answers);

}  // namespace r1::eval
