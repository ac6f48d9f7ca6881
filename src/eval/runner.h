// Runs an evaluation: k samples of every problem not yet in the results file, `concurrency` requests in flight,
// each problem's record written the moment its k-th sample lands.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "core/status.h"
#include "eval/dataset.h"
#include "eval/endpoint.h"
#include "eval/results.h"

namespace r1::eval {

struct Progress {
  int64_t problems = 0;          // in the data set (as selected)
  int64_t problems_done = 0;     // with a record, including those resumed from the file
  int64_t problems_resumed = 0;
  int64_t samples_planned = 0;   // samples this run has to draw
  int64_t samples_done = 0;      // ... and has drawn
  int64_t samples_correct = 0;   // of those, right
  int64_t output_tokens = 0;     // completion tokens of this run's samples, where the endpoint reports them
  int64_t retries = 0;           // requests re-sent (endpoints only)
  double elapsed_s = 0;
};

struct RunOptions {
  EvalSettings settings;
  int64_t concurrency = 8;                       // requests in flight
  std::function<void(const Progress&)> on_progress = nullptr;  // every ~250 ms and at the end, on the caller's thread
  std::function<bool()> should_stop = nullptr;   // polled as often: true stops the run (Ctrl-C)
};

struct RunOutcome {
  std::vector<ProblemResult> results;  // every problem with a record (resumed ones too), in data set order
  Progress progress;
  bool interrupted = false;            // should_stop ended it
  Status error;                        // a fatal endpoint error ended it (the records so far are kept)
  bool complete() const { return !interrupted && error.is_ok(); }
};

// The seed of sample `sample` of the problem at `index`: fixed by the run's seed, so a resumed or repeated run
// draws the same samples from a seeded endpoint.
uint64_t sample_seed(uint64_t run_seed, int64_t index, int64_t sample);

// The /v1/chat/completions body of one sample.
nlohmann::json sample_request(const Problem& problem, const EvalSettings& settings, int64_t sample);

// `file` may be null (nothing is written). When the run stops early, requests still in flight are abandoned (their
// problems have no record and run again next time); the backend must then outlive the threads that still use it:
// end the process rather than destroy it.
RunOutcome run_eval(ChatBackend& backend, const std::vector<Problem>& problems, ResultsFile* file,
                    const RunOptions& options);

}  // namespace r1::eval
