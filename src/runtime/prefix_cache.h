// Prefix caching over a paged KV store: block hashes that name a whole token prefix, and the pool that hands out
// block ids with reference counts and keeps finished sequences' full blocks for reuse (LRU).
//
// The pool never touches KV memory: it deals in block ids of a store of n_blocks fixed-size blocks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/status.h"

namespace r1 {

// ---------------------------------------------------------------------------------------------------------------
// Hashing. Everything here is a fixed, documented function of its input (no per-process seed, no dependence on
// the host beyond being little-endian), because block hashes and checksums key and validate files on disk that
// must survive restarts and may be copied between machines. Changing any constant is a format change.
//
//   mix_a(x): x ^= x >> 30; x *= 0xBF58476D1CE4E5B9; x ^= x >> 27; x *= 0x94D049BB133111EB; x ^= x >> 31
//   mix_b(x): x ^= x >> 33; x *= 0xFF51AFD7ED558CCD; x ^= x >> 33; x *= 0xC4CEB9FE1A85EC53; x ^= x >> 33
//   (two unrelated 64-bit finalizers, so the two lanes of a BlockHash fail independently)
//
// hash_block(parent, tokens): hi = parent.hi, lo = parent.lo; then for every word w, first each token as
// uint64(uint32(token)) in order, then the end word (1 << 63) | tokens.size():
//   hi = mix_a(hi ^ (w + 0x9E3779B97F4A7C15));  lo = mix_b(lo ^ (w + 0xD1B54A32D192ED03))
// The end word cannot equal a token, so [a b][c d] chained differs from one block [a b c d].
//
// hash_bytes(bytes, seed): four lanes v[i] = seed + (i + 1) * P1 (P1 = 0x9E3779B185EBCA87,
// P2 = 0xC2B2AE3D27D4EB4F). Little-endian 8-byte word k of the input (k = 0, 1, ...) goes to lane k % 4:
//   v = rotl(v + w * P2, 31) * P1
// A final partial word (1..7 bytes, zero-extended little-endian) goes to the next lane in turn the same way.
// Result: h = mix_a(size ^ seed); then h = mix_a(h ^ v[i]) for i = 0..3.
// ---------------------------------------------------------------------------------------------------------------

struct BlockHash {
  uint64_t hi = 0, lo = 0;
  bool operator==(const BlockHash&) const = default;
};

struct BlockHashHasher {
  size_t operator()(const BlockHash& h) const { return size_t(h.lo); }  // already well mixed
};

// Chained: the hash of block i covers every token of blocks 0..i (pass the previous block's hash as `parent`,
// BlockHash{} for block 0).
BlockHash hash_block(const BlockHash& parent, std::span<const int32_t> tokens);
// Hashes of the full blocks of `tokens` (tokens.size() / block_size of them); a partial last block has none.
std::vector<BlockHash> hash_prefix(std::span<const int32_t> tokens, int64_t block_size);
std::string to_hex(const BlockHash&);  // 32 lowercase hex digits: hi then lo
std::string to_hex(uint64_t);          // 16 lowercase hex digits
// Parses 32 hex digits (either case) written by to_hex; nullopt otherwise.
std::optional<BlockHash> block_hash_from_hex(std::string_view hex);
// A fast 64-bit hash of a byte string (payload checksums, fingerprints); see above.
uint64_t hash_bytes(std::span<const std::byte> bytes, uint64_t seed);

// ---------------------------------------------------------------------------------------------------------------
// Allocation of a KV store's blocks with reference counts, plus the in-memory prefix cache.
// Every block is in one of three states: free (no data worth keeping), in use (ref > 0: held by sequences),
// cached (ref == 0 but registered under a hash: reusable by a later request, evictable in LRU order).
// A block in use may also be registered; it becomes cached when its last holder releases it.
//
// Eviction takes the least recently released (or matched) cached block first. Release a finished sequence's
// blocks last block first, so that the prefix's first blocks, which every longer match needs, are evicted last.
// Not thread-safe: one owner (the scheduler thread).
class BlockPool {
 public:
  explicit BlockPool(int64_t n_blocks);  // 0 <= n_blocks < 2^31 - 1
  int64_t n_blocks() const { return int64_t(blocks_.size()) - 1; }
  int64_t available() const { return int64_t(free_.size()) + n_cached_; }  // free + cached: what allocate() can hand out
  int64_t in_use() const { return n_blocks() - available(); }              // ref > 0
  int64_t cached() const { return n_cached_; }                             // ref == 0 with a hash
  // A block for new data, ref 1: a free one, else the least recently used cached one (its hash is forgotten);
  // -1 when every block is in use. O(1).
  int32_t allocate();
  // ref + 1 (sharing a cached/in-use block with another sequence). Retaining a free block is a programming error.
  void retain(int32_t block);
  // ref - 1; at 0 a registered block becomes cached (most recently used), else free. Releasing a block with ref 0
  // (or an id out of range) is a programming error: it asserts in debug builds and is ignored in release builds.
  void release(int32_t block);
  // The longest run hashes[0..k) registered in memory, each block retained (ref + 1) and marked recently used.
  std::vector<int32_t> match(std::span<const BlockHash> hashes);
  // Records that `block` (in use, full, its KV computed) holds the prefix `hash`. If the hash already names another
  // block, or this block already holds another hash, nothing changes and false is returned (the caller keeps its
  // private copy). Registering a block again under its own hash returns true.
  bool register_block(int32_t block, const BlockHash& hash);
  std::optional<BlockHash> hash_of(int32_t block) const;
  int32_t ref_count(int32_t block) const;  // 0 for free or cached blocks and ids out of range
  // Forget every registration (e.g. tests, or a model change); in-use blocks stay in use, cached ones become free.
  void clear_cache();
  // Walks every structure (O(n_blocks)) and reports the first broken invariant; for tests and debugging.
  Status check_invariants() const;

 private:
  struct Block {
    int32_t ref = 0;
    bool registered = false;
    bool on_free_list = false;
    BlockHash hash;
    int32_t prev = -1, next = -1;  // neighbours in the LRU list while cached
  };
  bool valid(int32_t block) const { return block >= 0 && block < n_blocks(); }
  void lru_push_back(int32_t block);  // most recently used end
  void lru_unlink(int32_t block);
  void forget_hash(int32_t block);

  // [n_blocks + 1]; the last entry is the sentinel of the circular LRU list (its next is the least recently used).
  std::vector<Block> blocks_;
  std::vector<int32_t> free_;  // stack of free block ids
  int64_t n_cached_ = 0;
  std::unordered_map<BlockHash, int32_t, BlockHashHasher> by_hash_;  // registered blocks, cached or in use
};

}  // namespace r1
