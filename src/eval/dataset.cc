#include "eval/dataset.h"

#include <nlohmann/json.hpp>

#include <fstream>
#include <unordered_map>

#include "eval/math_answer.h"

namespace r1::eval {
namespace {

using json = nlohmann::json;

// The first of `keys` that holds a non-empty string.
const json* string_field(const json& record, std::initializer_list<const char*> keys) {
  for (const char* k : keys) {
    auto it = record.find(k);
    if (it != record.end() && it->is_string() && !it->get_ref<const std::string&>().empty()) return &*it;
  }
  return nullptr;
}

// GSM8K solutions end in "#### N"; other sets give the bare answer. Numbers may come as JSON numbers.
Result<std::string> reference_of(const json& record) {
  auto it = record.find("answer");
  if (it == record.end()) return Status::error("no \"answer\" field");
  if (it->is_number_integer()) return it->dump();
  if (it->is_number()) return it->dump();
  if (!it->is_string()) return Status::error("\"answer\" is neither a string nor a number");
  const std::string& text = it->get_ref<const std::string&>();
  if (text.find("####") != std::string::npos) {
    auto ref = gsm8k_reference(text);
    if (!ref || ref->empty()) return Status::error("\"answer\" has \"####\" but no answer after it");
    return *ref;
  }
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) return Status::error("\"answer\" is empty");
  return text;
}

std::string id_of(const json& record, int64_t line) {
  for (const char* k : {"id", "unique_id"}) {
    auto it = record.find(k);
    if (it == record.end()) continue;
    if (it->is_string() && !it->get_ref<const std::string&>().empty()) return it->get<std::string>();
    if (it->is_number_integer()) return it->dump();
  }
  return "line:" + std::to_string(line);
}

}  // namespace

Result<std::vector<Problem>> load_problems(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::errorf("{}: cannot open it", path);
  std::vector<Problem> problems;
  std::unordered_map<std::string, int64_t> seen;  // id -> line
  std::string text;
  for (int64_t line = 1; std::getline(in, text); ++line) {
    if (!text.empty() && text.back() == '\r') text.pop_back();
    if (text.find_first_not_of(" \t") == std::string::npos) continue;
    const auto fail = [&](const std::string& why) { return Status::errorf("{}:{}: {}", path, line, why); };
    json record = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (record.is_discarded()) return fail("not a JSON object");
    if (!record.is_object()) return fail("not a JSON object");
    const json* question = string_field(record, {"problem", "question", "prompt"});
    if (!question) return fail("no \"problem\", \"question\" or \"prompt\" string");
    auto reference = reference_of(record);
    if (!reference) return fail(reference.message());
    Problem p{.id = id_of(record, line),
              .index = int64_t(problems.size()),
              .question = question->get<std::string>(),
              .reference = std::move(*reference)};
    if (auto [it, fresh] = seen.emplace(p.id, line); !fresh)
      return fail(fmt::format("id \"{}\" was already used on line {}", p.id, it->second));
    problems.push_back(std::move(p));
  }
  if (in.bad()) return Status::errorf("{}: read error", path);
  if (problems.empty()) return Status::errorf("{}: no problems in it", path);
  return problems;
}

std::string r1_user_prompt(std::string_view question) {
  std::string prompt(question);
  prompt += '\n';
  prompt += kR1MathInstruction;
  return prompt;
}

}  // namespace r1::eval
