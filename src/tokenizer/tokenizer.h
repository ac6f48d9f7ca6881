// Text <-> token ids for the models r1 runs, following Hugging Face `tokenizers` semantics for two BPE
// flavours:
//  * byte-level BPE (GPT-2 style: Qwen2 / R1-Distill-Qwen, DeepSeek-V3 / R1), and
//  * SentencePiece-style BPE with byte fallback (Llama-2 style tokenizer.json, e.g. stories260K).
// A tokenizer is loaded once from a Hugging Face folder and is then immutable and safe to share between
// threads (encode's word cache is internally locked), apart from set_chat_template.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace r1 {

class GgufFile;
namespace tok {
struct TokenizerSpec;
}

// Pre-tokenizer presets for folders that only have vocab.json + merges.txt (the regex splits of the model's
// own tokenizer.json, as llama.cpp's `tokenizer.ggml.pre` names them).
enum class PreTokenizerKind { kQwen2, kDeepSeekV3, kDeepSeekLlm, kDeepSeekCoder, kLlamaBpe, kGpt2 };

// "qwen2", "deepseek-v3", "deepseek-llm", "deepseek-coder", "llama-bpe", "gpt2"; from_name also takes
// llama.cpp's alias "deepseek-r1-qwen" (= qwen2).
std::string_view pre_tokenizer_kind_name(PreTokenizerKind kind);
std::optional<PreTokenizerKind> pre_tokenizer_kind_from_name(std::string_view name);
// Every name from_name accepts, comma-separated (for error messages).
std::string pre_tokenizer_kind_names();

struct TokenizerLoadOptions {
  // Preset for a folder without tokenizer.json. Default: qwen2 when tokenizer_config.json's tokenizer_class
  // is Qwen2Tokenizer(Fast), else gpt2. Ignored when tokenizer.json exists (it describes its own
  // pre-tokenizer). For a GGUF "gpt2" vocabulary it replaces tokenizer.ggml.pre.
  std::optional<PreTokenizerKind> pre_tokenizer;
};

class Tokenizer {
 public:
  // A folder with tokenizer.json, or vocab.json + merges.txt (merges with or without a leading "#version"
  // line), plus optional tokenizer_config.json (added_tokens_decoder, bos_token/eos_token,
  // add_bos_token/add_eos_token, chat_template), special_tokens_map.json, added_tokens.json and
  // chat_template.jinja.
  static Result<std::unique_ptr<Tokenizer>> load_dir(const std::string& dir,
                                                     const TokenizerLoadOptions& options = {});
  // The vocabulary of a GGUF file (tokenizer.ggml.*): model "gpt2" (byte-level BPE with merges; the
  // pre-tokenizer from tokenizer.ggml.pre, gpt2 when absent) or "llama" (SentencePiece BPE: merges by piece
  // score, byte fallback, "▁" for spaces). Control and user-defined tokens become added tokens (control ones
  // special); BOS/EOS and whether to add them come from the file, and tokenizer.chat_template is read.
  // options.pre_tokenizer overrides tokenizer.ggml.pre.
  static Result<std::unique_ptr<Tokenizer>> load_gguf(const std::string& path,
                                                      const TokenizerLoadOptions& options = {});
  static Result<std::unique_ptr<Tokenizer>> from_gguf(const GgufFile& file,
                                                      const TokenizerLoadOptions& options = {});
  // load_gguf for a file, load_dir for a folder.
  static Result<std::unique_ptr<Tokenizer>> load(const std::string& path,
                                                 const TokenizerLoadOptions& options = {});
  ~Tokenizer();
  Tokenizer(const Tokenizer&) = delete;
  Tokenizer& operator=(const Tokenizer&) = delete;

  // Added/special tokens written in `text` are matched first (leftmost-longest) and never split. With
  // add_special, BOS (and EOS) are added when the tokenizer is configured to add them.
  // Invalid UTF-8 is accepted and kept: every byte reaches a token (byte-level vocabularies have one per
  // byte, SentencePiece ones with byte fallback use <0xNN>; regex pre-tokenizers put invalid bytes in pieces
  // of their own), so decode(encode(s)) == utf8::to_valid(s) wherever the normalizer leaves s alone.
  std::vector<int32_t> encode(std::string_view text, bool add_special = false) const;
  // Unknown ids are skipped; bytes that do not form UTF-8 become U+FFFD (see utf8.h).
  std::string decode(std::span<const int32_t> ids, bool skip_special = false) const;

  int32_t vocab_size() const;  // 1 + highest id (base vocab + added tokens)
  std::optional<int32_t> bos_id() const;
  std::optional<int32_t> eos_id() const;
  bool add_bos() const;
  const std::string& bos_token() const;                           // "" when none
  const std::string& eos_token() const;                           // "" when none
  std::optional<int32_t> token_id(std::string_view token) const;  // exact token string (added or vocab) -> id
  std::string_view token_text(int32_t id) const;                  // inverse of token_id; "" for unknown ids
  // The raw bytes one token decodes to (byte-level and byte-fallback pieces may be partial UTF-8); "" for
  // unknown ids. decode() is these bytes concatenated, then made valid UTF-8.
  std::string_view token_bytes(int32_t id) const;
  bool is_special(int32_t id) const;
  const std::string& chat_template() const;  // "" when none
  // Replaces the chat template (a --chat-template override, or a template shipped as a separate file).
  void set_chat_template(std::string chat_template);

  // What the tokenizer was built from, without the vocabulary (that is token_text): normalizer,
  // pre-tokenizer, merges, decoder, added tokens and special-token settings. Internal to src/tokenizer/ (the
  // GGUF export in tokenizer/gguf_export.cc reads it).
  const tok::TokenizerSpec& spec() const;

  class Impl;  // opaque: defined in tokenizer.cc

 private:
  explicit Tokenizer(std::unique_ptr<Impl> impl);
  friend class StreamDecoder;
  std::unique_ptr<Impl> impl_;
};

// Incremental detokenizer for streaming generated ids. push() returns only complete UTF-8 characters: a
// character split across tokens is held back until its last byte arrives. Bytes that can never become valid
// UTF-8 are emitted as U+FFFD as soon as that is certain (one per maximal ill-formed subpart); flush() turns
// a still-incomplete tail into U+FFFD. The concatenation of all push() results and flush() equals decode(all
// ids, skip_special). The tokenizer must outlive the decoder; use one decoder per stream.
//
// HF's ByteFallback decoder turns a whole run of <0xNN> tokens into U+FFFDs when the run is not valid UTF-8
// (it must see the end of the run first, so it cannot stream); here decode and StreamDecoder replace only the
// ill-formed bytes, so the two differ only on output that is not valid UTF-8 anyway.
class StreamDecoder {
 public:
  explicit StreamDecoder(const Tokenizer& tokenizer, bool skip_special = true);
  std::string push(int32_t id);
  std::string flush();

 private:
  const Tokenizer& tokenizer_;
  bool skip_special_;
  bool at_start_ = true;  // only spaces so far: the decoder's leading-space strip still applies
  int stripped_ = 0;      // leading spaces stripped so far
  std::string pending_;   // bytes of an incomplete UTF-8 character
};

}  // namespace r1
