// Supervised fine-tuning (and distillation, and pretraining a tiny base): next-token cross-entropy on
// {"prompt", "completion"} pairs with the prompt masked, the R1 recipe's cold start (arXiv 2501.12948 §2.3.1)
// and its distillation of reasoning into small models (§2.4).
//
// Each example becomes one sequence: the model's chat template with the prompt as the only user turn plus the
// generation prompt (for R1 templates ending in "<think>\n"), then the completion's tokens and EOS. Only the
// completion tokens and EOS carry loss. An optimizer step averages the loss over every completion token of
// its batch_size sequences (packed into few model calls, see sft_accumulate), so a long example weighs as much
// per token as a short one.
//
// The data order is a function of (seed, epoch) alone: each epoch is a fresh seeded shuffle and step s takes
// the sequences at positions s·batch_size … (s+1)·batch_size − 1 of the concatenated epochs. A checkpoint
// therefore needs only its step to continue the same order, and a resumed run ends with the same parameters,
// bit for bit, as one that was never interrupted.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/status.h"
#include "tokenizer/tokenizer.h"
#include "train/checkpoint.h"
#include "train/model.h"

namespace r1::train {

struct SftExample {
  std::string prompt;      // the user turn's text (before the chat template)
  std::string completion;  // the assistant text that follows the generation prompt
};

// Reads JSONL of {"prompt": str, "completion": str} (other keys ignored). Errors name file:line.
Result<std::vector<SftExample>> read_sft_jsonl(const std::string& path);

// One tokenized example.
struct SftSequence {
  std::vector<int32_t> ids;   // chat-templated prompt, completion, EOS
  int64_t prompt_tokens = 0;  // ids[0 .. prompt_tokens) carry no loss
};

// The sequence of one example (see the file comment). Errors: no chat template, no EOS token.
Result<SftSequence> tokenize_sft(const Tokenizer& tokenizer, const SftExample& example);

// Tokens, targets (ids shifted by one) and loss weights (1 on targets after the prompt) of a sequence.
struct SftBatchRow {
  std::vector<int32_t> tokens, targets;
  std::vector<float> weights;
};
SftBatchRow sft_row(const SftSequence& sequence);

// One optimizer step's gradient: sets params().grads() to d/dθ of the batch loss -Σ w·log p / Σ w (over all
// rows' tokens together) and returns that loss. Rows run through the model packed (TrainModel::forward_logprobs
// `lengths`), up to kPackTokens tokens per call.
Result<double> sft_accumulate(TrainModel& model, std::span<const SftBatchRow> rows);

struct SftOptions {
  double lr = 1e-3;            // peak learning rate
  double min_lr = 0.0;         // end of the cosine
  int64_t warmup_steps = 0;    // linear warmup steps
  int64_t steps = 0;           // optimizer steps; 0: as many as `epochs` passes over the data take
  double epochs = 1.0;         // passes over the data, when steps is 0
  int64_t batch_size = 8;      // sequences per optimizer step (accumulated one at a time)
  int64_t max_seq_len = 1024;  // longer sequences are skipped (and counted)
  double max_grad_norm = 1.0;  // global-norm clipping; <= 0: none
  double weight_decay = 0.0;   // AdamW decoupled weight decay (matrices only)
  double adam_beta1 = 0.9;
  double adam_beta2 = 0.95;
  uint64_t seed = 0;              // data order
  double moe_bias_gamma = 0.001;  // DeepSeek-V3 bias update speed for noaux_tc MoE layers (§2.1.2)
  int64_t log_every = 1;          // steps between log lines (the JSONL log gets every step)
  int64_t save_every = 0;  // steps between checkpoints; 0: only the final model (and on a stop request)
  std::string output_dir;  // checkpoints, final/, train_log.jsonl

  Status validate() const;
  nlohmann::json to_json() const;
};

// One step's figures, as logged.
struct SftStepLog {
  int64_t step = 0;  // optimizer steps done, counted from 1
  int64_t total_steps = 0;
  double loss = 0;  // mean cross-entropy per completion token of the step's batch
  double lr = 0;
  double grad_norm = 0;     // before clipping
  int64_t tokens = 0;       // tokens run through the model (prompts included)
  double tokens_per_s = 0;  // of those, forward and backward
  int64_t epoch = 0;        // the epoch of the step's last sequence
};

struct SftResult {
  int64_t steps_done = 0;  // optimizer steps in the model at the end (resumed ones included)
  int64_t total_steps = 0;
  int64_t resumed_from = 0;      // the step the run continued from (0: a fresh start)
  int64_t sequences = 0;         // examples used
  int64_t skipped_too_long = 0;  // examples over max_seq_len
  double last_loss = 0;
  double tokens_per_s = 0;  // over the whole run (forward + backward + optimizer)
  bool stopped = false;     // a stop request ended it early (a checkpoint was saved)
  std::string final_dir;    // output_dir/final (empty when stopped)
};

// Trains `model` on `examples` (tokenized with `tokenizer`, whose files the checkpoints carry through the
// model's source folder). Resumes from the newest complete checkpoint in options.output_dir when there is one
// (the model and optimizer state are then the checkpoint's and `model` is ignored; with `must_resume`, having
// none is an error); refuses a checkpoint made from other data or with another batch size or seed. `on_log`
// sees every logged step; `stop` is polled between steps.
struct SftCallbacks {
  std::function<void(const SftStepLog&)> on_log = nullptr;
  StopRequested stop = nullptr;
};
Result<SftResult> train_sft(std::unique_ptr<TrainModel> model, const Tokenizer& tokenizer,
                            const std::vector<SftExample>& examples, const SftOptions& options,
                            const SftCallbacks& callbacks = {}, bool must_resume = false);

}  // namespace r1::train
