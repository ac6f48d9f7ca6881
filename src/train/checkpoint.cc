#include "train/checkpoint.h"

#include <fmt/format.h>

#include <filesystem>
#include <sstream>
#include <vector>

namespace r1::train {
namespace fs = std::filesystem;

namespace {

// The step of a folder named checkpoint-<digits>, else -1.
int64_t checkpoint_step(const std::string& name) {
  constexpr std::string_view kPrefix = "checkpoint-";
  if (!name.starts_with(kPrefix) || name.size() == kPrefix.size() || name.size() > kPrefix.size() + 15)
    return -1;
  int64_t step = 0;
  for (char c : name.substr(kPrefix.size())) {
    if (c < '0' || c > '9') return -1;
    step = step * 10 + (c - '0');
  }
  return step;
}

bool is_complete(const fs::path& dir) {
  std::error_code ec;
  return fs::is_regular_file(dir / kTrainerStateFile, ec) && fs::is_regular_file(dir / kOptimizerFile, ec) &&
         fs::is_regular_file(dir / "model.safetensors", ec);
}

}  // namespace

Status save_checkpoint(const std::string& output_dir, int64_t step, const TrainModel& model,
                       const AdamW& optimizer, nlohmann::json state) {
  const fs::path final_dir = fs::path(output_dir) / fmt::format("checkpoint-{}", step);
  const fs::path partial = fs::path(output_dir) / fmt::format("checkpoint-{}.partial", step);
  std::error_code ec;
  fs::remove_all(partial, ec);
  R1_RETURN_IF_ERROR(model.save_hf(partial.string()));
  R1_RETURN_IF_ERROR(optimizer.save((partial / kOptimizerFile).string()));
  state["step"] = step;
  {
    std::ofstream out(partial / kTrainerStateFile);
    out << state.dump(1) << "\n";
    out.flush();
    if (!out) return Status::errorf("{}: cannot write {}", partial.string(), kTrainerStateFile);
  }
  fs::remove_all(final_dir, ec);
  fs::rename(partial, final_dir, ec);
  if (ec)
    return Status::errorf("{}: cannot rename {} into place: {}", final_dir.string(), partial.string(),
                          ec.message());
  return Status::ok();
}

std::optional<std::string> latest_checkpoint(const std::string& output_dir) {
  std::error_code ec;
  int64_t best = -1;
  fs::path best_dir;
  for (const auto& e : fs::directory_iterator(output_dir, ec)) {
    const int64_t step = checkpoint_step(e.path().filename().string());
    if (step > best && e.is_directory(ec) && is_complete(e.path())) {
      best = step;
      best_dir = e.path();
    }
  }
  if (best < 0) return std::nullopt;
  return best_dir.string();
}

Result<nlohmann::json> read_trainer_state(const std::string& checkpoint_dir) {
  const std::string path = (fs::path(checkpoint_dir) / kTrainerStateFile).string();
  std::ifstream in(path);
  if (!in) return Status::errorf("{}: cannot open", path);
  nlohmann::json state = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (state.is_discarded() || !state.is_object()) return Status::errorf("{}: not a JSON object", path);
  if (!state.contains("step") || !state["step"].is_number_integer() || state["step"].get<int64_t>() < 0)
    return Status::errorf("{}: no step", path);
  return state;
}

Result<Resumed> load_checkpoint(const std::string& checkpoint_dir, const AdamWConfig& adamw) {
  Resumed r;
  R1_ASSIGN_OR_RETURN(r.state, read_trainer_state(checkpoint_dir));
  r.step = r.state["step"].get<int64_t>();
  R1_ASSIGN_OR_RETURN(r.model, TrainModel::load(checkpoint_dir));
  r.optimizer = std::make_unique<AdamW>(r.model->params(), adamw);
  R1_RETURN_IF_ERROR(r.optimizer->load((fs::path(checkpoint_dir) / kOptimizerFile).string()));
  return r;
}

Result<TrainLog> TrainLog::open(const std::string& output_dir, int64_t resume_step) {
  const fs::path path = fs::path(output_dir) / "train_log.jsonl";
  std::error_code ec;
  fs::create_directories(output_dir, ec);
  std::vector<std::string> kept;
  if (resume_step > 0) {
    std::ifstream in(path);
    for (std::string line; std::getline(in, line);) {
      nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
      // A line cut by the crash does not parse and goes too.
      if (j.is_object() && j.contains("step") && j["step"].is_number_integer() &&
          j["step"].get<int64_t>() <= resume_step)
        kept.push_back(line);
    }
  }
  std::ofstream out(path, std::ios::trunc);
  for (const std::string& line : kept) out << line << "\n";
  out.flush();
  if (!out) return Status::errorf("{}: cannot write", path.string());
  return TrainLog(std::move(out));
}

void TrainLog::write(const nlohmann::json& line) {
  out_ << line.dump() << "\n";
  out_.flush();
}

}  // namespace r1::train
