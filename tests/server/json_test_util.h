// Helpers shared by the JSON recognizer and constraint tests.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "server/json_constraint.h"

namespace r1::server::json_test {

// Tried in this order, the first of these bytes that a recognizer accepts always moves the document towards
// its end: '"' closes strings (and keys, then ':' and an empty string value follow), '}' / ']' close
// containers and end numbers, '0' finishes numbers and hex escapes, the letters finish true/false/null, 'D'
// then 'e' start a low surrogate after a high one, and 0x80/0x90/0xA0 continue every kind of UTF-8 lead byte.
inline constexpr std::string_view kClosingBytes = "\"}]:0{ruealsD\\\x80\x90\xA0";

// The closing byte to append next, or none if the recognizer accepts none of them.
inline std::optional<uint8_t> next_closing_byte(const JsonRecognizer& recognizer) {
  for (char c : kClosingBytes) {
    JsonRecognizer copy = recognizer;
    if (copy.push(static_cast<uint8_t>(c))) return static_cast<uint8_t>(c);
  }
  return std::nullopt;
}

// Bytes that complete the document the recognizer has read so far; nullopt if it gets stuck or runs long.
inline std::optional<std::string> closing_bytes(JsonRecognizer recognizer) {
  std::string out;
  while (!recognizer.complete()) {
    const std::optional<uint8_t> b = next_closing_byte(recognizer);
    if (!b || out.size() > 4096) return std::nullopt;
    recognizer.push(*b);
    out.push_back(static_cast<char>(*b));
  }
  return out;
}

// The independent oracle: nlohmann's strict parser (it checks UTF-8 and surrogate pairs) says `text` is a
// JSON object.
inline bool parses_as_object(const std::string& text) {
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  return !j.is_discarded() && j.is_object();
}

inline bool is_eos(const JsonConstraintOptions& options, size_t id) {
  return std::count(options.eos_ids.begin(), options.eos_ids.end(), static_cast<int32_t>(id)) > 0;
}

// What the constraint must allow after `answer`, worked out the plain way: a fresh recognizer reads the
// answer, then each token's bytes are tried from a copy of it. Control tokens: EOS once complete, <think> as
// the first token. When nothing fits, EOS.
inline std::vector<uint8_t> reference_allowed(const VocabBytes& vocab, const JsonConstraintOptions& options,
                                              std::string_view answer, bool first_token) {
  JsonRecognizer state(options.max_whitespace_run);
  EXPECT_TRUE(state.push(answer)) << "the answer so far is not a JSON prefix";
  std::vector<uint8_t> allowed(vocab.bytes.size(), 0);
  for (size_t id = 0; id < vocab.bytes.size(); ++id) {
    if (vocab.special[id]) {
      allowed[id] = (state.complete() && is_eos(options, id)) ||
                    (first_token && static_cast<int32_t>(id) == options.think_open_id);
    } else if (!vocab.bytes[id].empty()) {
      JsonRecognizer copy = state;
      allowed[id] = copy.push(vocab.bytes[id]);
    }
  }
  if (std::count(allowed.begin(), allowed.end(), 1) == 0) {
    for (int32_t id : options.eos_ids) allowed[static_cast<size_t>(id)] = 1;
  }
  return allowed;
}

// Runs mask() over a copy of `logits` and returns which tokens stayed allowed; allowed ones must keep their
// value and banned ones must be -infinity.
inline std::vector<uint8_t> allowed_by(TokenConstraint& constraint, const std::vector<float>& logits) {
  std::vector<float> masked = logits;
  constraint.mask(masked.data(), static_cast<int64_t>(masked.size()));
  std::vector<uint8_t> allowed(masked.size());
  for (size_t id = 0; id < masked.size(); ++id) {
    allowed[id] = masked[id] != -INFINITY;
    if (allowed[id]) {
      EXPECT_EQ(masked[id], logits[id]) << "mask() changed the logit of allowed token " << id;
    }
  }
  return allowed;
}

// The first token id on which two allow-lists differ, or -1.
inline int64_t first_difference(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b) {
  if (a.size() != b.size()) return static_cast<int64_t>(std::min(a.size(), b.size()));
  const auto diff = std::mismatch(a.begin(), a.end(), b.begin());
  return diff.first == a.end() ? -1 : diff.first - a.begin();
}

struct Sampled {
  std::string answer;        // the bytes of the answer tokens (EOS excluded)
  std::vector<int32_t> ids;  // the answer tokens, EOS excluded
  bool ended = false;        // EOS was sampled
};

// Samples uniformly among the tokens the constraint allows (random logits, so that mask() is also seen to
// leave allowed logits alone), from a constraint already in the answer phase, until EOS or max_steps. Every
// step the answer must stay a JSON prefix and EOS must be allowed exactly when it is complete; every
// `reference_every`-th step the whole allow-list must equal reference_allowed().
inline Sampled sample_answer(TokenConstraint& constraint, const VocabBytes& vocab,
                             const JsonConstraintOptions& options, uint32_t seed, int max_steps,
                             int reference_every, bool first_token = false) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> logit(-1.0f, 1.0f);
  std::vector<float> logits(vocab.bytes.size());
  JsonRecognizer prefix(options.max_whitespace_run);  // the answer so far, fed incrementally on the test side
  Sampled out;
  for (int step = 0; step < max_steps && !out.ended && !::testing::Test::HasFatalFailure(); ++step) {
    for (float& l : logits) l = logit(rng);
    const std::vector<uint8_t> allowed = allowed_by(constraint, logits);
    if (step % reference_every == 0) {
      const int64_t diff =
          first_difference(allowed, reference_allowed(vocab, options, out.answer, first_token));
      if (diff >= 0) {
        ADD_FAILURE()
            << "mask and reference disagree on token " << diff << " (\"" << vocab.bytes[diff] << "\") after "
            << nlohmann::json(out.answer).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        return out;
      }
    }
    for (int32_t eos : options.eos_ids) EXPECT_EQ(allowed[eos] != 0, prefix.complete()) << "step " << step;
    std::vector<int32_t> choices;
    for (size_t id = 0; id < allowed.size(); ++id) {
      if (allowed[id]) choices.push_back(static_cast<int32_t>(id));
    }
    if (choices.empty()) {
      ADD_FAILURE() << "no token allowed";
      return out;
    }
    const int32_t id = choices[std::uniform_int_distribution<size_t>(0, choices.size() - 1)(rng)];
    constraint.accept(id);
    first_token = false;
    if (is_eos(options, static_cast<size_t>(id))) {
      out.ended = true;
    } else {
      EXPECT_TRUE(prefix.push(vocab.bytes[static_cast<size_t>(id)])) << "not a JSON prefix any more";
      out.answer += vocab.bytes[static_cast<size_t>(id)];
      out.ids.push_back(id);
    }
  }
  return out;
}

// Ends an answer that sample_answer left open: single-byte tokens chosen by next_closing_byte (each checked
// to be allowed) until the object is complete, then EOS (checked to be allowed).
inline void finish_answer(TokenConstraint& constraint, const VocabBytes& vocab,
                          const JsonConstraintOptions& options, Sampled& s) {
  JsonRecognizer state(options.max_whitespace_run);
  ASSERT_TRUE(state.push(s.answer));
  const std::vector<float> zeros(vocab.bytes.size(), 0.0f);
  while (!s.ended) {
    const std::vector<uint8_t> allowed = allowed_by(constraint, zeros);
    int32_t id = -1;
    if (state.complete()) {
      id = options.eos_ids.front();
      s.ended = true;
    } else {
      const std::optional<uint8_t> b = next_closing_byte(state);
      ASSERT_TRUE(b.has_value()) << s.answer;
      for (size_t i = 0; i < vocab.bytes.size() && id < 0; ++i) {
        if (!vocab.special[i] && vocab.bytes[i] == std::string(1, static_cast<char>(*b)))
          id = static_cast<int32_t>(i);
      }
      ASSERT_GE(id, 0) << "the vocabulary has no token for byte " << int{*b};
      state.push(*b);
      s.answer.push_back(static_cast<char>(*b));
      s.ids.push_back(id);
    }
    ASSERT_TRUE(allowed[static_cast<size_t>(id)]) << "token " << id << " not allowed after " << s.answer;
    constraint.accept(id);
    ASSERT_LT(s.answer.size(), size_t{1} << 20);
  }
}

}  // namespace r1::server::json_test
