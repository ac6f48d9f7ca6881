// Final answers of math problems: finding them in a model's output and deciding whether two of them agree.
//
// The R1 protocol asks the model to "put your final answer within \boxed{}"; the answer is the content of the last
// \boxed{...} in the response (not in the reasoning). Answers are compared after normalisation: LaTeX spacing and
// sizing commands, \dfrac/\tfrac, \text{} units, degrees, dollar signs and percent signs are dropped, numbers are
// read with commas, signs, decimals and fractions, and two numbers agree when they are equal as numbers.
// Where graders differ (percent signs, unclosed boxes, unbracketed lists, ...), the choice made is listed at the
// top of math_answer.cc and pinned by a row of tests/eval/math_answer_test.cc.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace r1::eval {

// The content of the last \boxed{...} (or \fbox{...}) in `text`, with nested braces balanced; `\boxed 5` (no
// braces) gives "5". nullopt when there is none or its braces never close.
std::optional<std::string> extract_boxed(std::string_view text);

// GSM8K's reference answer: what follows the last "####" in a solution, trimmed, thousands commas removed.
std::optional<std::string> gsm8k_reference(std::string_view solution);

// The canonical form of an answer, used both for checking and as the key for majority voting (cons@k): equal keys
// mean the same answer. Numbers become a reduced fraction or integer ("0.50" -> "1/2", "\frac{4}{2}" -> "2",
// "1,000" -> "1000", "-\frac12" -> "-1/2"); other answers become a LaTeX string with the noise removed.
std::string normalize_answer(std::string_view answer);

// True when `predicted` denotes the same answer as `reference`.
bool answers_match(std::string_view predicted, std::string_view reference);

}  // namespace r1::eval
