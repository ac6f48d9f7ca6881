#include "runtime/fingerprint.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <vector>

#include "runtime/prefix_cache.h"

namespace r1 {
namespace {

namespace fs = std::filesystem;

constexpr uint64_t kSampleBytes = uint64_t(1) << 20;  // how much of each end of a weight file is hashed
constexpr uint64_t kSeedA = 0x46505231;               // the two halves of the 128-bit result
constexpr uint64_t kSeedB = 0x46505232;

// The manifest is a byte string naming every input: for each, its name, a 0 byte, then u64 size and two 64-bit
// hashes of the hashed bytes. The fingerprint is the two hashes of the manifest.
void append(std::vector<std::byte>& manifest, const std::string& name, uint64_t size, std::span<const std::byte> bytes) {
  const auto* n = reinterpret_cast<const std::byte*>(name.data());
  manifest.insert(manifest.end(), n, n + name.size());
  manifest.push_back(std::byte{0});
  const uint64_t words[3] = {size, hash_bytes(bytes, kSeedA), hash_bytes(bytes, kSeedB)};
  const auto* w = reinterpret_cast<const std::byte*>(words);
  manifest.insert(manifest.end(), w, w + sizeof(words));
}

// Hashes the first and the last kSampleBytes of a file (all of it when smaller than both together).
Status append_file(std::vector<std::byte>& manifest, const fs::path& path, bool whole) {
  std::error_code ec;
  const uint64_t size = fs::file_size(path, ec);
  if (ec) return Status::errorf("fingerprint: cannot stat {}: {}", path.string(), ec.message());
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::errorf("fingerprint: cannot open {}", path.string());
  const uint64_t head = whole ? size : std::min(size, kSampleBytes);
  const uint64_t tail = whole ? 0 : std::min(size - head, kSampleBytes);
  std::vector<std::byte> sample(head + tail);
  in.read(reinterpret_cast<char*>(sample.data()), std::streamsize(head));
  if (tail > 0) {
    in.seekg(std::streamoff(size - tail));
    in.read(reinterpret_cast<char*>(sample.data() + head), std::streamsize(tail));
  }
  if (!in) return Status::errorf("fingerprint: cannot read {}", path.string());
  append(manifest, path.filename().string(), size, sample);
  return Status::ok();
}

}  // namespace

Result<std::string> model_fingerprint(const std::string& path, const std::string& extra) {
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (ec || !fs::exists(status)) return Status::errorf("fingerprint: {} does not exist", path);
  std::vector<std::byte> manifest;
  if (fs::is_directory(status)) {
    const fs::path config = fs::path(path) / "config.json";
    if (!fs::is_regular_file(config, ec)) return Status::errorf("fingerprint: {} has no config.json", path);
    R1_RETURN_IF_ERROR(append_file(manifest, config, /*whole=*/true));
    std::vector<fs::path> weights;
    for (fs::directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec)) {
      std::error_code type_ec;  // kept apart from `ec`, which ends the listing
      if (it->path().extension() == ".safetensors" && it->is_regular_file(type_ec)) weights.push_back(it->path());
    }
    if (ec) return Status::errorf("fingerprint: cannot list {}: {}", path, ec.message());
    if (weights.empty()) return Status::errorf("fingerprint: {} has no *.safetensors files", path);
    std::sort(weights.begin(), weights.end());  // directory order differs between file systems
    for (const fs::path& w : weights) R1_RETURN_IF_ERROR(append_file(manifest, w, /*whole=*/false));
  } else {
    R1_RETURN_IF_ERROR(append_file(manifest, path, /*whole=*/false));
  }
  append(manifest, "extra", extra.size(), std::as_bytes(std::span(extra.data(), extra.size())));
  return to_hex(BlockHash{hash_bytes(manifest, kSeedA), hash_bytes(manifest, kSeedB)});
}

}  // namespace r1
