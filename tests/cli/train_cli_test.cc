// `r1 train` as a user runs it: task data that `r1 eval` and `r1 train sft` read, a short SFT run from a
// config that resumes when rerun, a short GRPO run, held-out evaluation, and flag errors.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "cli/cli_util.h"
#include "eval/dataset.h"
#include "test_util.h"
#include "train/sft.h"
#include "train/tasks.h"

namespace {
namespace fs = std::filesystem;
using r1::test::Outcome;

Outcome r1(const std::string& args) {
  return r1::test::run_r1(args);
}
const std::string kTinyChat = std::string(R1_SOURCE_DIR) + "/tests/fixtures/train/tiny_chat";

TEST(TrainCli, DataWritesWhatEvalAndSftRead) {
  r1::test::TempDir dir;
  const Outcome e =
      r1("train data --task addition --digits 2 --split test --n 20 --seed 3 --format eval --out " +
         dir.file("eval.jsonl"));
  ASSERT_EQ(e.status, 0) << e.out;
  auto problems = r1::eval::load_problems(dir.file("eval.jsonl"));
  ASSERT_TRUE(problems.is_ok()) << problems.message();
  ASSERT_EQ(problems->size(), 20u);
  for (const auto& p : *problems) {
    // Held out, and the reference is the sum of the two numbers in the question.
    EXPECT_EQ(r1::train::split_of(p.question, 0.1), r1::train::Split::kHeldOut) << p.question;
    int a = 0, b = 0;
    ASSERT_EQ(std::sscanf(p.question.c_str(), "What is %d + %d", &a, &b), 2) << p.question;
    EXPECT_EQ(p.reference, std::to_string(a + b));
  }
  const Outcome s = r1("train data --task multiplication --n 5 --format sft --out " + dir.file("sft.jsonl"));
  ASSERT_EQ(s.status, 0) << s.out;
  auto examples = r1::train::read_sft_jsonl(dir.file("sft.jsonl"));
  ASSERT_TRUE(examples.is_ok()) << examples.message();
  EXPECT_EQ(examples->size(), 5u);
  EXPECT_NE(examples->front().prompt.find(r1::eval::kR1MathInstruction), std::string::npos);
}

TEST(TrainCli, SftFromAConfigRunsAndResumes) {
  r1::test::TempDir dir;
  ASSERT_EQ(r1("train data --task addition --digits 1 --n 4 --out " + dir.file("d.jsonl")).status, 0);
  const std::string base = "train sft --config " + kTinyChat + "/config.json --data " + dir.file("d.jsonl") +
                           " --batch-size 2 --lr 1e-3";
  const std::string out = " -o " + dir.file("out");
  const Outcome a = r1(base + out + " --steps 1");
  ASSERT_EQ(a.status, 0) << a.out;
  EXPECT_NE(a.out.find("step 1/1  loss"), std::string::npos) << a.out;
  EXPECT_TRUE(fs::exists(dir.file("out/final/model.safetensors")));
  // The final model runs with `r1 run`.
  const Outcome run = r1("run -m " + dir.file("out/final") + " -p hi -n 3 --greedy --json");
  EXPECT_EQ(run.status, 0) << run.out;
  // --resume without a checkpoint is an error; with one (left by --save-every) the run continues from it.
  const Outcome none = r1(base + " --steps 2 --resume -o " + dir.file("other"));
  EXPECT_NE(none.status, 0);
  EXPECT_NE(none.out.find("no complete checkpoint"), std::string::npos) << none.out;
  fs::remove_all(dir.file("out"));
  ASSERT_EQ(r1(base + out + " --steps 3 --save-every 2").status, 0);
  ASSERT_TRUE(fs::exists(dir.file("out/checkpoint-2/trainer_state.json")));
  fs::remove_all(dir.file("out/final"));
  const Outcome resumed = r1(base + out + " --steps 3 --save-every 2 --resume");
  ASSERT_EQ(resumed.status, 0) << resumed.out;
  EXPECT_NE(resumed.out.find("resumed from step 2"), std::string::npos) << resumed.out;
  EXPECT_EQ(resumed.out.find("step 1/3"), std::string::npos) << resumed.out;
}

TEST(TrainCli, CtrlCSavesACheckpointThatResumes) {
  r1::test::TempDir dir;
  ASSERT_EQ(r1("train data --task addition --digits 1 --n 4 --out " + dir.file("d.jsonl")).status, 0);
  const std::string cmd = std::string(R1_BINARY) + " train sft --config " + kTinyChat +
                          "/config.json --data " + dir.file("d.jsonl") + " -o " + dir.file("out") +
                          " --batch-size 1";
  // SIGINT mid-run, once a few steps were logged (not after a fixed time: a busy machine or the sanitizers may not
  // have finished one by then): exit 130 with a checkpoint at the step reached.
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    const std::string line = "exec " + cmd + " --steps 1000000 --log-every 1 > " + dir.file("log") + " 2>&1";
    execl("/bin/sh", "sh", "-c", line.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  const auto logged = [&] {
    std::ifstream in(dir.file("log"));
    std::stringstream text;
    text << in.rdbuf();
    return text.str().find("step 3/") != std::string::npos;
  };
  for (int i = 0; i < 1200 && !logged(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ASSERT_TRUE(logged()) << "no training step within 120 s";
  kill(pid, SIGINT);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 130);
  auto checkpoint = r1::train::latest_checkpoint(dir.file("out"));
  ASSERT_TRUE(checkpoint.has_value());
  auto state = r1::train::read_trainer_state(*checkpoint);
  ASSERT_TRUE(state.is_ok()) << state.message();
  EXPECT_GT((*state)["step"].get<int64_t>(), 0);
  const Outcome resumed = r1(cmd.substr(std::string(R1_BINARY).size() + 1) + " --resume --steps " +
                             std::to_string((*state)["step"].get<int64_t>() + 1));
  EXPECT_EQ(resumed.status, 0) << resumed.out;
  EXPECT_NE(resumed.out.find("resumed from step"), std::string::npos) << resumed.out;
}

TEST(TrainCli, GrpoStepAndEval) {
  r1::test::TempDir dir;
  const Outcome g =
      r1("train grpo --config " + kTinyChat + "/config.json --task addition --digits 1 -o " + dir.file("g") +
         " --steps 1 --prompts-per-step 2 --num-generations 2 --max-completion-length 8"
         " --beta 0.04 --loss-type grpo --scale-rewards none --epsilon-high 0.28"
         " --eval-every 1 --eval-problems 2 --eval-k 2");
  ASSERT_EQ(g.status, 0) << g.out;
  EXPECT_NE(g.out.find("step 1/1  reward"), std::string::npos) << g.out;
  EXPECT_NE(g.out.find("held-out: pass@1"), std::string::npos) << g.out;
  const Outcome e =
      r1("train eval -m " + dir.file("g/final") + " --task addition --digits 1 -n 3 -k 2 --max-tokens 8");
  ASSERT_EQ(e.status, 0) << e.out;
  const auto j = r1::test::json_of(e);
  ASSERT_TRUE(j.is_object()) << e.out;
  EXPECT_EQ(j["problems"], 3);
  EXPECT_GE(j["pass_at_1"].get<double>(), 0.0);
  EXPECT_LE(j["format_rate"].get<double>(), 1.0);
}

// --num-iterations and the refill flags reach the trainer: a random model's groups never carry signal, so
// every step takes all --max-generation-rounds and skips its update; a checkpoint made with another
// --num-iterations is refused.
TEST(TrainCli, GrpoNumIterationsAndRefill) {
  r1::test::TempDir dir;
  const std::string base = "train grpo --config " + kTinyChat + "/config.json --task addition --digits 1 -o " +
                           dir.path() + " --prompts-per-step 2 --num-generations 2 --max-completion-length 8" +
                           " --dynamic-sampling --max-generation-rounds 3 --save-every 1";
  const Outcome g = r1(base + " --steps 2 --num-iterations 2");
  ASSERT_EQ(g.status, 0) << g.out;
  EXPECT_NE(g.out.find("groups 0 (3 rounds)"), std::string::npos) << g.out;
  EXPECT_NE(g.out.find("no update"), std::string::npos) << g.out;
  const Outcome other = r1(base + " --steps 3 --num-iterations 1");
  EXPECT_NE(other.status, 0);
  EXPECT_NE(other.out.find("num_iterations"), std::string::npos) << other.out;
  EXPECT_NE(r1(base + " --steps 3 --num-iterations 0").status, 0);
  EXPECT_NE(r1(base + " --steps 3 --max-generation-rounds 0").status, 0);
}

// Rejection sampling writes what it kept (a random model answers nothing right, so nothing) and says how many;
// export writes a bf16 folder about half the size that r1 runs.
TEST(TrainCli, SampleAndExport) {
  r1::test::TempDir dir;
  ASSERT_EQ(r1("train data --task addition --digits 1 --n 4 --out " + dir.file("d.jsonl")).status, 0);
  ASSERT_EQ(r1("train sft --config " + kTinyChat + "/config.json --data " + dir.file("d.jsonl") + " -o " +
               dir.file("m") + " --steps 1")
                .status,
            0);
  const Outcome s = r1("train sample -m " + dir.file("m/final") +
                       " --task addition --digits 2 -n 3 -k 2 --max-tokens 8 --out " + dir.file("kept.jsonl"));
  ASSERT_EQ(s.status, 0) << s.out;
  EXPECT_NE(s.out.find("6 samples of 3 problems (train split): 0 correct"), std::string::npos) << s.out;
  EXPECT_TRUE(std::filesystem::exists(dir.file("kept.jsonl")));
  EXPECT_EQ(std::filesystem::file_size(dir.file("kept.jsonl")), 0u);

  const Outcome e = r1("train export -m " + dir.file("m/final") + " -o " + dir.file("bf16"));
  ASSERT_EQ(e.status, 0) << e.out;
  const auto f32 = std::filesystem::file_size(dir.file("m/final/model.safetensors"));
  const auto bf16 = std::filesystem::file_size(dir.file("bf16/model.safetensors"));
  EXPECT_LT(bf16, f32 * 6 / 10) << f32 << " -> " << bf16;
  EXPECT_TRUE(std::filesystem::exists(dir.file("bf16/tokenizer.json")));
  const Outcome run = r1("run -m " + dir.file("bf16") + " -p hi -n 3 --greedy --json");
  EXPECT_EQ(run.status, 0) << run.out;
  EXPECT_NE(r1("train export -m " + dir.file("nothing") + " -o " + dir.file("x")).status, 0);
}

TEST(TrainCli, BadFlagsAreClearErrors) {
  r1::test::TempDir dir;
  const Outcome loss =
      r1("train grpo --config " + kTinyChat + "/config.json -o " + dir.path() + " --loss-type nope");
  EXPECT_NE(loss.status, 0);
  EXPECT_NE(loss.out.find("nope"), std::string::npos) << loss.out;
  const Outcome no_model = r1("train sft --data x.jsonl -o " + dir.path());
  EXPECT_NE(no_model.status, 0);
  const Outcome task = r1("train data --task chess --out " + dir.file("x"));
  EXPECT_NE(task.status, 0);
  const Outcome missing = r1("train sft --config " + kTinyChat + "/config.json --data " +
                             dir.file("none.jsonl") + " -o " + dir.path());
  EXPECT_NE(missing.status, 0);
  EXPECT_NE(missing.out.find("none.jsonl"), std::string::npos) << missing.out;
}

}  // namespace
