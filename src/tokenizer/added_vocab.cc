#include "tokenizer/added_vocab.h"

#include <utf8proc.h>

#include <algorithm>

#include "tokenizer/utf8.h"

namespace r1::tok {
namespace {

// Code point of the character that ends just before `pos` (and its start), or {0, pos} at the start.
std::pair<uint32_t, size_t> char_before(std::string_view text, size_t pos) {
  size_t start = pos;
  while (start > 0 && pos - start < 4) {
    --start;
    if ((static_cast<uint8_t>(text[start]) & 0xC0) != 0x80) break;
  }
  const size_t n = utf8::char_len(text, start);
  if (start == pos || n != pos - start) return {start == pos ? 0 : 0xFFFD, start};
  return {utf8::decode_char(text, start, n), start};
}

std::pair<uint32_t, size_t> char_at(std::string_view text, size_t pos) {
  const size_t n = utf8::char_len(text, pos);
  if (n == 0) return {0xFFFD, 1};
  return {utf8::decode_char(text, pos, n), n};
}

bool is_space(uint32_t cp) {
  if (cp == ' ' || (cp >= '\t' && cp <= '\r') || cp == 0x85) return true;
  const auto cat = utf8proc_category(static_cast<utf8proc_int32_t>(cp));
  return cat == UTF8PROC_CATEGORY_ZS || cat == UTF8PROC_CATEGORY_ZL || cat == UTF8PROC_CATEGORY_ZP;
}

bool is_word_char(uint32_t cp) {
  if (cp == '_') return true;
  const auto cat = utf8proc_category(static_cast<utf8proc_int32_t>(cp));
  return (cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_LO) ||
         (cat >= UTF8PROC_CATEGORY_ND && cat <= UTF8PROC_CATEGORY_NO);
}

}  // namespace

void AddedVocab::add(std::string_view text, int32_t id, Options options) {
  if (text.empty()) return;
  int32_t node = 0;
  for (char c : text) {
    const auto byte = static_cast<uint8_t>(c);
    int32_t next = child(node, byte);
    if (next < 0) {
      next = static_cast<int32_t>(nodes_.size());
      nodes_.emplace_back();  // may reallocate: index, don't hold references across it
      auto& children = nodes_[static_cast<size_t>(node)].children;
      children.insert(std::upper_bound(children.begin(), children.end(), std::make_pair(byte, INT32_MIN)),
                      {byte, next});
    }
    node = next;
  }
  Node& leaf = nodes_[static_cast<size_t>(node)];
  if (leaf.token >= 0) return;  // same text twice: the first token keeps it
  leaf.token = static_cast<int32_t>(tokens_.size());
  tokens_.push_back({id, options});
  first_byte_[static_cast<uint8_t>(text[0])] = true;
}

int32_t AddedVocab::child(int32_t node, uint8_t byte) const {
  const auto& children = nodes_[static_cast<size_t>(node)].children;
  const auto it = std::lower_bound(children.begin(), children.end(), std::make_pair(byte, INT32_MIN));
  return it != children.end() && it->first == byte ? it->second : -1;
}

std::pair<int32_t, size_t> AddedVocab::match_at(std::string_view text, size_t pos) const {
  // Every token ending along the trie path, shortest first; the longest acceptable one wins.
  std::pair<int32_t, size_t> found[64];
  size_t n_found = 0;
  int32_t node = 0;
  for (size_t i = pos; i < text.size(); ++i) {
    node = child(node, static_cast<uint8_t>(text[i]));
    if (node < 0) break;
    const int32_t token = nodes_[static_cast<size_t>(node)].token;
    if (token >= 0) {
      if (n_found == std::size(found)) n_found = 0;  // absurd nesting: keep only the longest ones
      found[n_found++] = {token, i + 1};
    }
  }
  while (n_found > 0) {
    const auto [token, end] = found[--n_found];
    if (!tokens_[static_cast<size_t>(token)].options.single_word) return {token, end};
    const bool word_before = pos > 0 && is_word_char(char_before(text, pos).first);
    const bool word_after = end < text.size() && is_word_char(char_at(text, end).first);
    if (!word_before && !word_after) return {token, end};
  }
  return {-1, 0};
}

void AddedVocab::split(std::string_view text, std::vector<Segment>& out) const {
  size_t plain_start = 0;  // start of the plain text not yet emitted
  size_t pos = 0;
  while (pos < text.size()) {
    if (!first_byte_[static_cast<uint8_t>(text[pos])]) {
      ++pos;
      continue;
    }
    const auto [token, match_end] = match_at(text, pos);
    if (token < 0) {
      ++pos;
      continue;
    }
    const Token& t = tokens_[static_cast<size_t>(token)];
    size_t start = pos, end = match_end;
    while (t.options.lstrip && start > plain_start) {
      const auto [cp, prev] = char_before(text, start);
      if (prev < plain_start || !is_space(cp)) break;
      start = prev;
    }
    while (t.options.rstrip && end < text.size()) {
      const auto [cp, len] = char_at(text, end);
      if (!is_space(cp)) break;
      end += len;
    }
    if (start > plain_start) out.push_back({plain_start, start, -1});
    out.push_back({start, end, t.id});
    plain_start = pos = end;
  }
  if (plain_start < text.size()) out.push_back({plain_start, text.size(), -1});
}

}  // namespace r1::tok
