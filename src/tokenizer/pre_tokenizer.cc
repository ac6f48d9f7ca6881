#include "tokenizer/pre_tokenizer.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <utf8proc.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <unordered_map>

#include "tokenizer/utf8.h"

namespace r1::tok {

// ===========================================================================================================
// Regex (PCRE2)
// ===========================================================================================================

struct Regex::Code {
  pcre2_code* code = nullptr;
  bool jit = false;  // JIT-compiled: matched through pcre2_jit_match, which skips the interpreter's checks
  ~Code() { pcre2_code_free(code); }
};

namespace {

// Per-thread match buffers: one match-data block and a JIT stack big enough for long whitespace runs.
struct MatchScratch {
  pcre2_match_data* data = pcre2_match_data_create(1, nullptr);
  pcre2_match_context* context = pcre2_match_context_create(nullptr);
  pcre2_jit_stack* stack = pcre2_jit_stack_create(32 * 1024, 4 * 1024 * 1024, nullptr);
  MatchScratch() {
    if (context != nullptr && stack != nullptr) pcre2_jit_stack_assign(context, nullptr, stack);
  }
  ~MatchScratch() {
    pcre2_jit_stack_free(stack);
    pcre2_match_context_free(context);
    pcre2_match_data_free(data);
  }
};

MatchScratch& match_scratch() {
  thread_local MatchScratch scratch;
  return scratch;
}

}  // namespace

Result<Regex> Regex::compile(const std::string& pattern) {
  int error_code = 0;
  PCRE2_SIZE error_offset = 0;
  // UCP makes \s, \d, \w and [:classes:] Unicode-aware, as in the Oniguruma engine HF tokenizers uses.
  // MATCH_INVALID_UTF lets arbitrary bytes through: invalid sequences never match, so they end up in the
  // gaps.
  pcre2_code* code =
      pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                    PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &error_code, &error_offset, nullptr);
  if (code == nullptr) {
    std::array<PCRE2_UCHAR, 256> message{};
    pcre2_get_error_message(error_code, message.data(), message.size());
    return Status::errorf("regex \"{}\" does not compile at offset {}: {}", pattern, error_offset,
                          reinterpret_cast<const char*>(message.data()));
  }
  // Falls back to the interpreter if JIT is unavailable.
  const bool jit = pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == 0;
  Regex regex;
  auto owned = std::make_shared<Code>();
  owned->code = code;
  owned->jit = jit;
  regex.code_ = std::move(owned);
  return regex;
}

bool Regex::find_all(std::string_view text, std::vector<std::pair<size_t, size_t>>& spans) const {
  if (text.empty() || code_ == nullptr) return true;
  MatchScratch& scratch = match_scratch();
  if (scratch.data == nullptr) return false;
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  size_t offset = 0;
  while (offset < text.size()) {
    const int rc =
        code_->jit
            ? pcre2_jit_match(code_->code, subject, text.size(), offset, 0, scratch.data, scratch.context)
            : pcre2_match(code_->code, subject, text.size(), offset, 0, scratch.data, scratch.context);
    if (rc == PCRE2_ERROR_NOMATCH) return true;
    if (rc < 0) return false;  // match/depth/JIT-stack limit: give up on the rest
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(scratch.data);
    const size_t start = ov[0], end = ov[1];
    if (end > start) {
      spans.emplace_back(start, end);
      offset = end;
    } else {  // an empty match: step over one character so the scan always advances
      if (start >= text.size()) return true;
      const size_t n = utf8::char_len(text, start);
      offset = start + (n == 0 ? 1 : n);
    }
  }
  return true;
}

// ===========================================================================================================
// Normalizer
// ===========================================================================================================

namespace {

// Normalizes one stretch of text with utf8proc. utf8proc rejects invalid UTF-8, so each valid run is
// normalized and stray bytes are copied through unchanged.
void normalize_stretch(std::string_view text, int options, std::string& out) {
  size_t i = 0;
  while (i < text.size()) {
    size_t run_end = i;
    while (run_end < text.size()) {
      const size_t n = utf8::char_len(text, run_end);
      if (n == 0) break;
      run_end += n;
    }
    if (run_end > i) {
      utf8proc_uint8_t* mapped = nullptr;
      const utf8proc_ssize_t len = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(text.data() + i),
                                                static_cast<utf8proc_ssize_t>(run_end - i), &mapped,
                                                static_cast<utf8proc_option_t>(options));
      if (len >= 0) {
        out.append(reinterpret_cast<const char*>(mapped), static_cast<size_t>(len));
      } else {
        out.append(text.substr(i, run_end - i));
      }
      std::free(mapped);
      i = run_end;
    }
    if (i < text.size() && utf8::char_len(text, i) == 0) out += text[i++];
  }
}

// NFC quick check. A character is NFC-stable when it has combining class 0, no canonical decomposition and is
// not the second element of any canonical composition; NFC leaves a string of such characters unchanged (no
// decomposition, no reordering, nothing to compose). The table marks the unstable characters below kLimit —
// above it Unicode has no decompositions and no combining marks — and is derived once from utf8proc:
// combining marks, characters that decompose, and every non-first character of a canonical decomposition
// (which covers all second elements of compositions, Hangul jamo included).
class NfcStable {
 public:
  static const NfcStable& get() {
    static const NfcStable table;
    return table;
  }
  bool stable(uint32_t cp) const { return cp >= kLimit || (unstable_[cp >> 6] >> (cp & 63) & 1) == 0; }
  // True when every character of `s` is valid UTF-8 and NFC-stable.
  bool all_stable(std::string_view s) const {
    for (size_t i = 0; i < s.size();) {
      const auto b = static_cast<uint8_t>(s[i]);
      if (b < 0x80) {
        ++i;
        continue;
      }
      const size_t n = utf8::char_len(s, i);
      if (n == 0 || !stable(utf8::decode_char(s, i, n))) return false;
      i += n;
    }
    return true;
  }

 private:
  static constexpr uint32_t kLimit = 0x30000;
  NfcStable() : unstable_(kLimit / 64, 0) {
    std::array<utf8proc_int32_t, 32> buf{};
    for (uint32_t cp = 0x80; cp < kLimit; ++cp) {
      if (cp >= 0xD800 && cp <= 0xDFFF) continue;  // surrogates never occur in valid UTF-8
      const auto c = static_cast<utf8proc_int32_t>(cp);
      if (utf8proc_get_property(c)->combining_class != 0) mark(cp);
      int boundclass = 0;
      const utf8proc_ssize_t n =
          utf8proc_decompose_char(c, buf.data(), buf.size(), UTF8PROC_DECOMPOSE, &boundclass);
      if (n <= 0 || n > static_cast<utf8proc_ssize_t>(buf.size()) || (n == 1 && buf[0] == c)) continue;
      mark(cp);
      for (utf8proc_ssize_t k = 1; k < n; ++k) {
        if (buf[k] >= 0 && static_cast<uint32_t>(buf[k]) < kLimit) mark(static_cast<uint32_t>(buf[k]));
      }
    }
  }
  void mark(uint32_t cp) { unstable_[cp >> 6] |= uint64_t(1) << (cp & 63); }
  std::vector<uint64_t> unstable_;  // bit per code point below kLimit
};

std::string unicode_normalize(std::string_view text, UnicodeForm form) {
  int options = UTF8PROC_STABLE;
  switch (form) {
    case UnicodeForm::kNfc:
      options |= UTF8PROC_COMPOSE;
      break;
    case UnicodeForm::kNfd:
      options |= UTF8PROC_DECOMPOSE;
      break;
    case UnicodeForm::kNfkc:
      options |= UTF8PROC_COMPOSE | UTF8PROC_COMPAT;
      break;
    case UnicodeForm::kNfkd:
      options |= UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT;
      break;
  }
  // Every normal form leaves ASCII unchanged, and an ASCII character is a starter that never composes with
  // what precedes it, so normalization splits at each ASCII character: only a non-ASCII stretch (with the one
  // ASCII character before it, which marks may attach to) goes through utf8proc.
  std::string out;
  out.reserve(text.size());
  size_t done = 0;  // text[0, done) is in out
  for (size_t i = 0; i < text.size();) {
    if (static_cast<uint8_t>(text[i]) < 0x80) {
      ++i;
      continue;
    }
    const size_t start = i > done ? i - 1 : i;
    size_t end = i;
    while (end < text.size() && static_cast<uint8_t>(text[end]) >= 0x80) ++end;
    out.append(text.substr(done, start - done));
    const std::string_view stretch = text.substr(start, end - start);
    if (form == UnicodeForm::kNfc && NfcStable::get().all_stable(stretch)) {
      out.append(stretch);  // most text in most scripts
    } else {
      normalize_stretch(stretch, options, out);
    }
    done = i = end;
  }
  out.append(text.substr(done));
  return out;
}

void replace_all(std::string& s, std::string_view from, std::string_view to) {
  if (from.empty() || s.find(from) == std::string::npos) return;
  std::string out;
  out.reserve(s.size() + s.size() / 4);
  size_t pos = 0;
  for (size_t hit; (hit = s.find(from, pos)) != std::string::npos; pos = hit + from.size()) {
    out.append(s, pos, hit - pos);
    out.append(to);
  }
  out.append(s, pos);
  s = std::move(out);
}

}  // namespace

std::string Normalizer::apply(std::string_view text) const {
  std::string s(text);
  for (const NormalizerStep& step : steps_) {
    if (const auto* u = std::get_if<UnicodeNormalize>(&step)) {
      s = unicode_normalize(s, u->form);
    } else if (const auto* p = std::get_if<Prepend>(&step)) {
      if (!s.empty()) s.insert(0, p->prefix);
    } else if (const auto* r = std::get_if<Replace>(&step)) {
      replace_all(s, r->from, r->to);
    }
  }
  return s;
}

// ===========================================================================================================
// Pre-tokenizer
// ===========================================================================================================

namespace {

// The regex ByteLevel(use_regex = true) splits with (GPT-2).
constexpr const char* kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

struct Segment {
  size_t start, end;
  bool match;
};

// Applies one Split to one word, following HF SplitDelimiterBehavior.
void apply_split(const PreTokenizer::RegexSplit& split, const Word& word, std::vector<Word>& out) {
  thread_local std::vector<std::pair<size_t, size_t>> spans;
  thread_local std::vector<Segment> segments;
  spans.clear();
  segments.clear();
  const std::string_view text = word.text;
  if (!split.literal.empty()) {
    for (size_t p = text.find(split.literal); p != std::string_view::npos;
         p = text.find(split.literal, p + split.literal.size())) {
      spans.emplace_back(p, p + split.literal.size());
    }
  } else {
    split.regex.find_all(text, spans);  // on a matcher failure the unmatched rest stays one piece
  }
  if (split.behavior == SplitBehavior::kIsolated) {  // the common case: every match and gap is a piece
    size_t prev = 0;
    for (const auto& [s, e] : spans) {
      if (s > prev) out.push_back({text.substr(prev, s - prev), word.at_start && prev == 0});
      out.push_back({text.substr(s, e - s), word.at_start && s == 0});
      prev = e;
    }
    if (prev < text.size()) out.push_back({text.substr(prev), word.at_start && prev == 0});
    return;
  }
  size_t prev = 0;
  for (const auto& [s, e] : spans) {
    if (s > prev) segments.push_back({prev, s, split.invert});
    segments.push_back({s, e, !split.invert});
    prev = e;
  }
  if (prev < text.size()) segments.push_back({prev, text.size(), split.invert});

  // Merge matches into neighbours (or drop them) per behavior; the result is a list of [start, end) pieces.
  thread_local std::vector<std::pair<size_t, size_t>> pieces;
  pieces.clear();
  const SplitBehavior b = split.behavior;
  if (b == SplitBehavior::kMergedWithNext) {
    for (size_t i = segments.size(); i-- > 0;) {
      const bool merge =
          segments[i].match && i + 1 < segments.size() && !segments[i + 1].match && !pieces.empty();
      if (merge) {
        pieces.back().first = segments[i].start;
      } else {
        pieces.emplace_back(segments[i].start, segments[i].end);
      }
    }
    std::reverse(pieces.begin(), pieces.end());
  } else {
    bool prev_match = false;
    for (size_t i = 0; i < segments.size(); ++i) {
      const Segment& seg = segments[i];
      bool extend = false;
      if (b == SplitBehavior::kContiguous) extend = i > 0 && seg.match == prev_match;
      if (b == SplitBehavior::kMergedWithPrevious) extend = i > 0 && seg.match && !prev_match;
      if (b == SplitBehavior::kRemoved && seg.match) {
        prev_match = true;
        continue;
      }
      if (extend && !pieces.empty()) {
        pieces.back().second = seg.end;
      } else {
        pieces.emplace_back(seg.start, seg.end);
      }
      prev_match = seg.match;
    }
  }
  for (const auto& [s, e] : pieces) {
    if (e > s) out.push_back({text.substr(s, e - s), word.at_start && s == 0});
  }
}

}  // namespace

Result<PreTokenizer> PreTokenizer::build(const std::vector<PreTokenizerStep>& steps) {
  PreTokenizer pt;
  for (const PreTokenizerStep& step : steps) {
    if (const auto* s = std::get_if<SplitStep>(&step)) {
      RegexSplit split;
      split.behavior = s->behavior;
      split.invert = s->invert;
      if (s->is_regex) {
        R1_ASSIGN_OR_RETURN(split.regex, Regex::compile(s->pattern));
      } else if (s->pattern.empty()) {
        return Status::error("Split with an empty String pattern");
      } else {
        split.literal = s->pattern;
      }
      pt.steps_.emplace_back(std::in_place_type<RegexSplit>, std::move(split));
    } else if (const auto* d = std::get_if<DigitsStep>(&step)) {
      RegexSplit split;
      R1_ASSIGN_OR_RETURN(split.regex, Regex::compile(R"(\p{N})"));
      split.behavior = d->individual_digits ? SplitBehavior::kIsolated : SplitBehavior::kContiguous;
      pt.steps_.emplace_back(std::in_place_type<RegexSplit>, std::move(split));
    } else if (const auto* bl = std::get_if<ByteLevelStep>(&step)) {
      pt.byte_level_ = true;
      if (bl->add_prefix_space) pt.steps_.emplace_back(std::in_place_type<PrefixSpace>);
      if (bl->use_regex) {
        RegexSplit split;
        R1_ASSIGN_OR_RETURN(split.regex, Regex::compile(kGpt2Pattern));
        pt.steps_.emplace_back(std::in_place_type<RegexSplit>, std::move(split));
      }
    } else if (const auto* m = std::get_if<MetaspaceStep>(&step)) {
      pt.steps_.emplace_back(MetaspaceRewrite{m->replacement, m->prepend_scheme});
      if (m->split) {
        RegexSplit split;
        split.literal = m->replacement;
        split.behavior = SplitBehavior::kMergedWithNext;
        pt.steps_.emplace_back(std::in_place_type<RegexSplit>, std::move(split));
      }
    }
  }
  return pt;
}

void PreTokenizer::split(std::string_view text, bool at_start, Words& out) const {
  if (text.empty()) return;
  thread_local std::vector<Word> cur, next;
  cur.assign(1, Word{text, at_start});
  for (const Step& step : steps_) {
    next.clear();
    for (const Word& w : cur) {
      if (const auto* split = std::get_if<RegexSplit>(&step)) {
        apply_split(*split, w, next);
      } else if (std::holds_alternative<PrefixSpace>(step)) {
        if (w.text.starts_with(' ')) {
          next.push_back(w);
        } else {
          std::string& spaced = out.storage.emplace_back();
          spaced.reserve(w.text.size() + 1);
          spaced.append(1, ' ').append(w.text);
          next.push_back({spaced, w.at_start});
        }
      } else if (const auto* meta = std::get_if<MetaspaceRewrite>(&step)) {
        std::string s(w.text);
        replace_all(s, " ", meta->replacement);
        const bool prepend = meta->prepend_scheme == PrependScheme::kAlways ||
                             (meta->prepend_scheme == PrependScheme::kFirst && w.at_start);
        if (prepend && !std::string_view(s).starts_with(meta->replacement)) s.insert(0, meta->replacement);
        next.push_back({out.storage.emplace_back(std::move(s)), w.at_start});
      }
    }
    std::swap(cur, next);
  }
  out.items.insert(out.items.end(), cur.begin(), cur.end());
}

// ===========================================================================================================
// GPT-2 byte <-> unicode table
// ===========================================================================================================

namespace {

// Code point of each byte: printable Latin-1 bytes map to themselves, the rest to U+0100 onwards in order.
std::array<uint32_t, 256> make_byte_code_points() {
  std::array<uint32_t, 256> cps{};
  uint32_t next = 256;
  for (uint32_t b = 0; b < 256; ++b) {
    const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
    cps[b] = printable ? b : next++;
  }
  return cps;
}

const std::unordered_map<uint32_t, uint8_t>& unicode_to_byte() {
  static const auto* map = [] {
    auto* m = new std::unordered_map<uint32_t, uint8_t>();
    const auto cps = make_byte_code_points();
    for (uint32_t b = 0; b < 256; ++b) (*m)[cps[b]] = static_cast<uint8_t>(b);
    return m;
  }();
  return *map;
}

}  // namespace

const std::vector<std::string>& byte_to_unicode() {
  static const auto* table = [] {
    auto* t = new std::vector<std::string>(256);
    const auto cps = make_byte_code_points();
    for (int b = 0; b < 256; ++b) utf8::append_char((*t)[b], cps[b]);
    return t;
  }();
  return *table;
}

bool byte_level_decode(std::string_view token, std::string& out) {
  const auto& map = unicode_to_byte();
  for (size_t i = 0; i < token.size();) {
    const size_t n = utf8::char_len(token, i);
    if (n == 0) return false;
    const auto it = map.find(utf8::decode_char(token, i, n));
    if (it == map.end()) return false;
    out += static_cast<char>(it->second);
    i += n;
  }
  return true;
}

std::string byte_level_decode_lossy(std::string_view token) {
  const auto& map = unicode_to_byte();
  std::string out;
  for (size_t i = 0; i < token.size();) {
    const size_t n = utf8::char_len(token, i);
    if (n == 0) {
      out += token[i++];
      continue;
    }
    const auto it = map.find(utf8::decode_char(token, i, n));
    if (it == map.end()) {
      out.append(token.substr(i, n));
    } else {
      out += static_cast<char>(it->second);
    }
    i += n;
  }
  return out;
}

}  // namespace r1::tok
