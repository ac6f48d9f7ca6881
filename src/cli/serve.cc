// `r1 serve`: the OpenAI/DeepSeek-compatible HTTP server. Loads the model, starts the engine, listens, and on
// SIGTERM/SIGINT drains: new requests get 503, running ones get a grace period, the disk cache is flushed, exit 0.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "cli/common.h"
#include "runtime/engine.h"
#include "runtime/fingerprint.h"
#include "server/http_server.h"

namespace r1::cli {

namespace {

struct ServeFlags {
  std::string model_dir, quant, chat_template, alias;
  std::string api_key, api_key_file, cache_dir;
  server::ServerOptions http;
  int64_t parallel = 4, ctx_size = 4096, max_queue = 64;
  uint64_t cache_disk_limit = uint64_t(8) << 30, kv_memory = uint64_t(2) << 30, max_body = uint64_t(8) << 20;
};

ServeFlags g_serve;

// How long running requests may take to finish after SIGTERM before they are cancelled.
constexpr std::chrono::seconds kShutdownGrace(10);

// SIGTERM/SIGINT only write a byte to this pipe (async-signal-safe); a thread reads it and shuts down.
int g_signal_pipe[2] = {-1, -1};

void on_signal(int) {
  const char byte = 1;
  [[maybe_unused]] ssize_t n = write(g_signal_pipe[1], &byte, 1);
}

Result<std::string> read_api_key(const ServeFlags& f) {
  return f.api_key_file.empty() ? Result<std::string>(f.api_key) : read_key_file(f.api_key_file, "--api-key-file");
}

std::string model_name(const ServeFlags& f, const std::string& dir) {
  return f.alias.empty() ? model_display_name(dir) : f.alias;
}

int fail(const std::string& message) {
  fmt::print(stderr, "r1 serve: error: {}\n", message);
  return 1;
}

}  // namespace

int cmd_serve() {
  ServeFlags& f = g_serve;
  auto key = read_api_key(f);
  if (!key) return fail(key.message());
  auto loaded = load(f.model_dir, f.chat_template, LoadOptions{.quant = f.quant});
  if (!loaded) return fail(loaded.message());
  LoadedModel& m = *loaded;

  const int64_t ctx = std::min<int64_t>(f.ctx_size, m.model->info().max_position_embeddings);
  EngineOptions eo;
  eo.max_running = f.parallel;
  eo.max_waiting = f.max_queue;
  eo.ctx_size = ctx;
  eo.kv_memory = size_t(f.kv_memory);
  eo.cache_dir = f.cache_dir;
  eo.cache_disk_limit = f.cache_disk_limit;
  // The disk tier must never hand one model's KV blocks to another: the weights, the quantization and the KV
  // layout (block size) all go into the key.
  auto fingerprint = model_fingerprint(m.dir, fmt::format("quant={};block={}", f.quant, eo.block_size));
  if (!fingerprint) return fail(fingerprint.message());
  eo.model_fingerprint = *fingerprint;
  auto engine = Engine::create(*m.model, eo);
  if (!engine) return fail(engine.message());

  const server::ServedModel served{.name = model_name(f, m.dir),
                                   .tokenizer = m.tokenizer.get(),
                                   .generation = m.generation,
                                   .stop_ids = stop_ids(m.generation, *m.tokenizer),
                                   .ctx_size = ctx,
                                   .vocab_size = m.tokenizer->vocab_size(),
                                   .fingerprint = "fp_" + fingerprint->substr(0, 12),
                                   .created = int64_t(std::time(nullptr)),
                                   .vocab_bytes = server::vocab_bytes(*m.tokenizer)};
  f.http.api_key = *key;
  f.http.max_body = size_t(f.max_body);
  server::HttpServer http(**engine, served, f.http);
  if (Status s = http.bind(); !s) return fail(s.message());

  if (pipe2(g_signal_pipe, O_CLOEXEC) != 0) return fail("cannot create the signal pipe");
  std::signal(SIGPIPE, SIG_IGN);  // a client that went away is a failed write, not the end of the server
  std::signal(SIGTERM, on_signal);
  std::signal(SIGINT, on_signal);
  std::thread stopper([&] {
    char byte;
    while (read(g_signal_pipe[0], &byte, 1) < 0 && errno == EINTR) {
    }
    fmt::print(stderr, "r1 serve: shutting down\n");
    http.begin_shutdown();
    (*engine)->shutdown(kShutdownGrace);
    http.stop();
  });

  fmt::print("r1 serve: listening on http://{}:{} (model {}, parallel {}, ctx {})\n", f.http.host, http.port(),
             served.name, f.parallel, ctx);
  std::fflush(stdout);
  const Status served_status = http.serve();
  on_signal(0);  // the listener may also have stopped on its own: let the stopper finish either way
  stopper.join();
  if (!served_status) return fail(served_status.message());
  return 0;
}

CLI::App* add_serve_command(CLI::App& app) {
  ServeFlags& f = g_serve;
  CLI::App* cmd = app.add_subcommand("serve", "Serve the OpenAI/DeepSeek-compatible HTTP API");
  cmd->add_option("-m,--model", f.model_dir, "Hugging Face model folder or GGUF file (default: the bundled model)");
  cmd->add_option("--host", f.http.host, "Address to listen on (loopback by default)");
  cmd->add_option("--port", f.http.port, "Port to listen on; 0 picks a free one")->check(CLI::Range(0, 65535));
  cmd->add_option("--parallel", f.parallel, "Requests decoded at once")->check(CLI::Range(1, 1024));
  cmd->add_option("-c,--ctx-size", f.ctx_size, "Context size per request in tokens")->check(CLI::Range(2, 1 << 24));
  cmd->add_option("--max-queue", f.max_queue, "Requests waiting beyond --parallel before 429")
      ->check(CLI::Range(0, 1 << 20));
  auto* key = cmd->add_option("--api-key", f.api_key, "Require 'Authorization: Bearer KEY'");
  cmd->add_option("--api-key-file", f.api_key_file, "Read the API key from this file")->excludes(key);
  cmd->add_option("--alias", f.alias, "Model name clients use (default: the folder's name)");
  cmd->add_option("--cache-dir", f.cache_dir, "Keep the prefix cache on disk here as well (survives restarts)");
  cmd->add_option("--cache-disk-limit", f.cache_disk_limit, "Disk cache size limit, e.g. 8GiB")
      ->transform(CLI::AsSizeValue(false));
  cmd->add_option("--kv-memory", f.kv_memory, "Memory for the KV cache, e.g. 2GiB")->transform(CLI::AsSizeValue(false));
  cmd->add_option("--max-body", f.max_body, "Largest request body, e.g. 8MiB (larger: 413)")
      ->transform(CLI::AsSizeValue(false));
  add_quant_option(*cmd, f.quant);
  cmd->add_option("--chat-template", f.chat_template, "Jinja chat template file replacing the model's own");
  return cmd;
}

}  // namespace r1::cli
