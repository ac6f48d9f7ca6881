// Running the built r1 binary from tests as a user would: its exit status, its output, and the JSON line it prints.
#pragma once

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

namespace r1::test {

struct Outcome {
  int status;
  std::string out;  // stdout and stderr together
};

// `r1 ARGS` with `stdin_text` (or nothing) on standard input.
inline Outcome run_r1(const std::string& args, const std::string& stdin_text = "") {
  std::string cmd = std::string(R1_BINARY) + " " + args + " 2>&1";
  if (!stdin_text.empty()) cmd = "printf '%s' '" + stdin_text + "' | " + cmd;
  else cmd += " < /dev/null";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  const int status = pclose(p);
  return {WEXITSTATUS(status), out};
}

// The last line of the output that is a JSON object (progress and speed lines on stderr may surround it); null
// when there is none.
inline nlohmann::json json_of(const Outcome& r) {
  size_t end = r.out.size();
  while (end > 0) {
    const size_t begin = r.out.rfind('\n', end - 1) == std::string::npos ? 0 : r.out.rfind('\n', end - 1) + 1;
    if (r.out.compare(begin, 1, "{") == 0) {
      auto j = nlohmann::json::parse(r.out.substr(begin, end - begin), nullptr, false);
      if (j.is_object()) return j;
    }
    if (begin == 0) break;
    end = begin - 1;
  }
  return nullptr;
}

}  // namespace r1::test
