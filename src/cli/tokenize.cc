// `r1 tokenize`: text to token ids (or back) for a model folder, a tokenizer folder or a GGUF file. Reads
// JSON Lines from stdin — one JSON string per line — and writes one line of space-separated ids per input
// line; with --decode it reads lines of ids and writes each text as a JSON string. This is how conformance is
// checked against other tokenizers, so the output is exactly encode()/decode(), nothing added.
#include <charconv>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/common.h"

namespace r1::cli {

namespace {

struct TokenizeFlags {
  std::string model;
  bool add_special = false;
  bool decode = false;
};
TokenizeFlags g_tokenize;

Result<std::string> encode_line(const Tokenizer& tok, const std::string& line) {
  const nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_string()) return Status::error("not a JSON string");
  std::string out;
  for (int32_t id : tok.encode(j.get_ref<const std::string&>(), g_tokenize.add_special)) {
    if (!out.empty()) out += ' ';
    out += std::to_string(id);
  }
  return out;
}

Result<std::string> decode_line(const Tokenizer& tok, const std::string& line) {
  std::vector<int32_t> ids;
  const char* p = line.data();
  const char* end = p + line.size();
  while (p < end) {
    if (*p == ' ' || *p == '\t') {
      ++p;
      continue;
    }
    int64_t id = 0;
    const auto [next, ec] = std::from_chars(p, end, id);
    if (ec != std::errc() || (next < end && *next != ' ' && *next != '\t')) {
      const char* stop = p;
      while (stop < end && *stop != ' ' && *stop != '\t') ++stop;
      return Status::errorf("\"{}\" is not a token id", std::string_view(p, size_t(stop - p)));
    }
    if (id < 0 || id >= tok.vocab_size()) {
      return Status::errorf("token id {} is outside the vocabulary (0..{})", id, tok.vocab_size() - 1);
    }
    ids.push_back(static_cast<int32_t>(id));
    p = next;
  }
  // decode() always returns valid UTF-8, so the JSON encoding cannot fail.
  return nlohmann::json(tok.decode(ids)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

int cmd_tokenize() {
  const std::string path = g_tokenize.model.empty() ? default_model_dir() : g_tokenize.model;
  auto tok = Tokenizer::load(path);
  if (!tok) {
    fmt::print(stderr, "error: {}\n", tok.message());
    return 1;
  }
  std::ios::sync_with_stdio(false);
  std::string line, out;
  for (int64_t line_no = 1; std::getline(std::cin, line); ++line_no) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    auto result = g_tokenize.decode ? decode_line(**tok, line) : encode_line(**tok, line);
    if (!result) {
      std::fwrite(out.data(), 1, out.size(), stdout);
      std::fflush(stdout);
      fmt::print(stderr, "error: line {}: {}\n", line_no, result.message());
      return 1;
    }
    out += *result;
    out += '\n';
    if (out.size() > (1 << 16)) {
      std::fwrite(out.data(), 1, out.size(), stdout);
      out.clear();
    }
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  return std::fflush(stdout) == 0 ? 0 : 1;
}

CLI::App* add_tokenize_command(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand(
      "tokenize",
      "Text to token ids: JSON string lines on stdin, space-separated ids out (--decode: reverse)");
  cmd->add_option("-m,--model", g_tokenize.model,
                  "Model folder, tokenizer folder or .gguf file (default: the bundled model)");
  cmd->add_flag("--add-special", g_tokenize.add_special, "Add BOS/EOS as the tokenizer is configured to");
  cmd->add_flag("--decode", g_tokenize.decode, "Read lines of space-separated ids, write JSON strings");
  return cmd;
}

}  // namespace r1::cli
