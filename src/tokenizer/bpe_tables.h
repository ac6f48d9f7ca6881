// The two hot lookup tables of BPE encoding, as flat open-addressing arrays (no per-entry allocation, one or
// two cache lines per probe): the merge table keyed by a pair of token ids, and the bounded cache of encoded
// words. Internal to src/tokenizer/.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace r1::tok {

// 64-bit hash of a short byte string (words average a few bytes): 8 bytes at a time, multiply-xorshift mixed.
inline uint64_t hash_bytes(std::string_view s) {
  uint64_t h = 0x9E3779B97F4A7C15ull ^ (s.size() * 0xff51afd7ed558ccdull);
  size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t v;
    std::memcpy(&v, s.data() + i, 8);
    h = (h ^ v) * 0xff51afd7ed558ccdull;
    h ^= h >> 32;
  }
  uint64_t tail = 0;
  std::memcpy(&tail, s.data() + i, s.size() - i);
  h = (h ^ tail) * 0xc4ceb9fe1a85ec53ull;
  return h ^ (h >> 29);
}

// (left id, right id) -> merge rank and merged id. Built once, then read-only.
class PairTable {
 public:
  struct Merge {
    int32_t rank;
    int32_t id;  // the merged token
  };
  static uint64_t key(int32_t a, int32_t b) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
  }

  void reserve(size_t n) {
    size_t cap = 16;
    while (cap < 2 * n) cap *= 2;
    slots_.assign(cap, Slot{kEmpty, {}});
    mask_ = cap - 1;
    shift_ = 64;
    for (size_t c = cap; c > 1; c >>= 1) --shift_;
  }
  // Inserts or overwrites (a repeated pair keeps its last rank, as HF's map construction does).
  void set(int32_t a, int32_t b, Merge m) {
    if (2 * (size_ + 1) > slots_.size()) grow();
    Slot& s = slots_[find_slot(key(a, b))];
    if (s.key == kEmpty) ++size_;
    s = Slot{key(a, b), m};
  }
  const Merge* find(int32_t a, int32_t b) const {
    if (slots_.empty()) return nullptr;
    const Slot& s = slots_[find_slot(key(a, b))];
    return s.key == kEmpty ? nullptr : &s.merge;
  }

 private:
  static constexpr uint64_t kEmpty = ~0ull;  // ids are below 2^24, so no pair has this key
  struct Slot {
    uint64_t key;
    Merge merge;
  };
  size_t find_slot(uint64_t k) const {
    size_t i = static_cast<size_t>((k * 0x9E3779B97F4A7C15ull) >> shift_);  // Fibonacci hashing: top bits
    while (slots_[i].key != kEmpty && slots_[i].key != k) i = (i + 1) & mask_;
    return i;
  }
  void grow() {
    std::vector<Slot> old = std::move(slots_);
    reserve(old.empty() ? 8 : old.size());
    size_ = 0;
    for (const Slot& s : old) {
      if (s.key != kEmpty) {
        slots_[find_slot(s.key)] = s;
        ++size_;
      }
    }
  }
  std::vector<Slot> slots_;
  size_t mask_ = 0;
  int shift_ = 64;
  size_t size_ = 0;
};

// Bounded cache word -> ids. Words and ids live in two arenas; when the cache is full it starts over (hot
// words come back quickly). Not thread-safe: the owner locks.
class WordCache {
 public:
  static constexpr size_t kMaxWords = 1 << 16;
  static constexpr size_t kMaxWordBytes = 128;

  // Appends the cached ids of `word` (hash h = hash_bytes(word)) to out; false when absent.
  bool get(std::string_view word, uint64_t h, std::vector<int32_t>& out) const {
    if (slots_.empty()) return false;
    for (size_t i = h & kMask;; i = (i + 1) & kMask) {
      const Slot& s = slots_[i];
      if (s.n_bytes == 0) return false;
      if (s.tag == static_cast<uint32_t>(h >> 32) && s.n_bytes == word.size() &&
          std::memcmp(text_.data() + s.text_off, word.data(), word.size()) == 0) {
        out.insert(out.end(), ids_.begin() + s.ids_off, ids_.begin() + s.ids_off + s.n_ids);
        return true;
      }
    }
  }
  void put(std::string_view word, uint64_t h, const int32_t* ids, size_t n_ids) {
    if (word.empty() || word.size() > kMaxWordBytes || n_ids > 0xFFFF) return;
    if (slots_.empty()) slots_.resize(kSlots);
    if (size_ >= kMaxWords || ids_.size() + n_ids > UINT32_MAX / 2) clear();
    size_t i = h & kMask;
    while (slots_[i].n_bytes != 0) i = (i + 1) & kMask;
    slots_[i] = Slot{static_cast<uint32_t>(h >> 32), static_cast<uint32_t>(text_.size()),
                     static_cast<uint32_t>(ids_.size()), static_cast<uint16_t>(word.size()),
                     static_cast<uint16_t>(n_ids)};
    text_.append(word);
    ids_.insert(ids_.end(), ids, ids + n_ids);
    ++size_;
  }

 private:
  static constexpr size_t kSlots = 2 * kMaxWords;  // load factor at most 1/2
  static constexpr size_t kMask = kSlots - 1;
  struct Slot {
    uint32_t tag;       // high half of the hash
    uint32_t text_off;  // into text_
    uint32_t ids_off;   // into ids_
    uint16_t n_bytes;   // 0: empty slot
    uint16_t n_ids;
  };
  void clear() {
    std::fill(slots_.begin(), slots_.end(), Slot{});
    text_.clear();
    ids_.clear();
    size_ = 0;
  }
  std::vector<Slot> slots_;
  std::string text_;
  std::vector<int32_t> ids_;
  size_t size_ = 0;
};

}  // namespace r1::tok
