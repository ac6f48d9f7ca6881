// JSON-constrained decoding, token side: each token's bytes, the per-vocabulary token tables and the
// constraint.
#include "server/json_constraint.h"

#include <algorithm>
#include <array>
#include <limits>
#include <string_view>

#include "tokenizer/tokenizer_spec.h"
#include "tokenizer/utf8.h"

namespace r1::server {

std::shared_ptr<const VocabBytes> vocab_bytes(const Tokenizer& tokenizer) {
  auto vocab = std::make_shared<VocabBytes>();
  const auto n = static_cast<size_t>(tokenizer.vocab_size());
  const tok::TokenizerSpec& spec = tokenizer.spec();
  vocab->bytes.resize(n);
  vocab->special.assign(n, 0);
  for (size_t id = 0; id < n; ++id) {
    const auto i = static_cast<int32_t>(id);
    vocab->bytes[id] = std::string(tokenizer.token_bytes(i));
    vocab->special[id] = tokenizer.is_special(i) ? 1 : 0;
  }
  for (const tok::AddedTokenSpec& added : spec.added_tokens) {
    if (added.id >= 0 && static_cast<size_t>(added.id) < n) vocab->special[static_cast<size_t>(added.id)] = 1;
  }
  return vocab;
}

// What mask() needs per token, built once per vocabulary.
struct JsonTokenTable {
  enum Kind : uint8_t {
    kEmpty,      // decodes to nothing: never part of the answer (it would let the model stall invisibly)
    kControl,    // a control token: only the ids the options name (EOS, think tags) are ever allowed
    kPlainText,  // valid UTF-8 without '"', '\\' or control characters: fits anywhere inside a string
    kOther,      // judged by running its bytes through the recognizer
  };
  // Text tokens (kPlainText, kOther) grouped by how they start: group g < 256 holds the one-byte tokens of
  // byte g, group 256 + (b0 << 8 | b1) the longer ones that start with bytes b0, b1.
  static constexpr size_t kGroups = 256 + 256 * 256;
  static size_t single_group(uint8_t b0) { return b0; }
  static size_t pair_group(uint8_t b0, uint8_t b1) { return 256 + (size_t{b0} << 8 | b1); }

  std::vector<Kind> kind;        // [vocab_size]
  std::vector<uint32_t> offset;  // [vocab_size + 1] token id's bytes are packed[offset[id], offset[id + 1])
  std::string packed;
  std::vector<int32_t> not_plain;     // ascending ids of the tokens that are not kPlainText
  int64_t first_plain = 0;            // the lowest kPlainText id (vocab_size if none)
  std::vector<int32_t> grouped;       // the text tokens' ids, group after group
  std::vector<uint32_t> group_start;  // [kGroups + 1] group g is grouped[group_start[g], group_start[g + 1])

  static JsonTokenTable build(const VocabBytes& vocab) {
    JsonTokenTable t;
    const size_t n = vocab.bytes.size();
    t.kind.resize(n);
    t.offset.resize(n + 1);
    for (size_t id = 0; id < n; ++id) {
      const std::string& bytes = vocab.bytes[id];
      t.offset[id] = static_cast<uint32_t>(t.packed.size());
      t.packed.append(bytes);
      const bool plain = std::none_of(bytes.begin(), bytes.end(), [](char c) {
        const auto b = static_cast<uint8_t>(c);
        return b < 0x20 || b == '"' || b == '\\';
      });
      t.kind[id] = vocab.special[id]                ? kControl
                   : bytes.empty()                  ? kEmpty
                   : plain && utf8::is_valid(bytes) ? kPlainText
                                                    : kOther;
    }
    t.offset[n] = static_cast<uint32_t>(t.packed.size());
    t.first_plain = static_cast<int64_t>(n);
    for (size_t id = 0; id < n; ++id) {
      if (t.kind[id] != kPlainText) {
        t.not_plain.push_back(static_cast<int32_t>(id));
      } else {
        t.first_plain = std::min(t.first_plain, static_cast<int64_t>(id));
      }
    }
    // Counting sort of the text tokens by group.
    auto group_of = [&](size_t id) {
      const std::string& bytes = vocab.bytes[id];
      const auto b0 = static_cast<uint8_t>(bytes[0]);
      return bytes.size() == 1 ? single_group(b0) : pair_group(b0, static_cast<uint8_t>(bytes[1]));
    };
    t.group_start.assign(kGroups + 1, 0);
    for (size_t id = 0; id < n; ++id) {
      if (t.kind[id] == kPlainText || t.kind[id] == kOther) ++t.group_start[group_of(id) + 1];
    }
    for (size_t g = 0; g < kGroups; ++g) t.group_start[g + 1] += t.group_start[g];
    t.grouped.resize(t.group_start[kGroups]);
    std::vector<uint32_t> next(t.group_start.begin(), t.group_start.end() - 1);
    for (size_t id = 0; id < n; ++id) {
      if (t.kind[id] == kPlainText || t.kind[id] == kOther) {
        t.grouped[next[group_of(id)]++] = static_cast<int32_t>(id);
      }
    }
    return t;
  }
};

// ---- constraint ----

namespace {

constexpr float kBanned = -std::numeric_limits<float>::infinity();

class JsonConstraint final : public TokenConstraint {
 public:
  JsonConstraint(std::shared_ptr<const JsonTokenTable> table, const JsonConstraintOptions& options)
      : table_(std::move(table)),
        options_(options),
        phase_(options.starts_in_reasoning  ? Phase::kReasoning
               : options.think_open_id >= 0 ? Phase::kFirstToken
                                            : Phase::kAnswer),
        recognizer_(options.max_whitespace_run),
        eos_logits_(options.eos_ids.size()) {}

  void mask(float* logits, int64_t vocab_size) override {
    if (phase_ == Phase::kReasoning) return;
    for (size_t i = 0; i < options_.eos_ids.size(); ++i) {
      if (options_.eos_ids[i] < vocab_size) eos_logits_[i] = logits[options_.eos_ids[i]];
    }
    const int64_t known = std::min<int64_t>(vocab_size, static_cast<int64_t>(table_->kind.size()));
    bool any = false;
    if (phase_ == Phase::kBroken) {
      std::fill(logits, logits + known, kBanned);
    } else {
      any = mask_answer(logits, known);
    }
    std::fill(logits + known, logits + std::max(known, vocab_size), kBanned);  // ids the vocabulary lacks
    if (!any) {
      for (size_t i = 0; i < options_.eos_ids.size(); ++i) {
        if (options_.eos_ids[i] < vocab_size) logits[options_.eos_ids[i]] = eos_logits_[i];
      }
    }
  }

  void accept(int32_t id) override {
    switch (phase_) {
      case Phase::kReasoning:
        if (id == options_.think_close_id) phase_ = Phase::kAnswer;
        return;
      case Phase::kFirstToken:
        if (id == options_.think_open_id) {
          phase_ = Phase::kReasoning;
          return;
        }
        phase_ = Phase::kAnswer;
        break;
      case Phase::kAnswer:
        break;
      case Phase::kBroken:
        return;
    }
    // A token the mask would not have allowed (forced by the engine, or sampled without the mask) means the
    // answer can no longer become valid JSON.
    bool fits;
    if (id < 0 || static_cast<size_t>(id) >= table_->kind.size()) {
      fits = false;
    } else if (table_->kind[static_cast<size_t>(id)] == JsonTokenTable::kControl) {
      fits = recognizer_.complete() && is_eos(id);
    } else {
      fits = recognizer_.push(token(id));
    }
    if (!fits) phase_ = Phase::kBroken;
  }

 private:
  enum class Phase {
    kReasoning,   // inside <think>: unconstrained
    kFirstToken,  // the output may still open a think block
    kAnswer,      // constrained to a JSON object
    kBroken,      // a token outside the grammar was accepted: only EOS
  };

  std::string_view token(int32_t id) const {
    const auto i = static_cast<size_t>(id);
    return std::string_view(table_->packed)
        .substr(table_->offset[i], table_->offset[i + 1] - table_->offset[i]);
  }
  bool is_eos(int32_t id) const {
    return std::find(options_.eos_ids.begin(), options_.eos_ids.end(), id) != options_.eos_ids.end();
  }

  // Bans every token in [0, known) that cannot come next; true if any stays allowed.
  bool mask_answer(float* logits, int64_t known) {
    // Most tokens are decided by their first bytes, so each first byte's verdict and the state after it are
    // computed once per call.
    for (int b = 0; b < 256; ++b) {
      after_first_[b] = recognizer_;
      first_ok_[b] = after_first_[b].push(static_cast<uint8_t>(b));
    }
    return recognizer_.in_string_body() ? mask_in_string(logits, known) : mask_by_prefix(logits, known);
  }

  // Inside a string nearly every token fits, and plain text leaves the state as it is: only the other tokens
  // are visited, and only those with quotes, escapes, control characters or partial UTF-8 are simulated.
  bool mask_in_string(float* logits, int64_t known) {
    const JsonTokenTable& t = *table_;
    const auto* packed = reinterpret_cast<const uint8_t*>(t.packed.data());
    bool any = t.first_plain < known;
    for (const int32_t id : t.not_plain) {
      if (id >= known) break;
      // Empty and control tokens never fit here: EOS needs a complete object, <think> the first token.
      if (t.kind[id] == JsonTokenTable::kOther &&
          fits_after_first(packed + t.offset[id], packed + t.offset[id + 1])) {
        any = true;
      } else {
        logits[id] = kBanned;
      }
    }
    return any;
  }

  // Everywhere else few first bytes fit (whitespace, punctuation, the starts of values, one continuation
  // byte), and after a space few second bytes do: only the groups of tokens starting with an allowed pair are
  // visited. The allowed logits are set aside, everything is banned, and they are put back.
  bool mask_by_prefix(float* logits, int64_t known) {
    const JsonTokenTable& t = *table_;
    const auto* packed = reinterpret_cast<const uint8_t*>(t.packed.data());
    allowed_ids_.clear();
    auto allow_group = [&](size_t group, const JsonRecognizer* state, size_t skip) {
      for (uint32_t i = t.group_start[group]; i < t.group_start[group + 1]; ++i) {
        const int32_t id = t.grouped[i];
        if (id >= known) continue;
        JsonRecognizer r = *state;
        bool ok = true;
        for (uint32_t k = t.offset[id] + skip; ok && k < t.offset[id + 1]; ++k) ok = r.push(packed[k]);
        if (ok) allowed_ids_.push_back(id);
      }
    };
    for (int b0 = 0; b0 < 256; ++b0) {
      if (!first_ok_[b0]) continue;
      const auto first = static_cast<uint8_t>(b0);
      allow_group(JsonTokenTable::single_group(first), &after_first_[b0], 1);
      for (int b1 = 0; b1 < 256; ++b1) {
        const auto second = static_cast<uint8_t>(b1);
        const size_t group = JsonTokenTable::pair_group(first, second);
        if (t.group_start[group] == t.group_start[group + 1]) continue;
        JsonRecognizer after_second = after_first_[b0];
        if (after_second.push(second)) allow_group(group, &after_second, 2);
      }
    }
    if (recognizer_.complete()) {
      for (int32_t id : options_.eos_ids) {
        if (id < known) allowed_ids_.push_back(id);
      }
    }
    if (phase_ == Phase::kFirstToken && options_.think_open_id < known) {
      allowed_ids_.push_back(options_.think_open_id);
    }
    allowed_logits_.resize(allowed_ids_.size());
    for (size_t i = 0; i < allowed_ids_.size(); ++i) allowed_logits_[i] = logits[allowed_ids_[i]];
    std::fill(logits, logits + known, kBanned);
    for (size_t i = 0; i < allowed_ids_.size(); ++i) logits[allowed_ids_[i]] = allowed_logits_[i];
    return !allowed_ids_.empty();
  }

  // Whether the bytes [begin, end) (at least one) can follow the answer so far.
  bool fits_after_first(const uint8_t* begin, const uint8_t* end) const {
    if (!first_ok_[begin[0]]) return false;
    JsonRecognizer r = after_first_[begin[0]];
    for (const uint8_t* p = begin + 1; p != end; ++p) {
      if (!r.push(*p)) return false;
    }
    return true;
  }

  std::shared_ptr<const JsonTokenTable> table_;
  JsonConstraintOptions options_;
  Phase phase_;
  JsonRecognizer recognizer_;      // the answer so far
  std::vector<float> eos_logits_;  // [eos_ids] saved by mask() in case nothing else stays allowed
  // mask_answer's scratch: the state after each first byte and whether it was accepted; the tokens
  // mask_by_prefix allows and their logits.
  std::array<JsonRecognizer, 256> after_first_;
  std::array<bool, 256> first_ok_;
  std::vector<int32_t> allowed_ids_;
  std::vector<float> allowed_logits_;
};

Status validate(const VocabBytes& vocab, const JsonConstraintOptions& o) {
  const size_t n = vocab.bytes.size();
  if (vocab.special.size() != n) {
    return Status::errorf("json constraint: vocabulary has {} token byte strings but {} special flags", n,
                          vocab.special.size());
  }
  size_t total_bytes = 0;
  for (const std::string& bytes : vocab.bytes) total_bytes += bytes.size();
  if (total_bytes > std::numeric_limits<uint32_t>::max()) {
    return Status::errorf("json constraint: vocabulary tokens hold {} bytes in all, more than 4 GiB",
                          total_bytes);
  }
  auto control = [&](int32_t id, const char* what) -> Status {
    if (id < 0 || static_cast<size_t>(id) >= n) {
      return Status::errorf("json constraint: {} {} is outside the vocabulary of {} tokens", what, id, n);
    }
    if (!vocab.special[static_cast<size_t>(id)]) {
      return Status::errorf("json constraint: {} {} is not a control token", what, id);
    }
    return Status::ok();
  };
  if (o.eos_ids.empty()) return Status::error("json constraint: eos_ids is empty (generation could not end)");
  for (int32_t id : o.eos_ids) R1_RETURN_IF_ERROR(control(id, "eos id"));
  if (o.think_open_id != -1) R1_RETURN_IF_ERROR(control(o.think_open_id, "think_open_id"));
  if (o.think_close_id != -1) R1_RETURN_IF_ERROR(control(o.think_close_id, "think_close_id"));
  if (o.starts_in_reasoning && o.think_close_id == -1) {
    return Status::error("json constraint: starts_in_reasoning needs a think_close_id to end the reasoning");
  }
  if (o.max_whitespace_run < 0 || o.max_whitespace_run > 255) {
    return Status::errorf("json constraint: max_whitespace_run {} is outside 0..255", o.max_whitespace_run);
  }
  return Status::ok();
}

}  // namespace

Result<std::shared_ptr<TokenConstraint>> make_json_constraint(std::shared_ptr<const VocabBytes> vocab,
                                                              JsonConstraintOptions options) {
  if (!vocab) return Status::error("json constraint: no vocabulary");
  R1_RETURN_IF_ERROR(validate(*vocab, options));
  std::call_once(vocab->token_table_once, [&] {
    vocab->token_table = std::make_shared<const JsonTokenTable>(JsonTokenTable::build(*vocab));
  });
  return std::shared_ptr<TokenConstraint>(std::make_shared<JsonConstraint>(vocab->token_table, options));
}

}  // namespace r1::server
