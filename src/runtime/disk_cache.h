// The disk tier of the prefix cache: full KV blocks written under --cache-dir, keyed by their BlockHash, so a
// prompt prefix seen before (even before a restart) is loaded instead of recomputed ("context caching on disk").
//
// Layout: <dir>/<16 hex: hash_bytes of the fingerprint>/<to_hex(BlockHash)>.kvb, one file per block. Writes go
// to <hex>.tmp first and are renamed into place after fsync, so a crash leaves nothing or a complete file; stale
// .tmp files are removed at open(). limit_bytes caps the *.kvb files of every model under <dir> together;
// beyond it the least recently used files go first, recency being the file's mtime (set on write and on every
// hit, strictly increasing within a process, so the order survives restarts).
//
// File format, version 1, all integers little-endian:
//   offset  size          field
//   0       8             magic "R1KVBLK1"
//   8       4             u32 format version (1)
//   12      4             u32 header size H = 116 + 4 * block_size (bytes before the payload)
//   16      64            fingerprint, zero padded; if longer than 64 bytes, the 32 hex digits of
//                         hash_bytes(fingerprint, 1) then hash_bytes(fingerprint, 2)
//   80      16            BlockHash: u64 hi, u64 lo
//   96      4             u32 block_size
//   100     4*block_size  the block's tokens, i32 each
//   H-16    8             u64 payload bytes
//   H-8     8             u64 payload checksum: hash_bytes(payload, 0x52314B56) (see prefix_cache.h)
//   H       payload       the block's KV bytes, as the KV store laid them out
// Every field is checked on load; any mismatch deletes the file (counted as rejected) and loads nothing.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <list>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/status.h"
#include "runtime/prefix_cache.h"

namespace r1 {

class DiskCache {
 public:
  static constexpr uint64_t kDefaultMaxPendingBytes = uint64_t(256) << 20;

  // dir: created if missing. fingerprint: identifies the model and KV layout (an opaque string, e.g. 32 hex).
  // block_bytes: the payload size of one block; block_size: tokens per block. max_pending_bytes bounds the bytes
  // queued for writing (store() drops beyond it).
  static Result<std::unique_ptr<DiskCache>> open(const std::string& dir, const std::string& fingerprint,
                                                 uint64_t limit_bytes, size_t block_bytes, int64_t block_size,
                                                 uint64_t max_pending_bytes = kDefaultMaxPendingBytes);
  ~DiskCache();  // flush(), then stops the writer thread
  DiskCache(const DiskCache&) = delete;
  DiskCache& operator=(const DiskCache&) = delete;

  bool contains(const BlockHash& hash) const;  // from the in-memory index built at open() and kept current
  // Reads the block into `out` (block_bytes) and checks everything: magic, format version, fingerprint, hash,
  // the block's tokens (== `tokens`, block_size of them), payload size and checksum. Any mismatch (truncated,
  // corrupted, foreign, another model) -> the file is deleted and counted as rejected. Whenever it returns false,
  // `out` is zeroed: nothing of a bad file is ever loaded. A hit makes the file the most recently used. Spans of the
  // wrong size are a miss.
  bool load(const BlockHash& hash, std::span<const int32_t> tokens, std::span<std::byte> out);
  // Queues a write (copies the bytes) for the writer thread, which then evicts beyond limit_bytes. Hashes on disk
  // or already queued are skipped. When the queue is full, or the spans have the wrong size, the write is dropped
  // (counted); the caller never waits for the disk.
  void store(const BlockHash& hash, std::span<const int32_t> tokens, std::span<const std::byte> data);
  void flush();  // waits until every queued write is on disk (or failed)

  struct Stats {
    int64_t blocks = 0;       // this model's blocks on disk
    uint64_t bytes = 0;       // their file sizes
    uint64_t all_bytes = 0;   // every model's *.kvb files under dir: what limit_bytes caps
    int64_t writes = 0, hits = 0, misses = 0;
    int64_t rejected = 0;     // corrupt, truncated or foreign files found and deleted (at open() or load())
    int64_t dropped = 0;      // store() calls refused: queue full or spans of the wrong size
    int64_t failed = 0;       // writes that hit an I/O error (disk full, permissions)
    int64_t ignored = 0;      // files at open() that are not ours by name (left alone, not counted in all_bytes)
  };
  Stats stats() const;

  size_t file_bytes() const { return header_bytes_ + block_bytes_; }  // the size of every .kvb file of this model

 private:
  struct Entry {  // one .kvb file, in LRU order
    std::string path;
    uint64_t bytes = 0;
    bool own = false;  // this model's (then `hash` names it in index_)
    BlockHash hash{};
    uint64_t id = 0;   // distinguishes a rewritten file from the one a reader saw
  };
  struct Job {
    BlockHash hash;
    std::vector<int32_t> tokens;
    std::vector<std::byte> data;
  };

  DiskCache(std::string model_dir, std::string fingerprint_field, uint64_t limit_bytes, size_t block_bytes,
            int64_t block_size, uint64_t max_pending_bytes);
  Status scan(const std::string& dir, const std::string& model_subdir);
  std::string path_of(const BlockHash& hash, const char* suffix) const;
  std::vector<std::byte> header_for(const BlockHash& hash, std::span<const int32_t> tokens, uint64_t checksum) const;
  bool read_and_check(const std::string& path, const BlockHash& hash, std::span<const int32_t> tokens,
                      std::span<std::byte> out, int64_t stamp) const;
  void writer_loop();
  void write_block(const Job& job);
  // The following need mu_ held.
  int64_t next_stamp();  // nanoseconds since the epoch, strictly increasing
  void add_entry(Entry entry);
  void remove_entry(std::list<Entry>::iterator it, bool unlink_file);
  void evict_to_limit();

  const std::string model_dir_;          // dir/<16 hex>
  const std::string fingerprint_field_;  // 64 bytes, as written in every header
  const uint64_t limit_bytes_;
  const size_t block_bytes_;
  const int64_t block_size_;
  const size_t header_bytes_;
  const uint64_t max_pending_bytes_;

  mutable std::mutex mu_;
  std::condition_variable work_cv_;  // writer waits for jobs or stop
  std::condition_variable idle_cv_;  // flush() waits for an empty queue
  std::list<Entry> lru_;             // every .kvb file under dir, least recently used first
  std::unordered_map<BlockHash, std::list<Entry>::iterator, BlockHashHasher> index_;  // this model's files
  std::deque<Job> queue_;
  std::unordered_set<BlockHash, BlockHashHasher> queued_;
  uint64_t pending_bytes_ = 0;
  bool writing_ = false;
  bool stopping_ = false;
  int64_t last_stamp_ = 0;
  uint64_t next_id_ = 0;
  Stats stats_;
  std::thread writer_;
};

}  // namespace r1
