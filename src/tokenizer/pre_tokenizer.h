// Normalization and pre-tokenization: the steps that turn one piece of input text (between added tokens) into
// the words that BPE sees. Built once from the typed spec; regexes are compiled (PCRE2, UTF + UCP, JIT) at
// load. Internal to src/tokenizer/.
#pragma once

#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/status.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/tokenizer_spec.h"

namespace r1::tok {

// The normalizer, pre-tokenizer and BPE flags of a preset (used for vocab.json + merges.txt folders).
void apply_preset(PreTokenizerKind kind, TokenizerSpec& spec);

// A compiled regex. Invalid UTF-8 in the subject is allowed: such bytes are simply never part of a match.
class Regex {
 public:
  static Result<Regex> compile(const std::string& pattern);
  // Appends [start, end) of every non-overlapping, non-empty match, left to right. Returns false when the
  // matcher gave up (resource limit); the spans found so far are kept.
  bool find_all(std::string_view text, std::vector<std::pair<size_t, size_t>>& spans) const;

 private:
  struct Code;
  std::shared_ptr<const Code> code_;
};

class Normalizer {
 public:
  Normalizer() = default;
  explicit Normalizer(std::vector<NormalizerStep> steps) : steps_(std::move(steps)) {}
  bool empty() const { return steps_.empty(); }
  std::string apply(std::string_view text) const;

 private:
  std::vector<NormalizerStep> steps_;
};

// A word produced by pre-tokenization: a view into the caller's text or into Words::storage.
struct Word {
  std::string_view text;
  bool at_start = false;  // begins the whole input (Metaspace prepend_scheme "first")
};

struct Words {
  std::vector<Word> items;
  std::deque<std::string> storage;  // text of words a step rewrote (stable addresses)
  void clear() {
    items.clear();
    storage.clear();
  }
};

class PreTokenizer {
 public:
  static Result<PreTokenizer> build(const std::vector<PreTokenizerStep>& steps);

  // Splits one normalized piece into words (appended to out).
  void split(std::string_view text, bool at_start, Words& out) const;
  // True when a ByteLevel step is present: words are raw bytes and the vocab is byte-level encoded.
  bool byte_level() const { return byte_level_; }

  struct RegexSplit {
    Regex regex;
    std::string literal;  // used instead of the regex when non-empty
    SplitBehavior behavior = SplitBehavior::kIsolated;
    bool invert = false;
  };
  struct PrefixSpace {};  // ByteLevel add_prefix_space
  struct MetaspaceRewrite {
    std::string replacement;
    PrependScheme prepend_scheme;
  };
  using Step = std::variant<RegexSplit, PrefixSpace, MetaspaceRewrite>;

 private:
  std::vector<Step> steps_;
  bool byte_level_ = false;
};

// GPT-2 byte <-> unicode table: every byte maps to one printable code point, so byte-level vocab strings can
// be stored in JSON. byte_to_unicode()[b] is the UTF-8 text of byte b's character.
const std::vector<std::string>& byte_to_unicode();
// Inverse of the table: converts a byte-level token string to raw bytes; false if a character is not in it.
bool byte_level_decode(std::string_view token, std::string& out);
// Like byte_level_decode, but characters outside the table are copied through as their UTF-8 bytes (what the
// HF ByteLevel decoder does for added tokens such as "<｜User｜>").
std::string byte_level_decode_lossy(std::string_view token);

}  // namespace r1::tok
