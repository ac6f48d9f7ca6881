#include "eval/metrics.h"

#include <map>

#include "eval/math_answer.h"

namespace r1::eval {

double pass_at_k(int64_t n, int64_t c, int64_t k) {
  if (n - c < k) return 1.0;  // every choice of k samples holds a right one
  // C(n-c, k) / C(n, k) = prod_{i=n-c+1}^{n} (1 - k / i)
  double all_wrong = 1.0;
  for (int64_t i = n - c + 1; i <= n; ++i) all_wrong *= 1.0 - double(k) / double(i);
  return 1.0 - all_wrong;
}

std::optional<std::string> majority_answer(const std::vector<std::optional<std::string>>& answers) {
  struct Tally {
    int64_t votes = 0;
    size_t first = 0;  // the sample that reached this answer first
  };
  std::map<std::string, Tally> tally;  // normalised answer -> votes
  for (size_t i = 0; i < answers.size(); ++i) {
    if (!answers[i]) continue;
    auto [it, fresh] = tally.try_emplace(normalize_answer(*answers[i]), Tally{0, i});
    ++it->second.votes;
  }
  const Tally* best = nullptr;
  for (const auto& [key, t] : tally)
    if (!best || t.votes > best->votes || (t.votes == best->votes && t.first < best->first)) best = &t;
  if (!best) return std::nullopt;
  return *answers[best->first];
}

}  // namespace r1::eval
