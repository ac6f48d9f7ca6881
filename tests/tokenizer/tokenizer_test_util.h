// Helpers shared by the tokenizer tests: fixture paths, tokenizers loaded once per test binary, vector files
// in llama.cpp's format, and scratch folders for hand-written tokenizer files.
#pragma once

#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include "tokenizer/tokenizer.h"

namespace r1::tok_test {

inline std::string fixture(const std::string& rel) {
  return std::string(R1_FIXTURES_DIR) + "/tokenizers/" + rel;
}

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A tokenizer from tests/fixtures/tokenizers/<rel>, loaded once per process (the 150k-token vocabularies take
// about half a second each). nullptr if loading failed; `error` then holds why.
inline const Tokenizer* shared_tokenizer(const std::string& rel, std::string* error = nullptr,
                                         std::optional<PreTokenizerKind> preset = std::nullopt) {
  static std::mutex mu;
  static std::map<std::string, std::unique_ptr<Tokenizer>> cache;
  static std::map<std::string, std::string> errors;
  std::lock_guard<std::mutex> lock(mu);
  std::string key = rel;
  if (preset) key.append("#").append(pre_tokenizer_kind_name(*preset));
  if (!cache.count(key) && !errors.count(key)) {
    auto loaded = Tokenizer::load_dir(fixture(rel), TokenizerLoadOptions{.pre_tokenizer = preset});
    if (loaded) {
      cache[key] = std::move(loaded).value();
    } else {
      errors[key] = loaded.message();
    }
  }
  if (errors.count(key)) {
    if (error) *error = errors[key];
    return nullptr;
  }
  return cache[key].get();
}

// The tokenizers the tests use most.
inline const Tokenizer* r1_distill_qwen(std::string* error = nullptr) {
  // The real R1-Distill folders ship tokenizer.json; this fixture has only vocab.json + merges.txt and a
  // config that says LlamaTokenizerFast, so the Qwen2 pre-tokenizer is named explicitly.
  return shared_tokenizer("deepseek-r1-distill-qwen", error, PreTokenizerKind::kQwen2);
}
inline const Tokenizer* deepseek_v3(std::string* error = nullptr) {
  return shared_tokenizer("deepseek-v3", error);
}
inline const Tokenizer* stories260k(std::string* error = nullptr) {
  return shared_tokenizer("stories260k", error);
}

struct VectorCase {
  std::string text;
  std::vector<int32_t> ids;
};

// llama.cpp's format: the .inp holds the strings, each followed by "\n__ggml_vocab_test__\n"; line i of the
// .out holds the ids of string i. A file ending in the separator has an empty last piece, paired with the
// empty last line of the .out (an empty string encodes to no ids), which makes the 47 cases of the llama.cpp
// files.
inline std::vector<VectorCase> read_vectors(const std::string& inp_path, const std::string& out_path) {
  const std::string inp = read_file(inp_path), out = read_file(out_path);
  const std::string sep = "\n__ggml_vocab_test__\n";
  std::vector<VectorCase> cases;
  for (size_t pos = 0;;) {
    const size_t next = inp.find(sep, pos);
    cases.push_back({inp.substr(pos, next == std::string::npos ? std::string::npos : next - pos), {}});
    if (next == std::string::npos) break;
    pos = next + sep.size();
  }
  std::istringstream lines(out);
  std::string line;
  for (size_t i = 0; std::getline(lines, line); ++i) {
    if (i >= cases.size()) return {};  // more id lines than strings: the caller's size check fails
    std::istringstream ids(line);
    for (int32_t id; ids >> id;) cases[i].ids.push_back(id);
  }
  return cases;
}

// A scratch folder for hand-written tokenizer files, removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            ("r1_tokenizer_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  std::string path() const { return path_.string(); }
  void write(const std::string& name, const std::string& content) const {
    std::ofstream(path_ / name, std::ios::binary) << content;
  }

 private:
  std::filesystem::path path_;
};

}  // namespace r1::tok_test
