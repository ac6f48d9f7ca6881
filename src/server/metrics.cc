#include "server/metrics.h"

#include <fmt/core.h>

namespace r1::server {

const char* outcome_name(Outcome o) {
  switch (o) {
    case Outcome::kSuccess: return "success";
    case Outcome::kCancelled: return "cancelled";
    case Outcome::kInvalid: return "invalid";
    case Outcome::kRejected: return "rejected";
    case Outcome::kError: return "error";
  }
  return "?";
}

namespace {

void family(std::string& out, const char* name, const char* type, const char* help) {
  out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

template <typename T>
void metric(std::string& out, const char* name, const char* type, const char* help, T value) {
  family(out, name, type, help);
  out += fmt::format("{} {}\n", name, value);
}

}  // namespace

std::string render_metrics(const EngineStats& s, const ServerCounters& counters) {
  std::string out;
  family(out, "r1_requests_total", "counter", "Generation requests by how they ended.");
  for (int i = 0; i < kOutcomeCount; ++i)
    out += fmt::format("r1_requests_total{{outcome=\"{}\"}} {}\n", outcome_name(Outcome(i)),
                       counters.requests[size_t(i)].load(std::memory_order_relaxed));
  metric(out, "r1_prompt_tokens_total", "counter", "Prompt tokens of admitted requests.", s.prompt_tokens);
  metric(out, "r1_generation_tokens_total", "counter", "Tokens generated.", s.generated_tokens);
  metric(out, "r1_requests_preempted_total", "counter", "Sequences preempted for lack of KV blocks.",
         s.requests_preempted);
  metric(out, "r1_queue_depth", "gauge", "Requests waiting to be admitted.", s.waiting);
  metric(out, "r1_requests_running", "gauge", "Sequences being prefilled or decoded.", s.running);
  metric(out, "r1_batch_sequences", "gauge", "Sequences in the last forward pass.", s.last_batch_sequences);
  metric(out, "r1_batch_tokens", "gauge", "Tokens in the last forward pass.", s.last_batch_tokens);
  metric(out, "r1_prefix_cache_hit_tokens_total", "counter", "Prompt tokens whose KV came from the prefix cache.",
         s.cached_prompt_tokens);
  const double hit_rate = s.prompt_tokens > 0 ? double(s.cached_prompt_tokens) / double(s.prompt_tokens) : 0.0;
  metric(out, "r1_prefix_cache_hit_rate", "gauge", "Share of prompt tokens served from the prefix cache.", hit_rate);
  metric(out, "r1_kv_blocks_used", "gauge", "KV blocks held by running sequences.", s.kv_blocks_used);
  metric(out, "r1_kv_blocks_cached", "gauge", "Free KV blocks still holding a cached prefix.", s.kv_blocks_cached);
  metric(out, "r1_kv_blocks_total", "gauge", "KV blocks in the store.", s.kv_blocks_total);
  metric(out, "r1_disk_cache_blocks", "gauge", "KV blocks in the disk tier.", s.disk_blocks);
  metric(out, "r1_disk_cache_bytes", "gauge", "Bytes of KV blocks in the disk tier.", s.disk_bytes);
  metric(out, "r1_disk_cache_hit_tokens_total", "counter", "Prompt tokens whose KV was read from disk.",
         s.disk_cached_prompt_tokens);
  metric(out, "r1_disk_cache_hits_total", "counter", "KV blocks read back from disk.", s.disk_hits);
  metric(out, "r1_disk_cache_writes_total", "counter", "KV blocks written to disk.", s.disk_writes);
  metric(out, "r1_disk_cache_rejected_total", "counter", "Disk blocks ignored as corrupt, truncated or foreign.",
         s.disk_rejected);
  return out;
}

}  // namespace r1::server
