#include "train/sft.h"

#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "sampling/sampler.h"
#include "tokenizer/chat_format.h"
#include "train/optim.h"

namespace r1::train {
namespace fs = std::filesystem;

// -------------------------------------------------------------------------------------------------------
// data

Result<std::vector<SftExample>> read_sft_jsonl(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::errorf("{}: cannot open", path);
  std::vector<SftExample> out;
  int64_t line_no = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object()) return Status::errorf("{}:{}: not a JSON object", path, line_no);
    for (const char* key : {"prompt", "completion"})
      if (!j.contains(key) || !j[key].is_string())
        return Status::errorf("{}:{}: no string \"{}\"", path, line_no, key);
    out.push_back({j["prompt"].get<std::string>(), j["completion"].get<std::string>()});
  }
  if (out.empty()) return Status::errorf("{}: no examples", path);
  return out;
}

Result<SftSequence> tokenize_sft(const Tokenizer& tokenizer, const SftExample& example) {
  if (!tokenizer.eos_id()) return Status::error("the tokenizer has no EOS token to end completions with");
  const ChatMessage user{.role = "user", .content = example.prompt};
  R1_ASSIGN_OR_RETURN(std::string prompt,
                      render_chat(tokenizer, std::span(&user, 1), /*add_generation_prompt=*/true));
  SftSequence s;
  s.ids = tokenizer.encode(prompt, /*add_special=*/false);
  s.prompt_tokens = int64_t(s.ids.size());
  const std::vector<int32_t> completion = tokenizer.encode(example.completion, /*add_special=*/false);
  s.ids.insert(s.ids.end(), completion.begin(), completion.end());
  s.ids.push_back(*tokenizer.eos_id());
  return s;
}

SftBatchRow sft_row(const SftSequence& sequence) {
  SftBatchRow row;
  const size_t T = sequence.ids.size() - 1;
  row.tokens.assign(sequence.ids.begin(), sequence.ids.end() - 1);
  row.targets.assign(sequence.ids.begin() + 1, sequence.ids.end());
  row.weights.resize(T);
  // Position t predicts ids[t + 1]: it carries loss when that token is part of the completion.
  for (size_t t = 0; t < T; ++t) row.weights[t] = int64_t(t) + 1 >= sequence.prompt_tokens ? 1.0f : 0.0f;
  return row;
}

Result<double> sft_accumulate(TrainModel& model, std::span<const SftBatchRow> rows) {
  double weight_sum = 0;
  for (const SftBatchRow& row : rows)
    for (float w : row.weights) weight_sum += w;
  if (!(weight_sum > 0)) return Status::error("a batch without completion tokens");
  // Each row's share of the batch loss enters with d loss / d logp[t] = -w[t] / Σ w (all rows' weights). Rows go
  // through the model packed, up to kPackTokens tokens per call (a longer row alone), so that every matrix product
  // runs over many sequences' tokens at once.
  model.params().zero_grad();
  double loss = 0;
  std::vector<int32_t> tokens, targets;
  std::vector<float> weights;
  std::vector<int64_t> lengths;
  for (size_t first = 0; first < rows.size();) {
    tokens.clear(), targets.clear(), weights.clear(), lengths.clear();
    size_t end = first;
    for (; end < rows.size() && (end == first || tokens.size() + rows[end].tokens.size() <= kPackTokens); ++end) {
      const SftBatchRow& row = rows[end];
      tokens.insert(tokens.end(), row.tokens.begin(), row.tokens.end());
      targets.insert(targets.end(), row.targets.begin(), row.targets.end());
      weights.insert(weights.end(), row.weights.begin(), row.weights.end());
      lengths.push_back(int64_t(row.tokens.size()));
    }
    first = end;
    R1_ASSIGN_OR_RETURN(std::vector<float> logp, model.forward_logprobs(tokens, targets, 1.0f, lengths));
    std::vector<float> dlogp(logp.size());
    for (size_t t = 0; t < logp.size(); ++t) {
      loss -= double(weights[t]) * logp[t];
      dlogp[t] = float(-double(weights[t]) / weight_sum);
    }
    R1_RETURN_IF_ERROR(model.backward_logprobs(dlogp));
  }
  return loss / weight_sum;
}

// ----------------------------------------------------------------------------------------------------
// options

Status SftOptions::validate() const {
  if (!(lr > 0) || !(min_lr >= 0) || min_lr > lr)
    return Status::errorf("lr {} / min_lr {}: need 0 <= min_lr <= lr, lr > 0", lr, min_lr);
  if (warmup_steps < 0) return Status::errorf("warmup_steps {} < 0", warmup_steps);
  if (steps < 0 || (steps == 0 && !(epochs > 0))) return Status::error("need steps > 0 or epochs > 0");
  if (batch_size < 1) return Status::errorf("batch_size {} < 1", batch_size);
  if (max_seq_len < 2) return Status::errorf("max_seq_len {} < 2", max_seq_len);
  if (weight_decay < 0) return Status::errorf("weight_decay {} < 0", weight_decay);
  if (!(adam_beta1 >= 0 && adam_beta1 < 1 && adam_beta2 >= 0 && adam_beta2 < 1))
    return Status::error("adam betas must lie in [0, 1)");
  if (moe_bias_gamma < 0) return Status::errorf("moe_bias_gamma {} < 0", moe_bias_gamma);
  if (log_every < 1 || save_every < 0) return Status::error("log_every >= 1 and save_every >= 0 needed");
  if (output_dir.empty()) return Status::error("no output_dir");
  return Status::ok();
}

nlohmann::json SftOptions::to_json() const {
  return {{"lr", lr},
          {"min_lr", min_lr},
          {"warmup_steps", warmup_steps},
          {"steps", steps},
          {"epochs", epochs},
          {"batch_size", batch_size},
          {"max_seq_len", max_seq_len},
          {"max_grad_norm", max_grad_norm},
          {"weight_decay", weight_decay},
          {"adam_beta1", adam_beta1},
          {"adam_beta2", adam_beta2},
          {"seed", seed},
          {"moe_bias_gamma", moe_bias_gamma},
          {"log_every", log_every},
          {"save_every", save_every},
          {"output_dir", output_dir}};
}

// ------------------------------------------------------------------------------------------------ data order

namespace {

// FNV-1a over the kept sequences: a checkpoint made from other data (or another tokenizer) is refused.
uint64_t fingerprint(const std::vector<SftSequence>& sequences) {
  uint64_t h = 1469598103934665603ull;
  auto mix = [&h](uint64_t v) {
    for (int i = 0; i < 8; ++i) h = (h ^ ((v >> (8 * i)) & 0xff)) * 1099511628211ull;
  };
  for (const SftSequence& s : sequences) {
    mix(uint64_t(s.prompt_tokens));
    mix(s.ids.size());
    for (int32_t id : s.ids) mix(uint32_t(id));
  }
  return h;
}

// Position p of the concatenated epochs -> sequence index; each epoch a Fisher–Yates shuffle seeded by
// (seed, epoch) through r1::Rng, the same on every platform.
class DataOrder {
 public:
  DataOrder(int64_t n, uint64_t seed) : n_(n), seed_(seed) {}
  int64_t epoch_of(int64_t position) const { return position / n_; }
  int64_t at(int64_t position) {
    const int64_t epoch = epoch_of(position);
    if (epoch != epoch_) shuffle(epoch);
    return order_[size_t(position % n_)];
  }

 private:
  void shuffle(int64_t epoch) {
    order_.resize(size_t(n_));
    for (int64_t i = 0; i < n_; ++i) order_[size_t(i)] = i;
    Rng rng(seed_ ^ (0x9E3779B97F4A7C15ull * uint64_t(epoch + 1)));
    for (int64_t i = n_ - 1; i > 0; --i) std::swap(order_[size_t(i)], order_[rng.next() % uint64_t(i + 1)]);
    epoch_ = epoch;
  }
  int64_t n_;
  uint64_t seed_;
  int64_t epoch_ = -1;
  std::vector<int64_t> order_;
};

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

// ------------------------------------------------------------------------------------------------------ loop

Result<SftResult> train_sft(std::unique_ptr<TrainModel> model, const Tokenizer& tokenizer,
                            const std::vector<SftExample>& examples, const SftOptions& options,
                            const SftCallbacks& callbacks, bool must_resume) {
  R1_RETURN_IF_ERROR(options.validate());
  SftResult result;
  std::vector<SftSequence> sequences;
  for (const SftExample& e : examples) {
    R1_ASSIGN_OR_RETURN(SftSequence s, tokenize_sft(tokenizer, e));
    if (int64_t(s.ids.size()) > options.max_seq_len) {
      ++result.skipped_too_long;
      continue;
    }
    sequences.push_back(std::move(s));
  }
  if (sequences.empty())
    return Status::errorf("no example fits max_seq_len {} ({} skipped)", options.max_seq_len,
                          result.skipped_too_long);
  result.sequences = int64_t(sequences.size());
  const uint64_t data_fingerprint = fingerprint(sequences);
  const int64_t B = options.batch_size;
  result.total_steps = options.steps > 0
                           ? options.steps
                           : int64_t(std::ceil(options.epochs * double(sequences.size()) / double(B)));

  const AdamWConfig adamw{
      .beta1 = options.adam_beta1, .beta2 = options.adam_beta2, .weight_decay = options.weight_decay};
  std::unique_ptr<AdamW> optimizer;
  int64_t step = 0;
  if (auto dir = latest_checkpoint(options.output_dir)) {
    R1_ASSIGN_OR_RETURN(Resumed r, load_checkpoint(*dir, adamw));
    const nlohmann::json saved = state_field(r.state, "options", nlohmann::json::object());
    if (state_field(r.state, "data_fingerprint", uint64_t(0)) != data_fingerprint)
      return Status::errorf(
          "{}: made from other data (or another tokenizer or max_seq_len); use another output dir", *dir);
    if (state_field(saved, "batch_size", int64_t(0)) != B ||
        state_field(saved, "seed", uint64_t(0)) != options.seed)
      return Status::errorf("{}: made with another batch_size or seed, which would change the data order",
                            *dir);
    model = std::move(r.model);
    optimizer = std::move(r.optimizer);
    step = result.resumed_from = r.step;
  } else if (must_resume) {
    return Status::errorf("{}: no complete checkpoint to resume from", options.output_dir);
  } else {
    if (!model) return Status::error("no model to train");
    optimizer = std::make_unique<AdamW>(model->params(), adamw);
  }
  R1_ASSIGN_OR_RETURN(TrainLog log, TrainLog::open(options.output_dir, step));
  const LrSchedule schedule{.lr = options.lr,
                            .min_lr = options.min_lr,
                            .warmup_steps = options.warmup_steps,
                            .total_steps = result.total_steps};
  auto state_json = [&] {
    return nlohmann::json{{"kind", "sft"},
                          {"options", options.to_json()},
                          {"data_fingerprint", data_fingerprint},
                          {"total_steps", result.total_steps},
                          {"sequences", result.sequences},
                          {"samples_seen", step * B},
                          {"last_loss", result.last_loss}};
  };

  DataOrder order(int64_t(sequences.size()), options.seed);
  ParamStore& params = model->params();
  const auto run_start = std::chrono::steady_clock::now();
  int64_t run_tokens = 0;
  while (step < result.total_steps) {
    if (callbacks.stop && callbacks.stop()) {
      result.stopped = true;
      break;
    }
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<SftBatchRow> rows;
    int64_t epoch = 0;
    for (int64_t i = 0; i < B; ++i) {
      const int64_t position = step * B + i;
      epoch = order.epoch_of(position);
      rows.push_back(sft_row(sequences[size_t(order.at(position))]));
    }
    R1_ASSIGN_OR_RETURN(const double loss, sft_accumulate(*model, rows));
    int64_t tokens = 0;
    for (const SftBatchRow& row : rows) tokens += int64_t(row.tokens.size());
    if (!std::isfinite(loss)) return Status::errorf("step {}: loss is {}", step + 1, loss);
    SftStepLog entry{.step = step + 1,
                     .total_steps = result.total_steps,
                     .loss = loss,
                     .lr = schedule.at(step),
                     .tokens = tokens,
                     .epoch = epoch};
    entry.grad_norm = clip_grad_norm(params.grads(), options.max_grad_norm);
    optimizer->step(params, entry.lr);
    model->update_moe_bias(float(options.moe_bias_gamma));
    ++step;
    entry.tokens_per_s = double(tokens) / std::max(seconds_since(t0), 1e-9);
    run_tokens += tokens;
    result.last_loss = loss;
    log.write({{"step", entry.step},
               {"loss", entry.loss},
               {"lr", entry.lr},
               {"grad_norm", entry.grad_norm},
               {"tokens", entry.tokens},
               {"tokens_per_s", entry.tokens_per_s},
               {"epoch", entry.epoch}});
    if (callbacks.on_log && (step % options.log_every == 0 || step == result.total_steps))
      callbacks.on_log(entry);
    if (options.save_every > 0 && step % options.save_every == 0 && step < result.total_steps)
      R1_RETURN_IF_ERROR(save_checkpoint(options.output_dir, step, *model, *optimizer, state_json()));
  }
  result.steps_done = step;
  result.tokens_per_s = double(run_tokens) / std::max(seconds_since(run_start), 1e-9);
  if (result.stopped) {
    if (step > result.resumed_from || !latest_checkpoint(options.output_dir))
      R1_RETURN_IF_ERROR(save_checkpoint(options.output_dir, step, *model, *optimizer, state_json()));
    return result;
  }
  result.final_dir = (fs::path(options.output_dir) / "final").string();
  R1_RETURN_IF_ERROR(model->save_hf(result.final_dir));
  return result;
}

}  // namespace r1::train
