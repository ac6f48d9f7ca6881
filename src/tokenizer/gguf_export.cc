#include "tokenizer/gguf_export.h"

#include <algorithm>

#include <fmt/format.h>

#include <unordered_map>
#include <unordered_set>

#include "io/gguf_keys.h"
#include "tokenizer/pre_tokenizer.h"
#include "tokenizer/tokenizer_spec.h"

namespace r1 {
namespace {

using gguf_key::GgufTokenType;
using tok::TokenizerSpec;

constexpr std::string_view kSpaceMark = "\xE2\x96\x81";  // "▁"

void append_utf8(uint32_t cp, std::string& out) {
  if (cp < 0x80) {
    out += char(cp);
  } else if (cp < 0x800) {
    out += char(0xC0 | (cp >> 6));
    out += char(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += char(0xE0 | (cp >> 12));
    out += char(0x80 | ((cp >> 6) & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  } else {
    out += char(0xF0 | (cp >> 18));
    out += char(0x80 | ((cp >> 12) & 0x3F));
    out += char(0x80 | ((cp >> 6) & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  }
}

// One spelling of a regex for comparison: the presets write non-ASCII characters as \x{...} and CR/LF as \r
// \n, while a tokenizer.json may hold the characters themselves. Other escapes are kept as they are.
std::string canonical_pattern(std::string_view p) {
  std::string out;
  for (size_t i = 0; i < p.size(); ++i) {
    if (p[i] != '\\' || i + 1 == p.size()) {
      out += p[i];
      continue;
    }
    const char c = p[i + 1];
    if (c == 'r' || c == 'n' || c == 't') {
      out += c == 'r' ? '\r' : c == 'n' ? '\n' : '\t';
      ++i;
    } else if (c == 'x' && i + 2 < p.size() && p[i + 2] == '{') {
      const size_t close = p.find('}', i + 3);
      uint32_t cp = 0;
      bool ok = close != std::string_view::npos && close > i + 3 && close - (i + 3) <= 6;
      for (size_t k = i + 3; ok && k < close; ++k) {
        const char h = p[k];
        const int d = h >= '0' && h <= '9'   ? h - '0'
                      : h >= 'a' && h <= 'f' ? h - 'a' + 10
                      : h >= 'A' && h <= 'F' ? h - 'A' + 10
                                             : -1;
        ok = d >= 0;
        cp = cp * 16 + uint32_t(d < 0 ? 0 : d);
      }
      if (!ok || cp > 0x10FFFF) {
        out += p.substr(i, 2);
        ++i;
        continue;
      }
      append_utf8(cp, out);
      i = close;
    } else {
      out += p.substr(i, 2);  // an escaped character stays escaped (\\, \[, \p ...)
      ++i;
    }
  }
  return out;
}

// Normalizer and pre-tokenizer steps as comparable strings.
std::vector<std::string> describe(const TokenizerSpec& spec) {
  std::vector<std::string> out;
  for (const tok::NormalizerStep& step : spec.normalizer) {
    if (const auto* u = std::get_if<tok::UnicodeNormalize>(&step)) {
      out.push_back(fmt::format("normalize {}", int(u->form)));
    } else if (const auto* p = std::get_if<tok::Prepend>(&step)) {
      out.push_back("prepend " + p->prefix);
    } else if (const auto* r = std::get_if<tok::Replace>(&step)) {
      out.push_back("replace " + r->from + " -> " + r->to);
    }
  }
  for (const tok::PreTokenizerStep& step : spec.pre_tokenizer) {
    if (const auto* s = std::get_if<tok::SplitStep>(&step)) {
      out.push_back(fmt::format("split {} {} {} {}", s->is_regex, int(s->behavior), s->invert,
                                s->is_regex ? canonical_pattern(s->pattern) : s->pattern));
    } else if (const auto* b = std::get_if<tok::ByteLevelStep>(&step)) {
      out.push_back(fmt::format("byte-level {} {}", b->add_prefix_space, b->use_regex));
    } else if (const auto* m = std::get_if<tok::MetaspaceStep>(&step)) {
      out.push_back(fmt::format("metaspace {} {} {}", m->replacement, int(m->prepend_scheme), m->split));
    } else if (const auto* d = std::get_if<tok::DigitsStep>(&step)) {
      out.push_back(fmt::format("digits {}", d->individual_digits));
    }
  }
  return out;
}

// The llama.cpp pre-tokenizer preset whose normalizer, splits and BPE flags are exactly this tokenizer's.
std::optional<PreTokenizerKind> matching_preset(const TokenizerSpec& spec) {
  const std::vector<std::string> mine = describe(spec);
  for (PreTokenizerKind kind :
       {PreTokenizerKind::kQwen2, PreTokenizerKind::kDeepSeekV3, PreTokenizerKind::kDeepSeekLlm,
        PreTokenizerKind::kDeepSeekCoder, PreTokenizerKind::kLlamaBpe, PreTokenizerKind::kGpt2}) {
    TokenizerSpec preset;
    tok::apply_preset(kind, preset);
    if (describe(preset) == mine && preset.model.ignore_merges == spec.model.ignore_merges) return kind;
  }
  return std::nullopt;
}

// Whether the tokenizer is SentencePiece BPE as GGUF's "llama" model describes it (see gguf_vocab.cc's
// apply_sentencepiece); sets add_space_prefix.
bool is_sentencepiece(const TokenizerSpec& spec, bool& add_space_prefix) {
  const std::vector<std::string> mine = describe(spec);
  const std::string replace = "replace " + std::string(" ") + " -> " + std::string(kSpaceMark);
  if (mine == std::vector<std::string>{"prepend " + std::string(kSpaceMark), replace}) {
    add_space_prefix = true;
  } else if (mine == std::vector<std::string>{replace}) {
    add_space_prefix = false;
  } else {
    return false;
  }
  const tok::DecoderSpec& d = spec.decoder;
  return spec.model.byte_fallback && !spec.model.ignore_merges && !d.byte_level &&
         d.metaspace == kSpaceMark && d.byte_fallback && d.strip_leading_spaces == (add_space_prefix ? 1 : 0);
}

bool is_byte_token(std::string_view t) {
  auto hex = [](char c) { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'); };
  return t.size() == 6 && t.starts_with("<0x") && t.ends_with('>') && hex(t[3]) && hex(t[4]);
}

// SentencePiece scores that make gguf_vocab.cc's score-ranked merges reproduce the merge list: each merged
// piece scores minus the rank of the first merge producing it; pieces no merge produces score below all.
// `n` >= the tokenizer's size: padding entries score lowest.
std::vector<float> scores_from_merges(const Tokenizer& t, const TokenizerSpec& spec, int32_t n) {
  std::unordered_map<std::string_view, int32_t> ids;
  for (int32_t id = 0; id < t.vocab_size(); ++id) ids.emplace(t.token_text(id), id);
  const float lowest = -float(spec.model.merges.size()) - 1.0f;
  std::vector<float> score(static_cast<size_t>(n), lowest);
  std::vector<bool> set(static_cast<size_t>(n), false);
  for (size_t i = 0; i < spec.model.merges.size(); ++i) {
    const auto& [a, b] = spec.model.merges[i];
    const auto it = ids.find(a + b);
    if (it == ids.end() || set[size_t(it->second)]) continue;
    const int32_t rank = spec.model.merge_ranks.empty() ? int32_t(i) : spec.model.merge_ranks[i];
    score[size_t(it->second)] = -float(rank);
    set[size_t(it->second)] = true;
  }
  return score;
}

}  // namespace

Status write_gguf_tokenizer(const Tokenizer& t, GgufWriter& out, int64_t model_vocab_size) {
  const TokenizerSpec& spec = t.spec();
  std::optional<PreTokenizerKind> preset;
  bool llama = false, add_space_prefix = true;
  if (spec.decoder.byte_level) {
    preset = matching_preset(spec);
    if (!preset) {
      return Status::errorf(
          "tokenizer export to GGUF: the byte-level pre-tokenizer matches none of the presets GGUF can name "
          "({})",
          pre_tokenizer_kind_names());
    }
  } else {
    llama = is_sentencepiece(spec, add_space_prefix);
    if (!llama) {
      return Status::error(
          "tokenizer export to GGUF: only byte-level BPE (\"gpt2\") and SentencePiece-style BPE with byte "
          "fallback and a \"▁\" normalizer (\"llama\") can be written; this tokenizer is neither");
    }
  }
  for (const tok::AddedTokenSpec& a : spec.added_tokens) {
    if (a.lstrip || a.rstrip || a.single_word) {
      return Status::errorf(
          "tokenizer export to GGUF: added token \"{}\" uses lstrip/rstrip/single_word, which "
          "GGUF cannot express",
          a.content);
    }
  }

  const int32_t n = std::max<int32_t>(t.vocab_size(), int32_t(std::min<int64_t>(model_vocab_size, INT32_MAX)));
  std::unordered_map<int32_t, bool> added;  // id -> special
  for (const tok::AddedTokenSpec& a : spec.added_tokens) added[a.id] = t.is_special(a.id);
  std::optional<int32_t> unk;
  if (llama && spec.model.unk_token) unk = t.token_id(*spec.model.unk_token);

  std::vector<std::string> tokens(static_cast<size_t>(n));
  std::vector<int32_t> types(static_cast<size_t>(n), int32_t(GgufTokenType::kNormal));
  std::unordered_set<std::string_view> seen;
  for (int32_t id = 0; id < n; ++id) {
    std::string text(id < t.vocab_size() ? t.token_text(id) : std::string_view());
    GgufTokenType type = GgufTokenType::kNormal;
    if (const auto it = added.find(id); it != added.end()) {
      type = it->second ? GgufTokenType::kControl : GgufTokenType::kUserDefined;
    }
    if (llama && unk == id) type = GgufTokenType::kUnknown;
    if (llama && type == GgufTokenType::kNormal && is_byte_token(text)) type = GgufTokenType::kByte;
    if (text.empty()) {  // an id no token uses: llama.cpp's placeholder
      text = fmt::format("[PAD{}]", id);
      type = GgufTokenType::kUnused;
    }
    tokens[size_t(id)] = std::move(text);
    types[size_t(id)] = int32_t(type);
  }
  for (int32_t id = 0; id < n; ++id) {
    if (!seen.insert(tokens[size_t(id)]).second) {
      return Status::errorf("tokenizer export to GGUF: token text \"{}\" appears twice (id {})",
                            tokens[size_t(id)], id);
    }
  }

  out.set_string(std::string(gguf_key::kTokenizerModel),
                 std::string(llama ? gguf_key::kModelLlama : gguf_key::kModelGpt2));
  if (preset)
    out.set_string(std::string(gguf_key::kTokenizerPre), std::string(pre_tokenizer_kind_name(*preset)));
  if (llama) {
    out.set_string(std::string(gguf_key::kTokenizerPre), "default");
  }
  out.set_string_array(std::string(gguf_key::kTokens), tokens);
  if (llama) out.set_f32_array(std::string(gguf_key::kScores), scores_from_merges(t, spec, n));
  out.set_i32_array(std::string(gguf_key::kTokenType), types);
  if (!llama) {
    std::vector<std::string> merges;
    merges.reserve(spec.model.merges.size());
    for (const auto& [a, b] : spec.model.merges) {
      if (a.empty() || b.empty() || a.find(' ') != std::string::npos || b.find(' ') != std::string::npos) {
        return Status::errorf("tokenizer export to GGUF: merge (\"{}\", \"{}\") cannot be written as \"a b\"",
                              a, b);
      }
      merges.push_back(a + " " + b);
    }
    out.set_string_array(std::string(gguf_key::kMerges), merges);
  }
  if (t.bos_id()) out.set_u32(std::string(gguf_key::kBosTokenId), uint32_t(*t.bos_id()));
  if (t.eos_id()) out.set_u32(std::string(gguf_key::kEosTokenId), uint32_t(*t.eos_id()));
  if (unk) out.set_u32(std::string(gguf_key::kUnknownTokenId), uint32_t(*unk));
  out.set_bool(std::string(gguf_key::kAddBosToken), t.add_bos());
  const bool add_eos =
      spec.add_eos_token.value_or(spec.template_eos_id.has_value()) && t.eos_id().has_value();
  out.set_bool(std::string(gguf_key::kAddEosToken), add_eos);
  if (llama) out.set_bool(std::string(gguf_key::kAddSpacePrefix), add_space_prefix);
  if (!t.chat_template().empty()) out.set_string(std::string(gguf_key::kChatTemplate), t.chat_template());
  return Status::ok();
}

}  // namespace r1
