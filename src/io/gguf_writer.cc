// GGUF v3 writer: metadata and tensor infos are serialized into one header buffer, then the tensor data is
// streamed after it with zero padding up to the alignment. See io/gguf.h for the layout.
#include "io/gguf_writer.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <unordered_set>
#include <utility>

#include "io/gguf.h"
#include "io/gguf_keys.h"
#include "kernels/quant.h"

namespace r1 {

namespace {

constexpr uint32_t kVersion = 3;
constexpr size_t kMaxDims = 4;                // GGML_MAX_DIMS
constexpr size_t kMaxNameBytes = 63;          // GGML_MAX_NAME (64) minus the terminating NUL
constexpr uint32_t kMaxAlignment = 1u << 24;  // what our reader accepts

// Appends little-endian values to a byte buffer (the host is little-endian, as everywhere r1 runs).
class Bytes {
 public:
  template <typename T>
  void put(T v) {
    const size_t at = buf_.size();
    buf_.resize(at + sizeof(T));
    std::memcpy(buf_.data() + at, &v, sizeof(T));
  }
  void put_string(const std::string& s) {
    put<uint64_t>(s.size());
    buf_.insert(buf_.end(), s.begin(), s.end());
  }
  void put_bytes(const std::vector<uint8_t>& bytes) { buf_.insert(buf_.end(), bytes.begin(), bytes.end()); }
  void pad_to(uint64_t alignment) {
    while (buf_.size() % alignment != 0) buf_.push_back(0);
  }
  const std::vector<uint8_t>& data() const { return buf_; }

 private:
  std::vector<uint8_t> buf_;
};

struct Value {
  GgufType type = GgufType::kUint8;  // scalar type, or kArray with `element` as the element type
  GgufType element = GgufType::kUint8;
  uint64_t bits = 0;                 // scalar payload
  std::string str;                   // kString
  std::vector<std::string> strings;  // array of string
  std::vector<uint8_t> packed;       // array of a numeric type, packed little-endian
  uint64_t count = 0;                // array element count
};

struct Tensor {
  std::string name;
  DType type;
  std::vector<int64_t> shape;  // PyTorch order
  std::vector<uint8_t> data;
};

// Closes a file descriptor and removes the temporary file unless released.
class TempFile {
 public:
  TempFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  ~TempFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!path_.empty()) ::unlink(path_.c_str());
  }
  int fd() const { return fd_; }
  Status close() {
    const int fd = std::exchange(fd_, -1);
    if (::close(fd) != 0) return Status::errorf("closing {}: {}", path_, std::strerror(errno));
    return Status::ok();
  }
  void release() { path_.clear(); }

 private:
  std::string path_;
  int fd_;
};

Status write_all(int fd, const uint8_t* p, size_t n, const std::string& path) {
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return Status::errorf("writing {}: {}", path, std::strerror(errno));
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
  return Status::ok();
}

}  // namespace

struct GgufWriter::Impl {
  uint32_t alignment = 32;
  std::vector<std::pair<std::string, Value>> kv;  // insertion order
  std::vector<Tensor> tensors;

  Value& slot(const std::string& key) {
    for (auto& [k, v] : kv) {
      if (k == key) {
        v = Value();
        return v;
      }
    }
    return kv.emplace_back(key, Value()).second;
  }
  template <typename T>
  void set_scalar(const std::string& key, GgufType type, T v) {
    Value& out = slot(key);
    out.type = type;
    std::memcpy(&out.bits, &v, sizeof(T));
  }
  template <typename T>
  void set_array(const std::string& key, GgufType element, const std::vector<T>& v) {
    Value& out = slot(key);
    out.type = GgufType::kArray;
    out.element = element;
    out.count = v.size();
    out.packed.resize(v.size() * sizeof(T));
    if (!v.empty()) std::memcpy(out.packed.data(), v.data(), out.packed.size());
  }

  Status validate(const std::string& path) const;
  Bytes header(std::vector<uint64_t>& offsets) const;
};

GgufWriter::GgufWriter(uint32_t alignment) : impl_(std::make_unique<Impl>()) {
  impl_->alignment = alignment;
}
GgufWriter::~GgufWriter() = default;
GgufWriter::GgufWriter(GgufWriter&&) noexcept = default;
GgufWriter& GgufWriter::operator=(GgufWriter&&) noexcept = default;

void GgufWriter::set_u32(const std::string& key, uint32_t v) {
  impl_->set_scalar(key, GgufType::kUint32, v);
}
void GgufWriter::set_i32(const std::string& key, int32_t v) {
  impl_->set_scalar(key, GgufType::kInt32, v);
}
void GgufWriter::set_u64(const std::string& key, uint64_t v) {
  impl_->set_scalar(key, GgufType::kUint64, v);
}
void GgufWriter::set_f32(const std::string& key, float v) {
  impl_->set_scalar(key, GgufType::kFloat32, v);
}
void GgufWriter::set_bool(const std::string& key, bool v) {
  impl_->set_scalar(key, GgufType::kBool, static_cast<uint8_t>(v ? 1 : 0));
}
void GgufWriter::set_string(const std::string& key, const std::string& v) {
  Value& out = impl_->slot(key);
  out.type = GgufType::kString;
  out.str = v;
}
void GgufWriter::set_string_array(const std::string& key, const std::vector<std::string>& v) {
  Value& out = impl_->slot(key);
  out.type = GgufType::kArray;
  out.element = GgufType::kString;
  out.count = v.size();
  out.strings = v;
}
void GgufWriter::set_i32_array(const std::string& key, const std::vector<int32_t>& v) {
  impl_->set_array(key, GgufType::kInt32, v);
}
void GgufWriter::set_f32_array(const std::string& key, const std::vector<float>& v) {
  impl_->set_array(key, GgufType::kFloat32, v);
}

void GgufWriter::add_tensor(const std::string& name, DType type, std::vector<int64_t> shape,
                            std::vector<uint8_t> data) {
  impl_->tensors.push_back({name, type, std::move(shape), std::move(data)});
}

// Everything a reader would refuse, found before a byte is written.
Status GgufWriter::Impl::validate(const std::string& path) const {
  const auto fail = [&](const std::string& what) { return Status::error(path + ": " + what); };
  if (alignment == 0 || (alignment & (alignment - 1)) != 0 || alignment > kMaxAlignment) {
    return fail(fmt::format("alignment {} is not a power of two up to {}", alignment, kMaxAlignment));
  }
  for (const auto& [key, v] : kv) {
    if (key.empty()) return fail("empty metadata key");
    if (key == gguf_key::kAlignment) {
      return fail(
          fmt::format("metadata key \"{}\" is set by the writer (GgufWriter's alignment argument)", key));
    }
  }
  std::unordered_set<std::string_view> names;
  for (const Tensor& t : tensors) {
    const std::string what = fmt::format("tensor \"{}\"", t.name);
    if (t.name.empty()) return fail("a tensor has an empty name");
    if (t.name.size() > kMaxNameBytes) {
      return fail(fmt::format("{}: name of {} bytes is longer than ggml's limit of {}", what, t.name.size(),
                              kMaxNameBytes));
    }
    if (!names.insert(t.name).second) return fail(what + " is added twice");
    if (!kernels::ggml_type_of(t.type)) {
      return fail(fmt::format("{}: type {} has no GGUF equivalent", what, dtype_name(t.type)));
    }
    if (t.shape.size() > kMaxDims) {
      return fail(
          fmt::format("{} has {} dimensions (GGUF allows at most {})", what, t.shape.size(), kMaxDims));
    }
    unsigned __int128 numel = 1;
    for (int64_t d : t.shape) {
      if (d < 0) return fail(fmt::format("{}: negative dimension {}", what, d));
      numel *= static_cast<uint64_t>(d);
      if (numel > static_cast<unsigned __int128>(INT64_MAX)) return fail(what + ": element count overflows");
    }
    const int64_t inner = t.shape.empty() ? 1 : t.shape.back();
    const int64_t block = dtype_block_size(t.type);
    if (inner % block != 0) {
      return fail(fmt::format("{}: innermost dimension {} is not a multiple of the {} block size {}", what,
                              inner, dtype_name(t.type), block));
    }
    const size_t expected = dtype_row_bytes(t.type, static_cast<int64_t>(numel));
    if (t.data.size() != expected) {
      return fail(fmt::format("{}: {} bytes of data, but a {} tensor of {} elements takes {}", what,
                              t.data.size(), dtype_name(t.type), uint64_t(numel), expected));
    }
  }
  return Status::ok();
}

// Header, metadata, tensor infos and the padding before the data section; `offsets` gets each tensor's data
// offset (relative to the data section).
Bytes GgufWriter::Impl::header(std::vector<uint64_t>& offsets) const {
  Bytes b;
  b.put<uint32_t>(0x46554747);  // "GGUF"
  b.put<uint32_t>(kVersion);
  b.put<uint64_t>(tensors.size());
  b.put<uint64_t>(kv.size() + (alignment != GgufFile::kDefaultAlignment ? 1 : 0));
  if (alignment != GgufFile::kDefaultAlignment) {
    b.put_string(std::string(gguf_key::kAlignment));
    b.put<uint32_t>(static_cast<uint32_t>(GgufType::kUint32));
    b.put<uint32_t>(alignment);
  }
  for (const auto& [key, v] : kv) {
    b.put_string(key);
    b.put<uint32_t>(static_cast<uint32_t>(v.type));
    switch (v.type) {
      case GgufType::kString:
        b.put_string(v.str);
        break;
      case GgufType::kArray:
        b.put<uint32_t>(static_cast<uint32_t>(v.element));
        b.put<uint64_t>(v.count);
        if (v.element == GgufType::kString) {
          for (const std::string& s : v.strings) b.put_string(s);
        } else {
          b.put_bytes(v.packed);
        }
        break;
      case GgufType::kUint32:
      case GgufType::kInt32:
      case GgufType::kFloat32:
        b.put<uint32_t>(static_cast<uint32_t>(v.bits));
        break;
      case GgufType::kBool:
        b.put<uint8_t>(static_cast<uint8_t>(v.bits));
        break;
      default:  // the setters only make the 64-bit types here
        b.put<uint64_t>(v.bits);
        break;
    }
  }
  uint64_t offset = 0;
  offsets.clear();
  for (const Tensor& t : tensors) {
    b.put_string(t.name);
    b.put<uint32_t>(static_cast<uint32_t>(t.shape.size()));
    for (auto d = t.shape.rbegin(); d != t.shape.rend(); ++d) b.put<uint64_t>(static_cast<uint64_t>(*d));
    b.put<uint32_t>(*kernels::ggml_type_of(t.type));
    b.put<uint64_t>(offset);
    offsets.push_back(offset);
    offset += (t.data.size() + alignment - 1) / alignment * alignment;
  }
  b.pad_to(alignment);
  return b;
}

Status GgufWriter::write(const std::string& path) const {
  R1_RETURN_IF_ERROR(impl_->validate(path));
  std::vector<uint64_t> offsets;
  const Bytes head = impl_->header(offsets);

  const std::string tmp = fmt::format("{}.tmp-{}", path, ::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::errorf("{}: cannot create {}: {}", path, tmp, std::strerror(errno));
  TempFile file(tmp, fd);
  R1_RETURN_IF_ERROR(write_all(fd, head.data().data(), head.data().size(), path));
  static const std::vector<uint8_t> kZeros(kMaxAlignment > 4096 ? 4096 : kMaxAlignment, 0);
  const uint64_t align = impl_->alignment;
  for (const Tensor& t : impl_->tensors) {
    R1_RETURN_IF_ERROR(write_all(fd, t.data.data(), t.data.size(), path));
    for (uint64_t pad = (align - t.data.size() % align) % align; pad > 0;) {
      const size_t n = std::min<uint64_t>(pad, kZeros.size());
      R1_RETURN_IF_ERROR(write_all(fd, kZeros.data(), n, path));
      pad -= n;
    }
  }
  if (::fsync(fd) != 0) return Status::errorf("{}: fsync of {}: {}", path, tmp, std::strerror(errno));
  R1_RETURN_IF_ERROR(file.close());
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    return Status::errorf("{}: renaming {} into place: {}", path, tmp, std::strerror(errno));
  }
  file.release();
  return Status::ok();
}

}  // namespace r1
