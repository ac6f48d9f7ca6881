// r1: run, serve and train DeepSeek-R1-family models. Subcommands only parse flags and call the engine.
#include <CLI/CLI.hpp>

#include "cli/common.h"
#include "core/thread_pool.h"

int main(int argc, char** argv) {
  CLI::App app{"r1: run DeepSeek-R1-family reasoning models on a CPU"};
  app.require_subcommand(1);
  app.fallthrough();  // global flags such as --threads may follow the subcommand
  int threads = 0;
  app.add_option("-t,--threads", threads, "Worker threads (default: one per core)")->check(CLI::Range(0, 1024));
  struct Command {
    CLI::App* app;
    int (*run)();
  };
  const Command commands[] = {
      {r1::cli::add_run_command(app), r1::cli::cmd_run},
      {r1::cli::add_chat_command(app), r1::cli::cmd_chat},
      {r1::cli::add_info_command(app), r1::cli::cmd_info},
      {r1::cli::add_tokenize_command(app), r1::cli::cmd_tokenize},
      {r1::cli::add_quantize_command(app), r1::cli::cmd_quantize},
      {r1::cli::add_bench_command(app), r1::cli::cmd_bench},
      {r1::cli::add_serve_command(app), r1::cli::cmd_serve},
      {r1::cli::add_eval_command(app), r1::cli::cmd_eval},
      {r1::cli::add_train_command(app), r1::cli::cmd_train},
  };
  CLI11_PARSE(app, argc, argv);
  r1::ThreadPool::set_global_threads(threads);
  for (const Command& c : commands)
    if (c.app->parsed()) return c.run();
  return 1;
}
