// Hugging Face tokenizer files -> TokenizerSpec. JSON stays in this file; the rest of the tokenizer sees
// typed structs. nlohmann's exceptions are caught here and turned into a Status that names the file.
#include "tokenizer/hf_files.h"

#include <charconv>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <unordered_set>

namespace r1::tok {
namespace {

using json = nlohmann::json;

Result<std::string> read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::errorf("{}: cannot open file", path);
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return Status::errorf("{}: read error", path);
  return ss.str();
}

Result<json> read_json(const std::string& path) {
  R1_ASSIGN_OR_RETURN(std::string text, read_text(path));
  try {
    return Result<json>(json::parse(text));
  } catch (const json::exception& e) {
    return Status::errorf("{}: malformed JSON ({})", path, e.what());
  }
}

// obj[key], or null when obj is not an object or lacks the key.
const json& member(const json& obj, const char* key) {
  static const json kNull;
  if (!obj.is_object()) return kNull;
  const auto it = obj.find(key);
  return it == obj.end() ? kNull : *it;
}

Result<std::string> string_at(const json& obj, const char* key, const std::string& where) {
  const json& v = member(obj, key);
  if (!v.is_string())
    return Status::errorf("{}: \"{}\" must be a string (got {})", where, key, v.type_name());
  return v.get<std::string>();
}

bool bool_at(const json& obj, const char* key, bool fallback) {
  const json& v = member(obj, key);
  return v.is_boolean() ? v.get<bool>() : fallback;
}

// A token named in a config: "text", {"content": "text", ...}, or null/absent.
std::optional<std::string> token_name(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  const json& content = member(v, "content");
  if (content.is_string()) return content.get<std::string>();
  return std::nullopt;
}

std::string item(const std::string& where, const char* list, size_t i) {
  return fmt::format("{}.{}[{}]", where, list, i);
}

// "a b" -> {"a", "b"}: exactly one space, as in HF merges (tokens never contain a space).
Status split_merge(std::string_view line, std::pair<std::string, std::string>& out,
                   const std::string& where) {
  const size_t sp = line.find(' ');
  if (sp == std::string_view::npos || sp == 0 || sp + 1 == line.size() ||
      line.find(' ', sp + 1) != std::string_view::npos) {
    return Status::errorf("{}: bad merge \"{}\" (expected two tokens separated by one space)", where, line);
  }
  out = {std::string(line.substr(0, sp)), std::string(line.substr(sp + 1))};
  return Status::ok();
}

// ---- normalizer ----
Status parse_normalizer(const json& j, const std::string& where, std::vector<NormalizerStep>& out) {
  if (j.is_null()) return Status::ok();
  R1_ASSIGN_OR_RETURN(std::string type, string_at(j, "type", where));
  if (type == "Sequence") {
    const json& list = member(j, "normalizers");
    if (!list.is_array()) return Status::errorf("{}: \"normalizers\" must be a list", where);
    for (size_t i = 0; i < list.size(); ++i) {
      R1_RETURN_IF_ERROR(parse_normalizer(list[i], item(where, "normalizers", i), out));
    }
  } else if (type == "NFC" || type == "NFD" || type == "NFKC" || type == "NFKD") {
    const UnicodeForm form = type == "NFC"    ? UnicodeForm::kNfc
                             : type == "NFD"  ? UnicodeForm::kNfd
                             : type == "NFKC" ? UnicodeForm::kNfkc
                                              : UnicodeForm::kNfkd;
    out.push_back(UnicodeNormalize{form});
  } else if (type == "Prepend") {
    R1_ASSIGN_OR_RETURN(std::string prefix, string_at(j, "prepend", where));
    out.push_back(Prepend{std::move(prefix)});
  } else if (type == "Replace") {
    const json& pattern = member(j, "pattern");
    if (!member(pattern, "String").is_string()) {
      return Status::errorf("{}: Replace supports only a {{\"String\": ...}} pattern", where);
    }
    R1_ASSIGN_OR_RETURN(std::string content, string_at(j, "content", where));
    out.push_back(Replace{member(pattern, "String").get<std::string>(), std::move(content)});
  } else {
    return Status::errorf("{}: normalizer type \"{}\" is not supported", where, type);
  }
  return Status::ok();
}

// ---- pre-tokenizer ----
Status parse_split(const json& j, const std::string& where, SplitStep& step) {
  const json& pattern = member(j, "pattern");
  if (member(pattern, "Regex").is_string()) {
    step.pattern = member(pattern, "Regex").get<std::string>();
    step.is_regex = true;
  } else if (member(pattern, "String").is_string()) {
    step.pattern = member(pattern, "String").get<std::string>();
    step.is_regex = false;
  } else {
    return Status::errorf("{}: Split needs a pattern {{\"Regex\": ...}} or {{\"String\": ...}}", where);
  }
  R1_ASSIGN_OR_RETURN(std::string behavior, string_at(j, "behavior", where));
  if (behavior == "Isolated") {
    step.behavior = SplitBehavior::kIsolated;
  } else if (behavior == "Removed") {
    step.behavior = SplitBehavior::kRemoved;
  } else if (behavior == "MergedWithPrevious") {
    step.behavior = SplitBehavior::kMergedWithPrevious;
  } else if (behavior == "MergedWithNext") {
    step.behavior = SplitBehavior::kMergedWithNext;
  } else if (behavior == "Contiguous") {
    step.behavior = SplitBehavior::kContiguous;
  } else {
    return Status::errorf("{}: unknown Split behavior \"{}\"", where, behavior);
  }
  step.invert = bool_at(j, "invert", false);
  return Status::ok();
}

Status parse_metaspace(const json& j, const std::string& where, MetaspaceStep& step) {
  if (member(j, "replacement").is_string()) step.replacement = member(j, "replacement").get<std::string>();
  if (step.replacement.empty()) return Status::errorf("{}: Metaspace replacement is empty", where);
  const json& scheme = member(j, "prepend_scheme");
  if (scheme.is_string()) {
    const std::string s = scheme.get<std::string>();
    if (s == "always") {
      step.prepend_scheme = PrependScheme::kAlways;
    } else if (s == "first") {
      step.prepend_scheme = PrependScheme::kFirst;
    } else if (s == "never") {
      step.prepend_scheme = PrependScheme::kNever;
    } else {
      return Status::errorf("{}: unknown Metaspace prepend_scheme \"{}\"", where, s);
    }
  } else {  // files written before prepend_scheme existed use add_prefix_space
    step.prepend_scheme =
        bool_at(j, "add_prefix_space", true) ? PrependScheme::kAlways : PrependScheme::kNever;
  }
  step.split = bool_at(j, "split", true);
  return Status::ok();
}

Status parse_pre_tokenizer(const json& j, const std::string& where, std::vector<PreTokenizerStep>& out) {
  if (j.is_null()) return Status::ok();
  R1_ASSIGN_OR_RETURN(std::string type, string_at(j, "type", where));
  if (type == "Sequence") {
    const json& list = member(j, "pretokenizers");
    if (!list.is_array()) return Status::errorf("{}: \"pretokenizers\" must be a list", where);
    for (size_t i = 0; i < list.size(); ++i) {
      R1_RETURN_IF_ERROR(parse_pre_tokenizer(list[i], item(where, "pretokenizers", i), out));
    }
  } else if (type == "Split") {
    SplitStep step;
    R1_RETURN_IF_ERROR(parse_split(j, where, step));
    out.push_back(std::move(step));
  } else if (type == "ByteLevel") {
    out.push_back(ByteLevelStep{bool_at(j, "add_prefix_space", true), bool_at(j, "use_regex", true)});
  } else if (type == "Metaspace") {
    MetaspaceStep step;
    R1_RETURN_IF_ERROR(parse_metaspace(j, where, step));
    out.push_back(std::move(step));
  } else if (type == "Digits") {
    out.push_back(DigitsStep{bool_at(j, "individual_digits", false)});
  } else {
    return Status::errorf("{}: pre-tokenizer type \"{}\" is not supported", where, type);
  }
  return Status::ok();
}

// ---- model ----
Status parse_vocab(const json& vocab, const std::string& where, BpeSpec& model) {
  if (!vocab.is_object()) return Status::errorf("{}: vocab must be an object of token -> id", where);
  model.vocab.reserve(vocab.size());
  for (auto it = vocab.begin(); it != vocab.end(); ++it) {
    if (!it.value().is_number_integer() || it.value().get<int64_t>() < 0 ||
        it.value().get<int64_t>() > INT32_MAX) {
      return Status::errorf("{}: token \"{}\" has an invalid id", where, it.key());
    }
    model.vocab.emplace_back(it.key(), it.value().get<int32_t>());
  }
  return Status::ok();
}

Status parse_model(const json& j, const std::string& where, BpeSpec& model) {
  if (!j.is_object()) return Status::errorf("{}: missing \"model\"", where);
  const json& type = member(j, "type");
  // Files from tokenizers < 0.10 omit the type; BPE is the only one with merges.
  const bool is_bpe = type.is_string() ? type.get<std::string>() == "BPE" : member(j, "merges").is_array();
  if (!is_bpe) {
    return Status::errorf("{}: model type \"{}\" is not supported (only BPE)", where,
                          type.is_string() ? type.get<std::string>() : type.dump());
  }
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    const json& v = member(j, key);
    if (v.is_string() && !v.get<std::string>().empty()) {
      return Status::errorf("{}: BPE {} is not supported", where, key);
    }
  }
  R1_RETURN_IF_ERROR(parse_vocab(member(j, "vocab"), where + ".vocab", model));
  const json& merges = member(j, "merges");
  if (!merges.is_array()) return Status::errorf("{}: \"merges\" must be a list", where);
  model.merges.reserve(merges.size());
  for (size_t i = 0; i < merges.size(); ++i) {
    const json& m = merges[i];
    std::pair<std::string, std::string> pair;
    if (m.is_string()) {  // "a b" (tokenizers < 0.20)
      R1_RETURN_IF_ERROR(split_merge(m.get_ref<const std::string&>(), pair, item(where, "merges", i)));
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {  // ["a", "b"]
      pair = {m[0].get<std::string>(), m[1].get<std::string>()};
    } else {
      return Status::errorf("{}: bad merge {}", item(where, "merges", i), m.dump());
    }
    model.merges.push_back(std::move(pair));
  }
  if (const json& unk = member(j, "unk_token"); unk.is_string()) model.unk_token = unk.get<std::string>();
  model.byte_fallback = bool_at(j, "byte_fallback", false);
  model.fuse_unk = bool_at(j, "fuse_unk", false);
  model.ignore_merges = bool_at(j, "ignore_merges", false);
  return Status::ok();
}

// ---- decoder ----
Status parse_decoder(const json& j, const std::string& where, DecoderSpec& dec) {
  if (j.is_null()) return Status::ok();
  R1_ASSIGN_OR_RETURN(std::string type, string_at(j, "type", where));
  if (type == "Sequence") {
    const json& list = member(j, "decoders");
    if (!list.is_array()) return Status::errorf("{}: \"decoders\" must be a list", where);
    for (size_t i = 0; i < list.size(); ++i) {
      R1_RETURN_IF_ERROR(parse_decoder(list[i], item(where, "decoders", i), dec));
    }
  } else if (type == "ByteLevel") {
    dec.byte_level = true;
  } else if (type == "ByteFallback") {
    dec.byte_fallback = true;
  } else if (type == "Fuse") {
    // Joining token strings is what decode does anyway.
  } else if (type == "Replace") {
    const json& from = member(member(j, "pattern"), "String");
    if (!from.is_string() || member(j, "content") != " ") {
      return Status::errorf("{}: only the Replace(\"▁\" -> \" \") decoder is supported", where);
    }
    dec.metaspace = from.get<std::string>();
  } else if (type == "Strip") {
    if (member(j, "content") != " " || !member(j, "start").is_number_unsigned() || member(j, "stop") != 0) {
      return Status::errorf("{}: only Strip(\" \", start=n, stop=0) is supported", where);
    }
    dec.strip_leading_spaces = member(j, "start").get<int>();
  } else if (type == "Metaspace") {
    MetaspaceStep step;
    R1_RETURN_IF_ERROR(parse_metaspace(j, where, step));
    dec.metaspace = step.replacement;
    if (step.prepend_scheme != PrependScheme::kNever) dec.strip_leading_spaces = 1;
  } else {
    return Status::errorf("{}: decoder type \"{}\" is not supported", where, type);
  }
  return Status::ok();
}

// ---- post-processor: which special tokens surround a single sequence ----
Result<int32_t> template_token_id(const json& special_tokens, const std::string& name,
                                  const std::string& where) {
  const json& ids = member(member(special_tokens, name.c_str()), "ids");
  if (!ids.is_array() || ids.empty() || !ids[0].is_number_integer()) {
    return Status::errorf("{}: special token \"{}\" has no ids in special_tokens", where, name);
  }
  return ids[0].get<int32_t>();
}

Status parse_post_processor(const json& j, const std::string& where, TokenizerSpec& spec) {
  if (j.is_null()) return Status::ok();
  R1_ASSIGN_OR_RETURN(std::string type, string_at(j, "type", where));
  if (type == "ByteLevel") return Status::ok();  // only adjusts offsets
  if (type == "Sequence") {
    const json& list = member(j, "processors");
    if (!list.is_array()) return Status::errorf("{}: \"processors\" must be a list", where);
    for (size_t i = 0; i < list.size(); ++i) {
      R1_RETURN_IF_ERROR(parse_post_processor(list[i], item(where, "processors", i), spec));
    }
    return Status::ok();
  }
  if (type == "RobertaProcessing" || type == "BertProcessing") {
    const json& cls = member(j, "cls");
    const json& sep = member(j, "sep");
    if (!cls.is_array() || cls.size() != 2 || !sep.is_array() || sep.size() != 2) {
      return Status::errorf("{}: cls/sep must be [token, id]", where);
    }
    spec.template_bos_id = cls[1].get<int32_t>();
    spec.template_eos_id = sep[1].get<int32_t>();
    return Status::ok();
  }
  if (type != "TemplateProcessing") {
    return Status::errorf("{}: post-processor type \"{}\" is not supported", where, type);
  }
  const json& single = member(j, "single");
  if (!single.is_array()) return Status::errorf("{}: \"single\" must be a list", where);
  bool after_sequence = false;
  for (const json& piece : single) {
    if (piece.contains("Sequence")) {
      after_sequence = true;
      continue;
    }
    const json& name = member(member(piece, "SpecialToken"), "id");
    if (!name.is_string()) return Status::errorf("{}: bad item in \"single\": {}", where, piece.dump());
    R1_ASSIGN_OR_RETURN(int32_t id,
                        template_token_id(member(j, "special_tokens"), name.get<std::string>(), where));
    auto& slot = after_sequence ? spec.template_eos_id : spec.template_bos_id;
    if (!slot) slot = id;
  }
  return Status::ok();
}

// ---- added tokens ----
Status parse_added_token(const json& j, const std::string& where, AddedTokenSpec& t) {
  R1_ASSIGN_OR_RETURN(t.content, string_at(j, "content", where));
  if (t.content.empty()) return Status::errorf("{}: added token has empty content", where);
  t.special = bool_at(j, "special", false);
  t.lstrip = bool_at(j, "lstrip", false);
  t.rstrip = bool_at(j, "rstrip", false);
  t.single_word = bool_at(j, "single_word", false);
  t.normalized = bool_at(j, "normalized", !t.special);  // HF default: special tokens are not normalized
  return Status::ok();
}

void add_token(TokenizerSpec& spec, AddedTokenSpec token) {
  for (const AddedTokenSpec& t : spec.added_tokens) {
    if (t.id == token.id || t.content == token.content) return;  // the first definition wins
  }
  spec.added_tokens.push_back(std::move(token));
}

Status parse_added_tokens(const json& list, const std::string& where, TokenizerSpec& spec) {
  if (list.is_null()) return Status::ok();
  if (!list.is_array()) return Status::errorf("{}: must be a list", where);
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string w = fmt::format("{}[{}]", where, i);
    const json& id = member(list[i], "id");
    if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > INT32_MAX) {
      return Status::errorf("{}: \"id\" must be a non-negative integer", w);
    }
    AddedTokenSpec t;
    t.id = id.get<int32_t>();
    R1_RETURN_IF_ERROR(parse_added_token(list[i], w, t));
    add_token(spec, std::move(t));
  }
  return Status::ok();
}

// ---- tokenizer_config.json ----
Status parse_added_tokens_decoder(const json& map, const std::string& where, TokenizerSpec& spec) {
  if (map.is_null()) return Status::ok();
  if (!map.is_object()) return Status::errorf("{}: must be an object of id -> token", where);
  for (auto it = map.begin(); it != map.end(); ++it) {
    const std::string& key = it.key();
    AddedTokenSpec t;
    const auto [end, ec] = std::from_chars(key.data(), key.data() + key.size(), t.id);
    if (ec != std::errc() || end != key.data() + key.size() || t.id < 0) {
      return Status::errorf("{}: \"{}\" is not a token id", where, key);
    }
    R1_RETURN_IF_ERROR(parse_added_token(it.value(), fmt::format("{}.{}", where, key), t));
    add_token(spec, std::move(t));
  }
  return Status::ok();
}

Result<std::string> parse_chat_template(const json& v, const std::string& where) {
  if (v.is_null()) return std::string();
  if (v.is_string()) return v.get<std::string>();
  if (!v.is_array()) return Status::errorf("{}: must be a string or a list of {{name, template}}", where);
  std::string first;
  for (const json& named : v) {  // a list of named templates: use "default", else the first one
    const json& tmpl = member(named, "template");
    if (!tmpl.is_string()) return Status::errorf("{}: entry without a \"template\" string", where);
    if (member(named, "name") == "default") return tmpl.get<std::string>();
    if (first.empty()) first = tmpl.get<std::string>();
  }
  return first;
}

// bos/eos/pad/unk/additional_special_tokens of tokenizer_config.json or special_tokens_map.json.
void collect_special_names(const json& cfg, TokenizerSpec& spec) {
  if (!spec.bos_token) spec.bos_token = token_name(member(cfg, "bos_token"));
  if (!spec.eos_token) spec.eos_token = token_name(member(cfg, "eos_token"));
  for (const char* key : {"bos_token", "eos_token", "pad_token", "unk_token"}) {
    if (auto name = token_name(member(cfg, key))) spec.extra_special_tokens.push_back(*name);
  }
  const json& extra = member(cfg, "additional_special_tokens");
  if (extra.is_array()) {
    for (const json& t : extra) {
      if (auto name = token_name(t)) spec.extra_special_tokens.push_back(*name);
    }
  }
}

Status read_tokenizer_config(const std::string& path, TokenizerSpec& spec) {
  R1_ASSIGN_OR_RETURN(json cfg, read_json(path));
  if (!cfg.is_object()) return Status::errorf("{}: expected a JSON object", path);
  R1_RETURN_IF_ERROR(
      parse_added_tokens_decoder(member(cfg, "added_tokens_decoder"), path + ": added_tokens_decoder", spec));
  collect_special_names(cfg, spec);
  if (member(cfg, "add_bos_token").is_boolean()) spec.add_bos_token = cfg["add_bos_token"].get<bool>();
  if (member(cfg, "add_eos_token").is_boolean()) spec.add_eos_token = cfg["add_eos_token"].get<bool>();
  if (member(cfg, "tokenizer_class").is_string())
    spec.tokenizer_class = cfg["tokenizer_class"].get<std::string>();
  R1_ASSIGN_OR_RETURN(spec.chat_template,
                      parse_chat_template(member(cfg, "chat_template"), path + ": chat_template"));
  return Status::ok();
}

Status read_added_tokens_json(const std::string& path, TokenizerSpec& spec) {
  R1_ASSIGN_OR_RETURN(json map, read_json(path));
  if (!map.is_object()) return Status::errorf("{}: expected an object of token -> id", path);
  for (auto it = map.begin(); it != map.end(); ++it) {
    if (!it.value().is_number_integer() || it.value().get<int64_t>() < 0) {
      return Status::errorf("{}: token \"{}\" has an invalid id", path, it.key());
    }
    AddedTokenSpec t;
    t.id = it.value().get<int32_t>();
    t.content = it.key();
    add_token(spec, std::move(t));
  }
  return Status::ok();
}

Status read_tokenizer_json_checked(const std::string& path, TokenizerSpec& spec) {
  R1_ASSIGN_OR_RETURN(json j, read_json(path));
  if (!j.is_object()) return Status::errorf("{}: expected a JSON object", path);
  R1_RETURN_IF_ERROR(parse_added_tokens(member(j, "added_tokens"), path + ": added_tokens", spec));
  R1_RETURN_IF_ERROR(parse_normalizer(member(j, "normalizer"), path + ": normalizer", spec.normalizer));
  R1_RETURN_IF_ERROR(
      parse_pre_tokenizer(member(j, "pre_tokenizer"), path + ": pre_tokenizer", spec.pre_tokenizer));
  R1_RETURN_IF_ERROR(parse_model(member(j, "model"), path + ": model", spec.model));
  R1_RETURN_IF_ERROR(parse_decoder(member(j, "decoder"), path + ": decoder", spec.decoder));
  R1_RETURN_IF_ERROR(parse_post_processor(member(j, "post_processor"), path + ": post_processor", spec));
  return Status::ok();
}

// Guards a reader against nlohmann exceptions the explicit checks missed (e.g. an id that overflows int32).
template <typename F>
Status guarded(const std::string& path, F&& f) {
  try {
    return f();
  } catch (const json::exception& e) {
    return Status::errorf("{}: unexpected JSON content ({})", path, e.what());
  }
}

}  // namespace

bool file_exists(const std::string& path) {
  std::error_code ec;
  return std::filesystem::is_regular_file(path, ec);
}

Status read_tokenizer_json(const std::string& path, TokenizerSpec& spec) {
  return guarded(path, [&] { return read_tokenizer_json_checked(path, spec); });
}

Status read_vocab_and_merges(const std::string& vocab_path, const std::string& merges_path, BpeSpec& model) {
  R1_RETURN_IF_ERROR(guarded(vocab_path, [&]() -> Status {
    R1_ASSIGN_OR_RETURN(json vocab, read_json(vocab_path));
    return parse_vocab(vocab, vocab_path, model);
  }));
  R1_ASSIGN_OR_RETURN(std::string text, read_text(merges_path));
  std::string_view rest = text;
  for (size_t line_no = 1; !rest.empty(); ++line_no) {
    const size_t nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || (line_no == 1 && line.starts_with("#version"))) continue;
    std::pair<std::string, std::string> pair;
    R1_RETURN_IF_ERROR(split_merge(line, pair, fmt::format("{}: line {}", merges_path, line_no)));
    model.merges.push_back(std::move(pair));
  }
  return Status::ok();
}

Status read_side_files(const std::string& dir, TokenizerSpec& spec) {
  const std::string config = dir + "/tokenizer_config.json";
  if (file_exists(config)) {
    R1_RETURN_IF_ERROR(guarded(config, [&] { return read_tokenizer_config(config, spec); }));
  }
  const std::string special_map = dir + "/special_tokens_map.json";
  if (file_exists(special_map)) {
    R1_RETURN_IF_ERROR(guarded(special_map, [&]() -> Status {
      R1_ASSIGN_OR_RETURN(json m, read_json(special_map));
      if (!m.is_object()) return Status::errorf("{}: expected a JSON object", special_map);
      collect_special_names(m, spec);
      return Status::ok();
    }));
  }
  const std::string added = dir + "/added_tokens.json";
  if (file_exists(added)) {
    R1_RETURN_IF_ERROR(guarded(added, [&] { return read_added_tokens_json(added, spec); }));
  }
  const std::string jinja = dir + "/chat_template.jinja";
  if (spec.chat_template.empty() && file_exists(jinja)) {
    R1_ASSIGN_OR_RETURN(spec.chat_template, read_text(jinja));
  }
  return Status::ok();
}

}  // namespace r1::tok
