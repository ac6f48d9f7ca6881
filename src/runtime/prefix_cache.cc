#include "runtime/prefix_cache.h"

#include <algorithm>
#include <bit>
#include <cassert>
#include <cstring>
#include <limits>

namespace r1 {

static_assert(std::endian::native == std::endian::little, "block hashes and disk files assume a little-endian host");

namespace {

uint64_t mix_a(uint64_t x) {
  x ^= x >> 30;
  x *= 0xBF58476D1CE4E5B9ull;
  x ^= x >> 27;
  x *= 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

uint64_t mix_b(uint64_t x) {
  x ^= x >> 33;
  x *= 0xFF51AFD7ED558CCDull;
  x ^= x >> 33;
  x *= 0xC4CEB9FE1A85EC53ull;
  return x ^ (x >> 33);
}

constexpr uint64_t kSeedHi = 0x9E3779B97F4A7C15ull;
constexpr uint64_t kSeedLo = 0xD1B54A32D192ED03ull;
constexpr uint64_t kP1 = 0x9E3779B185EBCA87ull;
constexpr uint64_t kP2 = 0xC2B2AE3D27D4EB4Full;

void absorb(BlockHash& h, uint64_t word) {
  h.hi = mix_a(h.hi ^ (word + kSeedHi));
  h.lo = mix_b(h.lo ^ (word + kSeedLo));
}

uint64_t lane_round(uint64_t v, uint64_t word) { return std::rotl(v + word * kP2, 31) * kP1; }

}  // namespace

BlockHash hash_block(const BlockHash& parent, std::span<const int32_t> tokens) {
  BlockHash h = parent;
  for (int32_t t : tokens) absorb(h, uint64_t(uint32_t(t)));
  absorb(h, (uint64_t(1) << 63) | uint64_t(tokens.size()));
  return h;
}

std::vector<BlockHash> hash_prefix(std::span<const int32_t> tokens, int64_t block_size) {
  std::vector<BlockHash> hashes;
  if (block_size <= 0) return hashes;
  const size_t bs = size_t(block_size);
  hashes.reserve(tokens.size() / bs);
  BlockHash parent;
  for (size_t start = 0; start + bs <= tokens.size(); start += bs) {
    parent = hash_block(parent, tokens.subspan(start, bs));
    hashes.push_back(parent);
  }
  return hashes;
}

std::string to_hex(uint64_t v) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s(16, '0');
  for (int i = 15; i >= 0; --i, v >>= 4) s[size_t(i)] = kDigits[v & 15];
  return s;
}

std::string to_hex(const BlockHash& h) { return to_hex(h.hi) + to_hex(h.lo); }

std::optional<BlockHash> block_hash_from_hex(std::string_view hex) {
  if (hex.size() != 32) return std::nullopt;
  uint64_t words[2] = {0, 0};
  for (size_t i = 0; i < 32; ++i) {
    const char c = hex[i];
    uint64_t d;
    if (c >= '0' && c <= '9') d = uint64_t(c - '0');
    else if (c >= 'a' && c <= 'f') d = uint64_t(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F') d = uint64_t(c - 'A' + 10);
    else return std::nullopt;
    words[i / 16] = (words[i / 16] << 4) | d;
  }
  return BlockHash{words[0], words[1]};
}

uint64_t hash_bytes(std::span<const std::byte> bytes, uint64_t seed) {
  uint64_t v[4];
  for (int i = 0; i < 4; ++i) v[i] = seed + uint64_t(i + 1) * kP1;
  const std::byte* p = bytes.data();
  const size_t n = bytes.size();
  size_t k = 0;  // index of the next 8-byte word
  // Four independent lanes per 32-byte stripe keep the multipliers busy (several GB/s).
  for (; (k + 4) * 8 <= n; k += 4) {
    uint64_t w[4];
    std::memcpy(w, p + k * 8, 32);
    for (int i = 0; i < 4; ++i) v[i] = lane_round(v[i], w[i]);
  }
  for (; (k + 1) * 8 <= n; ++k) {
    uint64_t w;
    std::memcpy(&w, p + k * 8, 8);
    v[k % 4] = lane_round(v[k % 4], w);
  }
  if (k * 8 < n) {
    uint64_t w = 0;
    std::memcpy(&w, p + k * 8, n - k * 8);
    v[k % 4] = lane_round(v[k % 4], w);
  }
  uint64_t h = mix_a(uint64_t(n) ^ seed);
  for (uint64_t lane : v) h = mix_a(h ^ lane);
  return h;
}

// ---------------------------------------------------------------------------------------------------------------
// BlockPool

BlockPool::BlockPool(int64_t n_blocks) {
  assert(n_blocks >= 0 && n_blocks < std::numeric_limits<int32_t>::max());
  n_blocks = std::clamp<int64_t>(n_blocks, 0, std::numeric_limits<int32_t>::max() - 1);
  blocks_.resize(size_t(n_blocks) + 1);
  Block& sentinel = blocks_.back();
  sentinel.prev = sentinel.next = int32_t(n_blocks);
  // Pushed in reverse so that allocate() hands out 0, 1, 2, ... on a fresh pool (easier to read in logs).
  free_.reserve(size_t(n_blocks));
  by_hash_.reserve(size_t(n_blocks));  // never rehashed while serving
  for (int64_t b = n_blocks - 1; b >= 0; --b) {
    free_.push_back(int32_t(b));
    blocks_[size_t(b)].on_free_list = true;
  }
}

void BlockPool::lru_push_back(int32_t block) {
  const int32_t sentinel = int32_t(n_blocks());
  const int32_t last = blocks_[size_t(sentinel)].prev;
  blocks_[size_t(block)].prev = last;
  blocks_[size_t(block)].next = sentinel;
  blocks_[size_t(last)].next = block;
  blocks_[size_t(sentinel)].prev = block;
  ++n_cached_;
}

void BlockPool::lru_unlink(int32_t block) {
  Block& b = blocks_[size_t(block)];
  blocks_[size_t(b.prev)].next = b.next;
  blocks_[size_t(b.next)].prev = b.prev;
  b.prev = b.next = -1;
  --n_cached_;
}

void BlockPool::forget_hash(int32_t block) {
  Block& b = blocks_[size_t(block)];
  if (!b.registered) return;
  by_hash_.erase(b.hash);
  b.registered = false;
  b.hash = {};
}

int32_t BlockPool::allocate() {
  int32_t block;
  if (!free_.empty()) {
    block = free_.back();
    free_.pop_back();
    blocks_[size_t(block)].on_free_list = false;
  } else {
    block = blocks_.back().next;  // least recently used cached block
    if (block == int32_t(n_blocks())) return -1;
    lru_unlink(block);
    forget_hash(block);
  }
  blocks_[size_t(block)].ref = 1;
  return block;
}

void BlockPool::retain(int32_t block) {
  const bool ok = valid(block) && !blocks_[size_t(block)].on_free_list;
  assert(ok && "retain of a free block or an id out of range");
  if (!ok) return;
  Block& b = blocks_[size_t(block)];
  if (b.ref == 0) lru_unlink(block);  // cached -> in use
  ++b.ref;
}

void BlockPool::release(int32_t block) {
  const bool ok = valid(block) && blocks_[size_t(block)].ref > 0;
  assert(ok && "release of a block with ref 0 or an id out of range");
  if (!ok) return;
  Block& b = blocks_[size_t(block)];
  if (--b.ref > 0) return;
  if (b.registered) {
    lru_push_back(block);
  } else {
    b.on_free_list = true;
    free_.push_back(block);
  }
}

std::vector<int32_t> BlockPool::match(std::span<const BlockHash> hashes) {
  std::vector<int32_t> blocks;
  for (const BlockHash& h : hashes) {
    auto it = by_hash_.find(h);
    if (it == by_hash_.end()) break;
    retain(it->second);  // a cached block leaves the LRU list; it re-enters at the most recent end on release
    blocks.push_back(it->second);
  }
  return blocks;
}

bool BlockPool::register_block(int32_t block, const BlockHash& hash) {
  const bool ok = valid(block) && blocks_[size_t(block)].ref > 0;
  assert(ok && "register_block of a block not in use");
  if (!ok) return false;
  Block& b = blocks_[size_t(block)];
  if (b.registered) return b.hash == hash;
  if (!by_hash_.emplace(hash, block).second) return false;
  b.registered = true;
  b.hash = hash;
  return true;
}

std::optional<BlockHash> BlockPool::hash_of(int32_t block) const {
  if (!valid(block) || !blocks_[size_t(block)].registered) return std::nullopt;
  return blocks_[size_t(block)].hash;
}

int32_t BlockPool::ref_count(int32_t block) const { return valid(block) ? blocks_[size_t(block)].ref : 0; }

void BlockPool::clear_cache() {
  for (int32_t block = 0; block < int32_t(n_blocks()); ++block) {
    Block& b = blocks_[size_t(block)];
    if (!b.registered) continue;
    if (b.ref == 0) {
      lru_unlink(block);
      b.on_free_list = true;
      free_.push_back(block);
    }
    b.registered = false;
    b.hash = {};
  }
  by_hash_.clear();
}

Status BlockPool::check_invariants() const {
  const int32_t sentinel = int32_t(n_blocks());
  int64_t n_lru = 0, n_registered = 0, n_held = 0;
  for (int32_t at = blocks_[size_t(sentinel)].next; at != sentinel; at = blocks_[size_t(at)].next) {
    if (!valid(at)) return Status::errorf("LRU list holds id {}", at);
    const Block& b = blocks_[size_t(at)];
    if (b.ref != 0 || !b.registered || b.on_free_list) return Status::errorf("block {} in the LRU list is not cached", at);
    if (blocks_[size_t(b.next)].prev != at) return Status::errorf("LRU links broken at block {}", at);
    if (++n_lru > n_blocks()) return Status::error("LRU list has a cycle");
  }
  if (n_lru != n_cached_) return Status::errorf("LRU list has {} blocks, cached count {}", n_lru, n_cached_);
  for (int32_t block : free_) {
    const Block& b = blocks_[size_t(block)];
    if (!b.on_free_list || b.ref != 0 || b.registered) return Status::errorf("free block {} is not free", block);
  }
  for (int32_t block = 0; block < sentinel; ++block) {
    const Block& b = blocks_[size_t(block)];
    if (b.ref < 0) return Status::errorf("block {} has ref {}", block, b.ref);
    if (b.ref > 0) ++n_held;
    if (b.on_free_list && b.registered) return Status::errorf("block {} is both free and registered", block);
    if (!b.on_free_list && b.ref == 0 && !b.registered) return Status::errorf("block {} is lost", block);
    if (b.registered) {
      ++n_registered;
      auto it = by_hash_.find(b.hash);
      if (it == by_hash_.end() || it->second != block) return Status::errorf("block {} missing from the map", block);
    }
  }
  if (n_registered != int64_t(by_hash_.size())) return Status::error("hash map names blocks that are not registered");
  // Also catches a block pushed twice onto the free list.
  if (int64_t(free_.size()) + n_cached_ + n_held != n_blocks()) return Status::error("counts do not add up");
  return Status::ok();
}

}  // namespace r1
