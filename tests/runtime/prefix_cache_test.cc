// Block hashes (against an independent Python evaluation of the documented mixers) and the block pool (against a
// plain std::map model of reference counts, registrations and LRU order).
#include "runtime/prefix_cache.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <numeric>
#include <random>
#include <set>

namespace r1 {
namespace {

// Expected values from this Python transcription of the comment in prefix_cache.h (run with python3):
//   M = (1 << 64) - 1
//   def mix_a(x): x ^= x >> 30; x = x * 0xBF58476D1CE4E5B9 & M; x ^= x >> 27; x = x * 0x94D049BB133111EB & M; return x ^ x >> 31
//   def mix_b(x): x ^= x >> 33; x = x * 0xFF51AFD7ED558CCD & M; x ^= x >> 33; x = x * 0xC4CEB9FE1A85EC53 & M; return x ^ x >> 33
//   def hash_block(parent, tokens):
//       hi, lo = parent
//       for w in [t & 0xFFFFFFFF for t in tokens] + [(1 << 63) | len(tokens)]:
//           hi = mix_a(hi ^ ((w + 0x9E3779B97F4A7C15) & M)); lo = mix_b(lo ^ ((w + 0xD1B54A32D192ED03) & M))
//       return hi, lo
//   rotl = lambda x, r: (x << r | x >> (64 - r)) & M
//   P1, P2 = 0x9E3779B185EBCA87, 0xC2B2AE3D27D4EB4F
//   def hash_bytes(b, seed):
//       v = [(seed + (i + 1) * P1) & M for i in range(4)]
//       for k, i in enumerate(range(0, len(b), 8)):
//           v[k % 4] = rotl((v[k % 4] + int.from_bytes(b[i:i + 8], 'little') * P2) & M, 31) * P1 & M
//       h = mix_a(len(b) ^ seed)
//       for x in v: h = mix_a(h ^ x)
//       return h
TEST(BlockHash, MatchesTheDocumentedMixer) {
  std::vector<int32_t> one_to_16(16);
  std::iota(one_to_16.begin(), one_to_16.end(), 1);
  EXPECT_EQ(to_hex(hash_block({}, one_to_16)), "9affed06796b791e06eec34043260e3e");
  const BlockHash zeros = hash_block({}, std::vector<int32_t>(4, 0));
  EXPECT_EQ(to_hex(zeros), "73b9d147844776b714e7ca29490dea7d");
  EXPECT_EQ(to_hex(hash_block(zeros, std::vector<int32_t>{-1, 2147483647, 7, 151643})),
            "52795cc2621f4e8f7a4a87ff69fd8656");
  EXPECT_EQ(to_hex(hash_block({}, {})), "481ec0a212a9f3db798745cef9d149ba");
}

TEST(HashBytes, MatchesTheDocumentedMixerAtEveryTailLength) {
  // data[i] = (7 i + 3) & 0xff; prefixes cover: empty, partial word only, whole words, a stripe, stripe + tail.
  std::vector<std::byte> data(45);
  for (size_t i = 0; i < data.size(); ++i) data[i] = std::byte((i * 7 + 3) & 0xff);
  const struct {
    size_t n;
    uint64_t seed0, seed_ckpt;
  } expected[] = {{0, 0x1c9250628c585c2a, 0x8234fe436a6b9da9},  {1, 0x4df0b5ac0a577e5f, 0x094917741daf90b1},
                  {7, 0x210266c8dba7e35d, 0x39478279fd305611},  {8, 0xed742d1e4554a6be, 0x5c24565e28c0c8aa},
                  {31, 0x038d75f639e815c8, 0x5a84af4ec6faf0ba}, {32, 0x9bab2eb47794d1d0, 0xbd0ee184a01f0e0b},
                  {33, 0x08ff45dc160159fe, 0x93cef5b40771dd68}, {45, 0x4dd2b1a8a571f11a, 0x85c6a163ed63a657}};
  for (const auto& e : expected) {
    const auto prefix = std::span<const std::byte>(data).first(e.n);
    EXPECT_EQ(hash_bytes(prefix, 0), e.seed0) << e.n << " bytes";
    EXPECT_EQ(hash_bytes(prefix, 0x52314B56), e.seed_ckpt) << e.n << " bytes";
  }
}

TEST(BlockHash, EveryChangeOfTokensOrderOrBoundariesChangesTheHash) {
  std::vector<int32_t> tokens(64);
  std::iota(tokens.begin(), tokens.end(), 100);
  const auto base = hash_prefix(tokens, 16);
  ASSERT_EQ(base.size(), 4u);
  EXPECT_EQ(hash_prefix(tokens, 16), base);  // deterministic
  // A partial last block gets no hash.
  EXPECT_EQ(hash_prefix(std::span(tokens).first(63), 16).size(), 3u);
  std::set<std::string> seen;
  for (const auto& h : base) seen.insert(to_hex(h));
  // Changing one token of block b changes the hashes of blocks b.. (chained), never the earlier ones.
  for (size_t pos : {size_t(0), size_t(17), size_t(63)}) {
    auto changed = tokens;
    changed[pos] += 1;
    const auto h = hash_prefix(changed, 16);
    for (size_t b = 0; b < 4; ++b) {
      if (b < pos / 16) EXPECT_EQ(h[b], base[b]) << pos << " " << b;
      else EXPECT_TRUE(seen.insert(to_hex(h[b])).second) << pos << " " << b;
    }
  }
  auto swapped = tokens;
  std::swap(swapped[3], swapped[4]);
  EXPECT_TRUE(seen.insert(to_hex(hash_prefix(swapped, 16)[0])).second);
  // The same tokens cut into other blocks: [0..8)[8..16) chained is not [0..16) in one block.
  const auto halves = hash_prefix(std::span(tokens).first(16), 8);
  ASSERT_EQ(halves.size(), 2u);
  EXPECT_NE(halves[1], base[0]);
  EXPECT_EQ(halves[1], hash_block(hash_block({}, std::span(tokens).first(8)), std::span(tokens).subspan(8, 8)));
  // Negative token ids are hashed as their 32-bit pattern, distinct from small positive ids.
  EXPECT_NE(hash_block({}, std::vector<int32_t>{-1}), hash_block({}, std::vector<int32_t>{1}));
  EXPECT_TRUE(hash_prefix(tokens, 0).empty());
}

TEST(BlockHash, HexRoundTrips) {
  const BlockHash h{0x0123456789abcdefull, 0xfedcba9876543210ull};
  EXPECT_EQ(to_hex(h), "0123456789abcdeffedcba9876543210");
  EXPECT_EQ(block_hash_from_hex(to_hex(h)), h);
  EXPECT_EQ(block_hash_from_hex("0123456789ABCDEFFEDCBA9876543210"), h);
  EXPECT_FALSE(block_hash_from_hex("0123456789abcdeffedcba987654321").has_value());
  EXPECT_FALSE(block_hash_from_hex("0123456789abcdeffedcba987654321g").has_value());
}

BlockHash hash_n(uint64_t n) { return {n * 0x9E3779B97F4A7C15ull + 1, n}; }

TEST(BlockPool, AllocatesUntilFullThenReusesReleasedBlocks) {
  BlockPool pool(4);
  std::set<int32_t> got;
  for (int i = 0; i < 4; ++i) got.insert(pool.allocate());
  EXPECT_EQ(got, (std::set<int32_t>{0, 1, 2, 3}));
  EXPECT_EQ(pool.allocate(), -1);
  EXPECT_EQ(pool.in_use(), 4);
  EXPECT_EQ(pool.available(), 0);
  pool.release(2);
  EXPECT_EQ(pool.available(), 1);
  EXPECT_EQ(pool.allocate(), 2);
  EXPECT_EQ(pool.allocate(), -1);
  EXPECT_TRUE(pool.check_invariants().is_ok()) << pool.check_invariants().message();
  BlockPool empty(0);
  EXPECT_EQ(empty.allocate(), -1);
}

TEST(BlockPool, RegisteredBlocksAreCachedAfterReleaseAndMatchedLater) {
  BlockPool pool(4);
  const int32_t a = pool.allocate(), b = pool.allocate();
  EXPECT_TRUE(pool.register_block(a, hash_n(1)));
  EXPECT_TRUE(pool.register_block(b, hash_n(2)));
  EXPECT_TRUE(pool.register_block(a, hash_n(1)));   // again, same hash: fine
  EXPECT_FALSE(pool.register_block(a, hash_n(9)));  // a block holds one prefix
  // Another sequence computed the same prefix into its own block: the pool keeps the first one.
  const int32_t dup = pool.allocate();
  EXPECT_FALSE(pool.register_block(dup, hash_n(1)));
  EXPECT_FALSE(pool.hash_of(dup).has_value());
  pool.release(dup);
  pool.release(b);
  pool.release(a);
  EXPECT_EQ(pool.cached(), 2);
  EXPECT_EQ(pool.in_use(), 0);
  EXPECT_EQ(pool.available(), 4);
  // The longest registered run: hash 3 is unknown, so the match stops there even though later ones are known.
  const std::vector<BlockHash> want = {hash_n(1), hash_n(2), hash_n(3), hash_n(1)};
  EXPECT_EQ(pool.match(want), (std::vector<int32_t>{a, b}));
  EXPECT_EQ(pool.ref_count(a), 1);
  EXPECT_EQ(pool.cached(), 0);
  // Matching blocks in use shares them.
  EXPECT_EQ(pool.match(std::vector<BlockHash>{hash_n(1)}), (std::vector<int32_t>{a}));
  EXPECT_EQ(pool.ref_count(a), 2);
  EXPECT_TRUE(pool.match(std::vector<BlockHash>{hash_n(3)}).empty());
  EXPECT_EQ(pool.hash_of(b), hash_n(2));
  EXPECT_TRUE(pool.check_invariants().is_ok()) << pool.check_invariants().message();
}

TEST(BlockPool, EvictsTheLeastRecentlyReleasedOrMatchedCachedBlockFirst) {
  BlockPool pool(3);
  const int32_t a = pool.allocate(), b = pool.allocate(), c = pool.allocate();
  pool.register_block(a, hash_n(1));
  pool.register_block(b, hash_n(2));
  pool.register_block(c, hash_n(3));
  pool.release(b);
  pool.release(a);
  pool.release(c);  // LRU order: b, a, c
  // A match takes a out; released again it becomes the most recent: b, c, a.
  ASSERT_EQ(pool.match(std::vector<BlockHash>{hash_n(1)}), (std::vector<int32_t>{a}));
  pool.release(a);
  // retain() of a cached block also takes it out of the order: c, a remain... then b comes back last.
  pool.retain(b);
  pool.release(b);  // c, a, b
  EXPECT_EQ(pool.allocate(), c);
  EXPECT_FALSE(pool.hash_of(c).has_value());  // its prefix is forgotten
  EXPECT_TRUE(pool.match(std::vector<BlockHash>{hash_n(3)}).empty());
  EXPECT_EQ(pool.allocate(), a);
  EXPECT_EQ(pool.allocate(), b);
  EXPECT_EQ(pool.allocate(), -1);
  EXPECT_TRUE(pool.check_invariants().is_ok()) << pool.check_invariants().message();
}

TEST(BlockPool, FreeBlocksGoBeforeCachedOnes) {
  BlockPool pool(2);
  const int32_t a = pool.allocate(), b = pool.allocate();
  pool.register_block(a, hash_n(1));
  pool.release(a);
  pool.release(b);
  EXPECT_EQ(pool.allocate(), b);                            // free first
  EXPECT_EQ(pool.hash_of(a), hash_n(1));                    // the cached prefix survives
  EXPECT_EQ(pool.allocate(), a);                            // then the cached one, forgetting its hash
  EXPECT_FALSE(pool.hash_of(a).has_value());
}

TEST(BlockPool, ClearCacheFreesCachedBlocksAndKeepsInUseOnes) {
  BlockPool pool(3);
  const int32_t a = pool.allocate(), b = pool.allocate();
  pool.register_block(a, hash_n(1));
  pool.register_block(b, hash_n(2));
  pool.release(a);
  pool.clear_cache();
  EXPECT_EQ(pool.cached(), 0);
  EXPECT_EQ(pool.in_use(), 1);
  EXPECT_EQ(pool.available(), 2);
  EXPECT_FALSE(pool.hash_of(b).has_value());
  EXPECT_TRUE(pool.match(std::vector<BlockHash>{hash_n(1)}).empty());
  pool.release(b);  // no hash any more: free, not cached
  EXPECT_EQ(pool.cached(), 0);
  EXPECT_EQ(pool.available(), 3);
  EXPECT_TRUE(pool.check_invariants().is_ok()) << pool.check_invariants().message();
}

TEST(BlockPool, ReleasingAFreeBlockIsAProgrammingError) {
  BlockPool pool(2);
  const int32_t a = pool.allocate();
  pool.release(a);
  // Debug builds assert; release builds ignore the call and the counts stay right.
  EXPECT_DEBUG_DEATH(pool.release(a), "release of a block with ref 0");
  EXPECT_DEBUG_DEATH(pool.release(7), "");
  EXPECT_EQ(pool.available(), 2);
  EXPECT_TRUE(pool.check_invariants().is_ok()) << pool.check_invariants().message();
}

// A plain model: ref counts and registrations in maps, recency as a counter stamped at release and match; the
// eviction victim is the cached block with the smallest stamp; free blocks go first (any of them).
struct PoolModel {
  std::map<int32_t, int> ref;
  std::map<int32_t, uint64_t> hash;  // block -> hash id
  std::map<int32_t, int64_t> stamp;
  int64_t clock = 0;
  bool cached(int32_t b) const { return ref.at(b) == 0 && hash.contains(b); }
  std::optional<int32_t> lru_victim() const {
    std::optional<int32_t> best;
    for (auto [b, r] : ref)
      if (cached(b) && (!best || stamp.at(b) < stamp.at(*best))) best = b;
    return best;
  }
};

TEST(BlockPool, RandomOperationsAgreeWithAPlainModel) {
  constexpr int64_t kBlocks = 24;
  BlockPool pool(kBlocks);
  PoolModel model;
  for (int32_t b = 0; b < kBlocks; ++b) model.ref[b] = 0;
  std::mt19937 rng(1234);
  auto pick = [&](int n) { return int(std::uniform_int_distribution<int>(0, n - 1)(rng)); };
  for (int step = 0; step < 20000; ++step) {
    std::vector<int32_t> held;
    for (auto [b, r] : model.ref)
      if (r > 0) held.push_back(b);
    switch (pick(6)) {
      case 0: {  // allocate
        const bool any_free = std::any_of(model.ref.begin(), model.ref.end(),
                                          [&](auto& e) { return e.second == 0 && !model.hash.contains(e.first); });
        const auto victim = model.lru_victim();
        const int32_t got = pool.allocate();
        if (any_free) {
          ASSERT_GE(got, 0);
          ASSERT_EQ(model.ref[got], 0);
          ASSERT_FALSE(model.hash.contains(got)) << "took a cached block while free ones remain";
        } else if (victim) {
          ASSERT_EQ(got, *victim) << "step " << step;
          model.hash.erase(got);
        } else {
          ASSERT_EQ(got, -1);
          break;
        }
        model.ref[got] = 1;
        break;
      }
      case 1:
      case 2:  // release
        if (held.empty()) break;
        {
          const int32_t b = held[size_t(pick(int(held.size())))];
          pool.release(b);
          if (--model.ref[b] == 0) model.stamp[b] = model.clock++;
        }
        break;
      case 3: {  // register a held block under one of a few hash ids
        if (held.empty()) break;
        const int32_t b = held[size_t(pick(int(held.size())))];
        const uint64_t id = uint64_t(pick(40));
        const bool taken = std::any_of(model.hash.begin(), model.hash.end(),
                                       [&](auto& e) { return e.second == id && e.first != b; });
        const bool expect = model.hash.contains(b) ? model.hash[b] == id : !taken;
        ASSERT_EQ(pool.register_block(b, hash_n(id)), expect);
        if (expect) model.hash[b] = id;
        break;
      }
      case 4: {  // match a run of hash ids
        std::vector<BlockHash> want;
        std::vector<int32_t> expect;
        bool run = true;
        for (int i = 0, n = 1 + pick(4); i < n; ++i) {
          const uint64_t id = uint64_t(pick(40));
          want.push_back(hash_n(id));
          auto it = std::find_if(model.hash.begin(), model.hash.end(), [&](auto& e) { return e.second == id; });
          run = run && it != model.hash.end();
          if (run) expect.push_back(it->first);
        }
        ASSERT_EQ(pool.match(want), expect);
        for (int32_t b : expect) ++model.ref[b];
        break;
      }
      case 5:  // retain a held block (sharing)
        if (held.empty()) break;
        {
          const int32_t b = held[size_t(pick(int(held.size())))];
          pool.retain(b);
          ++model.ref[b];
        }
        break;
    }
    int64_t in_use = 0, cached = 0;
    for (auto [b, r] : model.ref) {
      in_use += r > 0;
      cached += model.cached(b);
      ASSERT_EQ(pool.ref_count(b), r);
      ASSERT_EQ(pool.hash_of(b).has_value(), model.hash.contains(b));
    }
    ASSERT_EQ(pool.in_use(), in_use);
    ASSERT_EQ(pool.cached(), cached);
    ASSERT_EQ(pool.available(), kBlocks - in_use);
    if (step % 500 == 0) {
      ASSERT_TRUE(pool.check_invariants().is_ok()) << pool.check_invariants().message();
      if (step % 5000 == 0 && step > 0) {  // now and then start over with an empty cache
        pool.clear_cache();
        model.hash.clear();
      }
    }
  }
  ASSERT_TRUE(pool.check_invariants().is_ok()) << pool.check_invariants().message();
}

}  // namespace
}  // namespace r1
