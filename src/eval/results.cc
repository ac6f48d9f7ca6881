#include "eval/results.h"

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unordered_map>

#include "eval/math_answer.h"
#include "eval/metrics.h"

namespace r1::eval {
namespace {

using json = nlohmann::json;

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

json optional_json(const std::optional<int64_t>& v) { return v ? json(*v) : json(nullptr); }
json optional_json(const std::optional<std::string>& v) { return v ? json(*v) : json(nullptr); }

const std::string* string_at(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? &it->get_ref<const std::string&>() : nullptr;
}

std::optional<int64_t> int_at(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number_integer()) return std::nullopt;
  return it->get<int64_t>();
}

// Servers that do not split reasoning out leave "<think>...</think>" at the start of the content.
void split_think_block(SampleResult& s) {
  const size_t close = s.content.find("</think>");
  if (close == std::string::npos) {
    if (s.content.rfind("<think>", 0) == 0) s.reasoning = s.content.substr(7), s.content.clear();
    return;
  }
  std::string reasoning = s.content.substr(0, close);
  if (reasoning.rfind("<think>", 0) == 0) reasoning.erase(0, 7);
  s.reasoning = std::move(reasoning);
  s.content.erase(0, close + 8);
}

}  // namespace

// ---- settings ---------------------------------------------------------------------------------------------------

json EvalSettings::to_json() const {
  return {{"model", model}, {"k", k},       {"temperature", temperature}, {"top_p", top_p},
          {"max_tokens", optional_json(max_tokens)}, {"seed", seed}, {"api", api}};
}

Result<EvalSettings> EvalSettings::from_json(const json& j) {
  if (!j.is_object()) return Status::error("\"settings\" is not an object");
  EvalSettings s;
  const std::string* model = string_at(j, "model");
  auto k = int_at(j, "k");
  auto t = j.find("temperature"), p = j.find("top_p"), seed = j.find("seed");
  if (!model || !k || *k < 1 || t == j.end() || !t->is_number() || p == j.end() || !p->is_number() ||
      seed == j.end() || !seed->is_number_unsigned())
    return Status::error("\"settings\" lacks model, k, temperature, top_p or seed");
  s.model = *model;
  s.k = *k;
  s.temperature = t->get<double>();
  s.top_p = p->get<double>();
  s.max_tokens = int_at(j, "max_tokens");
  s.seed = seed->get<uint64_t>();
  if (const std::string* api = string_at(j, "api")) s.api = *api;
  return s;
}

std::string EvalSettings::difference(const EvalSettings& o) const {
  std::string diff;
  const auto note = [&](const std::string& what) { diff += (diff.empty() ? "" : ", ") + what; };
  const auto opt = [](const std::optional<int64_t>& v) { return v ? std::to_string(*v) : std::string("unset"); };
  if (model != o.model) note(fmt::format("model {} vs {}", model, o.model));
  if (k != o.k) note(fmt::format("k {} vs {}", k, o.k));
  if (std::abs(temperature - o.temperature) > 1e-6) note(fmt::format("temperature {} vs {}", temperature, o.temperature));
  if (std::abs(top_p - o.top_p) > 1e-6) note(fmt::format("top-p {} vs {}", top_p, o.top_p));
  if (max_tokens != o.max_tokens) note(fmt::format("max-tokens {} vs {}", opt(max_tokens), opt(o.max_tokens)));
  if (seed != o.seed) note(fmt::format("seed {} vs {}", seed, o.seed));
  if (api != o.api) note(fmt::format("api {} vs {}", api, o.api));
  return diff;
}

// ---- samples ----------------------------------------------------------------------------------------------------

SampleResult sample_from_reply(const json& body, const std::string& reference) {
  SampleResult s;
  const json* choice = nullptr;
  if (auto c = body.find("choices"); c != body.end() && c->is_array() && !c->empty() && c->front().is_object())
    choice = &c->front();
  if (!choice) return rejected_sample("the reply has no choices");
  if (const std::string* f = string_at(*choice, "finish_reason")) s.finish_reason = *f;
  bool split_by_server = false;
  if (auto m = choice->find("message"); m != choice->end() && m->is_object()) {
    if (const std::string* c = string_at(*m, "content")) s.content = *c;
    for (const char* key : {"reasoning_content", "reasoning"})
      if (const std::string* r = string_at(*m, key)) {
        s.reasoning = *r;
        split_by_server = true;
        break;
      }
  }
  if (!split_by_server) split_think_block(s);

  if (auto u = body.find("usage"); u != body.end() && u->is_object()) {
    auto completion = int_at(*u, "completion_tokens");
    std::optional<int64_t> reasoning;
    if (auto d = u->find("completion_tokens_details"); d != u->end() && d->is_object())
      reasoning = int_at(*d, "reasoning_tokens");
    if (!reasoning && s.reasoning.empty()) reasoning = 0;  // nothing was reasoning
    if (completion && reasoning && *reasoning <= *completion) {
      s.reasoning_tokens = reasoning;
      s.answer_tokens = *completion - *reasoning;
    }
  }
  s.answer = extract_boxed(s.content);
  s.correct = s.answer && answers_match(*s.answer, reference);
  return s;
}

SampleResult rejected_sample(const std::string& error) {
  SampleResult s;
  s.finish_reason = "error";
  s.error = error;
  return s;
}

// ---- problems ---------------------------------------------------------------------------------------------------

int64_t ProblemResult::correct() const {
  int64_t c = 0;
  for (const SampleResult& s : samples) c += s.correct;
  return c;
}

std::optional<std::string> ProblemResult::majority() const {
  std::vector<std::optional<std::string>> answers;
  for (const SampleResult& s : samples) answers.push_back(s.answer);
  return majority_answer(answers);
}

bool ProblemResult::majority_correct() const {
  auto m = majority();
  return m && answers_match(*m, problem.reference);
}

json ProblemResult::to_json(const EvalSettings& settings) const {
  json samples_json = json::array();
  for (const SampleResult& s : samples) {
    json j = {{"answer", optional_json(s.answer)},
              {"correct", s.correct},
              {"finish_reason", s.finish_reason},
              {"reasoning_tokens", optional_json(s.reasoning_tokens)},
              {"answer_tokens", optional_json(s.answer_tokens)},
              {"reasoning", s.reasoning},
              {"content", s.content}};
    if (!s.error.empty()) j["error"] = s.error;
    samples_json.push_back(std::move(j));
  }
  const int64_t c = correct();
  return {{"id", problem.id},
          {"index", problem.index},
          {"question", problem.question},
          {"reference", problem.reference},
          {"correct", c},
          {"pass@1", samples.empty() ? 0.0 : double(c) / double(samples.size())},
          {"majority", optional_json(majority())},
          {"majority_correct", majority_correct()},
          {"settings", settings.to_json()},
          {"samples", std::move(samples_json)}};
}

Result<ProblemResult> ProblemResult::from_json(const json& j) {
  if (!j.is_object()) return Status::error("not a JSON object");
  const std::string *id = string_at(j, "id"), *question = string_at(j, "question"),
                    *reference = string_at(j, "reference");
  auto index = int_at(j, "index");
  auto samples = j.find("samples");
  if (!id || !question || !reference || !index || samples == j.end() || !samples->is_array())
    return Status::error("lacks id, index, question, reference or samples");
  ProblemResult r{.problem = {.id = *id, .index = *index, .question = *question, .reference = *reference},
                  .samples = {}};
  for (const json& sj : *samples) {
    if (!sj.is_object()) return Status::error("a sample is not an object");
    SampleResult s;
    auto correct = sj.find("correct");
    if (correct == sj.end() || !correct->is_boolean()) return Status::error("a sample lacks \"correct\"");
    s.correct = correct->get<bool>();
    if (const std::string* a = string_at(sj, "answer")) s.answer = *a;
    if (const std::string* f = string_at(sj, "finish_reason")) s.finish_reason = *f;
    if (const std::string* t = string_at(sj, "reasoning")) s.reasoning = *t;
    if (const std::string* t = string_at(sj, "content")) s.content = *t;
    if (const std::string* e = string_at(sj, "error")) s.error = *e;
    s.reasoning_tokens = int_at(sj, "reasoning_tokens");
    s.answer_tokens = int_at(sj, "answer_tokens");
    r.samples.push_back(std::move(s));
  }
  return r;
}

// ---- summary ----------------------------------------------------------------------------------------------------

Summary summarize(const std::vector<const ProblemResult*>& results, int64_t k) {
  Summary s;
  s.k = k;
  s.problems = int64_t(results.size());
  if (results.empty()) return s;
  std::vector<int64_t> js;
  for (int64_t j = 1; j < k; j *= 2) js.push_back(j);
  js.push_back(k);
  double sum_sq = 0, reasoning = 0, answer = 0;
  for (const ProblemResult* r : results) {
    const int64_t n = int64_t(r->samples.size()), c = r->correct();
    const double p1 = n ? double(c) / double(n) : 0.0;
    s.pass1 += p1;
    sum_sq += p1 * p1;
    for (int64_t j : js) s.pass_at[j] += n >= j ? pass_at_k(n, c, j) : 0.0;
    s.cons += r->majority_correct();
    s.samples += n;
    for (const SampleResult& x : r->samples) {
      s.format_failures += !x.answer;
      s.truncated += x.finish_reason == "length";
      s.rejected += x.finish_reason == "error";
      if (x.reasoning_tokens && x.answer_tokens) {
        ++s.token_counts_known;
        reasoning += double(*x.reasoning_tokens);
        answer += double(*x.answer_tokens);
      }
    }
  }
  const double n = double(results.size());
  s.pass1 /= n;
  for (auto& [j, v] : s.pass_at) v /= n;
  s.cons /= n;
  if (results.size() > 1) s.pass1_stderr = std::sqrt(std::max(0.0, (sum_sq - n * s.pass1 * s.pass1) / (n - 1)) / n);
  if (s.token_counts_known) {
    s.mean_reasoning_tokens = reasoning / double(s.token_counts_known);
    s.mean_answer_tokens = answer / double(s.token_counts_known);
  }
  return s;
}

json Summary::to_json() const {
  json pass = json::object();
  for (const auto& [j, v] : pass_at) pass[fmt::format("pass@{}", j)] = v;
  return {{"problems", problems},
          {"samples", samples},
          {"k", k},
          {"pass@1", pass1},
          {"pass@1_stderr", pass1_stderr},
          {"pass@k", pass},
          {fmt::format("cons@{}", k), cons},
          {"cons@k", cons},
          {"format_failures", format_failures},
          {"format_failure_rate", samples ? double(format_failures) / double(samples) : 0.0},
          {"truncated", truncated},
          {"rejected", rejected},
          {"mean_reasoning_tokens", token_counts_known ? json(mean_reasoning_tokens) : json(nullptr)},
          {"mean_answer_tokens", token_counts_known ? json(mean_answer_tokens) : json(nullptr)}};
}

// ---- results file -----------------------------------------------------------------------------------------------

Result<ResultsFile> ResultsFile::open(const std::string& path, const EvalSettings& settings,
                                      const std::vector<Problem>& problems) {
  ResultsFile f;
  f.path_ = path;
  std::error_code ec;
  if (std::filesystem::exists(path, ec)) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return Status::errorf("{}: cannot read it", path);
    std::stringstream buffer;
    buffer << in.rdbuf();
    const std::string text = buffer.str();
    // Records are whole lines; bytes after the last newline are a record the interrupted run was writing.
    const size_t end = text.rfind('\n') == std::string::npos ? 0 : text.rfind('\n') + 1;
    if (end < text.size()) {
      f.dropped_partial_bytes_ = int64_t(text.size() - end);
      std::filesystem::resize_file(path, end, ec);
      if (ec) return Status::errorf("{}: cannot cut the partial last record: {}", path, ec.message());
    }
    std::unordered_map<std::string, const Problem*> by_id;
    for (const Problem& p : problems) by_id.emplace(p.id, &p);
    size_t pos = 0;
    for (int64_t line = 1; pos < end; ++line) {
      const size_t nl = text.find('\n', pos);
      const std::string_view record(text.data() + pos, nl - pos);
      pos = nl + 1;
      if (record.find_first_not_of(" \t\r") == std::string_view::npos) continue;
      const auto fail = [&](const std::string& why) {
        return Status::errorf("{}:{}: {} (is this an r1 eval results file? use another --out)", path, line, why);
      };
      json j = json::parse(record, nullptr, false);
      if (j.is_discarded()) return fail("not JSON");
      auto r = ProblemResult::from_json(j);
      if (!r) return fail(r.message());
      auto s = EvalSettings::from_json(j.value("settings", json()));
      if (!s) return fail(s.message());
      if (std::string diff = s->difference(settings); !diff.empty())
        return Status::errorf("{} was made with other settings ({}): run with the same ones to resume, or choose "
                              "another --out", path, diff);
      auto it = by_id.find(r->problem.id);
      if (it == by_id.end()) {
        ++f.foreign_records_;
        continue;
      }
      if (it->second->question != r->problem.question)
        return Status::errorf("{}:{}: problem \"{}\" has another question than in the data set: the file belongs "
                              "to another data set (choose another --out)", path, line, r->problem.id);
      if (int64_t(r->samples.size()) != settings.k) return fail("the number of samples is not k");
      r->problem = *it->second;
      f.done_.try_emplace(r->problem.id, std::move(*r));
    }
  }
  f.file_.reset(std::fopen(path.c_str(), "ab"));
  if (!f.file_) return Status::errorf("{}: cannot open it for writing", path);
  return f;
}

Status ResultsFile::append(const ProblemResult& result, const EvalSettings& settings) {
  const std::string line = dump(result.to_json(settings)) + "\n";
  std::FILE* f = file_.get();
  if (std::fwrite(line.data(), 1, line.size(), f) != line.size() || std::fflush(f) != 0)
    return Status::errorf("{}: write failed", path_);
  fsync(fileno(f));  // the record survives a crash or power loss, so a resumed run never redoes it
  done_.insert_or_assign(result.problem.id, result);
  return Status::ok();
}

}  // namespace r1::eval
