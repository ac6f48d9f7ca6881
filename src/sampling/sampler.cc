#include "sampling/sampler.h"

#include <algorithm>
#include <cmath>
#include <random>

namespace r1 {

Status SamplingParams::validate() const {
  if (!(temperature >= 0.0f) || !std::isfinite(temperature)) return Status::error("temperature must be >= 0");
  if (!(top_p > 0.0f && top_p <= 1.0f)) return Status::error("top_p must be in (0, 1]");
  if (top_k < 0) return Status::error("top_k must be >= 0");
  if (!(min_p >= 0.0f && min_p <= 1.0f)) return Status::error("min_p must be in [0, 1]");
  if (!(repetition_penalty > 0.0f) || !std::isfinite(repetition_penalty))
    return Status::error("repetition_penalty must be > 0");
  if (!std::isfinite(presence_penalty) || !std::isfinite(frequency_penalty))
    return Status::error("presence_penalty and frequency_penalty must be finite");
  return Status::ok();
}

namespace {
uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}
uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
}  // namespace

Rng::Rng(uint64_t seed) {
  for (auto& s : s_) s = splitmix64(seed);
}

uint64_t Rng::next() {
  const uint64_t result = rotl(s_[1] * 5, 7) * 9, t = s_[1] << 17;
  s_[2] ^= s_[0], s_[3] ^= s_[1], s_[1] ^= s_[2], s_[0] ^= s_[3], s_[2] ^= t, s_[3] = rotl(s_[3], 45);
  return result;
}

double Rng::uniform() { return double(next() >> 11) * 0x1.0p-53; }

Sampler::Sampler(const SamplingParams& params, int64_t vocab_size)
    : p_(params),
      vocab_(vocab_size),
      rng_(params.seed ? *params.seed : (uint64_t(std::random_device{}()) << 32) ^ std::random_device{}()),
      in_context_(size_t(vocab_size), 0),
      output_count_(size_t(vocab_size), 0) {}

void Sampler::add_context(std::span<const int32_t> ids) {
  for (int32_t id : ids)
    if (id >= 0 && id < vocab_ && !in_context_[size_t(id)]) in_context_[size_t(id)] = 1, touched_.push_back(id);
}

void Sampler::apply_penalties(float* logits) const {
  for (int32_t id : touched_) {
    float& l = logits[id];
    if (p_.repetition_penalty != 1.0f) l = l > 0 ? l / p_.repetition_penalty : l * p_.repetition_penalty;
    const int32_t n = output_count_[size_t(id)];
    if (n > 0) l -= p_.presence_penalty + p_.frequency_penalty * float(n);
  }
}

int32_t Sampler::sample(float* logits) {
  apply_penalties(logits);
  int32_t id;
  if (p_.greedy || p_.temperature == 0.0f) {
    id = int32_t(std::max_element(logits, logits + vocab_) - logits);
  } else {
    id = draw(logits);
  }
  accept(id);
  return id;
}

void Sampler::accept(int32_t id) {
  if (id < 0 || id >= vocab_) return;
  if (!in_context_[size_t(id)]) in_context_[size_t(id)] = 1, touched_.push_back(id);
  ++output_count_[size_t(id)];
}

int32_t Sampler::draw(const float* logits) {
  // Temperature, then softmax over the candidates in descending order. Sorting all V logits is avoided: the top
  // is sorted in growing prefixes until it holds top_k tokens or top_p of the mass.
  cand_.clear();
  const float inv_t = 1.0f / p_.temperature;
  float mx = -INFINITY;
  for (int64_t i = 0; i < vocab_; ++i) mx = std::max(mx, logits[i] * inv_t);
  double total = 0.0;
  for (int64_t i = 0; i < vocab_; ++i) {
    const float l = logits[i] * inv_t;
    if (l == -INFINITY) continue;
    cand_.emplace_back(l, int32_t(i));
    total += std::exp(double(l - mx));
  }
  if (cand_.empty()) return 0;
  auto by_logit = [](const auto& a, const auto& b) { return a.first > b.first || (a.first == b.first && a.second < b.second); };
  size_t keep = cand_.size();
  if (p_.top_k > 0 || p_.top_p < 1.0f) {
    if (p_.top_k > 0) keep = std::min(keep, size_t(p_.top_k));
    size_t sorted = 0, i = 0;
    double mass = 0.0;
    for (size_t want = std::min<size_t>(64, keep);; want = std::min(keep, want * 4)) {
      if (want > cand_.size() / 4) want = keep;  // past a quarter a full sort is cheaper than a heap
      std::partial_sort(cand_.begin() + sorted, cand_.begin() + want, cand_.end(), by_logit);
      sorted = want;
      bool closed = false;
      for (; i < sorted && p_.top_p < 1.0f; ++i) {
        mass += std::exp(double(cand_[i].first - mx)) / total;
        if (mass >= p_.top_p) {
          closed = true;
          break;
        }
      }
      if (closed) {  // the nucleus ends at i (inclusive)
        keep = std::min(keep, i + 1);
        break;
      }
      if (sorted == keep) break;
    }
    keep = std::min(keep, sorted);
  }
  // min-p: drop what is less likely than min_p times the most likely token.
  if (p_.min_p > 0.0f) {
    const float cut = mx + std::log(p_.min_p);
    keep = size_t(std::partition(cand_.begin(), cand_.begin() + keep, [&](const auto& c) { return c.first >= cut; }) -
                  cand_.begin());
  }
  double kept = 0.0;
  for (size_t i = 0; i < keep; ++i) kept += std::exp(double(cand_[i].first - mx));
  double u = rng_.uniform() * kept;
  for (size_t i = 0; i < keep; ++i) {
    u -= std::exp(double(cand_[i].first - mx));
    if (u < 0) return cand_[i].second;
  }
  return cand_[keep - 1].second;
}

}  // namespace r1
