// What SFT and GRPO share around the optimisation itself: checkpoints that a run resumes from exactly, the
// per-step JSONL log, and the stop request (Ctrl-C) that ends a run with a checkpoint.
//
// A checkpoint is output_dir/checkpoint-<step>/: a Hugging Face folder (TrainModel::save_hf: config.json,
// model.safetensors in f32, tokenizer, generation_config.json) that `r1 run` and transformers load as it is,
// plus optimizer.safetensors (AdamW's moments and step count) and trainer_state.json (the step, the run's
// options and whatever else the trainer needs to continue). The folder is built as checkpoint-<step>.partial
// and renamed into place after trainer_state.json, its last file, is written: a save cut short leaves a
// .partial folder that latest_checkpoint ignores, never a checkpoint-<step> that resume would pick up half
// written.
#pragma once

#include <cstdint>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <type_traits>

#include "core/status.h"
#include "train/model.h"
#include "train/optim.h"

namespace r1::train {

inline constexpr const char* kTrainerStateFile = "trainer_state.json";
inline constexpr const char* kOptimizerFile = "optimizer.safetensors";

// Asked between optimizer steps; true ends the run after saving a checkpoint (Ctrl-C).
using StopRequested = std::function<bool()>;

// Writes output_dir/checkpoint-<step> (replacing one of that name); `state` goes to trainer_state.json with
// "step" set.
Status save_checkpoint(const std::string& output_dir, int64_t step, const TrainModel& model,
                       const AdamW& optimizer, nlohmann::json state);

// The complete checkpoint with the highest step in output_dir (a checkpoint-<digits> folder holding
// trainer_state.json, optimizer.safetensors and model.safetensors), or nullopt when there is none (or no
// folder).
std::optional<std::string> latest_checkpoint(const std::string& output_dir);

// trainer_state.json of a checkpoint folder; an error names the file when it is missing, not JSON or has no
// step.
Result<nlohmann::json> read_trainer_state(const std::string& checkpoint_dir);

// A field of a trainer state, or `fallback` when it is missing or of another type (a hand-edited file), so
// that a comparison of settings never throws.
template <typename T>
T state_field(const nlohmann::json& j, const char* key, T fallback) {
  if (!j.is_object()) return fallback;
  const auto it = j.find(key);
  if (it == j.end()) return fallback;
  if constexpr (std::is_same_v<T, nlohmann::json>) {
    return it->is_object() ? *it : fallback;
  } else if constexpr (std::is_same_v<T, std::string>) {
    return it->is_string() ? it->template get<std::string>() : fallback;
  } else {
    static_assert(std::is_integral_v<T>);
    return it->is_number_integer() ? it->template get<T>() : fallback;
  }
}

// The model, optimizer state and trainer state of a checkpoint; the optimizer is built over the loaded
// parameters with `adamw` and then takes the saved moments.
struct Resumed {
  std::unique_ptr<TrainModel> model;
  std::unique_ptr<AdamW> optimizer;
  nlohmann::json state;
  int64_t step = 0;
};
Result<Resumed> load_checkpoint(const std::string& checkpoint_dir, const AdamWConfig& adamw);

// output_dir/train_log.jsonl: one JSON object per logged step. Opening it for a run that resumes at `step`
// drops the lines of later steps (written after the checkpoint by the interrupted run), so the file reads as
// one run.
class TrainLog {
 public:
  static Result<TrainLog> open(const std::string& output_dir, int64_t resume_step);
  void write(const nlohmann::json& line);  // flushed at once: a crash loses no logged step

 private:
  explicit TrainLog(std::ofstream out) : out_(std::move(out)) {}
  std::ofstream out_;
};

}  // namespace r1::train
