// Evaluation data sets: one JSON object per line, in the shapes the R1 paper's benchmarks ship in.
//   GSM8K:            {"question": ..., "answer": "... #### 18"}
//   MATH-500, AIME:   {"problem": ..., "answer": "\\frac{1}{2}", "unique_id"/"id": ...}
// and anything alike ({"question"|"problem"|"prompt", "answer"}; answers may be JSON numbers).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace r1::eval {

struct Problem {
  std::string id;         // the record's "id" or "unique_id"; else "line:N" (1-based line in the file)
  int64_t index = 0;      // position among the file's records (0-based); seeds the problem's samples
  std::string question;
  std::string reference;  // the reference final answer
};

// Reads every record of a JSONL file. Errors name the file and line: not JSON, no question, no answer, an id seen
// twice.
Result<std::vector<Problem>> load_problems(const std::string& path);

// The R1 paper's instruction for math, appended to the problem in the (only) user turn; no system prompt.
inline constexpr std::string_view kR1MathInstruction =
    "Please reason step by step, and put your final answer within \\boxed{}.";

std::string r1_user_prompt(std::string_view question);

}  // namespace r1::eval
