// Pre-tokenizer presets: the normalizer and pre_tokenizer sections of each model family's own tokenizer.json,
// for folders that ship only vocab.json + merges.txt. Non-ASCII characters in the patterns are written as
// \x{...} escapes so that no editor or tool can NFC-normalise them (several range ends, e.g. U+1F7D, U+212A,
// have canonical equivalents that would reverse or widen the ranges).
#include <array>

#include "tokenizer/pre_tokenizer.h"

namespace r1::tok {
namespace {

// Qwen2 / Qwen2.5 / R1-Distill-Qwen.
constexpr const char* kQwen2Pattern =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|)"
    R"(\s*[\r\n]+|\s+(?!\S)|\s+)";

// Llama 3 (R1-Distill-Llama): like Qwen2 but numbers in groups of up to three digits.
constexpr const char* kLlama3Pattern =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|)"
    R"(\s*[\r\n]+|\s+(?!\S)|\s+)";

// DeepSeek-V3 / R1: digits in groups of three, CJK + kana runs, then the word regex.
constexpr const char* kDeepSeekV3Digits = R"(\p{N}{1,3})";
constexpr const char* kDeepSeekV3Cjk = R"([\x{4E00}-\x{9FA5}\x{3040}-\x{309F}\x{30A0}-\x{30FF}]+)";
constexpr const char* kDeepSeekV3Words =
    R"re([!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+|)re"
    R"re( ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)re";

// DeepSeek-LLM / V2 / Coder-V2 (102k vocab). The letter class lists the cased letters (Lu, Ll, Lt) of the
// scripts that have case.
constexpr const char* kDeepSeekLlmLetters =
    R"(\s?[A-Za-z\x{B5}\x{C0}-\x{D6}\x{D8}-\x{F6}\x{F8}-\x{1BA}\x{1BC}-\x{1BF}\x{1C4}-\x{293})"
    R"(\x{295}-\x{2AF}\x{370}-\x{373}\x{376}\x{377}\x{37B}-\x{37D}\x{37F}\x{386}\x{388}-\x{38A}\x{38C})"
    R"(\x{38E}-\x{3A1}\x{3A3}-\x{3F5}\x{3F7}-\x{481}\x{48A}-\x{52F}\x{531}-\x{556}\x{10A0}-\x{10C5})"
    R"(\x{13A0}-\x{13F5}\x{13F8}-\x{13FD}\x{1C90}-\x{1CBA}\x{1CBD}-\x{1CBF}\x{1D00}-\x{1D2B})"
    R"(\x{1D6B}-\x{1D77}\x{1D79}-\x{1D9A}\x{1E00}-\x{1F15}\x{1F18}-\x{1F1D}\x{1F20}-\x{1F45})"
    R"(\x{1F48}-\x{1F4D}\x{1F50}-\x{1F57}\x{1F59}\x{1F5B}\x{1F5D}\x{1F5F}-\x{1F7D}\x{1F80}-\x{1FB4})"
    R"(\x{1FB6}-\x{1FBC}\x{1FBE}\x{1FC2}-\x{1FC4}\x{1FC6}-\x{1FCC}\x{1FD0}-\x{1FD3}\x{1FD6}-\x{1FDB})"
    R"(\x{1FE0}-\x{1FEC}\x{1FF2}-\x{1FF4}\x{1FF6}-\x{1FFC}\x{2102}\x{2107}\x{210A}-\x{2113}\x{2115})"
    R"(\x{2119}-\x{211D}\x{2124}\x{2126}\x{2128}\x{212A}-\x{212D}\x{212F}-\x{2134}\x{2139})"
    R"(\x{213C}-\x{213F}\x{2145}-\x{2149}\x{214E}\x{2183}\x{2184}\x{2C00}-\x{2C7B}\x{2C7E}-\x{2CE4})"
    R"(\x{2CEB}-\x{2CEE}\x{2CF2}\x{2CF3}\x{A640}-\x{A66D}\x{A680}-\x{A69B}\x{A722}-\x{A76F})"
    R"(\x{A771}-\x{A787}\x{A78B}-\x{A78E}\x{AB70}-\x{ABBF}\x{FB00}-\x{FB06}\x{FB13}-\x{FB17})"
    R"(\x{FF21}-\x{FF3A}\x{FF41}-\x{FF5A}\x{10400}-\x{1044F}\x{104B0}-\x{104D3}\x{104D8}-\x{104FB})"
    R"(\x{10C80}-\x{10CB2}\x{10CC0}-\x{10CF2}\x{118A0}-\x{118DF}\x{1E900}-\x{1E943}]+)";
constexpr const char* kDeepSeekLlmPunct =
    R"(\s?[!-/:-~\x{FF01}-\x{FF0F}\x{FF1A}-\x{FF5E}\x{2018}-\x{201F}\x{3000}-\x{3002}]+)";
// CJK ideographs, everything from U+0800 up to them, and Hangul (both DeepSeek-LLM and DeepSeek-Coder).
constexpr const char* kDeepSeekCjk = R"([\x{4E00}-\x{9FA5}\x{0800}-\x{4E00}\x{AC00}-\x{D7FF}]+)";

SplitStep isolated(const char* pattern) {
  return SplitStep{pattern, true, SplitBehavior::kIsolated, false};
}

}  // namespace

void apply_preset(PreTokenizerKind kind, TokenizerSpec& spec) {
  spec.normalizer.clear();
  spec.pre_tokenizer.clear();
  const ByteLevelStep byte_level{.add_prefix_space = false, .use_regex = false};
  auto& pre = spec.pre_tokenizer;
  switch (kind) {
    case PreTokenizerKind::kQwen2:
      spec.normalizer.emplace_back(UnicodeNormalize{UnicodeForm::kNfc});
      pre = {isolated(kQwen2Pattern), byte_level};
      break;
    case PreTokenizerKind::kLlamaBpe:
      pre = {isolated(kLlama3Pattern), byte_level};
      spec.model.ignore_merges = true;
      break;
    case PreTokenizerKind::kDeepSeekV3:
      pre = {isolated(kDeepSeekV3Digits), isolated(kDeepSeekV3Cjk), isolated(kDeepSeekV3Words), byte_level};
      break;
    case PreTokenizerKind::kDeepSeekLlm:
      pre = {isolated(R"([\r\n])"),
             isolated(kDeepSeekLlmLetters),
             isolated(kDeepSeekLlmPunct),
             isolated(R"(\s+$)"),
             isolated(kDeepSeekCjk),
             DigitsStep{true},
             byte_level};
      break;
    case PreTokenizerKind::kDeepSeekCoder:
      pre = {isolated(R"([\r\n])"),  isolated(R"(\s?\p{L}+)"), isolated(R"(\s?\p{P}+)"),
             isolated(kDeepSeekCjk), DigitsStep{true},         byte_level};
      break;
    case PreTokenizerKind::kGpt2:
      pre = {ByteLevelStep{.add_prefix_space = false, .use_regex = true}};
      break;
  }
  spec.decoder = DecoderSpec();
  spec.decoder.byte_level = true;
}

namespace {
struct KindName {
  PreTokenizerKind kind;
  std::string_view name;
};
// Canonical names first; later entries are aliases (llama.cpp's names for the same split).
constexpr std::array<KindName, 7> kKindNames = {{{PreTokenizerKind::kQwen2, "qwen2"},
                                                 {PreTokenizerKind::kDeepSeekV3, "deepseek-v3"},
                                                 {PreTokenizerKind::kDeepSeekLlm, "deepseek-llm"},
                                                 {PreTokenizerKind::kDeepSeekCoder, "deepseek-coder"},
                                                 {PreTokenizerKind::kLlamaBpe, "llama-bpe"},
                                                 {PreTokenizerKind::kGpt2, "gpt2"},
                                                 {PreTokenizerKind::kQwen2, "deepseek-r1-qwen"}}};
}  // namespace

}  // namespace r1::tok

namespace r1 {

std::string_view pre_tokenizer_kind_name(PreTokenizerKind kind) {
  for (const auto& k : tok::kKindNames) {
    if (k.kind == kind) return k.name;
  }
  return "unknown";
}

std::optional<PreTokenizerKind> pre_tokenizer_kind_from_name(std::string_view name) {
  for (const auto& k : tok::kKindNames) {
    if (k.name == name) return k.kind;
  }
  return std::nullopt;
}

std::string pre_tokenizer_kind_names() {
  std::string names;
  for (const auto& k : tok::kKindNames) {
    if (!names.empty()) names += ", ";
    names += k.name;
  }
  return names;
}

}  // namespace r1
