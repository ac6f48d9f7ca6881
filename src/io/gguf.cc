#include "io/gguf.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstring>

#include "io/gguf_keys.h"
#include "io/mmap.h"

namespace r1 {

namespace {

constexpr uint32_t kMaxDims = 4;   // GGML_MAX_DIMS
constexpr int kMaxArrayDepth = 8;  // arrays of arrays deeper than this are refused (stack safety)
constexpr uint32_t kMaxAlignment = 1u << 24;
constexpr uint64_t kMaxReserve = 1 << 16;  // entries reserved ahead of parsing them

// Bytes of one scalar element; 0 for string and array.
size_t scalar_size(GgufType t) {
  switch (t) {
    case GgufType::kUint8:
    case GgufType::kInt8:
    case GgufType::kBool:
      return 1;
    case GgufType::kUint16:
    case GgufType::kInt16:
      return 2;
    case GgufType::kUint32:
    case GgufType::kInt32:
    case GgufType::kFloat32:
      return 4;
    case GgufType::kUint64:
    case GgufType::kInt64:
    case GgufType::kFloat64:
      return 8;
    case GgufType::kString:
    case GgufType::kArray:
      return 0;
  }
  return 0;
}

bool is_integer(GgufType t) {
  switch (t) {
    case GgufType::kUint8:
    case GgufType::kInt8:
    case GgufType::kUint16:
    case GgufType::kInt16:
    case GgufType::kUint32:
    case GgufType::kInt32:
    case GgufType::kUint64:
    case GgufType::kInt64:
      return true;
    default:
      return false;
  }
}

// An integer of type t from its zero-extended little-endian bits.
std::optional<int64_t> integer_of(GgufType t, uint64_t bits) {
  switch (t) {
    case GgufType::kUint8:
    case GgufType::kUint16:
    case GgufType::kUint32:
      return static_cast<int64_t>(bits);
    case GgufType::kInt8:
      return static_cast<int8_t>(bits);
    case GgufType::kInt16:
      return static_cast<int16_t>(bits);
    case GgufType::kInt32:
      return static_cast<int32_t>(bits);
    case GgufType::kUint64:
      if (bits > static_cast<uint64_t>(INT64_MAX)) return std::nullopt;
      return static_cast<int64_t>(bits);
    case GgufType::kInt64:
      return static_cast<int64_t>(bits);
    default:
      return std::nullopt;
  }
}

std::optional<double> number_of(GgufType t, uint64_t bits) {
  if (t == GgufType::kFloat32) {
    float f;
    const auto b = static_cast<uint32_t>(bits);
    std::memcpy(&f, &b, 4);
    return f;
  }
  if (t == GgufType::kFloat64) {
    double d;
    std::memcpy(&d, &bits, 8);
    return d;
  }
  if (t == GgufType::kUint64) return static_cast<double>(bits);
  if (const auto i = integer_of(t, bits)) return static_cast<double>(*i);
  return std::nullopt;
}

uint64_t load_bits(const uint8_t* p, size_t n) {
  uint64_t bits = 0;
  std::memcpy(&bits, p, n);  // little-endian host, as everywhere r1 runs
  return bits;
}

// ggml's type table (ggml.h enum ggml_type; block and byte sizes from ggml's type_traits). Removed ids have
// no name.
constexpr std::array<GgmlTypeInfo, 40> kGgmlTypes = {{
    {"f32", 1, 4},      {"f16", 1, 2},        {"q4_0", 32, 18},    {"q4_1", 32, 20},     {"", 0, 0},
    {"", 0, 0},         {"q5_0", 32, 22},     {"q5_1", 32, 24},    {"q8_0", 32, 34},     {"q8_1", 32, 36},
    {"q2_K", 256, 84},  {"q3_K", 256, 110},   {"q4_K", 256, 144},  {"q5_K", 256, 176},   {"q6_K", 256, 210},
    {"q8_K", 256, 292}, {"iq2_xxs", 256, 66}, {"iq2_xs", 256, 74}, {"iq3_xxs", 256, 98}, {"iq1_s", 256, 50},
    {"iq4_nl", 32, 18}, {"iq3_s", 256, 110},  {"iq2_s", 256, 82},  {"iq4_xs", 256, 136}, {"i8", 1, 1},
    {"i16", 1, 2},      {"i32", 1, 4},        {"i64", 1, 8},       {"f64", 1, 8},        {"iq1_m", 256, 56},
    {"bf16", 1, 2},     {"", 0, 0},           {"", 0, 0},          {"", 0, 0},           {"tq1_0", 256, 54},
    {"tq2_0", 256, 66}, {"", 0, 0},           {"", 0, 0},          {"", 0, 0},           {"mxfp4", 32, 17},
}};

}  // namespace

std::string_view gguf_type_name(GgufType type) {
  static constexpr std::array<std::string_view, 13> kNames = {
      "uint8", "int8",   "uint16", "int16",  "uint32", "int32",  "float32",
      "bool",  "string", "array",  "uint64", "int64",  "float64"};
  const auto i = static_cast<uint32_t>(type);
  return i < kNames.size() ? kNames[i] : std::string_view("unknown");
}

const GgmlTypeInfo* ggml_type_info(uint32_t type) {
  if (type >= kGgmlTypes.size() || kGgmlTypes[type].block_size == 0) return nullptr;
  return &kGgmlTypes[type];
}

// ===========================================================================================================
// Values
// ===========================================================================================================

std::optional<int64_t> GgufValue::as_int() const {
  return integer_of(type_, bits_);
}
std::optional<double> GgufValue::as_float() const {
  return number_of(type_, bits_);
}
std::optional<bool> GgufValue::as_bool() const {
  if (type_ != GgufType::kBool) return std::nullopt;
  return bits_ != 0;
}
std::optional<std::string_view> GgufValue::as_string() const {
  if (type_ != GgufType::kString) return std::nullopt;
  return str_;
}
std::string GgufValue::type_string() const {
  std::string s;
  const GgufValue* v = this;
  while (v->type_ == GgufType::kArray && v->array_ != nullptr) {
    s += "array of ";
    if (v->array_->type != GgufType::kArray || v->array_->arrays.empty()) {
      s += gguf_type_name(v->array_->type);
      return s;
    }
    v = &v->array_->arrays.front();
  }
  return s + std::string(gguf_type_name(v->type_));
}

std::optional<int64_t> GgufArray::int_at(uint64_t i) const {
  const size_t n = scalar_size(type);
  if (n == 0 || i >= size || type == GgufType::kBool) return std::nullopt;
  return integer_of(type, load_bits(raw + i * n, n));
}
std::optional<double> GgufArray::float_at(uint64_t i) const {
  const size_t n = scalar_size(type);
  if (n == 0 || i >= size || type == GgufType::kBool) return std::nullopt;
  return number_of(type, load_bits(raw + i * n, n));
}

// ===========================================================================================================
// Parser
// ===========================================================================================================

class GgufParser {
 public:
  explicit GgufParser(GgufFile& f) : f_(f), data_(f.data_), size_(f.size_) {}

  Status parse() {
    R1_RETURN_IF_ERROR(parse_header());
    for (uint64_t i = 0; i < n_kv_; ++i) R1_RETURN_IF_ERROR(parse_kv(i));
    R1_RETURN_IF_ERROR(read_alignment());
    for (uint64_t i = 0; i < n_tensors_; ++i) R1_RETURN_IF_ERROR(parse_tensor_info(i));
    return place_tensors();
  }

 private:
  template <typename... Args>
  Status fail(fmt::format_string<Args...> format, Args&&... args) const {
    return Status::error(f_.name_ + ": " + fmt::format(format, std::forward<Args>(args)...));
  }
  Status truncated(std::string_view what) const {
    return fail("truncated: the file ends ({} bytes) while reading {}", size_, what);
  }
  size_t left() const { return size_ - pos_; }

  template <typename T>
  bool read(T& v) {
    if (left() < sizeof(T)) return false;
    std::memcpy(&v, data_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return true;
  }

  // `what` names the value in messages; `index` >= 0 names an element of it (formatted only on error).
  Status read_string(std::string_view& out, const std::string& what, int64_t index = -1) {
    uint64_t len = 0;
    const auto name = [&] { return index < 0 ? what : fmt::format("{}[{}]", what, index); };
    if (!read(len)) return truncated(name() + " (string length)");
    if (len > left()) {
      return fail("{}: string of {} bytes at offset {} runs past the end of the file ({} bytes)", name(), len,
                  pos_, size_);
    }
    out = std::string_view(reinterpret_cast<const char*>(data_ + pos_), len);
    pos_ += len;
    return Status::ok();
  }

  Status read_type(GgufType& type, const std::string& what) {
    uint32_t raw = 0;
    if (!read(raw)) return truncated(what + " (value type)");
    if (raw > static_cast<uint32_t>(GgufType::kFloat64)) return fail("{}: unknown value type {}", what, raw);
    type = static_cast<GgufType>(raw);
    return Status::ok();
  }

  Status parse_header() {
    if (size_ < 4 || std::memcmp(data_, "GGUF", 4) != 0) {
      return fail("not a GGUF file (the first 4 bytes are not \"GGUF\")");
    }
    pos_ = 4;
    uint32_t version = 0;
    if (!read(version)) return truncated("the version");
    if (version == 1) return fail("GGUF version 1 is not supported (only versions 2 and 3)");
    if (version != 2 && version != 3) {
      if ((version & 0xFFFF) == 0 && (version == (2u << 24) || version == (3u << 24))) {
        return fail("big-endian GGUF files are not supported");
      }
      return fail("unsupported GGUF version {} (only versions 2 and 3)", version);
    }
    f_.version_ = version;
    if (!read(n_tensors_)) return truncated("the tensor count");
    if (!read(n_kv_)) return truncated("the metadata count");
    // Each entry takes at least 13 (key/value) or 24 (tensor info) bytes: refuse counts the file cannot hold
    // before reserving anything.
    if (n_kv_ > left() / 13) return fail("metadata count {} is beyond what the file can hold", n_kv_);
    if (n_tensors_ > left() / 24) return fail("tensor count {} is beyond what the file can hold", n_tensors_);
    // Reserve a little: the counts are only bounds, and memory should grow with what is actually parsed.
    f_.kv_.reserve(std::min<uint64_t>(n_kv_, kMaxReserve));
    f_.tensors_.reserve(std::min<uint64_t>(n_tensors_, kMaxReserve));
    return Status::ok();
  }

  Status parse_kv(uint64_t i) {
    const std::string entry = fmt::format("metadata entry {} of {}", i + 1, n_kv_);
    std::string_view key;
    R1_RETURN_IF_ERROR(read_string(key, entry + " key"));
    if (key.empty()) return fail("{}: empty key", entry);
    const std::string what = fmt::format("metadata key \"{}\"", key);
    if (f_.kv_index_.count(key) != 0) return fail("{} appears twice", what);
    GgufType type = GgufType::kUint8;
    R1_RETURN_IF_ERROR(read_type(type, what));
    GgufValue value;
    R1_RETURN_IF_ERROR(read_value(type, 0, value, what));
    f_.kv_index_.emplace(key, f_.kv_.size());
    f_.kv_.push_back({key, std::move(value)});
    return Status::ok();
  }

  Status read_value(GgufType type, int depth, GgufValue& out, const std::string& what) {
    out.type_ = type;
    if (type == GgufType::kString) return read_string(out.str_, what);
    if (type == GgufType::kArray) return read_array(depth, out, what);
    const size_t n = scalar_size(type);
    if (left() < n) return truncated(what);
    out.bits_ = load_bits(data_ + pos_, n);
    pos_ += n;
    if (type == GgufType::kBool && out.bits_ > 1)
      return fail("{}: bool value {} is not 0 or 1", what, out.bits_);
    return Status::ok();
  }

  Status read_array(int depth, GgufValue& out, const std::string& what) {
    if (depth >= kMaxArrayDepth) return fail("{}: arrays nested more than {} deep", what, kMaxArrayDepth);
    auto array = std::make_shared<GgufArray>();
    R1_RETURN_IF_ERROR(read_type(array->type, what + " (array element type)"));
    if (!read(array->size)) return truncated(what + " (array length)");
    const uint64_t count = array->size;
    const std::string elements = fmt::format("{}: array of {} {}", what, count, gguf_type_name(array->type));
    if (const size_t n = scalar_size(array->type); n != 0) {
      if (count > left() / n) return fail("{} runs past the end of the file", elements);
      array->raw = data_ + pos_;
      pos_ += count * n;
      if (array->type == GgufType::kBool) {
        for (uint64_t k = 0; k < count; ++k) {
          if (array->raw[k] > 1) return fail("{}: element {} is not 0 or 1", elements, k);
        }
      }
    } else if (array->type == GgufType::kString) {
      if (count > left() / 8) return fail("{} runs past the end of the file", elements);
      array->strings.reserve(std::min<uint64_t>(count, kMaxReserve));
      for (uint64_t k = 0; k < count; ++k) {
        std::string_view item;
        R1_RETURN_IF_ERROR(read_string(item, what, static_cast<int64_t>(k)));
        array->strings.push_back(item);
      }
    } else {
      if (count > left() / 12) return fail("{} runs past the end of the file", elements);
      array->arrays.reserve(std::min<uint64_t>(count, kMaxReserve));
      for (uint64_t k = 0; k < count; ++k) {
        GgufValue& item = array->arrays.emplace_back();
        item.type_ = GgufType::kArray;
        R1_RETURN_IF_ERROR(read_array(depth + 1, item, fmt::format("{}[{}]", what, k)));
      }
    }
    out.array_ = std::move(array);
    return Status::ok();
  }

  Status read_alignment() {
    const GgufValue* v = f_.find(gguf_key::kAlignment);
    if (v == nullptr) return Status::ok();
    if (v->type() != GgufType::kUint32) return f_.type_error(gguf_key::kAlignment, "uint32");
    const auto a = static_cast<uint32_t>(*v->as_int());
    if (a == 0 || (a & (a - 1)) != 0 || a > kMaxAlignment) {
      return fail("metadata key \"{}\" is {}, expected a power of two up to {}", gguf_key::kAlignment, a,
                  kMaxAlignment);
    }
    f_.alignment_ = a;
    return Status::ok();
  }

  Status parse_tensor_info(uint64_t i) {
    GgufTensorInfo t;
    std::string_view name;
    R1_RETURN_IF_ERROR(read_string(name, fmt::format("tensor info {} of {} name", i + 1, n_tensors_)));
    if (name.empty()) return fail("tensor info {} of {}: empty name", i + 1, n_tensors_);
    t.name = std::string(name);
    const std::string what = fmt::format("tensor \"{}\"", t.name);
    if (f_.tensor_index_.count(t.name) != 0) return fail("{} appears twice", what);
    uint32_t n_dims = 0;
    if (!read(n_dims)) return truncated(what + " (dimension count)");
    if (n_dims > kMaxDims) return fail("{} has {} dimensions (at most {})", what, n_dims, kMaxDims);
    t.dims.resize(n_dims);
    unsigned __int128 elements = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      if (!read(t.dims[d])) return truncated(what + " (dimensions)");
      if (t.dims[d] > static_cast<uint64_t>(INT64_MAX)) return fail("{}: dimension {} is negative", what, d);
      elements *= t.dims[d];
      if (elements > static_cast<unsigned __int128>(INT64_MAX))
        return fail("{}: element count overflows", what);
    }
    if (!read(t.type)) return truncated(what + " (type)");
    const GgmlTypeInfo* info = ggml_type_info(t.type);
    if (info == nullptr) return fail("{}: unknown ggml type id {}", what, t.type);
    const uint64_t row = n_dims == 0 ? 1 : t.dims[0];
    if (row % info->block_size != 0) {
      return fail("{}: dimension 0 ({}) is not a multiple of the {} block size {}", what, row, info->name,
                  info->block_size);
    }
    const unsigned __int128 bytes = elements / info->block_size * info->type_size;
    if (bytes > size_)
      return fail("{}: its {} bytes of data are more than the whole file", what, uint64_t(bytes));
    t.nbytes = static_cast<uint64_t>(bytes);
    if (!read(t.offset)) return truncated(what + " (data offset)");
    f_.tensor_index_.emplace(t.name, f_.tensors_.size());
    f_.tensors_.push_back(std::move(t));
    return Status::ok();
  }

  // The data section starts at the first aligned offset after the tensor infos; every tensor must be aligned,
  // inside the file and apart from the others.
  Status place_tensors() {
    const uint64_t align = f_.alignment_;
    f_.data_offset_ = (pos_ + align - 1) / align * align;
    if (f_.tensors_.empty()) return Status::ok();
    if (f_.data_offset_ > size_) return truncated("the tensor data section");
    const uint64_t data_size = size_ - f_.data_offset_;
    std::vector<const GgufTensorInfo*> order;
    order.reserve(f_.tensors_.size());
    for (const GgufTensorInfo& t : f_.tensors_) {
      if (t.offset % align != 0) {
        return fail("tensor \"{}\": data offset {} is not a multiple of the alignment {}", t.name, t.offset,
                    align);
      }
      if (t.offset > data_size || t.nbytes > data_size - t.offset) {
        return fail(
            "tensor \"{}\": data [{}, {}) lies beyond the end of the file (data section holds {} bytes)",
            t.name, t.offset, t.offset + t.nbytes, data_size);
      }
      if (t.nbytes > 0) order.push_back(&t);
    }
    std::sort(order.begin(), order.end(), [](auto* a, auto* b) { return a->offset < b->offset; });
    for (size_t k = 1; k < order.size(); ++k) {
      if (order[k - 1]->offset + order[k - 1]->nbytes > order[k]->offset) {
        return fail("tensors \"{}\" and \"{}\" overlap", order[k - 1]->name, order[k]->name);
      }
    }
    return Status::ok();
  }

  GgufFile& f_;
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
  uint64_t n_tensors_ = 0, n_kv_ = 0;
};

// ===========================================================================================================
// GgufFile
// ===========================================================================================================

Result<GgufFile> GgufFile::open(const std::string& path) {
  R1_ASSIGN_OR_RETURN(std::shared_ptr<MappedFile> mapped, MappedFile::open(path));
  GgufFile f;
  f.name_ = path;
  f.data_ = mapped->data();
  f.size_ = mapped->size();
  f.owner_ = std::move(mapped);
  R1_RETURN_IF_ERROR(GgufParser(f).parse());
  return f;
}

Result<GgufFile> GgufFile::from_bytes(std::vector<uint8_t> bytes, std::string name) {
  auto owned = std::make_shared<std::vector<uint8_t>>(std::move(bytes));
  GgufFile f;
  f.name_ = std::move(name);
  f.data_ = owned->data();
  f.size_ = owned->size();
  f.owner_ = std::move(owned);
  R1_RETURN_IF_ERROR(GgufParser(f).parse());
  return f;
}

const GgufValue* GgufFile::find(std::string_view key) const {
  const auto it = kv_index_.find(key);
  return it == kv_index_.end() ? nullptr : &kv_[it->second].value;
}

const GgufTensorInfo* GgufFile::find_tensor(std::string_view name) const {
  const auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

std::span<const uint8_t> GgufFile::tensor_data(const GgufTensorInfo& t) const {
  return {data_ + data_offset_ + t.offset, static_cast<size_t>(t.nbytes)};
}

Status GgufFile::type_error(std::string_view key, std::string_view expected) const {
  const GgufValue* v = find(key);
  return Status::errorf("{}: metadata key \"{}\" is {}, expected {}", name_, key,
                        v == nullptr ? std::string("missing") : "of type " + v->type_string(), expected);
}

Result<std::string_view> GgufFile::get_string(std::string_view key) const {
  const GgufValue* v = find(key);
  if (v == nullptr || !v->as_string()) return type_error(key, "a string");
  return *v->as_string();
}

Result<int64_t> GgufFile::get_int(std::string_view key) const {
  const GgufValue* v = find(key);
  if (v == nullptr || !v->as_int()) return type_error(key, "an integer");
  return *v->as_int();
}

Result<bool> GgufFile::get_bool(std::string_view key) const {
  const GgufValue* v = find(key);
  if (v == nullptr || !v->as_bool()) return type_error(key, "a bool");
  return *v->as_bool();
}

Result<const GgufArray*> GgufFile::get_array(std::string_view key, GgufType element) const {
  const GgufValue* v = find(key);
  const GgufArray* a = v == nullptr ? nullptr : v->as_array();
  bool ok = a != nullptr;
  if (ok) {
    switch (element) {
      case GgufType::kInt32:  // any integer type
        ok = is_integer(a->type);
        break;
      case GgufType::kFloat32:  // any number
        ok = is_integer(a->type) || a->type == GgufType::kFloat32 || a->type == GgufType::kFloat64;
        break;
      default:
        ok = a->type == element;
    }
  }
  if (!ok) {
    const std::string_view name = element == GgufType::kInt32     ? "integers"
                                  : element == GgufType::kFloat32 ? "numbers"
                                                                  : gguf_type_name(element);
    return type_error(key, fmt::format("an array of {}", name));
  }
  return a;
}

}  // namespace r1
