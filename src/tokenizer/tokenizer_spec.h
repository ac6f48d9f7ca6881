// Typed description of a Hugging Face tokenizer, filled once at load time from tokenizer.json (or vocab.json
// + merges.txt + a preset) and the tokenizer_config.json family. Everything downstream (normalizer,
// pre-tokenizer, BPE, decoder) is built from these structs; no JSON key or type string survives past
// hf_files.cc. Internal to src/tokenizer/.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace r1::tok {

// ---- normalizer (tokenizer.json "normalizer") ----
enum class UnicodeForm { kNfc, kNfd, kNfkc, kNfkd };
struct UnicodeNormalize {
  UnicodeForm form;
};
struct Prepend {  // "Prepend": prefix added to every non-empty piece (SentencePiece dummy prefix "▁")
  std::string prefix;
};
struct Replace {  // "Replace" with a literal String pattern
  std::string from, to;
};
using NormalizerStep = std::variant<UnicodeNormalize, Prepend, Replace>;

// ---- pre-tokenizer (tokenizer.json "pre_tokenizer") ----
// How a Split pre-tokenizer treats the matched delimiters (HF SplitDelimiterBehavior).
enum class SplitBehavior { kIsolated, kRemoved, kMergedWithPrevious, kMergedWithNext, kContiguous };
struct SplitStep {
  std::string pattern;  // a PCRE2-compatible regex, or a literal string when !is_regex
  bool is_regex = true;
  SplitBehavior behavior = SplitBehavior::kIsolated;
  bool invert = false;  // split on the non-matching parts instead
};
struct ByteLevelStep {
  bool add_prefix_space = false;  // prepend ' ' to every piece that does not start with one
  bool use_regex = true;          // also split with the GPT-2 regex
};
enum class PrependScheme { kAlways, kFirst, kNever };
struct MetaspaceStep {
  std::string replacement = "\xE2\x96\x81";  // "▁"
  PrependScheme prepend_scheme = PrependScheme::kAlways;
  bool split = true;  // split into words, each starting with the replacement
};
struct DigitsStep {
  bool individual_digits = false;
};
using PreTokenizerStep = std::variant<SplitStep, ByteLevelStep, MetaspaceStep, DigitsStep>;

// ---- model (tokenizer.json "model", type BPE) ----
struct BpeSpec {
  std::vector<std::pair<std::string, int32_t>> vocab;       // token text -> id
  std::vector<std::pair<std::string, std::string>> merges;  // in rank order
  // Rank of each merge when it is not simply its index: SentencePiece vocabularies (GGUF "llama") merge the
  // pair whose merged piece has the highest score, leftmost among equal scores, so pieces of equal score
  // share a rank. Empty, or one entry per merge.
  std::vector<int32_t> merge_ranks;
  std::optional<std::string> unk_token;
  bool byte_fallback = false;  // unknown characters become <0xNN> tokens
  bool fuse_unk = false;       // consecutive unknown characters become one unk token
  bool ignore_merges = false;  // a word that is itself in the vocab is emitted whole
};

// ---- decoder (tokenizer.json "decoder") ----
struct DecoderSpec {
  bool byte_level = false;       // token characters map back to bytes through the GPT-2 byte table
  std::string metaspace;         // replaced by ' ' in token text ("" = none)
  bool byte_fallback = false;    // "<0xNN>" tokens decode to the byte NN
  int strip_leading_spaces = 0;  // spaces removed from the start of the decoded text
};

// ---- added tokens (tokenizer.json "added_tokens", tokenizer_config.json "added_tokens_decoder") ----
struct AddedTokenSpec {
  int32_t id = -1;
  std::string content;
  bool special = false;      // skipped by decode(skip_special)
  bool lstrip = false;       // the match swallows whitespace on its left
  bool rstrip = false;       // the match swallows whitespace on its right
  bool single_word = false;  // only matches when not inside a word
  bool normalized = false;   // matched against normalized text instead of the raw input
};

struct TokenizerSpec {
  std::vector<NormalizerStep> normalizer;
  std::vector<PreTokenizerStep> pre_tokenizer;
  BpeSpec model;
  DecoderSpec decoder;
  std::vector<AddedTokenSpec> added_tokens;

  // Post-processor (TemplateProcessing "single") special tokens around the sequence.
  std::optional<int32_t> template_bos_id, template_eos_id;

  // tokenizer_config.json / special_tokens_map.json
  std::optional<std::string> bos_token, eos_token;
  std::optional<bool> add_bos_token, add_eos_token;
  std::vector<std::string> extra_special_tokens;  // bos/eos/pad/unk/additional_special_tokens by name
  std::string chat_template;
  std::string tokenizer_class;
};

}  // namespace r1::tok
