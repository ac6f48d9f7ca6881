// The GGUF metadata keys r1 reads: the one table of these strings (see llama.cpp's gguf-py `Keys`). Code
// outside io/ names keys through these constants, never as literals, so a grep finds every reader of a key.
#pragma once

#include <string_view>

namespace r1::gguf_key {

// ---- general ----
inline constexpr std::string_view kArchitecture = "general.architecture";
inline constexpr std::string_view kName = "general.name";
inline constexpr std::string_view kAlignment = "general.alignment";  // uint32, power of two; default 32

// ---- tokenizer ----
inline constexpr std::string_view kTokenizerModel = "tokenizer.ggml.model";  // "gpt2", "llama", ...
inline constexpr std::string_view kTokenizerPre = "tokenizer.ggml.pre";      // pre-tokenizer preset name
inline constexpr std::string_view kTokens = "tokenizer.ggml.tokens";         // [string] token text by id
inline constexpr std::string_view kTokenType = "tokenizer.ggml.token_type";  // [int32] GgufTokenType by id
inline constexpr std::string_view kScores = "tokenizer.ggml.scores";         // [float32] SentencePiece scores
inline constexpr std::string_view kMerges = "tokenizer.ggml.merges";  // [string] "left right", rank order
inline constexpr std::string_view kBosTokenId = "tokenizer.ggml.bos_token_id";
inline constexpr std::string_view kEosTokenId = "tokenizer.ggml.eos_token_id";
inline constexpr std::string_view kUnknownTokenId = "tokenizer.ggml.unknown_token_id";
inline constexpr std::string_view kPaddingTokenId = "tokenizer.ggml.padding_token_id";
inline constexpr std::string_view kAddBosToken = "tokenizer.ggml.add_bos_token";
inline constexpr std::string_view kAddEosToken = "tokenizer.ggml.add_eos_token";
inline constexpr std::string_view kAddSpacePrefix =
    "tokenizer.ggml.add_space_prefix";  // SentencePiece dummy "▁"
inline constexpr std::string_view kChatTemplate = "tokenizer.chat_template";

// Values of tokenizer.ggml.model.
inline constexpr std::string_view kModelGpt2 = "gpt2";    // byte-level BPE with a merge list
inline constexpr std::string_view kModelLlama = "llama";  // SentencePiece BPE: merges by score, byte fallback

// tokenizer.ggml.token_type values (llama.cpp's llama_token_type).
enum class GgufTokenType : int {
  kUndefined = 0,
  kNormal = 1,
  kUnknown = 2,
  kControl =
      3,  // special tokens (BOS, EOS, <｜User｜> ...): matched in text, skipped by decode(skip_special)
  kUserDefined = 4,  // added tokens that are not special: matched in text, kept by decode
  kUnused = 5,
  kByte = 6,  // SentencePiece byte-fallback tokens <0xNN>
};

}  // namespace r1::gguf_key
