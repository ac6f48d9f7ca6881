#include "io/safetensors.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

namespace r1 {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr uint64_t kMaxHeaderBytes = 100ull << 20;  // the format's own limit

// Reads one entry of the header into `t`, checking everything that can be checked without the other entries.
Status parse_entry(const json& e, uint64_t data_size, Tensor* t, uint64_t* begin,
                   uint64_t* end) {
  if (!e.is_object()) return Status::error("entry is not an object");
  auto dt = e.find("dtype");
  auto sh = e.find("shape");
  auto off = e.find("data_offsets");
  if (dt == e.end() || !dt->is_string()) return Status::error("missing or non-string \"dtype\"");
  if (sh == e.end() || !sh->is_array()) return Status::error("missing or non-array \"shape\"");
  if (off == e.end() || !off->is_array() || off->size() != 2 || !(*off)[0].is_number_unsigned() ||
      !(*off)[1].is_number_unsigned())
    return Status::error("\"data_offsets\" must be two non-negative integers");
  auto dtype = dtype_from_name(dt->get<std::string>());
  if (!dtype) return Status::errorf("unsupported dtype {}", dt->get<std::string>());
  if (sh->size() > size_t(Tensor::kMaxRank)) return Status::errorf("rank {} is above {}", sh->size(), Tensor::kMaxRank);
  t->dtype = *dtype;
  t->rank = int(sh->size());
  unsigned __int128 bytes = dtype_size(*dtype);
  for (size_t i = 0; i < sh->size(); ++i) {
    if (!(*sh)[i].is_number_unsigned()) return Status::error("shape holds a non-integer or negative size");
    const uint64_t d = (*sh)[i].get<uint64_t>();
    if (d > (uint64_t(1) << 40)) return Status::errorf("dimension {} is implausibly large", d);
    t->shape[i] = int64_t(d);
    bytes *= d;
  }
  *begin = (*off)[0].get<uint64_t>();
  *end = (*off)[1].get<uint64_t>();
  if (*begin > *end || *end > data_size)
    return Status::errorf("data_offsets [{}, {}] lie outside the {} data bytes", *begin, *end, data_size);
  if (bytes != *end - *begin)
    return Status::errorf("shape {} of {} needs {} bytes but data_offsets span {}", t->shape_string(),
                          dtype_name(*dtype), uint64_t(bytes), *end - *begin);
  return Status::ok();
}

}  // namespace

Result<SafetensorsFile> SafetensorsFile::open(const std::string& path) {
  R1_ASSIGN_OR_RETURN(auto file, MappedFile::open(path));
  return parse(std::move(file));
}

Result<SafetensorsFile> SafetensorsFile::parse(std::shared_ptr<MappedFile> file) {
  const std::string& path = file->path();
  const uint64_t size = file->size();
  if (size < 8) return Status::errorf("{}: truncated safetensors file ({} bytes, no header length)", path, size);
  uint64_t header_len = 0;
  std::memcpy(&header_len, file->data(), 8);  // little-endian, as is every machine r1 runs on
  if (header_len > kMaxHeaderBytes || header_len > size - 8)
    return Status::errorf("{}: header length {} is beyond the file ({} bytes)", path, header_len, size);
  const char* hdr = reinterpret_cast<const char*>(file->data() + 8);
  json j = json::parse(hdr, hdr + header_len, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object())
    return Status::errorf("{}: malformed header (not a JSON object)", path);

  SafetensorsFile out;
  out.file_ = file;
  const uint64_t data_start = 8 + header_len;
  const uint64_t data_size = size - data_start;
  struct Span {
    uint64_t begin, end;
    std::string name;
  };
  std::vector<Span> spans;
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (it.key() == "__metadata__") continue;
    Tensor t;
    uint64_t begin = 0, end = 0;
    Status s = parse_entry(it.value(), data_size, &t, &begin, &end);
    if (!s) return Status::errorf("{}: tensor '{}': {}", path, it.key(), s.message());
    const uint8_t* p = file->data() + data_start + begin;
    if (reinterpret_cast<uintptr_t>(p) % dtype_size(t.dtype) != 0) {
      // The format does not promise alignment; copy the rare misaligned tensor rather than read it misaligned.
      auto copy = std::make_shared<std::vector<uint64_t>>((end - begin + 7) / 8);
      std::memcpy(copy->data(), p, end - begin);
      out.realigned_.push_back(copy);
      p = reinterpret_cast<const uint8_t*>(copy->data());
    }
    t.data = p;
    out.tensors_.emplace(it.key(), t);
    if (end > begin) spans.push_back({begin, end, it.key()});
  }
  std::sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) { return a.begin < b.begin; });
  for (size_t i = 1; i < spans.size(); ++i)
    if (spans[i].begin < spans[i - 1].end)
      return Status::errorf("{}: tensors '{}' and '{}' overlap", path, spans[i - 1].name, spans[i].name);
  return out;
}

Result<WeightStore> WeightStore::open_dir(const std::string& dir) {
  WeightStore ws;
  ws.source_ = dir;
  std::vector<std::string> files;
  const fs::path index = fs::path(dir) / "model.safetensors.index.json";
  std::map<std::string, std::string> weight_map;
  if (fs::exists(index)) {
    std::ifstream in(index);
    json j = json::parse(in, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object() || !j.contains("weight_map") || !j["weight_map"].is_object())
      return Status::errorf("{}: malformed index (no \"weight_map\" object)", index.string());
    for (auto it = j["weight_map"].begin(); it != j["weight_map"].end(); ++it) {
      if (!it.value().is_string()) return Status::errorf("{}: weight_map['{}'] is not a string", index.string(), it.key());
      const std::string shard = it.value().get<std::string>();
      if (shard.find('/') != std::string::npos || shard.find("..") != std::string::npos)
        return Status::errorf("{}: shard name '{}' is not a plain file name", index.string(), shard);
      weight_map[it.key()] = shard;
      if (std::find(files.begin(), files.end(), shard) == files.end()) files.push_back(shard);
    }
  } else if (fs::exists(fs::path(dir) / "model.safetensors")) {
    files.push_back("model.safetensors");
  } else {
    return Status::errorf("{}: no model.safetensors or model.safetensors.index.json", dir);
  }
  for (const std::string& f : files) {
    R1_ASSIGN_OR_RETURN(auto st, SafetensorsFile::open((fs::path(dir) / f).string()));
    for (const auto& [name, t] : st.tensors()) {
      if (ws.where_.count(name))
        return Status::errorf("{}: tensor '{}' appears in more than one shard", st.path(), name);
      ws.where_[name] = {ws.files_.size(), t};
    }
    ws.files_.push_back(std::move(st));
  }
  for (const auto& [name, shard] : weight_map) {
    auto it = ws.where_.find(name);
    if (it == ws.where_.end() || ws.files_[it->second.first].path() != (fs::path(dir) / shard).string())
      return Status::errorf("{}: tensor '{}' is listed in shard {} but not found there", index.string(), name, shard);
  }
  return ws;
}

Result<Tensor> WeightStore::get(const std::string& name, std::vector<int64_t> shape, bool allow_fp8) {
  auto it = where_.find(name);
  if (it == where_.end()) return Status::errorf("missing tensor '{}'", name);
  const auto& [file, t] = it->second;
  const std::string& path = file < files_.size() ? files_[file].path() : source_;
  if (t.dtype == DType::kF8E4M3 && !allow_fp8)
    return Status::errorf("{}: tensor '{}' is F8_E4M3, which is only supported for Linear weights with a "
                          "'weight_scale_inv'", path, name);
  if (t.dtype != DType::kF32 && t.dtype != DType::kF16 && t.dtype != DType::kBF16 && t.dtype != DType::kF8E4M3 &&
      !dtype_is_quantized(t.dtype))
    return Status::errorf("{}: tensor '{}' has dtype {}, expected F32, F16, BF16 or a GGUF quantized type", path,
                          name, dtype_name(t.dtype));
  bool same = t.rank == int(shape.size());
  for (int i = 0; same && i < t.rank; ++i) same = t.shape[i] == shape[i];
  if (!same) {
    Tensor want;
    want.rank = int(shape.size());
    for (int i = 0; i < want.rank; ++i) want.shape[i] = shape[i];
    return Status::errorf("{}: tensor '{}' has shape {} but the config implies {}", path, name, t.shape_string(),
                          want.shape_string());
  }
  used_.insert(name);
  return t;
}

std::map<std::string, Tensor> WeightStore::take_prefix(const std::string& prefix) {
  std::map<std::string, Tensor> out;
  for (auto it = where_.lower_bound(prefix); it != where_.end() && it->first.starts_with(prefix); ++it) {
    out[it->first] = it->second.second;
    used_.insert(it->first);
  }
  return out;
}

Tensor WeightStore::adopt(std::vector<float> data, std::vector<int64_t> shape) {
  auto buf = std::make_shared<std::vector<float>>(std::move(data));
  owned_.push_back(buf);
  Tensor t;
  t.dtype = DType::kF32;
  t.rank = int(shape.size());
  for (int i = 0; i < t.rank; ++i) t.shape[i] = shape[size_t(i)];
  t.data = buf->data();
  return t;
}

Tensor WeightStore::adopt_bytes(std::vector<uint8_t> data, DType dtype, std::vector<int64_t> shape) {
  auto buf = std::make_shared<std::vector<uint8_t>>(std::move(data));
  owned_.push_back(buf);
  Tensor t;
  t.dtype = dtype;
  t.rank = int(shape.size());
  for (int i = 0; i < t.rank; ++i) t.shape[i] = shape[size_t(i)];
  t.data = buf->data();
  return t;
}

void WeightStore::add(const std::string& name, Tensor t, std::shared_ptr<const void> owner) {
  if (owner) owned_.push_back(std::move(owner));
  where_[name] = {files_.size() + 1, t};  // no safetensors file: messages name source()
}

void WeightStore::release(const Tensor& t) const {
  for (const SafetensorsFile& f : files_)
    if (f.mapping().release(t.data, t.nbytes())) return;
}

bool WeightStore::is_moe() const {
  for (const auto& [name, _] : where_)
    if (name.find(".mlp.experts.") != std::string::npos) return true;
  return false;
}

std::vector<std::string> WeightStore::unused() const {
  std::vector<std::string> out;
  for (const auto& [name, _] : where_)
    if (!used_.count(name)) out.push_back(name);
  return out;
}

std::vector<std::string> WeightStore::names() const {
  std::vector<std::string> out;
  for (const auto& [name, _] : where_) out.push_back(name);
  return out;
}

size_t WeightStore::total_bytes() const {
  size_t n = 0;
  for (const auto& [_, ft] : where_) n += ft.second.nbytes();
  return n;
}

int64_t WeightStore::total_elements() const {
  int64_t n = 0;
  for (const auto& [_, ft] : where_) n += ft.second.numel();
  return n;
}

DType WeightStore::main_dtype() const {
  std::map<DType, size_t> by;
  for (const auto& [_, ft] : where_) by[ft.second.dtype] += ft.second.nbytes();
  DType best = DType::kF32;
  size_t most = 0;
  for (auto [d, n] : by)
    if (n > most) most = n, best = d;
  return best;
}

}  // namespace r1
