// `r1 train sft | grpo | data | eval | sample`: flags into the options of src/train (sft.h, grpo_trainer.h, tasks.h,
// rollout.h), progress lines on stderr. Ctrl-C ends a training run with a checkpoint; rerunning the same
// command resumes it.
#include <fmt/format.h>

#include <filesystem>

#include "cli/common.h"
#include "train/distill.h"
#include "train/grpo_trainer.h"
#include "train/rollout.h"
#include "train/sft.h"
#include "train/tasks.h"

namespace r1::cli {
namespace {
namespace fs = std::filesystem;

// Where the policy comes from: a Hugging Face folder, or a config.json initialised from a seed (its folder
// provides the tokenizer).
struct ModelFlags {
  std::string model, config;
  uint64_t init_seed = 0;

  void add_to(CLI::App& cmd) {
    auto* m = cmd.add_option("-m,--model", model,
                             "Model folder to start from (Hugging Face layout, with tokenizer)");
    cmd.add_option("--config", config,
                   "config.json of a model trained from scratch (its folder holds the tokenizer)")
        ->excludes(m);
    cmd.add_option("--init-seed", init_seed, "Seed of the random initialisation with --config");
  }
  std::string tokenizer_dir() const {
    return model.empty() ? fs::path(config).parent_path().string() : model;
  }
  Result<std::unique_ptr<train::TrainModel>> load() const {
    if (!model.empty()) return train::TrainModel::load(model);
    if (!config.empty()) return train::TrainModel::init(config, init_seed);
    return Status::error("give --model DIR or --config config.json");
  }
};

struct TaskFlags {
  std::string task = "addition";
  train::TaskOptions options;
  void add_to(CLI::App& cmd) {
    cmd.add_option("--task", task, "addition | multiplication | countdown")
        ->check(CLI::IsMember({"addition", "multiplication", "countdown"}));
    cmd.add_option("--digits", options.digits,
                   "Digits of each operand (multiplication: of the first factor)");
    cmd.add_option("--digits-b", options.digits_b, "Multiplication: digits of the second factor");
  }
  Result<train::TaskOptions> resolve() const {
    train::TaskOptions o = options;
    R1_ASSIGN_OR_RETURN(o.kind, train::parse_task_kind(task));
    R1_RETURN_IF_ERROR(o.validate());
    return o;
  }
};

// Which problems a command works on: a task, a split, how many (all different) and the generator's seed.
struct ProblemFlags {
  ProblemFlags(std::string default_split, int64_t default_n) : split(std::move(default_split)), n(default_n) {}

  TaskFlags task;
  std::string split;  // "train" | "test" (held out)
  int64_t n;
  uint64_t seed = 0;

  void add_to(CLI::App& cmd, const char* seed_help) {
    task.add_to(cmd);
    cmd.add_option("--split", split, "train | test (held out)")->check(CLI::IsMember({"train", "test"}));
    cmd.add_option("-n,--n", n, "Problems (all different)")->check(CLI::PositiveNumber);
    cmd.add_option("--seed", seed, seed_help);
  }
  Result<std::vector<train::TaskProblem>> problems() const {
    R1_ASSIGN_OR_RETURN(train::TaskOptions options, task.resolve());
    return train::generate_problems(options, split == "train" ? train::Split::kTrain : train::Split::kHeldOut,
                                    seed, n, /*distinct=*/true);
  }
};

struct SftFlags {
  ModelFlags model;
  std::string data;
  train::SftOptions options;
  bool resume = false;
} g_sft;

struct GrpoFlags {
  ModelFlags model;
  TaskFlags task;
  train::GrpoTrainerOptions options;
  std::string loss_type = "dapo", scale_rewards = "group";
  double epsilon_high = -1;
  bool resume = false;
} g_grpo;

struct DataFlags {
  ProblemFlags problems{"train", 1000};
  std::string format = "sft", out;
  double plain_fraction = 0;
} g_data;

struct EvalFlags {
  std::string model;
  ProblemFlags problems{"test", 100};
  train::EvalOptions options;
} g_eval_tasks;

struct SampleFlags {
  std::string model, out;
  ProblemFlags problems{"train", 1000};
  train::RejectionSamplingOptions options{.sampling = {.temperature = 0.6, .top_p = 0.95}};
} g_sample;

struct ExportFlags {
  std::string model, out, dtype = "bf16";
} g_export;

CLI::App* g_export_cmd = nullptr;
CLI::App* g_sample_cmd = nullptr;
CLI::App* g_sft_cmd = nullptr;
CLI::App* g_grpo_cmd = nullptr;
CLI::App* g_data_cmd = nullptr;
CLI::App* g_eval_cmd = nullptr;

int fail(const Status& s) {
  fmt::print(stderr, "r1 train: error: {}\n", s.message());
  return 1;
}

void add_optimizer_flags(CLI::App& cmd, double& lr, double& min_lr, int64_t& warmup, double& max_grad_norm,
                         double& weight_decay, double& moe_bias_gamma) {
  cmd.add_option("--lr,--learning-rate", lr, "Peak learning rate")->check(CLI::PositiveNumber);
  cmd.add_option("--min-lr", min_lr, "Learning rate at the end of the cosine");
  cmd.add_option("--warmup-steps", warmup, "Linear warmup steps");
  cmd.add_option("--max-grad-norm", max_grad_norm, "Global gradient-norm clipping (0: none)");
  cmd.add_option("--weight-decay", weight_decay, "AdamW weight decay (matrices only)");
  cmd.add_option("--moe-bias-gamma", moe_bias_gamma, "DeepSeek-V3 load-balancing bias step (noaux_tc MoE)");
}

int run_sft() {
  SftFlags& f = g_sft;
  auto examples = train::read_sft_jsonl(f.data);
  if (!examples) return fail(examples.status());
  auto tokenizer = Tokenizer::load_dir(f.model.tokenizer_dir());
  if (!tokenizer) return fail(tokenizer.status());
  std::unique_ptr<train::TrainModel> model;
  if (!train::latest_checkpoint(f.options.output_dir)) {
    auto m = f.model.load();
    if (!m) return fail(m.status());
    model = std::move(*m);
  }
  install_interrupt_handler();
  train::SftCallbacks cb{
      .on_log =
          [](const train::SftStepLog& s) {
            fmt::print(stderr,
                       "step {}/{}  loss {:.4f}  lr {:.2e}  grad-norm {:.3f}  {:.0f} tok/s  epoch {}\n",
                       s.step, s.total_steps, s.loss, s.lr, s.grad_norm, s.tokens_per_s, s.epoch);
          },
      .stop = [] { return interrupted(); }};
  auto r = train::train_sft(std::move(model), **tokenizer, *examples, f.options, cb, f.resume);
  if (!r) return fail(r.status());
  if (r->resumed_from > 0) fmt::print(stderr, "(resumed from step {})\n", r->resumed_from);
  if (r->skipped_too_long > 0)
    fmt::print(stderr, "{} examples longer than --max-seq-len skipped\n", r->skipped_too_long);
  if (r->stopped) {
    fmt::print(stderr, "stopped at step {}: checkpoint saved in {}; rerun the command to resume\n",
               r->steps_done, f.options.output_dir);
    return 130;
  }
  fmt::print(stderr, "done: {} steps, last loss {:.4f}, {:.0f} tok/s; model in {}\n", r->steps_done,
             r->last_loss, r->tokens_per_s, r->final_dir);
  return 0;
}

int run_grpo() {
  GrpoFlags& f = g_grpo;
  train::GrpoTrainerOptions o = f.options;
  auto task = f.task.resolve();
  if (!task) return fail(task.status());
  o.task = *task;
  auto loss = train::parse_loss_type(f.loss_type);
  if (!loss) return fail(loss.status());
  auto scale = train::parse_scale_rewards(f.scale_rewards);
  if (!scale) return fail(scale.status());
  o.grpo.loss_type = *loss;
  o.grpo.scale_rewards = *scale;
  if (f.epsilon_high >= 0) o.grpo.epsilon_high = f.epsilon_high;
  auto tokenizer = Tokenizer::load_dir(f.model.tokenizer_dir());
  if (!tokenizer) return fail(tokenizer.status());
  std::unique_ptr<train::TrainModel> policy, reference;
  if (!train::latest_checkpoint(o.output_dir)) {
    auto m = f.model.load();
    if (!m) return fail(m.status());
    policy = std::move(*m);
  }
  if (o.grpo.beta > 0) {  // the frozen reference is the starting model, also when resuming
    auto m = f.model.load();
    if (!m) return fail(m.status());
    reference = std::move(*m);
  }
  install_interrupt_handler();
  train::GrpoCallbacks cb{
      .on_log =
          [&o](const train::GrpoStepLog& s) {
            fmt::print(
                stderr,
                "step {}/{}  reward {:.3f}  acc {:.3f}  format {:.3f}  len {:.1f}  kl {:.4f}  clip {:.3f}  "
                "zero-std {:.2f}  groups {} ({} rounds)  grad-norm {:.3f}  gen {:.0f} tok/s  train {:.0f} "
                "tok/s  {:.1f} s{}\n",
                s.step, o.steps, s.mean_reward, s.accuracy, s.format_rate, s.mean_completion_length, s.kl,
                s.clip_fraction, s.zero_std_fraction, s.groups_kept, s.generation_rounds, s.grad_norm,
                s.generation_tokens_per_s, s.training_tokens_per_s, s.seconds,
                s.updated ? "" : "  (no group with signal: no update)");
            if (s.eval)
              fmt::print(stderr, "held-out: pass@1 {:.3f}  format {:.3f}  length {:.1f} ({} problems)\n",
                         s.eval->pass_at_1, s.eval->format_rate, s.eval->mean_completion_tokens,
                         s.eval->problems);
          },
      .stop = [] { return interrupted(); }};
  auto r = train::train_grpo(std::move(policy), std::move(reference), **tokenizer, o, cb, f.resume);
  if (!r) return fail(r.status());
  if (r->stopped) {
    fmt::print(stderr, "stopped at step {}: checkpoint saved in {}; rerun the command to resume\n",
               r->steps_done, o.output_dir);
    return 130;
  }
  fmt::print(stderr, "done: {} steps; model in {}; log in {}/train_log.jsonl\n", r->steps_done, r->final_dir,
             o.output_dir);
  return 0;
}

int run_data() {
  DataFlags& f = g_data;
  auto problems = f.problems.problems();
  if (!problems) return fail(problems.status());
  const Status s = f.format == "sft" ? train::write_sft_jsonl(f.out, *problems, f.plain_fraction)
                                     : train::write_eval_jsonl(f.out, *problems);
  if (!s.is_ok()) return fail(s);
  fmt::print(stderr, "{} {} problems ({} split) written to {}\n", problems->size(), f.problems.task.task, f.problems.split,
             f.out);
  return 0;
}

int run_eval_tasks() {
  EvalFlags& f = g_eval_tasks;
  auto problems = f.problems.problems();
  if (!problems) return fail(problems.status());
  auto loaded = load(f.model);
  if (!loaded) return fail(loaded.status());
  f.options.seed = f.problems.seed;
  auto r = train::evaluate_tasks(*loaded->model, *loaded->tokenizer, *problems, f.options);
  if (!r) return fail(r.status());
  fmt::print("{}\n", nlohmann::json{{"model", loaded->dir},
                                    {"task", f.problems.task.task},
                                    {"split", f.problems.split},
                                    {"problems", r->problems},
                                    {"k", f.options.k},
                                    {"temperature", f.options.temperature},
                                    {"top_p", f.options.top_p},
                                    {"pass_at_1", r->pass_at_1},
                                    {"format_rate", r->format_rate},
                                    {"truncated_rate", r->truncated_rate},
                                    {"mean_completion_tokens", r->mean_completion_tokens},
                                    {"tokens_per_s", r->tokens_per_s}}
                         .dump());
  return 0;
}

int run_sample() {
  SampleFlags& f = g_sample;
  auto problems = f.problems.problems();
  if (!problems) return fail(problems.status());
  auto loaded = load(f.model);
  if (!loaded) return fail(loaded.status());
  f.options.sampling.seed = f.problems.seed;
  train::RejectionSamplingStats stats;
  auto kept = train::rejection_sample(*loaded->model, *loaded->tokenizer, *problems, f.options, nullptr, &stats);
  if (!kept) return fail(kept.status());
  if (Status s = train::write_distill_jsonl(f.out, *kept); !s.is_ok()) return fail(s);
  fmt::print(stderr,
             "{} samples of {} problems ({} split): {} correct and well formed ({:.1f}%), {} examples from {} "
             "problems written to {} ({:.0f} tok/s)\n",
             stats.samples, stats.problems, f.problems.split, stats.accepted,
             100.0 * double(stats.accepted) / double(std::max<int64_t>(stats.samples, 1)), kept->size(),
             stats.problems_covered, f.out, double(stats.tokens) / std::max(stats.seconds, 1e-9));
  return 0;
}

int run_export() {
  ExportFlags& f = g_export;
  auto model = train::TrainModel::load(f.model);
  if (!model) return fail(model.status());
  if (Status s = (*model)->save_hf(f.out, f.dtype == "bf16" ? DType::kBF16 : DType::kF32); !s.is_ok())
    return fail(s);
  fmt::print(stderr, "{} written to {} (matrices in {})\n", f.model, f.out, f.dtype);
  return 0;
}

// The sampling flags `train eval` and `train sample` share.
void add_sampling_flags(CLI::App& cmd, double& temperature, double& top_p, int64_t& max_tokens, int64_t& parallel) {
  cmd.add_option("--temperature", temperature, "Sampling temperature");
  cmd.add_option("--top-p", top_p, "Sampling nucleus");
  cmd.add_option("--max-tokens", max_tokens, "Tokens per completion")->check(CLI::PositiveNumber);
  cmd.add_option("--parallel", parallel, "Sequences decoded at once")->check(CLI::PositiveNumber);
}

}  // namespace

CLI::App* add_train_command(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand("train",
                                     "Train with the R1 recipe: SFT / distillation, GRPO on verifiable "
                                     "tasks, task data and held-out evaluation");
  cmd->require_subcommand(1);

  // --------------------------------------------------------------------------------------------- sft
  {
    SftFlags& f = g_sft;
    CLI::App* c = g_sft_cmd = cmd->add_subcommand("sft",
                                                  "Next-token training on JSONL {\"prompt\", \"completion\"} "
                                                  "with the prompt masked");
    f.model.add_to(*c);
    c->add_option("--data", f.data, "JSONL of {\"prompt\", \"completion\"}")->required();
    c->add_option("-o,--output-dir", f.options.output_dir, "Checkpoints, final/ and train_log.jsonl")
        ->required();
    add_optimizer_flags(*c, f.options.lr, f.options.min_lr, f.options.warmup_steps, f.options.max_grad_norm,
                        f.options.weight_decay, f.options.moe_bias_gamma);
    c->add_option("--steps,--max-steps", f.options.steps, "Optimizer steps (0: from --epochs)");
    c->add_option("--epochs,--num-train-epochs", f.options.epochs, "Passes over the data when --steps is 0");
    c->add_option("--batch-size", f.options.batch_size,
                  "Sequences per optimizer step (gradient accumulation)")
        ->check(CLI::PositiveNumber);
    c->add_option("--max-seq-len", f.options.max_seq_len, "Longer examples are skipped");
    c->add_option("--seed", f.options.seed, "Data order");
    c->add_option("--log-every", f.options.log_every, "Steps between progress lines");
    c->add_option("--save-every", f.options.save_every, "Steps between checkpoints (0: final only)");
    c->add_flag("--resume", f.resume,
                "Require a checkpoint to resume from (one is resumed automatically anyway)");
  }
  // -------------------------------------------------------------------------------------------- grpo
  {
    GrpoFlags& f = g_grpo;
    train::GrpoTrainerOptions& o = f.options;
    CLI::App* c = g_grpo_cmd = cmd->add_subcommand("grpo",
                                                   "GRPO with rule-based rewards on a verifiable task, "
                                                   "sampling with r1's engine");
    f.model.add_to(*c);
    f.task.add_to(*c);
    c->add_option("-o,--output-dir", o.output_dir, "Checkpoints, final/ and train_log.jsonl")->required();
    add_optimizer_flags(*c, o.lr, o.min_lr, o.warmup_steps, o.max_grad_norm, o.weight_decay,
                        o.moe_bias_gamma);
    c->add_option("--steps,--max-steps", o.steps,
                  "Generation steps (each makes --num-iterations optimizer updates)");
    c->add_option("--num-iterations", o.num_iterations,
                  "Optimizer updates per generated batch (TRL num_iterations, GRPO's mu); updates after the "
                  "first use the clipped ratio to the sampling policy. The LR schedule runs over steps x "
                  "num-iterations updates (warmup: warmup-steps x num-iterations)")
        ->check(CLI::PositiveNumber);
    c->add_option("--prompts-per-step", o.prompts_per_step,
                  "Groups a step trains on (problems sampled per generation round)");
    c->add_option("--num-generations", o.grpo.num_generations, "Samples per problem (G)");
    c->add_option("--beta", o.grpo.beta, "Weight of the k3 KL to the starting model (0: no reference)");
    c->add_option("--epsilon", o.grpo.epsilon, "Lower clip range of the ratio");
    c->add_option("--epsilon-high", f.epsilon_high, "Upper clip range (default: --epsilon; DAPO: 0.28)");
    c->add_option("--loss-type", f.loss_type, "grpo | bnpo | dr_grpo | dapo");
    c->add_option("--scale-rewards", f.scale_rewards, "group | batch | none");
    c->add_option("--max-completion-length", o.grpo.max_completion_length, "Tokens per completion");
    c->add_option("--temperature", o.grpo.temperature, "Sampling temperature");
    c->add_option("--top-p", o.top_p, "Sampling nucleus");
    c->add_flag("--mask-truncated-completions", o.grpo.mask_truncated_completions,
                "No loss on completions cut off at the budget");
    c->add_flag("--dynamic-sampling", o.dynamic_sampling,
                "Drop groups whose rewards are all equal and sample more problems until the batch is full "
                "(DAPO)");
    c->add_option("--max-generation-rounds", o.max_generation_rounds,
                  "Dynamic sampling: sampling rounds a step may take to fill its batch (DAPO "
                  "max_num_gen_batches); when they run out the step trains on what it has")
        ->check(CLI::PositiveNumber);
    c->add_option("--accuracy-weight", o.reward_weights.accuracy, "Weight of the accuracy reward");
    c->add_option("--format-weight", o.reward_weights.format, "Weight of the format reward");
    c->add_option("--seed", o.seed, "Problems and samples");
    c->add_option("--parallel", o.parallel, "Sequences decoded at once");
    c->add_option("--log-every", o.log_every, "Steps between progress lines");
    c->add_option("--save-every", o.save_every, "Steps between checkpoints (0: final only)");
    c->add_option("--eval-every", o.eval_every, "Steps between held-out evaluations (0: none)");
    c->add_option("--eval-problems", o.eval_problems, "Held-out problems per evaluation");
    c->add_option("--eval-k", o.eval_k, "Samples per held-out problem (temperature 0.6, top-p 0.95)");
    c->add_flag("--resume", f.resume,
                "Require a checkpoint to resume from (one is resumed automatically anyway)");
  }
  // -------------------------------------------------------------------------------------------- data
  {
    DataFlags& f = g_data;
    CLI::App* c = g_data_cmd = cmd->add_subcommand("data",
                                                   "Write task problems as JSONL for `r1 train sft` or "
                                                   "`r1 eval`");
    f.problems.add_to(*c, "Generator seed");
    c->add_option("--format", f.format, "sft ({prompt, completion, answer}) | eval ({question, answer})")
        ->check(CLI::IsMember({"sft", "eval"}));
    c->add_option("--plain-fraction", f.plain_fraction,
                  "SFT: share of prompts that are the bare question, without R1's instruction (as typed in a chat)")
        ->check(CLI::Range(0.0, 1.0));
    c->add_option("--out", f.out, "Output JSONL")->required();
  }
  // -------------------------------------------------------------------------------------------- eval
  {
    EvalFlags& f = g_eval_tasks;
    CLI::App* c = g_eval_cmd = cmd->add_subcommand("eval",
                                                   "Held-out pass@1 and format rate on a task (k samples "
                                                   "at temperature 0.6, top-p 0.95), as JSON");
    c->add_option("-m,--model", f.model, "Model folder")->required();
    f.problems.add_to(*c, "Problems and samples");
    c->add_option("-k,--samples", f.options.k, "Samples per problem")->check(CLI::PositiveNumber);
    add_sampling_flags(*c, f.options.temperature, f.options.top_p, f.options.max_tokens, f.options.parallel);
  }
  // ------------------------------------------------------------------------------------------ sample
  {
    SampleFlags& f = g_sample;
    train::RolloutOptions& o = f.options.sampling;
    CLI::App* c = g_sample_cmd = cmd->add_subcommand("sample",
                                                     "Rejection sampling for distillation: a model answers task "
                                                     "problems k times, the correct, well-formed answers are "
                                                     "written as SFT JSONL");
    c->add_option("-m,--model", f.model, "Model folder (the teacher)")->required();
    f.problems.add_to(*c, "Problems and samples");
    c->add_option("-k,--samples", o.samples_per_prompt, "Samples per problem")->check(CLI::PositiveNumber);
    c->add_option("--keep", f.options.keep_per_problem, "Accepted samples kept per problem (distinct ones)")
        ->check(CLI::PositiveNumber);
    add_sampling_flags(*c, o.temperature, o.top_p, o.max_tokens, o.parallel);
    c->add_option("--out", f.out, "Output JSONL for r1 train sft")->required();
  }
  // ------------------------------------------------------------------------------------------ export
  {
    ExportFlags& f = g_export;
    CLI::App* c = g_export_cmd = cmd->add_subcommand("export",
                                                     "Rewrite a trained model folder with its matrices in bf16 "
                                                     "(half the size), as models are shipped");
    c->add_option("-m,--model", f.model, "Trained model folder")->required();
    c->add_option("-o,--output", f.out, "Folder to write (replaced)")->required();
    c->add_option("--dtype", f.dtype, "bf16 | f32")->check(CLI::IsMember({"bf16", "f32"}));
  }
  return cmd;
}

int cmd_train() {
  if (g_export_cmd->parsed()) return run_export();
  if (g_sample_cmd->parsed()) return run_sample();
  if (g_sft_cmd->parsed()) return run_sft();
  if (g_grpo_cmd->parsed()) return run_grpo();
  if (g_data_cmd->parsed()) return run_data();
  if (g_eval_cmd->parsed()) return run_eval_tasks();
  return 1;
}

}  // namespace r1::cli
