// Added tokens (special tokens such as <｜User｜>, <think>, <|im_start|>) are found in the text before any
// normalization or pre-tokenization and are never split. Matching is leftmost-longest over all tokens, as
// HF's AddedVocabulary does with its Aho-Corasick automaton; here a byte trie walked from each candidate
// position. Internal to src/tokenizer/.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace r1::tok {

class AddedVocab {
 public:
  struct Options {
    bool lstrip = false;       // swallow whitespace on the left of a match
    bool rstrip = false;       // swallow whitespace on the right of a match
    bool single_word = false;  // only match when not preceded or followed by a letter, digit or '_'
  };
  // `text` is what is searched for (the token content, normalized for tokens matched after normalization).
  void add(std::string_view text, int32_t id, Options options);
  bool empty() const { return tokens_.empty(); }

  struct Segment {
    size_t start = 0, end = 0;  // byte range in the searched text
    int32_t id = -1;            // the added token, or -1 for plain text between tokens
  };
  // Cuts text into plain-text segments and added-token matches, in order; empty plain segments are omitted.
  void split(std::string_view text, std::vector<Segment>& out) const;

 private:
  struct Node {
    std::vector<std::pair<uint8_t, int32_t>> children;  // sorted by byte
    int32_t token = -1;                                 // index into tokens_ when a token ends here
  };
  struct Token {
    int32_t id;
    Options options;
  };
  int32_t child(int32_t node, uint8_t byte) const;
  // Longest acceptable token starting at pos: {token index, end}, or {-1, 0}.
  std::pair<int32_t, size_t> match_at(std::string_view text, size_t pos) const;

  std::vector<Node> nodes_ = std::vector<Node>(1);  // nodes_[0] is the root
  std::vector<Token> tokens_;
  std::array<bool, 256> first_byte_{};  // quick reject for positions no token can start at
};

}  // namespace r1::tok
