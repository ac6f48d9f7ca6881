#include "runtime/disk_cache.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <system_error>

namespace r1 {
namespace {

namespace fs = std::filesystem;

constexpr char kMagic[8] = {'R', '1', 'K', 'V', 'B', 'L', 'K', '1'};
constexpr uint32_t kVersion = 1;
constexpr size_t kFingerprintBytes = 64;
constexpr size_t kTokensOffset = 100;  // see the table in disk_cache.h
constexpr uint64_t kChecksumSeed = 0x52314B56;
constexpr uint64_t kDirSeed = 0;
constexpr int64_t kMaxBlockSize = int64_t(1) << 20;

size_t header_bytes_for(int64_t block_size) { return kTokensOffset + 4 * size_t(block_size) + 16; }

template <typename T>
void put(std::vector<std::byte>& buf, size_t offset, const T& v) {
  std::memcpy(buf.data() + offset, &v, sizeof(T));
}
template <typename T>
T get(const std::vector<std::byte>& buf, size_t offset) {
  T v;
  std::memcpy(&v, buf.data() + offset, sizeof(T));
  return v;
}

bool pread_all(int fd, void* dst, size_t n, off_t offset) {
  auto* p = static_cast<char*>(dst);
  while (n > 0) {
    const ssize_t got = ::pread(fd, p, n, offset);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return false;
    p += got;
    n -= size_t(got);
    offset += got;
  }
  return true;
}

bool write_all(int fd, const void* src, size_t n) {
  const auto* p = static_cast<const char*>(src);
  while (n > 0) {
    const ssize_t put_n = ::write(fd, p, n);
    if (put_n < 0 && errno == EINTR) continue;
    if (put_n <= 0) return false;
    p += put_n;
    n -= size_t(put_n);
  }
  return true;
}

timespec to_timespec(int64_t ns) { return timespec{time_t(ns / 1'000'000'000), long(ns % 1'000'000'000)}; }

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::span<const std::byte> as_bytes(const std::string& s) { return std::as_bytes(std::span(s.data(), s.size())); }

// What every header of this model carries in its fingerprint field (see the format in disk_cache.h).
std::string fingerprint_field(const std::string& fingerprint) {
  std::string field = fingerprint.size() <= kFingerprintBytes
                          ? fingerprint
                          : to_hex(hash_bytes(as_bytes(fingerprint), 1)) + to_hex(hash_bytes(as_bytes(fingerprint), 2));
  field.resize(kFingerprintBytes, '\0');
  return field;
}

}  // namespace

DiskCache::DiskCache(std::string model_dir, std::string fingerprint_field, uint64_t limit_bytes, size_t block_bytes,
                     int64_t block_size, uint64_t max_pending_bytes)
    : model_dir_(std::move(model_dir)),
      fingerprint_field_(std::move(fingerprint_field)),
      limit_bytes_(limit_bytes),
      block_bytes_(block_bytes),
      block_size_(block_size),
      header_bytes_(header_bytes_for(block_size)),
      max_pending_bytes_(max_pending_bytes) {}

Result<std::unique_ptr<DiskCache>> DiskCache::open(const std::string& dir, const std::string& fingerprint,
                                                   uint64_t limit_bytes, size_t block_bytes, int64_t block_size,
                                                   uint64_t max_pending_bytes) {
  if (dir.empty()) return Status::error("disk cache: empty directory name");
  if (fingerprint.empty()) return Status::errorf("disk cache {}: empty model fingerprint", dir);
  if (block_bytes == 0) return Status::errorf("disk cache {}: block_bytes is 0", dir);
  if (block_size <= 0 || block_size > kMaxBlockSize)
    return Status::errorf("disk cache {}: block_size {} outside [1, {}]", dir, block_size, kMaxBlockSize);
  const std::string subdir = to_hex(hash_bytes(as_bytes(fingerprint), kDirSeed));
  const std::string model_dir = (fs::path(dir) / subdir).string();
  std::error_code ec;
  fs::create_directories(model_dir, ec);
  if (ec) return Status::errorf("disk cache: cannot create {}: {}", model_dir, ec.message());
  std::unique_ptr<DiskCache> cache(new DiskCache(model_dir, fingerprint_field(fingerprint), limit_bytes, block_bytes,
                                                 block_size, max_pending_bytes));
  R1_RETURN_IF_ERROR(cache->scan(dir, subdir));
  cache->writer_ = std::thread([c = cache.get()] { c->writer_loop(); });
  return cache;
}

DiskCache::~DiskCache() {
  flush();
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  work_cv_.notify_all();
  if (writer_.joinable()) writer_.join();
}

// Rebuilds the index from the directory: every model's *.kvb files in mtime order for the size limit, this
// model's by name. Runs before the writer thread starts, so nothing else touches the state yet.
Status DiskCache::scan(const std::string& dir, const std::string& model_subdir) {
  struct Found {
    int64_t mtime;
    Entry entry;
  };
  std::vector<Found> found;
  std::error_code ec;
  for (fs::directory_iterator top(dir, ec), end; !ec && top != end; top.increment(ec)) {
    std::error_code type_ec;  // kept apart from `ec`, which ends the listing
    if (!top->is_directory(type_ec)) {
      ++stats_.ignored;
      continue;
    }
    const bool own = top->path().filename() == model_subdir;
    std::error_code ec2;
    for (fs::directory_iterator it(top->path(), ec2), end2; !ec2 && it != end2; it.increment(ec2)) {
      const std::string path = it->path().string();
      const std::string name = it->path().filename().string();
      struct stat st;
      if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
        ++stats_.ignored;
        continue;
      }
      if (ends_with(name, ".tmp")) {  // a write interrupted by a crash
        std::error_code ignore;
        fs::remove(it->path(), ignore);
        continue;
      }
      if (!ends_with(name, ".kvb")) {
        ++stats_.ignored;
        continue;
      }
      Entry entry{.path = path, .bytes = uint64_t(st.st_size), .own = own};
      if (own) {
        auto hash = block_hash_from_hex(std::string_view(name).substr(0, name.size() - 4));
        if (!hash) {
          ++stats_.ignored;
          continue;
        }
        if (entry.bytes != file_bytes()) {  // truncated or of another layout: can never load
          std::error_code ignore;
          fs::remove(it->path(), ignore);
          ++stats_.rejected;
          continue;
        }
        entry.hash = *hash;
      }
      found.push_back({int64_t(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec, std::move(entry)});
    }
    if (ec2) return Status::errorf("disk cache: cannot list {}: {}", top->path().string(), ec2.message());
  }
  if (ec) return Status::errorf("disk cache: cannot list {}: {}", dir, ec.message());
  std::sort(found.begin(), found.end(), [](const Found& a, const Found& b) {
    return a.mtime != b.mtime ? a.mtime < b.mtime : a.entry.path < b.entry.path;
  });
  for (Found& f : found) {
    last_stamp_ = std::max(last_stamp_, f.mtime);
    add_entry(std::move(f.entry));
  }
  evict_to_limit();  // the limit may be lower than last time
  return Status::ok();
}

std::string DiskCache::path_of(const BlockHash& hash, const char* suffix) const {
  return model_dir_ + "/" + to_hex(hash) + suffix;
}

int64_t DiskCache::next_stamp() {
  timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  // Strictly increasing even when the file system's clock is coarse, so touch order is never a tie.
  last_stamp_ = std::max(int64_t(now.tv_sec) * 1'000'000'000 + now.tv_nsec, last_stamp_ + 1);
  return last_stamp_;
}

void DiskCache::add_entry(Entry entry) {
  entry.id = next_id_++;
  stats_.all_bytes += entry.bytes;
  if (entry.own) {
    ++stats_.blocks;
    stats_.bytes += entry.bytes;
  }
  auto it = lru_.insert(lru_.end(), std::move(entry));
  if (it->own) index_[it->hash] = it;
}

void DiskCache::remove_entry(std::list<Entry>::iterator it, bool unlink_file) {
  if (unlink_file) ::unlink(it->path.c_str());  // a reader holding it open still reads it whole
  stats_.all_bytes -= it->bytes;
  if (it->own) {
    --stats_.blocks;
    stats_.bytes -= it->bytes;
    index_.erase(it->hash);
  }
  lru_.erase(it);
}

void DiskCache::evict_to_limit() {
  while (stats_.all_bytes > limit_bytes_ && !lru_.empty()) remove_entry(lru_.begin(), true);
}

bool DiskCache::contains(const BlockHash& hash) const {
  std::lock_guard lock(mu_);
  return index_.contains(hash);
}

std::vector<std::byte> DiskCache::header_for(const BlockHash& hash, std::span<const int32_t> tokens,
                                             uint64_t checksum) const {
  std::vector<std::byte> h(header_bytes_);
  std::memcpy(h.data(), kMagic, sizeof(kMagic));
  put(h, 8, kVersion);
  put(h, 12, uint32_t(header_bytes_));
  std::memcpy(h.data() + 16, fingerprint_field_.data(), kFingerprintBytes);
  put(h, 80, hash.hi);
  put(h, 88, hash.lo);
  put(h, 96, uint32_t(block_size_));
  std::memcpy(h.data() + kTokensOffset, tokens.data(), tokens.size_bytes());
  put(h, header_bytes_ - 16, uint64_t(block_bytes_));
  put(h, header_bytes_ - 8, checksum);
  return h;
}

// Reads a file into `out` and checks it against what this model would have written for (hash, tokens).
// On success the file's mtime becomes `stamp`.
bool DiskCache::read_and_check(const std::string& path, const BlockHash& hash, std::span<const int32_t> tokens,
                               std::span<std::byte> out, int64_t stamp) const {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  struct stat st;
  std::vector<std::byte> header(header_bytes_);
  bool ok = ::fstat(fd, &st) == 0 && uint64_t(st.st_size) == file_bytes() &&
            pread_all(fd, header.data(), header.size(), 0) && pread_all(fd, out.data(), out.size(), off_t(header_bytes_));
  if (ok) {
    // Rebuilding the expected header checks every field at once: magic, version, sizes, fingerprint (with its
    // padding), hash, block_size, tokens and the payload checksum.
    ok = header == header_for(hash, tokens, hash_bytes(out, kChecksumSeed));
  }
  if (ok) {
    const timespec times[2] = {to_timespec(stamp), to_timespec(stamp)};
    ::futimens(fd, times);  // best effort: a failure only costs LRU accuracy after a restart
  }
  ::close(fd);
  return ok;
}

bool DiskCache::load(const BlockHash& hash, std::span<const int32_t> tokens, std::span<std::byte> out) {
  std::string path;
  uint64_t id;
  int64_t stamp;
  {
    std::lock_guard lock(mu_);
    auto it = index_.find(hash);
    if (it == index_.end() || out.size() != block_bytes_ || tokens.size() != size_t(block_size_)) {
      ++stats_.misses;
      std::fill(out.begin(), out.end(), std::byte{0});
      return false;
    }
    path = it->second->path;
    id = it->second->id;
    stamp = next_stamp();
  }
  const bool ok = read_and_check(path, hash, tokens, out, stamp);
  std::lock_guard lock(mu_);
  auto it = index_.find(hash);
  const bool same_file = it != index_.end() && it->second->id == id;
  if (ok) {
    ++stats_.hits;
    if (same_file) lru_.splice(lru_.end(), lru_, it->second);
    return true;
  }
  std::fill(out.begin(), out.end(), std::byte{0});
  if (same_file) {
    remove_entry(it->second, true);
    ++stats_.rejected;
  } else {
    ++stats_.misses;  // evicted (or replaced) while we read it
  }
  return false;
}

void DiskCache::store(const BlockHash& hash, std::span<const int32_t> tokens, std::span<const std::byte> data) {
  {
    std::lock_guard lock(mu_);
    if (index_.contains(hash) || queued_.contains(hash)) return;
    if (data.size() != block_bytes_ || tokens.size() != size_t(block_size_) ||
        pending_bytes_ + data.size() > max_pending_bytes_) {
      ++stats_.dropped;
      return;
    }
    // Reserved now, so no other store() can take the room or queue the same hash while we copy unlocked.
    queued_.insert(hash);
    pending_bytes_ += data.size();
  }
  Job job{hash, {tokens.begin(), tokens.end()}, {data.begin(), data.end()}};  // the copy, without the lock
  {
    std::lock_guard lock(mu_);
    queue_.push_back(std::move(job));
  }
  work_cv_.notify_one();
}

void DiskCache::flush() {
  std::unique_lock lock(mu_);
  idle_cv_.wait(lock, [&] { return queue_.empty() && !writing_; });
}

DiskCache::Stats DiskCache::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

void DiskCache::writer_loop() {
  std::unique_lock lock(mu_);
  for (;;) {
    work_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, and nothing left to write
    Job job = std::move(queue_.front());
    queue_.pop_front();
    writing_ = true;
    lock.unlock();
    write_block(job);
    lock.lock();
    writing_ = false;
    queued_.erase(job.hash);
    pending_bytes_ -= job.data.size();
    if (queue_.empty()) idle_cv_.notify_all();
  }
}

// temp file + fsync + rename: readers and a crash see either no file or a complete one.
void DiskCache::write_block(const Job& job) {
  const std::string tmp = path_of(job.hash, ".tmp");
  const std::string final_path = path_of(job.hash, ".kvb");
  const std::vector<std::byte> header = header_for(job.hash, job.tokens, hash_bytes(job.data, kChecksumSeed));
  int64_t stamp;
  {
    std::lock_guard lock(mu_);
    stamp = next_stamp();
  }
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  bool ok = fd >= 0;
  if (ok) {
    const timespec times[2] = {to_timespec(stamp), to_timespec(stamp)};
    ok = write_all(fd, header.data(), header.size()) && write_all(fd, job.data.data(), job.data.size()) &&
         ::futimens(fd, times) == 0 && ::fsync(fd) == 0;
    ok = ::close(fd) == 0 && ok;
  }
  // Renamed without the lock: until the entry is added, no reader or eviction knows this path, and the hash stays
  // in queued_, so no other write of it can start.
  ok = ok && ::rename(tmp.c_str(), final_path.c_str()) == 0;
  if (!ok) ::unlink(tmp.c_str());
  std::lock_guard lock(mu_);
  if (!ok) {
    ++stats_.failed;
    return;
  }
  add_entry(Entry{.path = final_path, .bytes = file_bytes(), .own = true, .hash = job.hash});
  ++stats_.writes;
  evict_to_limit();
}

}  // namespace r1
