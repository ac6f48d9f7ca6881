#include "tokenizer/bpe.h"

#include <fmt/format.h>

#include <algorithm>

#include "tokenizer/pre_tokenizer.h"
#include "tokenizer/utf8.h"

namespace r1::tok {

Result<std::unique_ptr<BpeModel>> BpeModel::build(BpeSpec spec, bool byte_level) {
  std::unique_ptr<BpeModel> m(new BpeModel());
  m->byte_level_ = byte_level;
  m->byte_fallback_ = spec.byte_fallback;
  m->fuse_unk_ = spec.fuse_unk;
  m->ignore_merges_ = spec.ignore_merges;

  int32_t max_id = -1;
  for (const auto& [text, id] : spec.vocab) max_id = std::max(max_id, id);
  if (max_id >= kMaxTokenId) return Status::errorf("vocab id {} is implausibly large", max_id);
  m->id_to_text_.resize(static_cast<size_t>(max_id + 1));
  m->vocab_.reserve(spec.vocab.size());
  // The lookup key of a vocab string: its raw bytes for byte-level models (a string outside the byte alphabet
  // can never be produced from bytes, so it keeps its text and stays unreachable by BPE).
  auto key_of = [&](const std::string& text) {
    std::string raw;
    return byte_level && byte_level_decode(text, raw) ? raw : text;
  };
  for (auto& [text, id] : spec.vocab) {
    m->vocab_.emplace(key_of(text), id);
    m->id_to_text_[static_cast<size_t>(id)] = std::move(text);
  }

  m->byte_ids_.fill(-1);
  for (int b = 0; b < 256; ++b) {
    const std::string key = byte_level ? std::string(1, static_cast<char>(b)) : fmt::format("<0x{:02X}>", b);
    if (const auto it = m->vocab_.find(key); it != m->vocab_.end()) m->byte_ids_[b] = it->second;
  }
  if (spec.unk_token) {
    const auto it = m->vocab_.find(key_of(*spec.unk_token));
    if (it == m->vocab_.end()) return Status::errorf("unk_token \"{}\" is not in the vocab", *spec.unk_token);
    m->unk_id_ = it->second;
  }

  if (!spec.merge_ranks.empty() && spec.merge_ranks.size() != spec.merges.size()) {
    return Status::errorf("{} merge ranks for {} merges", spec.merge_ranks.size(), spec.merges.size());
  }
  m->merges_.reserve(spec.merges.size());
  for (size_t rank = 0; rank < spec.merges.size(); ++rank) {
    const auto& [a, b] = spec.merges[rank];
    const std::string ka = key_of(a), kb = key_of(b);
    const auto ia = m->vocab_.find(ka), ib = m->vocab_.find(kb), iab = m->vocab_.find(ka + kb);
    const char* missing = ia == m->vocab_.end()    ? "left"
                          : ib == m->vocab_.end()  ? "right"
                          : iab == m->vocab_.end() ? "merged"
                                                   : nullptr;
    if (missing != nullptr) {
      return Status::errorf("merge {} \"{} {}\": the {} token is not in the vocab", rank + 1, a, b, missing);
    }
    // A repeated pair takes its last rank, as HF's map construction does.
    const int32_t r = spec.merge_ranks.empty() ? static_cast<int32_t>(rank) : spec.merge_ranks[rank];
    m->merges_.set(ia->second, ib->second, PairTable::Merge{r, iab->second});
  }
  return m;
}

std::optional<int32_t> BpeModel::find_text(std::string_view text) const {
  std::string raw;
  std::string_view key = text;
  if (byte_level_) {
    if (!byte_level_decode(text, raw)) return std::nullopt;
    key = raw;
  }
  const auto it = vocab_.find(key);
  if (it == vocab_.end() || id_to_text_[static_cast<size_t>(it->second)] != text) return std::nullopt;
  return it->second;
}

// Initial symbols of a word: one per byte (byte-level) or per character, with byte fallback / unk for
// characters missing from the vocab.
void BpeModel::symbolize(std::string_view word, std::vector<int32_t>& symbols) const {
  bool last_was_unk = false;
  auto push_unk = [&] {
    if (!unk_id_) return;  // without an unk token HF drops the character
    if (!(fuse_unk_ && last_was_unk)) symbols.push_back(*unk_id_);
    last_was_unk = true;
  };
  if (byte_level_) {
    for (char c : word) {
      const int32_t id = byte_ids_[static_cast<uint8_t>(c)];
      if (id >= 0) {
        symbols.push_back(id);
        last_was_unk = false;
      } else {
        push_unk();
      }
    }
    return;
  }
  for (size_t i = 0; i < word.size();) {
    const size_t n = std::max<size_t>(1, utf8::char_len(word, i));  // a stray byte counts as one character
    const std::string_view ch = word.substr(i, n);
    i += n;
    if (const auto it = vocab_.find(ch); it != vocab_.end()) {
      symbols.push_back(it->second);
      last_was_unk = false;
      continue;
    }
    bool all_bytes = byte_fallback_;
    for (char c : ch) all_bytes = all_bytes && byte_ids_[static_cast<uint8_t>(c)] >= 0;
    if (all_bytes) {
      for (char c : ch) symbols.push_back(byte_ids_[static_cast<uint8_t>(c)]);
      last_was_unk = false;
    } else {
      push_unk();
    }
  }
}

// Applies merges lowest rank first (leftmost among equal ranks) until none applies, to symbols[start..].
// Short words (most of them) rescan all adjacent pairs after each merge; longer ones keep a heap of
// candidates over a linked list of symbols, skipping entries that no longer describe a live adjacent pair.
// Both pick the same merge at every step.
void BpeModel::merge(std::vector<int32_t>& symbols, size_t start) const {
  const int n = static_cast<int>(symbols.size() - start);
  if (n < 2) return;
  int32_t* sym = symbols.data() + start;
  if (n <= kShortWord) {
    int len = n;
    for (;;) {
      int best = -1;
      PairTable::Merge best_merge{INT32_MAX, -1};
      for (int i = 0; i + 1 < len; ++i) {
        const PairTable::Merge* m = merges_.find(sym[i], sym[i + 1]);
        if (m != nullptr && m->rank < best_merge.rank) {
          best = i;
          best_merge = *m;
        }
      }
      if (best < 0) break;
      sym[best] = best_merge.id;
      std::copy(sym + best + 2, sym + len, sym + best + 1);
      --len;
    }
    symbols.resize(start + static_cast<size_t>(len));
    return;
  }

  struct Candidate {
    int32_t rank;
    int pos;  // index of the left symbol; it keeps its index after merging, so order stays left-to-right
    int32_t left, right, merged;
    bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
  };
  thread_local std::vector<int> prev, next;
  thread_local std::vector<Candidate> heap;
  prev.resize(static_cast<size_t>(n));
  next.resize(static_cast<size_t>(n));
  heap.clear();
  for (int i = 0; i < n; ++i) {
    prev[i] = i - 1;
    next[i] = i + 1 < n ? i + 1 : -1;
  }
  auto consider = [&](int pos) {
    if (pos < 0 || next[pos] < 0) return;
    if (const PairTable::Merge* m = merges_.find(sym[pos], sym[next[pos]])) {
      heap.push_back({m->rank, pos, sym[pos], sym[next[pos]], m->id});
      std::push_heap(heap.begin(), heap.end(), std::greater<>());
    }
  };
  for (int i = 0; i + 1 < n; ++i) consider(i);
  constexpr int32_t kDead = -1;  // marks a symbol merged into its left neighbour (ids are never negative)
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), std::greater<>());
    const Candidate c = heap.back();
    heap.pop_back();
    const int right = next[c.pos];
    if (sym[c.pos] != c.left || right < 0 || sym[right] != c.right) continue;
    sym[c.pos] = c.merged;
    sym[right] = kDead;
    next[c.pos] = next[right];
    if (next[right] >= 0) prev[next[right]] = c.pos;
    consider(prev[c.pos]);
    consider(c.pos);
  }
  int w = 0;
  for (int i = 0; i < n; ++i) {
    if (sym[i] != kDead) sym[w++] = sym[i];
  }
  symbols.resize(start + static_cast<size_t>(w));
}

void BpeModel::encode_word(std::string_view word, std::vector<int32_t>& out) const {
  if (word.empty()) return;
  if (ignore_merges_) {
    if (const auto it = vocab_.find(word); it != vocab_.end()) {
      out.push_back(it->second);
      return;
    }
  }
  const bool cacheable = word.size() <= WordCache::kMaxWordBytes;
  const uint64_t h = cacheable ? hash_bytes(word) : 0;
  if (cacheable) {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    if (cache_.get(word, h, out)) return;
  }
  const size_t start = out.size();
  symbolize(word, out);
  merge(out, start);
  if (cacheable) {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    cache_.put(word, h, out.data() + start, out.size() - start);
  }
}

}  // namespace r1::tok
