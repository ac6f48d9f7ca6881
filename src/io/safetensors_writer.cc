#include "io/safetensors_writer.h"

#include <fstream>
#include <set>

#include <nlohmann/json.hpp>

namespace r1 {

Status write_safetensors(const std::string& path, std::span<const SafetensorsEntry> tensors) {
  nlohmann::ordered_json header;
  std::set<std::string> names;
  uint64_t offset = 0;
  for (const SafetensorsEntry& t : tensors) {
    if (t.name.empty() || t.name == "__metadata__" || !names.insert(t.name).second)
      return Status::errorf("{}: tensor name \"{}\" is empty, reserved or repeated", path, t.name);
    if (!dtype_from_name(dtype_name(t.dtype)))
      return Status::errorf("{}: tensor {}: a safetensors file cannot hold {}", path, t.name, dtype_name(t.dtype));
    int64_t n = 1;
    for (int64_t d : t.shape) {
      if (d < 0) return Status::errorf("{}: tensor {} has a negative dimension", path, t.name);
      n *= d;
    }
    const uint64_t bytes = dtype_row_bytes(t.dtype, n);
    header[t.name] = {{"dtype", std::string(dtype_name(t.dtype))}, {"shape", t.shape},
                      {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  header["__metadata__"] = {{"format", "pt"}};
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // data 8-byte aligned, as the format recommends

  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return Status::errorf("{}: cannot open for writing", path);
  const uint64_t len = text.size();
  unsigned char len_bytes[8];
  for (int i = 0; i < 8; ++i) len_bytes[i] = static_cast<unsigned char>(len >> (8 * i));  // little-endian
  out.write(reinterpret_cast<const char*>(len_bytes), 8);
  out.write(text.data(), std::streamsize(text.size()));
  for (const SafetensorsEntry& t : tensors) {
    int64_t n = 1;
    for (int64_t d : t.shape) n *= d;
    out.write(static_cast<const char*>(t.data), std::streamsize(dtype_row_bytes(t.dtype, n)));
  }
  out.flush();
  if (!out) return Status::errorf("{}: write failed (disk full?)", path);
  return Status::ok();
}

}  // namespace r1
