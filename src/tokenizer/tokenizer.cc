// Tokenizer: loading (spec -> runtime tables), encode, decode and the streaming decoder.
#include "tokenizer/tokenizer.h"

#include <filesystem>
#include <unordered_map>

#include "io/gguf.h"
#include "tokenizer/added_vocab.h"
#include "tokenizer/bpe.h"
#include "tokenizer/gguf_vocab.h"
#include "tokenizer/hf_files.h"
#include "tokenizer/pre_tokenizer.h"
#include "tokenizer/utf8.h"

namespace r1 {

class Tokenizer::Impl {
 public:
  static Result<std::unique_ptr<Impl>> build(tok::TokenizerSpec spec);

  void encode_plain(std::string_view text, bool at_start, std::vector<int32_t>& ids) const;
  std::optional<int32_t> find_token(std::string_view text) const;
  // Bytes of one token as the decoder renders it ("" for ids to skip).
  std::string_view bytes_of(int32_t id, bool skip_special) const {
    if (id < 0 || id >= vocab_size || (skip_special && special[static_cast<size_t>(id)])) return {};
    return token_bytes[static_cast<size_t>(id)];
  }
  // How many of the spaces the decoder strips from the start of the text (SentencePiece's dummy prefix) begin
  // `bytes`, at most `budget`.
  static size_t leading_spaces(std::string_view bytes, int budget) {
    size_t n = 0;
    while (static_cast<int>(n) < budget && n < bytes.size() && bytes[n] == ' ') ++n;
    return n;
  }
  std::string_view text_of(int32_t id) const {
    if (id < 0 || id >= vocab_size) return {};
    if (const auto it = added_content.find(id); it != added_content.end()) return it->second;
    return id <= bpe->max_id() ? std::string_view(bpe->text_of(id)) : std::string_view();
  }

  tok::Normalizer normalizer;
  tok::PreTokenizer pre_tokenizer;
  std::unique_ptr<tok::BpeModel> bpe;
  tok::AddedVocab raw_added;         // matched on the raw input
  tok::AddedVocab normalized_added;  // matched on normalized text (normalized: true and a normalizer exists)
  tok::StringMap<int32_t> added_by_content;
  std::unordered_map<int32_t, std::string> added_content;
  std::vector<std::string> token_bytes;  // [vocab_size] decoded bytes of each id
  std::vector<bool> special;             // [vocab_size] skipped by decode(skip_special)
  int strip_leading_spaces = 0;
  int32_t vocab_size = 0;
  std::optional<int32_t> bos_id, eos_id;
  bool add_bos = false, add_eos = false;
  std::string bos_token, eos_token;
  std::string chat_template;
  std::shared_ptr<const tok::TokenizerSpec> spec;  // the build input minus model.vocab (Tokenizer::spec)
};

namespace {

// How the decoder renders one token's text as bytes.
std::string decode_token_text(const tok::DecoderSpec& dec, std::string_view text) {
  if (dec.byte_fallback && text.size() == 6 && text.starts_with("<0x") && text.ends_with('>')) {
    unsigned value = 0;
    bool hex = true;
    for (char c : text.substr(3, 2)) {
      const int d = c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
      hex = hex && d >= 0;
      value = value * 16 + static_cast<unsigned>(d < 0 ? 0 : d);
    }
    if (hex) return std::string(1, static_cast<char>(value));
  }
  if (dec.byte_level) return tok::byte_level_decode_lossy(text);
  if (dec.metaspace.empty()) return std::string(text);
  std::string out;
  size_t pos = 0;
  for (size_t hit; (hit = text.find(dec.metaspace, pos)) != std::string_view::npos;
       pos = hit + dec.metaspace.size()) {
    out.append(text.substr(pos, hit - pos)).append(1, ' ');
  }
  out.append(text.substr(pos));
  return out;
}

// BOS/EOS: a token named in tokenizer_config.json / special_tokens_map.json, else the post-processor's.
Status resolve_bos_eos(const tok::TokenizerSpec& spec, Tokenizer::Impl& t) {
  auto resolve = [&](const std::optional<std::string>& name, std::optional<int32_t> template_id,
                     std::optional<bool> add_flag, const char* what, std::optional<int32_t>& id,
                     std::string& text, bool& add) -> Status {
    if (name && !name->empty()) {
      id = t.find_token(*name);
      if (!id) return Status::errorf("{} \"{}\" is not in the vocabulary", what, *name);
      text = *name;
    } else if (template_id) {
      if (*template_id < 0 || *template_id >= t.vocab_size) {
        return Status::errorf("post_processor {} id {} is out of range", what, *template_id);
      }
      id = template_id;
      text = t.text_of(*id);
    }
    add = add_flag.value_or(template_id.has_value()) && id.has_value();
    return Status::ok();
  };
  R1_RETURN_IF_ERROR(resolve(spec.bos_token, spec.template_bos_id, spec.add_bos_token, "bos_token", t.bos_id,
                             t.bos_token, t.add_bos));
  return resolve(spec.eos_token, spec.template_eos_id, spec.add_eos_token, "eos_token", t.eos_id, t.eos_token,
                 t.add_eos);
}

}  // namespace

Result<std::unique_ptr<Tokenizer::Impl>> Tokenizer::Impl::build(tok::TokenizerSpec spec) {
  auto t = std::make_unique<Impl>();
  {
    auto vocab = std::move(spec.model.vocab);  // not kept twice: token_text has it
    spec.model.vocab.clear();
    t->spec = std::make_shared<const tok::TokenizerSpec>(spec);
    spec.model.vocab = std::move(vocab);
  }
  t->normalizer = tok::Normalizer(spec.normalizer);
  R1_ASSIGN_OR_RETURN(t->pre_tokenizer, tok::PreTokenizer::build(spec.pre_tokenizer));
  R1_ASSIGN_OR_RETURN(t->bpe, tok::BpeModel::build(std::move(spec.model), t->pre_tokenizer.byte_level()));

  int32_t max_id = t->bpe->max_id();
  for (const tok::AddedTokenSpec& a : spec.added_tokens) {
    if (a.id >= tok::kMaxTokenId)
      return Status::errorf("added token \"{}\" has an implausible id {}", a.content, a.id);
    max_id = std::max(max_id, a.id);
    t->added_by_content.emplace(a.content, a.id);
    t->added_content.emplace(a.id, a.content);
    const tok::AddedVocab::Options options{a.lstrip, a.rstrip, a.single_word};
    if (a.normalized && !t->normalizer.empty()) {
      t->normalized_added.add(t->normalizer.apply(a.content), a.id, options);
    } else {
      t->raw_added.add(a.content, a.id, options);
    }
  }
  t->vocab_size = max_id + 1;

  t->token_bytes.resize(static_cast<size_t>(t->vocab_size));
  for (int32_t id = 0; id <= t->bpe->max_id(); ++id) {
    t->token_bytes[static_cast<size_t>(id)] = decode_token_text(spec.decoder, t->bpe->text_of(id));
  }
  for (const auto& [id, content] : t->added_content) {
    t->token_bytes[static_cast<size_t>(id)] = decode_token_text(spec.decoder, content);
  }
  t->strip_leading_spaces = spec.decoder.strip_leading_spaces;

  t->special.assign(static_cast<size_t>(t->vocab_size), false);
  for (const tok::AddedTokenSpec& a : spec.added_tokens) {
    if (a.special) t->special[static_cast<size_t>(a.id)] = true;
  }
  // transformers also skips the named special tokens (bos/eos/pad/unk/additional) even if not marked special.
  for (const std::string& name : spec.extra_special_tokens) {
    if (const auto id = t->find_token(name)) t->special[static_cast<size_t>(*id)] = true;
  }
  R1_RETURN_IF_ERROR(resolve_bos_eos(spec, *t));
  t->chat_template = std::move(spec.chat_template);
  return t;
}

std::optional<int32_t> Tokenizer::Impl::find_token(std::string_view text) const {
  if (const auto it = added_by_content.find(text); it != added_by_content.end()) return it->second;
  return bpe->find_text(text);
}

// Text between added tokens: normalize, match tokens that apply to normalized text, pre-tokenize, BPE.
void Tokenizer::Impl::encode_plain(std::string_view text, bool at_start, std::vector<int32_t>& ids) const {
  std::string normalized_storage;
  std::string_view normalized = text;
  if (!normalizer.empty()) {
    normalized_storage = normalizer.apply(text);
    normalized = normalized_storage;
  }
  std::vector<tok::AddedVocab::Segment> segments;
  if (normalized_added.empty()) {
    segments.push_back({0, normalized.size(), -1});
  } else {
    normalized_added.split(normalized, segments);
  }
  tok::Words words;
  for (const auto& seg : segments) {
    if (seg.id >= 0) {
      ids.push_back(seg.id);
      continue;
    }
    words.clear();
    pre_tokenizer.split(normalized.substr(seg.start, seg.end - seg.start), at_start && seg.start == 0, words);
    for (const tok::Word& w : words.items) bpe->encode_word(w.text, ids);
  }
}

// ===========================================================================================================
// Tokenizer
// ===========================================================================================================

Tokenizer::Tokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Tokenizer::~Tokenizer() = default;

Result<std::unique_ptr<Tokenizer>> Tokenizer::load_dir(const std::string& dir,
                                                       const TokenizerLoadOptions& options) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec))
    return Status::errorf("{}: tokenizer folder does not exist", dir);
  tok::TokenizerSpec spec;
  const std::string json_path = dir + "/tokenizer.json";
  const std::string vocab_path = dir + "/vocab.json", merges_path = dir + "/merges.txt";
  const bool has_json = tok::file_exists(json_path);
  std::string source;
  if (has_json) {
    R1_RETURN_IF_ERROR(tok::read_tokenizer_json(json_path, spec));
    source = json_path;
  } else if (tok::file_exists(vocab_path) && tok::file_exists(merges_path)) {
    R1_RETURN_IF_ERROR(tok::read_vocab_and_merges(vocab_path, merges_path, spec.model));
    source = vocab_path + " + merges.txt";
  } else {
    return Status::errorf("{}: no tokenizer.json, and no vocab.json + merges.txt", dir);
  }
  R1_RETURN_IF_ERROR(tok::read_side_files(dir, spec));
  if (!has_json) {
    const bool qwen2 =
        spec.tokenizer_class == "Qwen2Tokenizer" || spec.tokenizer_class == "Qwen2TokenizerFast";
    tok::apply_preset(
        options.pre_tokenizer.value_or(qwen2 ? PreTokenizerKind::kQwen2 : PreTokenizerKind::kGpt2), spec);
  }
  auto impl = Impl::build(std::move(spec));
  if (!impl.is_ok()) return impl.status().with_context(source);
  return std::unique_ptr<Tokenizer>(new Tokenizer(std::move(impl).value()));
}

Result<std::unique_ptr<Tokenizer>> Tokenizer::load_gguf(const std::string& path,
                                                        const TokenizerLoadOptions& options) {
  R1_ASSIGN_OR_RETURN(GgufFile file, GgufFile::open(path));
  return from_gguf(file, options);
}

Result<std::unique_ptr<Tokenizer>> Tokenizer::from_gguf(const GgufFile& file,
                                                        const TokenizerLoadOptions& options) {
  tok::TokenizerSpec spec;
  R1_RETURN_IF_ERROR(tok::read_gguf_vocab(file, options.pre_tokenizer, spec));
  auto impl = Impl::build(std::move(spec));
  if (!impl.is_ok()) return impl.status().with_context(file.path());
  return std::unique_ptr<Tokenizer>(new Tokenizer(std::move(impl).value()));
}

Result<std::unique_ptr<Tokenizer>> Tokenizer::load(const std::string& path,
                                                   const TokenizerLoadOptions& options) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) return load_dir(path, options);
  if (!std::filesystem::exists(path, ec)) return Status::errorf("{}: no such file or folder", path);
  return load_gguf(path, options);
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_special) const {
  const Impl& t = *impl_;
  std::vector<int32_t> ids;
  ids.reserve(text.size() / 3 + 2);
  if (add_special && t.add_bos) ids.push_back(*t.bos_id);
  std::vector<tok::AddedVocab::Segment> segments;
  t.raw_added.split(text, segments);
  for (const auto& seg : segments) {
    if (seg.id >= 0) {
      ids.push_back(seg.id);
    } else {
      t.encode_plain(text.substr(seg.start, seg.end - seg.start), seg.start == 0, ids);
    }
  }
  if (add_special && t.add_eos) ids.push_back(*t.eos_id);
  return ids;
}

std::string Tokenizer::decode(std::span<const int32_t> ids, bool skip_special) const {
  std::string bytes;
  for (int32_t id : ids) bytes.append(impl_->bytes_of(id, skip_special));
  const size_t strip = Impl::leading_spaces(bytes, impl_->strip_leading_spaces);
  return utf8::to_valid(std::string_view(bytes).substr(strip));
}

int32_t Tokenizer::vocab_size() const {
  return impl_->vocab_size;
}
std::optional<int32_t> Tokenizer::bos_id() const {
  return impl_->bos_id;
}
std::optional<int32_t> Tokenizer::eos_id() const {
  return impl_->eos_id;
}
bool Tokenizer::add_bos() const {
  return impl_->add_bos;
}
const std::string& Tokenizer::bos_token() const {
  return impl_->bos_token;
}
const std::string& Tokenizer::eos_token() const {
  return impl_->eos_token;
}
std::optional<int32_t> Tokenizer::token_id(std::string_view token) const {
  return impl_->find_token(token);
}

std::string_view Tokenizer::token_bytes(int32_t id) const {
  return impl_->bytes_of(id, /*skip_special=*/false);
}

std::string_view Tokenizer::token_text(int32_t id) const {
  return impl_->text_of(id);
}

bool Tokenizer::is_special(int32_t id) const {
  return id >= 0 && id < impl_->vocab_size && impl_->special[static_cast<size_t>(id)];
}

const tok::TokenizerSpec& Tokenizer::spec() const {
  return *impl_->spec;
}

const std::string& Tokenizer::chat_template() const {
  return impl_->chat_template;
}
void Tokenizer::set_chat_template(std::string chat_template) {
  impl_->chat_template = std::move(chat_template);
}

// ===========================================================================================================
// StreamDecoder
// ===========================================================================================================

StreamDecoder::StreamDecoder(const Tokenizer& tokenizer, bool skip_special)
    : tokenizer_(tokenizer), skip_special_(skip_special) {}

std::string StreamDecoder::push(int32_t id) {
  std::string_view bytes = tokenizer_.impl_->bytes_of(id, skip_special_);
  if (bytes.empty()) return {};
  if (at_start_) {  // decode() strips leading spaces of the whole text: strip them from the first tokens
    const int budget = tokenizer_.impl_->strip_leading_spaces - stripped_;
    const size_t n = Tokenizer::Impl::leading_spaces(bytes, budget);
    stripped_ += static_cast<int>(n);
    bytes.remove_prefix(n);
    at_start_ = bytes.empty() && stripped_ < tokenizer_.impl_->strip_leading_spaces;
    if (bytes.empty()) return {};
  }
  pending_.append(bytes);
  std::string out;
  const size_t used = utf8::append_lossy(pending_, /*final=*/false, out);
  pending_.erase(0, used);
  return out;
}

std::string StreamDecoder::flush() {
  std::string out;
  utf8::append_lossy(pending_, /*final=*/true, out);
  pending_.clear();
  return out;
}

}  // namespace r1
