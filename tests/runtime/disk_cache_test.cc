// The disk tier: round trips, restarts, every kind of bad file, the size limit's LRU order, and concurrent use.
#include "runtime/disk_cache.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <thread>

#include "test_util.h"

namespace r1 {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kBlockSize = 4;
constexpr size_t kBlockBytes = 1000;  // not a multiple of 8: the checksum's tail path runs too
const std::string kModelA = "model-a-fingerprint";
const std::string kModelB = "model-b-fingerprint";

std::vector<int32_t> tokens_of(int i) { return {i, i + 1, i + 2, -i}; }
BlockHash hash_of(int i) { return hash_block({}, tokens_of(i)); }
std::vector<std::byte> payload_of(int i) {
  std::vector<std::byte> p(kBlockBytes);
  for (size_t k = 0; k < p.size(); ++k) p[k] = std::byte((k * 31 + size_t(i) * 17 + k / 7) & 0xff);
  return p;
}

std::unique_ptr<DiskCache> open_cache(const std::string& dir, const std::string& fp = kModelA,
                                      uint64_t limit = uint64_t(1) << 30, uint64_t max_pending = 1 << 20) {
  auto c = DiskCache::open(dir, fp, limit, kBlockBytes, kBlockSize, max_pending);
  EXPECT_TRUE(c.is_ok()) << c.message();
  return c.is_ok() ? std::move(*c) : nullptr;
}

void store(DiskCache& c, int i) { c.store(hash_of(i), tokens_of(i), payload_of(i)); }

// Loads block i and says whether it came back with exactly the bytes stored.
bool loads(DiskCache& c, int i) {
  std::vector<std::byte> out(kBlockBytes, std::byte{0x5a});
  const bool ok = c.load(hash_of(i), tokens_of(i), out);
  EXPECT_EQ(ok, out == payload_of(i)) << "load said " << ok << " but the bytes disagree";
  if (!ok) {
    EXPECT_EQ(out, std::vector<std::byte>(kBlockBytes)) << "a failed load leaves zeros";
  }
  return ok;
}

// Every *.kvb file under dir, recursively.
std::vector<fs::path> kvb_files(const std::string& dir) {
  std::vector<fs::path> files;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.path().extension() == ".kvb") files.push_back(e.path());
  return files;
}

fs::path file_of(const std::string& dir, int i) {
  for (const auto& f : kvb_files(dir))
    if (f.stem() == to_hex(hash_of(i))) return f;
  return {};
}

TEST(DiskCache, StoredBlocksLoadBackAndSurviveReopening) {
  test::TempDir dir;
  {
    auto c = open_cache(dir.path());
    ASSERT_TRUE(c);
    for (int i = 0; i < 5; ++i) store(*c, i);
    store(*c, 0);  // queued or on disk already: skipped
    c->flush();
    for (int i = 0; i < 5; ++i) EXPECT_TRUE(c->contains(hash_of(i)));
    EXPECT_FALSE(c->contains(hash_of(5)));
    EXPECT_TRUE(loads(*c, 3));
    EXPECT_FALSE(loads(*c, 5));
    const auto s = c->stats();
    EXPECT_EQ(s.writes, 5);
    EXPECT_EQ(s.blocks, 5);
    EXPECT_EQ(s.bytes, 5 * c->file_bytes());
    EXPECT_EQ(s.hits, 1);
    EXPECT_EQ(s.misses, 1);
    EXPECT_EQ(c->file_bytes(), 116 + 4 * kBlockSize + kBlockBytes);  // the header size in the documented format
  }
  ASSERT_EQ(kvb_files(dir.path()).size(), 5u);
  auto c = open_cache(dir.path());
  ASSERT_TRUE(c);
  EXPECT_EQ(c->stats().blocks, 5);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(loads(*c, i)) << i;
  EXPECT_EQ(c->stats().rejected, 0);
}

TEST(DiskCache, FilesFollowTheDocumentedHeader) {
  test::TempDir dir;
  auto c = open_cache(dir.path());
  store(*c, 7);
  c->flush();
  std::ifstream in(file_of(dir.path(), 7), std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  ASSERT_EQ(bytes.size(), c->file_bytes());
  auto u32 = [&](size_t at) { uint32_t v; std::memcpy(&v, bytes.data() + at, 4); return v; };
  auto u64 = [&](size_t at) { uint64_t v; std::memcpy(&v, bytes.data() + at, 8); return v; };
  const size_t header = 116 + 4 * kBlockSize;
  EXPECT_EQ(bytes.substr(0, 8), "R1KVBLK1");
  EXPECT_EQ(u32(8), 1u);
  EXPECT_EQ(u32(12), header);
  EXPECT_EQ(bytes.substr(16, 64), kModelA + std::string(64 - kModelA.size(), '\0'));
  EXPECT_EQ(u64(80), hash_of(7).hi);
  EXPECT_EQ(u64(88), hash_of(7).lo);
  EXPECT_EQ(u32(96), uint32_t(kBlockSize));
  for (int t = 0; t < kBlockSize; ++t) EXPECT_EQ(int32_t(u32(100 + 4 * size_t(t))), tokens_of(7)[size_t(t)]);
  EXPECT_EQ(u64(header - 16), kBlockBytes);
  const auto payload = payload_of(7);
  EXPECT_EQ(u64(header - 8), hash_bytes(payload, 0x52314B56));
  EXPECT_EQ(std::memcmp(bytes.data() + header, payload.data(), kBlockBytes), 0);
  EXPECT_EQ(file_of(dir.path(), 7).parent_path().filename().string().size(), 16u);
}

// Damages block 1's file in some way while the cache is open; the next load must refuse it and delete it.
void expect_rejected(const std::function<void(const fs::path& file, const std::string& dir)>& damage,
                     const std::string& what) {
  SCOPED_TRACE(what);
  test::TempDir dir;
  auto c = open_cache(dir.path());
  store(*c, 1);
  store(*c, 2);
  c->flush();
  const fs::path file = file_of(dir.path(), 1);
  ASSERT_FALSE(file.empty());
  damage(file, dir.path());
  EXPECT_FALSE(loads(*c, 1));
  EXPECT_EQ(c->stats().rejected, 1);
  EXPECT_FALSE(c->contains(hash_of(1)));
  EXPECT_FALSE(fs::exists(file));
  EXPECT_EQ(c->stats().blocks, 1);
  EXPECT_TRUE(loads(*c, 2));  // the neighbour is untouched
  // Once gone, storing it again works.
  store(*c, 1);
  c->flush();
  EXPECT_TRUE(loads(*c, 1));
}

void flip_byte(const fs::path& file, size_t at) {
  std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(std::streamoff(at));
  char ch;
  f.get(ch);
  f.seekp(std::streamoff(at));
  f.put(char(ch ^ 0x10));
}

TEST(DiskCache, RejectsDamagedFilesAndLoadsNothing) {
  const size_t header = 116 + 4 * kBlockSize;
  expect_rejected([](const fs::path& f, const std::string&) { fs::resize_file(f, fs::file_size(f) - 1); },
                  "truncated by one byte");
  expect_rejected([](const fs::path& f, const std::string&) { fs::resize_file(f, 0); }, "zero length");
  expect_rejected([](const fs::path& f, const std::string&) { fs::resize_file(f, fs::file_size(f) + 8); },
                  "longer than it should be");
  for (size_t at : {header, header + kBlockBytes / 2, header + kBlockBytes - 1})
    expect_rejected([at](const fs::path& f, const std::string&) { flip_byte(f, at); }, "payload byte " + std::to_string(at));
  // One byte in each header field: magic, version, header size, fingerprint, its padding, hash hi and lo,
  // block_size, tokens, payload size, checksum.
  for (size_t at : {size_t(0), size_t(8), size_t(12), size_t(20), size_t(79), size_t(80), size_t(95), size_t(96),
                    size_t(103), header - 16, header - 1})
    expect_rejected([at](const fs::path& f, const std::string&) { flip_byte(f, at); }, "header byte " + std::to_string(at));
  // Block 2's (valid) file under block 1's name: the hash and tokens inside disagree.
  expect_rejected([](const fs::path& f, const std::string& dir) {
    fs::copy_file(file_of(dir, 2), f, fs::copy_options::overwrite_existing);
  }, "another block's file");
  // The same block written by another model, copied into place: the fingerprint disagrees.
  expect_rejected([](const fs::path& f, const std::string& dir) {
    test::TempDir other;
    auto b = open_cache(other.path(), kModelB);
    store(*b, 1);
    b->flush();
    fs::copy_file(file_of(other.path(), 1), f, fs::copy_options::overwrite_existing);
  }, "another model's file");
}

TEST(DiskCache, WrongTokensAreRejected) {
  test::TempDir dir;
  auto c = open_cache(dir.path());
  store(*c, 1);
  c->flush();
  std::vector<std::byte> out(kBlockBytes);
  auto tokens = tokens_of(1);
  tokens[3] += 1;
  EXPECT_FALSE(c->load(hash_of(1), tokens, out));
  EXPECT_EQ(out, std::vector<std::byte>(kBlockBytes));
  EXPECT_EQ(c->stats().rejected, 1);
  EXPECT_FALSE(c->contains(hash_of(1)));
  // Spans of the wrong size are a miss, not a rejection.
  store(*c, 2);
  c->flush();
  std::vector<std::byte> small(kBlockBytes - 1);
  EXPECT_FALSE(c->load(hash_of(2), tokens_of(2), small));
  const auto tokens2 = tokens_of(2);
  EXPECT_FALSE(c->load(hash_of(2), std::span(tokens2).first(3), out));
  EXPECT_EQ(c->stats().rejected, 1);
  EXPECT_TRUE(loads(*c, 2));
}

TEST(DiskCache, OpenCleansUpBadFilesAndStaleTemps) {
  test::TempDir dir;
  fs::path model_dir;
  {
    auto c = open_cache(dir.path());
    for (int i = 0; i < 3; ++i) store(*c, i);
    c->flush();
    model_dir = file_of(dir.path(), 0).parent_path();
  }
  fs::resize_file(file_of(dir.path(), 0), 0);                 // zero length
  fs::resize_file(file_of(dir.path(), 1), 50);                // truncated
  test::write_file((model_dir / (to_hex(hash_of(9)) + ".tmp")).string(), "half a write");  // a crash mid-write
  test::write_file((model_dir / "not-a-hash.kvb").string(), "x");
  test::write_file(dir.file("README"), "hello");
  auto c = open_cache(dir.path());
  const auto s = c->stats();
  EXPECT_EQ(s.rejected, 2);
  EXPECT_EQ(s.ignored, 2);
  EXPECT_EQ(s.blocks, 1);
  EXPECT_FALSE(fs::exists(model_dir / (to_hex(hash_of(9)) + ".tmp")));
  EXPECT_FALSE(c->contains(hash_of(0)));
  EXPECT_FALSE(c->contains(hash_of(1)));
  EXPECT_FALSE(c->contains(hash_of(9)));
  EXPECT_FALSE(loads(*c, 0));
  EXPECT_TRUE(loads(*c, 2));
  EXPECT_TRUE(fs::exists(dir.file("README")));
}

TEST(DiskCache, SizeLimitEvictsLeastRecentlyUsedAcrossReopening) {
  test::TempDir dir;
  const uint64_t file = 116 + 4 * kBlockSize + kBlockBytes;
  auto contents = [](DiskCache& c) {
    std::vector<int> held;
    for (int i = 1; i <= 6; ++i)
      if (c.contains(hash_of(i))) held.push_back(i);
    return held;
  };
  {
    auto c = open_cache(dir.path(), kModelA, 3 * file);
    for (int i = 1; i <= 3; ++i) store(*c, i);
    c->flush();
    EXPECT_TRUE(loads(*c, 1));  // order now 2, 3, 1
    store(*c, 4);               // evicts 2: 3, 1, 4
    c->flush();
    EXPECT_EQ(contents(*c), (std::vector<int>{1, 3, 4}));
    EXPECT_EQ(c->stats().all_bytes, 3 * file);
  }
  {
    // The order comes back from the files' mtimes: 3 is the least recently used, although 1 was written first.
    auto c = open_cache(dir.path(), kModelA, 3 * file);
    store(*c, 5);
    c->flush();
    EXPECT_EQ(contents(*c), (std::vector<int>{1, 4, 5}));
    EXPECT_TRUE(loads(*c, 1));  // order now 4, 5, 1
  }
  {
    // A lower limit applies at open.
    auto c = open_cache(dir.path(), kModelA, 2 * file);
    EXPECT_EQ(contents(*c), (std::vector<int>{1, 5}));
  }
  {
    // Another model's blocks share the limit: its new block pushes out A's least recently used one (5).
    auto b = open_cache(dir.path(), kModelB, 2 * file);
    EXPECT_EQ(b->stats().blocks, 0);
    EXPECT_EQ(b->stats().all_bytes, 2 * file);
    store(*b, 1);
    b->flush();
    EXPECT_EQ(b->stats().all_bytes, 2 * file);
    EXPECT_TRUE(b->contains(hash_of(1)));
  }
  auto c = open_cache(dir.path(), kModelA, 2 * file);
  EXPECT_EQ(contents(*c), (std::vector<int>{1}));
  EXPECT_TRUE(loads(*c, 1));
  EXPECT_EQ(kvb_files(dir.path()).size(), 2u);
}

TEST(DiskCache, DropsWritesWhenTheQueueIsFullOrTheSpansAreWrong) {
  test::TempDir dir;
  auto c = open_cache(dir.path(), kModelA, uint64_t(1) << 30, /*max_pending=*/kBlockBytes - 1);
  for (int i = 0; i < 4; ++i) store(*c, i);
  c->flush();
  EXPECT_EQ(c->stats().dropped, 4);
  EXPECT_EQ(c->stats().writes, 0);
  auto ok = open_cache(dir.path());
  const auto tokens = tokens_of(1);
  const auto payload = payload_of(1);
  ok->store(hash_of(1), tokens, std::span(payload).first(kBlockBytes - 8));
  ok->store(hash_of(1), std::span(tokens).first(2), payload);
  ok->flush();
  EXPECT_EQ(ok->stats().dropped, 2);
  EXPECT_FALSE(ok->contains(hash_of(1)));
}

TEST(DiskCache, OpenRefusesBadArguments) {
  test::TempDir dir;
  EXPECT_FALSE(DiskCache::open(dir.path(), "", 1 << 20, kBlockBytes, kBlockSize).is_ok());
  EXPECT_FALSE(DiskCache::open(dir.path(), kModelA, 1 << 20, 0, kBlockSize).is_ok());
  EXPECT_FALSE(DiskCache::open(dir.path(), kModelA, 1 << 20, kBlockBytes, 0).is_ok());
  EXPECT_FALSE(DiskCache::open("", kModelA, 1 << 20, kBlockBytes, kBlockSize).is_ok());
  test::write_file(dir.file("plain"), "a file, not a folder");
  auto r = DiskCache::open(dir.file("plain"), kModelA, 1 << 20, kBlockBytes, kBlockSize);
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.message().find("plain"), std::string::npos) << r.message();
}

TEST(DiskCache, LongFingerprintsAreStoredAsTheirHash) {
  test::TempDir dir;
  const std::string long_fp(100, 'f');
  auto c = open_cache(dir.path(), long_fp);
  store(*c, 1);
  c->flush();
  EXPECT_TRUE(loads(*c, 1));
  std::ifstream in(file_of(dir.path(), 1), std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  const auto fp = std::as_bytes(std::span(long_fp.data(), long_fp.size()));
  EXPECT_EQ(bytes.substr(16, 64), to_hex(hash_bytes(fp, 1)) + to_hex(hash_bytes(fp, 2)) + std::string(32, '\0'));
}

TEST(DiskCache, StoresAndLoadsFromTwoThreadsAtOnce) {
  test::TempDir dir;
  const uint64_t file = 116 + 4 * kBlockSize + kBlockBytes;
  auto c = open_cache(dir.path(), kModelA, 40 * file);  // small enough that eviction runs during the test
  constexpr int kBlocks = 120;
  std::atomic<bool> done{false};
  std::atomic<int> bad{0}, hits{0};
  std::thread reader([&] {
    std::vector<std::byte> out(kBlockBytes);
    while (!done) {
      for (int i = 0; i < kBlocks; ++i) {
        if (!c->contains(hash_of(i))) continue;
        if (c->load(hash_of(i), tokens_of(i), out)) {
          ++hits;
          if (out != payload_of(i)) ++bad;
        }
      }
    }
  });
  for (int i = 0; i < kBlocks; ++i) {
    store(*c, i);
    if (i % 10 == 9) c->flush();
  }
  c->flush();
  done = true;
  reader.join();
  EXPECT_EQ(bad, 0);
  EXPECT_GT(hits, 0);
  const auto s = c->stats();
  EXPECT_EQ(s.rejected, 0);
  EXPECT_EQ(s.failed, 0);
  EXPECT_LE(s.all_bytes, 40 * file);
  EXPECT_EQ(uint64_t(s.blocks) * file, s.all_bytes);
  EXPECT_EQ(kvb_files(dir.path()).size(), size_t(s.blocks));
  EXPECT_TRUE(loads(*c, kBlocks - 1));  // the last write evicted others, never itself
}

}  // namespace
}  // namespace r1
