#include "tokenizer/gguf_vocab.h"

#include <fmt/format.h>

#include <algorithm>
#include <unordered_map>

#include "io/gguf_keys.h"
#include "tokenizer/bpe.h"
#include "tokenizer/pre_tokenizer.h"
#include "tokenizer/utf8.h"

namespace r1::tok {
namespace {

using gguf_key::GgufTokenType;

constexpr std::string_view kSpaceMark = "\xE2\x96\x81";  // "▁", SentencePiece's space

struct Vocab {
  std::vector<std::string_view> tokens;  // [n] token text by id
  std::vector<GgufTokenType> types;      // [n]
};

Result<Vocab> read_tokens(const GgufFile& f) {
  Vocab v;
  R1_ASSIGN_OR_RETURN(const GgufArray* tokens, f.get_array(gguf_key::kTokens, GgufType::kString));
  if (tokens->size == 0) return Status::errorf("{}: \"{}\" is empty", f.path(), gguf_key::kTokens);
  if (tokens->size > static_cast<uint64_t>(kMaxTokenId)) {
    return Status::errorf("{}: \"{}\" has {} tokens (at most {})", f.path(), gguf_key::kTokens, tokens->size,
                          kMaxTokenId);
  }
  v.tokens = tokens->strings;
  v.types.assign(v.tokens.size(), GgufTokenType::kNormal);
  if (f.find(gguf_key::kTokenType) == nullptr) return v;
  R1_ASSIGN_OR_RETURN(const GgufArray* types, f.get_array(gguf_key::kTokenType, GgufType::kInt32));
  if (types->size != tokens->size) {
    return Status::errorf("{}: \"{}\" has {} entries for {} tokens", f.path(), gguf_key::kTokenType,
                          types->size, tokens->size);
  }
  for (uint64_t i = 0; i < types->size; ++i) {
    const std::optional<int64_t> t = types->int_at(i);
    if (!t || *t < 0 || *t > static_cast<int>(GgufTokenType::kByte)) {
      return Status::errorf("{}: \"{}\"[{}] is not a token type (0..6)", f.path(), gguf_key::kTokenType, i);
    }
    v.types[i] = static_cast<GgufTokenType>(*t);
  }
  return v;
}

// An optional token id key, checked against the vocabulary.
Result<std::optional<int32_t>> token_id_key(const GgufFile& f, std::string_view key, size_t n_tokens) {
  if (f.find(key) == nullptr) return std::optional<int32_t>();
  R1_ASSIGN_OR_RETURN(int64_t id, f.get_int(key));
  if (id < 0 || id >= static_cast<int64_t>(n_tokens)) {
    return Status::errorf("{}: \"{}\" is {}, outside the {} tokens", f.path(), key, id, n_tokens);
  }
  return std::optional<int32_t>(static_cast<int32_t>(id));
}

Result<std::optional<bool>> bool_key(const GgufFile& f, std::string_view key) {
  if (f.find(key) == nullptr) return std::optional<bool>();
  R1_ASSIGN_OR_RETURN(bool b, f.get_bool(key));
  return std::optional<bool>(b);
}

// "left right" -> {left, right}. The split is the first space after the first byte, as llama.cpp reads it.
Status read_merges(const GgufFile& f, BpeSpec& model) {
  R1_ASSIGN_OR_RETURN(const GgufArray* merges, f.get_array(gguf_key::kMerges, GgufType::kString));
  model.merges.reserve(merges->size);
  for (uint64_t i = 0; i < merges->size; ++i) {
    const std::string_view m = merges->strings[i];
    const size_t sp = m.size() < 2 ? std::string_view::npos : m.find(' ', 1);
    if (sp == std::string_view::npos || sp + 1 == m.size()) {
      return Status::errorf("{}: \"{}\"[{}] = \"{}\" is not two tokens separated by a space", f.path(),
                            gguf_key::kMerges, i, m);
    }
    model.merges.emplace_back(std::string(m.substr(0, sp)), std::string(m.substr(sp + 1)));
  }
  return Status::ok();
}

// SentencePiece BPE as a merge table: every split of a piece into two pieces is a merge, ranked by the merged
// piece's score (higher first; equal scores share a rank, so the leftmost pair wins, as in SentencePiece and
// llama.cpp). Only normal and user-defined pieces take part.
Status derive_merges_from_scores(const GgufFile& f, const Vocab& v, BpeSpec& model) {
  R1_ASSIGN_OR_RETURN(const GgufArray* scores, f.get_array(gguf_key::kScores, GgufType::kFloat32));
  if (scores->size != v.tokens.size()) {
    return Status::errorf("{}: \"{}\" has {} entries for {} tokens", f.path(), gguf_key::kScores,
                          scores->size, v.tokens.size());
  }
  auto mergeable = [&](size_t id) {
    return v.types[id] == GgufTokenType::kNormal || v.types[id] == GgufTokenType::kUserDefined;
  };
  std::unordered_map<std::string_view, int32_t> ids;
  std::vector<float> score(v.tokens.size());
  for (size_t id = 0; id < v.tokens.size(); ++id) {
    score[id] = static_cast<float>(scores->float_at(id).value_or(0.0));
    if (mergeable(id)) ids.emplace(v.tokens[id], static_cast<int32_t>(id));
  }
  struct Candidate {
    float score;
    int32_t merged;
    uint32_t split;  // byte offset of the split in the merged piece
  };
  std::vector<Candidate> candidates;
  for (const auto& [text, id] : ids) {
    for (size_t k = 1; k < text.size(); ++k) {
      if ((static_cast<uint8_t>(text[k]) & 0xC0) == 0x80) continue;  // not a character boundary
      if (ids.count(text.substr(0, k)) != 0 && ids.count(text.substr(k)) != 0) {
        candidates.push_back({score[static_cast<size_t>(id)], id, static_cast<uint32_t>(k)});
      }
    }
  }
  std::sort(candidates.begin(), candidates.end(), [](const Candidate& a, const Candidate& b) {
    if (a.score != b.score) return a.score > b.score;
    return a.merged != b.merged ? a.merged < b.merged : a.split < b.split;
  });
  model.merges.reserve(candidates.size());
  model.merge_ranks.reserve(candidates.size());
  int32_t rank = -1;
  for (size_t i = 0; i < candidates.size(); ++i) {
    const Candidate& c = candidates[i];
    if (i == 0 || c.score != candidates[i - 1].score) ++rank;
    const std::string_view text = v.tokens[static_cast<size_t>(c.merged)];
    model.merges.emplace_back(std::string(text.substr(0, c.split)), std::string(text.substr(c.split)));
    model.merge_ranks.push_back(rank);
  }
  return Status::ok();
}

Result<PreTokenizerKind> pre_tokenizer_of(const GgufFile& f) {
  if (f.find(gguf_key::kTokenizerPre) == nullptr) return PreTokenizerKind::kGpt2;
  R1_ASSIGN_OR_RETURN(std::string_view pre, f.get_string(gguf_key::kTokenizerPre));
  const std::optional<PreTokenizerKind> kind = pre_tokenizer_kind_from_name(pre);
  if (!kind) {
    return Status::errorf("{}: \"{}\" is \"{}\", which r1 does not support (supported: {})", f.path(),
                          gguf_key::kTokenizerPre, pre, pre_tokenizer_kind_names());
  }
  return *kind;
}

// Normalizer, pre-tokenizer and decoder of a SentencePiece ("llama") vocabulary, as HF's Llama conversion
// writes them: spaces become "▁", a "▁" is prepended to each piece of text (add_space_prefix), no splitting,
// and the decoder undoes both.
void apply_sentencepiece(bool add_space_prefix, TokenizerSpec& spec) {
  spec.normalizer.clear();
  if (add_space_prefix) spec.normalizer.emplace_back(Prepend{std::string(kSpaceMark)});
  spec.normalizer.emplace_back(Replace{" ", std::string(kSpaceMark)});
  spec.pre_tokenizer.clear();
  spec.decoder = DecoderSpec();
  spec.decoder.metaspace = std::string(kSpaceMark);
  spec.decoder.byte_fallback = true;
  spec.decoder.strip_leading_spaces = add_space_prefix ? 1 : 0;
  spec.model.byte_fallback = true;
  spec.model.fuse_unk = true;
}

}  // namespace

Status read_gguf_vocab(const GgufFile& f, std::optional<PreTokenizerKind> pre_override, TokenizerSpec& spec) {
  R1_ASSIGN_OR_RETURN(std::string_view model, f.get_string(gguf_key::kTokenizerModel));
  const bool llama = model == gguf_key::kModelLlama;
  if (!llama && model != gguf_key::kModelGpt2) {
    return Status::errorf("{}: \"{}\" is \"{}\", which r1 does not support (supported: {}, {})", f.path(),
                          gguf_key::kTokenizerModel, model, gguf_key::kModelGpt2, gguf_key::kModelLlama);
  }
  R1_ASSIGN_OR_RETURN(Vocab v, read_tokens(f));
  const size_t n = v.tokens.size();

  spec.model.vocab.reserve(n);
  for (size_t id = 0; id < n; ++id)
    spec.model.vocab.emplace_back(std::string(v.tokens[id]), static_cast<int32_t>(id));
  if (llama) {
    R1_RETURN_IF_ERROR(derive_merges_from_scores(f, v, spec.model));
    R1_ASSIGN_OR_RETURN(std::optional<bool> space_prefix, bool_key(f, gguf_key::kAddSpacePrefix));
    apply_sentencepiece(space_prefix.value_or(true), spec);
  } else {
    R1_RETURN_IF_ERROR(read_merges(f, spec.model));
    PreTokenizerKind kind;
    if (pre_override) {
      kind = *pre_override;
    } else {
      R1_ASSIGN_OR_RETURN(kind, pre_tokenizer_of(f));
    }
    apply_preset(kind, spec);
  }

  // Control, user-defined and unknown tokens are matched in the text before BPE, like HF added tokens.
  R1_ASSIGN_OR_RETURN(std::optional<int32_t> unk, token_id_key(f, gguf_key::kUnknownTokenId, n));
  for (size_t id = 0; id < n; ++id) {
    const GgufTokenType t = v.types[id];
    if (t == GgufTokenType::kUnknown && !unk) unk = static_cast<int32_t>(id);
    if (t != GgufTokenType::kControl && t != GgufTokenType::kUserDefined && t != GgufTokenType::kUnknown)
      continue;
    if (v.tokens[id].empty()) continue;
    AddedTokenSpec a;
    a.id = static_cast<int32_t>(id);
    a.content = std::string(v.tokens[id]);
    a.special = t != GgufTokenType::kUserDefined;
    spec.added_tokens.push_back(std::move(a));
  }
  if (llama && unk) spec.model.unk_token = std::string(v.tokens[static_cast<size_t>(*unk)]);

  R1_ASSIGN_OR_RETURN(spec.template_bos_id, token_id_key(f, gguf_key::kBosTokenId, n));
  R1_ASSIGN_OR_RETURN(spec.template_eos_id, token_id_key(f, gguf_key::kEosTokenId, n));
  R1_ASSIGN_OR_RETURN(std::optional<bool> add_bos, bool_key(f, gguf_key::kAddBosToken));
  R1_ASSIGN_OR_RETURN(std::optional<bool> add_eos, bool_key(f, gguf_key::kAddEosToken));
  spec.add_bos_token = add_bos.value_or(llama);  // llama.cpp's defaults: SentencePiece adds BOS, BPE does not
  spec.add_eos_token = add_eos.value_or(false);
  if (f.find(gguf_key::kChatTemplate) != nullptr) {
    R1_ASSIGN_OR_RETURN(std::string_view tmpl, f.get_string(gguf_key::kChatTemplate));
    spec.chat_template = std::string(tmpl);
  }
  return Status::ok();
}

}  // namespace r1::tok
