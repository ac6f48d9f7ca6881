// Byte-pair encoding of one pre-tokenized word, as HF tokenizers' BPE model does it: split the word into
// symbols (bytes for byte-level vocabularies, characters otherwise, with <0xNN> byte fallback or unk for
// unknown characters), then repeatedly apply the lowest-ranked merge, leftmost first. Results are cached per
// word. Internal to src/tokenizer/.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/status.h"
#include "tokenizer/bpe_tables.h"
#include "tokenizer/tokenizer_spec.h"

namespace r1::tok {

// Hash/equality that let unordered_map<std::string, ...> be probed with a string_view without a copy.
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
template <typename V>
using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;

// Ids beyond this are rejected at load, so a corrupt file cannot make us allocate id tables of gigabytes.
inline constexpr int32_t kMaxTokenId = 1 << 24;

class BpeModel {
 public:
  // byte_level: the vocab and merges are written in the GPT-2 byte-to-unicode alphabet; they are converted to
  // raw bytes here, so words are encoded straight from their UTF-8 bytes.
  static Result<std::unique_ptr<BpeModel>> build(BpeSpec spec, bool byte_level);

  // Appends the ids of one word (raw bytes for byte-level models, normalized text otherwise).
  void encode_word(std::string_view word, std::vector<int32_t>& out) const;

  // Vocab entry by its stored text (the JSON string, e.g. "Ġhello"), as token_id needs.
  std::optional<int32_t> find_text(std::string_view text) const;
  // Largest id in the vocab (-1 when empty) and the JSON text of an id ("" for holes).
  int32_t max_id() const { return static_cast<int32_t>(id_to_text_.size()) - 1; }
  const std::string& text_of(int32_t id) const { return id_to_text_[static_cast<size_t>(id)]; }
  bool byte_level() const { return byte_level_; }

 private:
  BpeModel() = default;
  void symbolize(std::string_view word, std::vector<int32_t>& symbols) const;
  void merge(std::vector<int32_t>& symbols, size_t start) const;
  static constexpr int kShortWord = 12;  // merge() rescans words up to this many symbols instead of a heap

  bool byte_level_ = false;
  bool byte_fallback_ = false;
  bool fuse_unk_ = false;
  bool ignore_merges_ = false;
  std::optional<int32_t> unk_id_;
  StringMap<int32_t> vocab_;             // raw bytes (byte-level) or token text -> id
  PairTable merges_;                     // (left id, right id) -> rank and merged id
  std::array<int32_t, 256> byte_ids_{};  // byte-level: id of each single byte; fallback: id of <0xNN>
  std::vector<std::string> id_to_text_;  // stored text by id

  // Bounded per-word cache: words repeat a lot in natural text, and BPE is the expensive part.
  mutable std::mutex cache_mutex_;
  mutable WordCache cache_;
};

}  // namespace r1::tok
