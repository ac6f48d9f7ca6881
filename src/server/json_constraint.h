// JSON-constrained decoding for response_format {"type": "json_object"}: before each token is sampled, the
// tokens that would make the answer stop being a prefix of a valid JSON object (RFC 8259) get logit
// -infinity.
//
// The grammar is JsonRecognizer's (json_recognizer.h); this file holds the token side: the bytes of each
// token, per-token tables for fast rejection, and the TokenConstraint the engine calls per request. R1-style
// models think first ("<think>…</think>"); only the answer after </think> is constrained.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/status.h"
#include "runtime/engine.h"
#include "server/json_recognizer.h"
#include "tokenizer/tokenizer.h"

namespace r1::server {

struct JsonTokenTable;  // per-token tables for mask()'s fast paths, defined in json_constraint.cc

// The bytes every token id decodes to (raw bytes, may be partial UTF-8; empty for ids that decode to
// nothing), and which ids are control tokens: built once per model and shared by all requests.
struct VocabBytes {
  std::vector<std::string> bytes;  // [vocab_size]
  std::vector<uint8_t> special;    // [vocab_size] 1: a control token (never part of the answer's text)

  // Derived from bytes/special on the first make_json_constraint and shared by every constraint on this
  // vocabulary; bytes and special must not change after that.
  mutable std::once_flag token_table_once;
  mutable std::shared_ptr<const JsonTokenTable> token_table;
};

// Every added token counts as a control token, whether or not the tokenizer marks it special: R1-Distill's
// <｜User｜>, <think> and <tool_call> are not marked, yet must never appear inside a JSON answer.
std::shared_ptr<const VocabBytes> vocab_bytes(const Tokenizer& tokenizer);

struct JsonConstraintOptions {
  bool starts_in_reasoning = false;  // the prompt left a <think> open: unconstrained until think_close_id
  int32_t think_open_id = -1, think_close_id = -1;  // -1: the model has no think tokens
  std::vector<int32_t> eos_ids;  // allowed only once a complete top-level object was produced; non-empty
  int max_whitespace_run = 8;    // bound whitespace so the model cannot pad forever (0..255)
};

// A constraint for one request. Errors name the option at fault: EOS or think ids outside the vocabulary or
// not control tokens, no EOS id, a reasoning start without a close id, a whitespace bound out of range,
// bytes/special of different sizes.
//
// Phases: reasoning (everything allowed; think_close_id ends it), then the answer, where only tokens that
// keep it a JSON-object prefix are allowed, control tokens never, and EOS once the object is complete.
// Without starts_in_reasoning, think_open_id is allowed as the first token only. If the engine accepts a
// token the mask did not allow (e.g. one it forced), the answer can no longer be valid and only EOS is
// allowed from then on; if a state ever allows no token (a vocabulary lacking the bytes it needs), EOS is
// allowed so generation ends.
Result<std::shared_ptr<TokenConstraint>> make_json_constraint(std::shared_ptr<const VocabBytes> vocab,
                                                              JsonConstraintOptions options);

}  // namespace r1::server
