// GET /metrics: the engine's and the HTTP front end's counters in the Prometheus text exposition format (0.0.4):
// "# HELP name text", "# TYPE name counter|gauge", then "name{label="value"} number" lines.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>

#include "runtime/engine.h"

namespace r1::server {

// How a request to a generation endpoint ended, as the `outcome` label of r1_requests_total.
enum class Outcome { kSuccess, kCancelled, kInvalid, kRejected, kError };
inline constexpr int kOutcomeCount = 5;
const char* outcome_name(Outcome o);  // "success", "cancelled" (client went away), "invalid" (4xx),
                                      // "rejected" (429/503), "error" (5xx)

// Counters the HTTP handlers bump from any thread.
struct ServerCounters {
  std::array<std::atomic<int64_t>, kOutcomeCount> requests{};
  void count(Outcome o) { requests[size_t(o)].fetch_add(1, std::memory_order_relaxed); }
};

std::string render_metrics(const EngineStats& stats, const ServerCounters& counters);

}  // namespace r1::server
