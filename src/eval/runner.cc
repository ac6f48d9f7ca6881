#include "eval/runner.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

namespace r1::eval {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// One problem still to sample.
struct Pending {
  const Problem* problem;
  std::vector<SampleResult> samples;
  int64_t remaining;
};

// Shared by the workers and the caller's thread; the workers hold it too, so abandoned ones stay safe.
struct RunState {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<Pending> pending;
  std::atomic<int64_t> next_job{0};  // job j = sample j % k of pending[j / k]
  std::atomic<bool> stop{false};
  int64_t live_workers = 0;
  std::vector<ProblemResult> finished;  // this run's, in completion order
  Progress progress;
  Status error, write_error;
};

void worker(std::shared_ptr<RunState> st, ChatBackend* backend, ResultsFile* file, EvalSettings settings) {
  const int64_t k = settings.k, jobs = int64_t(st->pending.size()) * k;
  for (;;) {
    const int64_t j = st->next_job.fetch_add(1);
    if (j >= jobs || st->stop) break;
    Pending& p = st->pending[size_t(j / k)];
    const int64_t sample = j % k;
    const ChatReply reply = backend->complete(sample_request(*p.problem, settings, sample));
    std::unique_lock lock(st->mu);
    if (reply.outcome == ChatReply::Outcome::kFatal) {
      if (!st->stop.exchange(true)) {
        st->error = Status::error(reply.error);
        backend->cancel();
      }
      break;
    }
    if (st->stop) break;  // interrupted meanwhile: the problem is abandoned whole
    SampleResult s = reply.outcome == ChatReply::Outcome::kOk ? sample_from_reply(reply.body, p.problem->reference)
                                                              : rejected_sample(reply.error);
    st->progress.samples_done += 1;
    st->progress.samples_correct += s.correct;
    if (s.reasoning_tokens && s.answer_tokens) st->progress.output_tokens += *s.reasoning_tokens + *s.answer_tokens;
    st->progress.retries += reply.attempts > 1 ? reply.attempts - 1 : 0;
    p.samples[size_t(sample)] = std::move(s);
    if (--p.remaining > 0) continue;
    ProblemResult result{.problem = *p.problem, .samples = std::move(p.samples)};
    if (file) {
      if (Status w = file->append(result, settings); !w) {
        st->write_error = w;
        st->stop = true;
        backend->cancel();
        break;
      }
    }
    st->progress.problems_done += 1;
    st->finished.push_back(std::move(result));
    st->cv.notify_all();
  }
  std::lock_guard lock(st->mu);
  --st->live_workers;
  st->cv.notify_all();
}

}  // namespace

uint64_t sample_seed(uint64_t run_seed, int64_t index, int64_t sample) {
  // Below 2^31: some servers take the seed as a 32-bit integer.
  return splitmix64(splitmix64(run_seed) ^ splitmix64(uint64_t(index) << 20 | uint64_t(sample))) & 0x7fffffffu;
}

json sample_request(const Problem& problem, const EvalSettings& settings, int64_t sample) {
  json body = {{"model", settings.model},
               {"messages", json::array({{{"role", "user"}, {"content", r1_user_prompt(problem.question)}}})},
               {"temperature", settings.temperature},
               {"top_p", settings.top_p},
               {"seed", sample_seed(settings.seed, problem.index, sample)},
               {"stream", false}};
  if (settings.max_tokens) body["max_tokens"] = *settings.max_tokens;
  return body;
}

RunOutcome run_eval(ChatBackend& backend, const std::vector<Problem>& problems, ResultsFile* file,
                    const RunOptions& options) {
  const auto start = Clock::now();
  const int64_t k = options.settings.k;
  auto st = std::make_shared<RunState>();
  st->progress.problems = int64_t(problems.size());
  for (const Problem& p : problems) {
    if (file && file->done().count(p.id)) {
      ++st->progress.problems_resumed;
      continue;
    }
    st->pending.push_back(Pending{.problem = &p, .samples = std::vector<SampleResult>(size_t(k)), .remaining = k});
  }
  st->progress.problems_done = st->progress.problems_resumed;
  st->progress.samples_planned = int64_t(st->pending.size()) * k;

  const int64_t n_workers = std::max<int64_t>(1, std::min(options.concurrency, st->progress.samples_planned));
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(st->mu);
    st->live_workers = st->pending.empty() ? 0 : n_workers;
  }
  if (!st->pending.empty())
    for (int64_t i = 0; i < n_workers; ++i) threads.emplace_back(worker, st, &backend, file, options.settings);

  RunOutcome out;
  const auto report = [&] {
    Progress p;
    {
      std::lock_guard lock(st->mu);
      p = st->progress;
    }
    p.elapsed_s = std::chrono::duration<double>(Clock::now() - start).count();
    if (options.on_progress) options.on_progress(p);
    return p;
  };
  {
    std::unique_lock lock(st->mu);
    while (st->live_workers > 0) {
      st->cv.wait_for(lock, std::chrono::milliseconds(250));
      lock.unlock();
      if (options.should_stop && options.should_stop() && !st->stop.exchange(true)) {
        out.interrupted = true;
        backend.cancel();
      }
      report();
      lock.lock();
      if (st->stop) {
        // Give requests in flight a moment to notice the cancellation; abandon the ones that do not.
        st->cv.wait_for(lock, std::chrono::seconds(3), [&] { return st->live_workers == 0; });
        break;
      }
    }
    out.error = !st->write_error ? st->write_error : st->error;
  }
  bool all_exited;
  {
    std::lock_guard lock(st->mu);
    all_exited = st->live_workers == 0;
  }
  for (std::thread& t : threads) all_exited ? t.join() : t.detach();
  out.progress = report();

  // Every problem with a record, in data set order.
  std::lock_guard lock(st->mu);
  std::map<std::string, const ProblemResult*> by_id;
  if (file)
    for (const auto& [id, r] : file->done()) by_id.emplace(id, &r);
  for (const ProblemResult& r : st->finished) by_id.emplace(r.problem.id, &r);
  for (const Problem& p : problems)
    if (auto it = by_id.find(p.id); it != by_id.end()) out.results.push_back(*it->second);
  return out;
}

}  // namespace r1::eval
