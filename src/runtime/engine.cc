// The serving engine's scheduler (see engine.h for the step it runs). Everything below the Impl's mutex section
// runs on the scheduler thread alone: the sequences, the block pool, the KV store and the model are never touched
// by front-end threads, which only meet the scheduler through the incoming queue and RequestHandle::State.
#include "runtime/engine.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <list>
#include <thread>

#include "runtime/disk_cache.h"
#include "runtime/kv_cache.h"
#include "runtime/prefix_cache.h"

namespace r1 {

using Clock = std::chrono::steady_clock;

struct RequestHandle::State {
  mutable std::mutex mu;
  std::condition_variable cv;
  std::vector<TokenEvent> unread;  // produced by the scheduler, not yet taken by next()
  bool finished = false;
  FinishReason reason = FinishReason::kLength;
  std::string error;
  int64_t prompt_tokens = 0, cached_tokens = 0, completion_tokens = 0;
  Clock::time_point submitted = Clock::now();
  double ttft = -1.0;
  std::atomic<bool> cancel_requested{false};
  std::function<void()> wake_scheduler;  // set by the engine: cancel() must not wait for the next step
};

bool RequestHandle::next(std::vector<TokenEvent>& out, std::chrono::milliseconds timeout) {
  std::unique_lock lock(s_->mu);
  s_->cv.wait_for(lock, timeout, [&] { return !s_->unread.empty() || s_->finished; });
  for (TokenEvent& e : s_->unread) out.push_back(std::move(e));
  s_->unread.clear();
  return !s_->finished;
}

void RequestHandle::cancel() {
  if (!s_->cancel_requested.exchange(true) && s_->wake_scheduler) s_->wake_scheduler();
}

bool RequestHandle::finished() const {
  std::lock_guard lock(s_->mu);
  return s_->finished;
}
FinishReason RequestHandle::finish_reason() const {
  std::lock_guard lock(s_->mu);
  return s_->reason;
}
std::string RequestHandle::error() const {
  std::lock_guard lock(s_->mu);
  return s_->error;
}
int64_t RequestHandle::prompt_tokens() const {
  std::lock_guard lock(s_->mu);
  return s_->prompt_tokens;
}
int64_t RequestHandle::cached_tokens() const {
  std::lock_guard lock(s_->mu);
  return s_->cached_tokens;
}
int64_t RequestHandle::completion_tokens() const {
  std::lock_guard lock(s_->mu);
  return s_->completion_tokens;
}
double RequestHandle::seconds_to_first_token() const {
  std::lock_guard lock(s_->mu);
  return s_->ttft;
}

namespace {

// One request while the scheduler holds it. `tokens` is the prompt followed by everything generated; the KV
// cache holds the first cache.size() of them, so tokens[cache.size():] are still to be run (a prefill's rest, or
// the one token a decode step feeds back).
struct Sequence {
  Sequence(EngineRequest r, std::shared_ptr<RequestHandle::State> s, int64_t vocab, KvStore& store)
      : request(std::move(r)),
        state(std::move(s)),
        tokens(request.prompt),
        n_prompt(int64_t(request.prompt.size())),
        decode(request.params, vocab, request.prompt, request.constraint.get()),
        cache(store) {}
  EngineRequest request;
  std::shared_ptr<RequestHandle::State> state;
  std::vector<int32_t> tokens;
  int64_t n_prompt;
  DecodeState decode;
  KvCache cache;
  int64_t n_hashed = 0;  // leading full blocks whose hash is known (registered, or shared from the cache)
  BlockHash last_hash;   // hash of block n_hashed - 1
  bool counted = false;  // prompt and cache-hit figures reported (first admission only)
  bool running = false;  // counted in EngineStats::running

  int64_t pending() const { return int64_t(tokens.size()) - cache.size(); }
};

}  // namespace

struct Engine::Impl {
  Impl(Model& m, const EngineOptions& o) : model(m), opt(o) {}

  Model& model;
  EngineOptions opt;
  int64_t vocab = 0;
  std::unique_ptr<KvStore> store;
  std::unique_ptr<BlockPool> pool;
  std::unique_ptr<DiskCache> disk;

  // Shared with front-end threads.
  mutable std::mutex mu;
  std::condition_variable cv;
  std::deque<std::unique_ptr<Sequence>> incoming;
  std::atomic<int64_t> n_queued{0};  // incoming + waiting, for the max_waiting check
  bool accepting = true;
  bool stop = false;
  EngineStats stats;
  std::thread thread;
  bool shut_down = false;

  // Scheduler thread only.
  std::deque<std::unique_ptr<Sequence>> waiting;
  std::vector<std::unique_ptr<Sequence>> running;  // in admission order: the last is preempted first
  std::vector<float> logits;       // [sequences in the batch, V]
  std::vector<float> raw;          // [V] one row's logits before sampling touched them (logprobs)
  std::vector<int32_t> order;      // [V] scratch for the top alternatives
  std::vector<std::byte> block_buf;  // one block's bytes on their way to or from the disk tier

  void run();
  void step();
  bool take_incoming(bool block);
  void drop_cancelled();
  void admit();
  bool ensure_block(Sequence& s);
  void preempt(size_t index);
  void register_full_blocks(Sequence& s);
  void publish(Sequence& s, const TokenEvent& e);
  void finish(Sequence& s, FinishReason reason, const std::string& error = "");
  void release_blocks(Sequence& s);
  void update_stats();
  void copy_block_figures();
  TokenEvent logprob_event(int32_t id, int top);
};

Result<std::unique_ptr<Engine>> Engine::create(Model& model, const EngineOptions& options) {
  EngineOptions o = options;
  if (o.max_running < 1 || o.max_waiting < 0 || o.ctx_size < 2 || o.step_tokens < 1)
    return Status::error("engine: max_running, ctx_size and step_tokens must be positive");
  if (o.block_size < 1 || (o.block_size & (o.block_size - 1)) != 0)
    return Status::errorf("engine: block size {} must be a power of two", o.block_size);
  auto impl = std::make_unique<Impl>(model, o);
  impl->vocab = model.info().vocab_size;
  const int64_t B = o.block_size, ctx_blocks = (o.ctx_size + B - 1) / B;
  int64_t n_blocks = o.kv_blocks;
  if (n_blocks <= 0) {
    auto probe = model.new_kv_store(1, B);
    const int64_t by_memory = int64_t(o.kv_memory / std::max<size_t>(1, probe->block_bytes()));
    n_blocks = std::max(ctx_blocks, std::min(by_memory, o.max_running * ctx_blocks));
  }
  if (n_blocks < ctx_blocks)
    return Status::errorf("engine: {} KV blocks of {} tokens cannot hold one context of {} tokens", n_blocks, B,
                          o.ctx_size);
  impl->opt.kv_blocks = n_blocks;
  impl->store = model.new_kv_store(n_blocks, B);
  impl->pool = std::make_unique<BlockPool>(n_blocks);
  impl->block_buf.resize(impl->store->block_bytes());
  if (!o.cache_dir.empty()) {
    if (o.model_fingerprint.empty()) return Status::error("engine: a disk cache needs the model's fingerprint");
    R1_ASSIGN_OR_RETURN(impl->disk, DiskCache::open(o.cache_dir, o.model_fingerprint + "|" + impl->store->layout(),
                                                    o.cache_disk_limit, impl->store->block_bytes(), B));
  }
  impl->stats.kv_blocks_total = n_blocks;
  impl->stats.block_size = B;
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] { raw->run(); });
  return std::unique_ptr<Engine>(new Engine(std::move(impl)));
}

Engine::Engine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Engine::~Engine() { shutdown(std::chrono::milliseconds(0)); }

const EngineOptions& Engine::options() const { return impl_->opt; }

EngineStats Engine::stats() const {
  std::lock_guard lock(impl_->mu);
  EngineStats s = impl_->stats;
  s.waiting = impl_->n_queued.load();
  if (impl_->disk) {
    // Read live: the disk tier's writer thread runs behind the scheduler's steps (and after shutdown's flush).
    const DiskCache::Stats d = impl_->disk->stats();
    s.disk_blocks = d.blocks;
    s.disk_bytes = d.bytes;
    s.disk_writes = d.writes;
    s.disk_hits = d.hits;
    s.disk_rejected = d.rejected;
  }
  return s;
}

Engine::Submitted Engine::submit(EngineRequest request) {
  Impl& I = *impl_;
  const auto refuse = [&](SubmitError e, std::string message) {
    std::lock_guard lock(I.mu);
    ++I.stats.requests_rejected;
    return Submitted{nullptr, e, std::move(message)};
  };
  if (request.prompt.empty()) return refuse(SubmitError::kInvalid, "the prompt is empty");
  for (int32_t id : request.prompt)
    if (id < 0 || id >= I.vocab)
      return refuse(SubmitError::kInvalid, fmt::format("token id {} is outside the vocabulary (0..{})", id, I.vocab - 1));
  if (Status s = request.params.sampling.validate(); !s) return refuse(SubmitError::kInvalid, s.message());
  if (request.params.max_tokens < 1) return refuse(SubmitError::kInvalid, "max_tokens must be at least 1");
  if (request.top_logprobs > 20) return refuse(SubmitError::kInvalid, "top_logprobs must be at most 20");
  const int64_t P = int64_t(request.prompt.size());
  if (P + 1 > I.opt.ctx_size)
    return refuse(SubmitError::kTooLong,
                  fmt::format("the prompt has {} tokens; this server's context is {} tokens (prompt and completion)",
                              P, I.opt.ctx_size));
  auto state = std::make_shared<RequestHandle::State>();
  state->prompt_tokens = P;
  state->wake_scheduler = [&I] {
    std::lock_guard lock(I.mu);
    I.cv.notify_all();
  };
  auto seq = std::make_unique<Sequence>(std::move(request), state, I.vocab, *I.store);
  {
    std::lock_guard lock(I.mu);
    if (!I.accepting) {
      ++I.stats.requests_rejected;
      return {nullptr, SubmitError::kShuttingDown, "the server is shutting down"};
    }
    if (I.n_queued.load() >= I.opt.max_waiting + std::max<int64_t>(0, I.opt.max_running - I.stats.running)) {
      ++I.stats.requests_rejected;
      return {nullptr, SubmitError::kQueueFull, "too many requests are waiting; retry later"};
    }
    ++I.n_queued;
    ++I.stats.requests_submitted;
    I.incoming.push_back(std::move(seq));
  }
  I.cv.notify_all();
  return {std::make_shared<RequestHandle>(state), SubmitError::kInvalid, ""};
}

void Engine::shutdown(std::chrono::milliseconds grace) {
  Impl& I = *impl_;
  {
    std::lock_guard lock(I.mu);
    if (I.shut_down) return;
    I.shut_down = true;
    I.accepting = false;
  }
  const auto deadline = Clock::now() + grace;
  {
    std::unique_lock lock(I.mu);
    I.cv.wait_until(lock, deadline, [&] { return I.n_queued.load() == 0 && I.stats.running == 0; });
    I.stop = true;
  }
  I.cv.notify_all();
  if (I.thread.joinable()) I.thread.join();
  if (I.disk) I.disk->flush();
}

// ---- the scheduler thread ----

void Engine::Impl::run() {
  while (take_incoming(/*block=*/running.empty() && waiting.empty())) step();
  // Stopping: whatever is left is cancelled, its blocks returned.
  take_incoming(false);
  for (auto& s : running) finish(*s, FinishReason::kCancelled);
  for (auto& s : waiting) finish(*s, FinishReason::kCancelled), --n_queued;
  running.clear();
  waiting.clear();
  update_stats();
}

// Moves newly submitted requests to the waiting queue (blocking until one comes when `block`); false once the
// engine is stopping.
bool Engine::Impl::take_incoming(bool block) {
  std::unique_lock lock(mu);
  if (block)
    cv.wait(lock, [&] { return stop || !incoming.empty(); });
  while (!incoming.empty()) {
    waiting.push_back(std::move(incoming.front()));
    incoming.pop_front();
  }
  return !stop;
}

void Engine::Impl::step() {
  drop_cancelled();
  admit();
  // Decode tokens first (every decoding sequence advances each step), then prefill chunks in admission order
  // while the step's token budget lasts. `running` is in admission order, so a preemption (always of the last
  // one) never disturbs the sequences already placed.
  std::vector<SeqChunk> chunks;
  std::vector<Sequence*> batch;
  int64_t budget = opt.step_tokens;
  for (size_t i = 0; i < running.size(); ++i) {
    Sequence& s = *running[i];
    if (s.pending() != 1 || !ensure_block(s)) continue;
    batch.push_back(&s);
    --budget;
  }
  for (auto& sp : running) {
    if (sp->pending() <= 1 || budget <= 0) continue;
    batch.push_back(sp.get());
    budget -= std::min(sp->pending(), budget);
  }
  if (batch.empty()) {
    update_stats();
    return;
  }
  int64_t total = 0, left = opt.step_tokens;
  for (Sequence* s : batch) {
    const int64_t n = s->pending() == 1 ? 1 : std::min(s->pending(), left);
    left -= n;
    total += n;
    chunks.push_back({.tokens = std::span<const int32_t>(s->tokens).subspan(size_t(s->cache.size()), size_t(n)),
                      .cache = &s->cache,
                      .all_logits = false});
  }
  if (logits.size() < chunks.size() * size_t(vocab)) logits.resize(chunks.size() * size_t(vocab));
  const Status st = model.forward_batch(chunks, logits.data());
  {
    std::lock_guard lock(mu);
    ++stats.steps;
    stats.last_batch_tokens = total;
    stats.last_batch_sequences = int64_t(batch.size());
  }
  for (size_t i = 0; i < batch.size(); ++i) {
    Sequence& s = *batch[i];
    if (!st) {
      finish(s, FinishReason::kCancelled, "engine: " + st.message());
      continue;
    }
    register_full_blocks(s);
    if (s.pending() > 0) continue;  // a prefill chunk with more to come
    float* row = logits.data() + i * size_t(vocab);
    const int top = s.request.top_logprobs;
    if (top >= 0) raw.assign(row, row + vocab);  // the choice below modifies the logits in place
    const int32_t id = s.decode.next(row);
    s.tokens.push_back(id);
    publish(s, top >= 0 ? logprob_event(id, top) : TokenEvent{.id = id});
    if (s.decode.finished()) finish(s, *s.decode.finished());
    else if (int64_t(s.tokens.size()) >= opt.ctx_size) finish(s, FinishReason::kLength);
  }
  std::erase_if(running, [](const auto& s) { return s->state == nullptr; });
  update_stats();
}

// The chosen token's logprob and the `top` most likely alternatives, from the raw logits saved in `raw`.
TokenEvent Engine::Impl::logprob_event(int32_t id, int top) {
  float m = -INFINITY;
  for (float x : raw) m = std::max(m, x);
  double sum = 0.0;
  for (float x : raw) sum += std::exp(double(x - m));
  const float lse = m + float(std::log(sum));
  TokenEvent e{.id = id, .logprob = raw[size_t(id)] - lse};
  if (top == 0) return e;
  order.resize(raw.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = int32_t(i);
  const size_t k = std::min(order.size(), size_t(top));
  std::partial_sort(order.begin(), order.begin() + ptrdiff_t(k), order.end(), [&](int32_t a, int32_t b) {
    return raw[size_t(a)] > raw[size_t(b)] || (raw[size_t(a)] == raw[size_t(b)] && a < b);
  });
  for (size_t i = 0; i < k; ++i) e.top.push_back({order[i], raw[size_t(order[i])] - lse});
  return e;
}

void Engine::Impl::drop_cancelled() {
  for (auto& s : running)
    if (s->state->cancel_requested.load()) finish(*s, FinishReason::kCancelled);
  std::erase_if(running, [](const auto& s) { return s->state == nullptr; });
  for (auto& s : waiting)
    if (s->state->cancel_requested.load()) finish(*s, FinishReason::kCancelled), --n_queued;
  std::erase_if(waiting, [](const auto& s) { return s->state == nullptr; });
}

void Engine::Impl::admit() {
  const int64_t B = opt.block_size;
  const int64_t watermark = std::max<int64_t>(1, pool->n_blocks() / 100);
  while (!waiting.empty() && int64_t(running.size()) < opt.max_running) {
    Sequence& s = *waiting.front();
    const int64_t L = int64_t(s.tokens.size());
    // Reuse at most the blocks before the last token: its logits must be computed, and a shared block is never
    // written again.
    std::vector<BlockHash> hashes = hash_prefix(std::span<const int32_t>(s.tokens).first(size_t(L - 1)), B);
    std::vector<int32_t> blocks;
    int64_t from_disk = 0;
    if (opt.prefix_caching) {
      blocks = pool->match(hashes);
      while (disk && blocks.size() < hashes.size() && disk->contains(hashes[blocks.size()])) {
        const size_t i = blocks.size();
        const int32_t b = pool->allocate();
        if (b < 0) break;
        const auto block_tokens = std::span<const int32_t>(s.tokens).subspan(i * size_t(B), size_t(B));
        if (!disk->load(hashes[i], block_tokens, block_buf)) {
          pool->release(b);
          break;
        }
        store->write_block(b, block_buf);
        pool->register_block(b, hashes[i]);
        blocks.push_back(b);
        ++from_disk;
      }
    }
    const int64_t need = (L + B - 1) / B - int64_t(blocks.size());
    const int64_t reserve = running.empty() ? 0 : watermark;
    if (pool->available() < need + reserve) {
      for (int32_t b : blocks) pool->release(b);
      break;  // wait for running sequences to free blocks
    }
    for (int64_t i = 0; i < need; ++i) blocks.push_back(pool->allocate());
    const int64_t reused = int64_t(blocks.size()) - need;
    s.cache.blocks() = std::move(blocks);
    s.cache.set_size(reused * B);
    s.n_hashed = reused;
    if (reused > 0) s.last_hash = hashes[size_t(reused - 1)];
    if (!s.counted) {
      s.counted = true;
      const int64_t cached = std::min(reused * B, s.n_prompt);
      {
        std::lock_guard lock(s.state->mu);
        s.state->cached_tokens = cached;
      }
      std::lock_guard lock(mu);
      stats.prompt_tokens += s.n_prompt;
      stats.cached_prompt_tokens += cached;
      stats.disk_cached_prompt_tokens += std::min(from_disk * B, cached);
    }
    s.running = true;
    {
      std::lock_guard lock(mu);
      ++stats.running;
    }
    running.push_back(std::move(waiting.front()));
    waiting.pop_front();
    --n_queued;
  }
}

// Makes room in s's block table for the position its next token goes to; preempts the latest admitted sequence
// when the pool is empty. False when s itself had to be preempted.
bool Engine::Impl::ensure_block(Sequence& s) {
  const int64_t B = opt.block_size;
  while (s.cache.size() + 1 > int64_t(s.cache.blocks().size()) * B) {
    const int32_t b = pool->allocate();
    if (b >= 0) {
      s.cache.blocks().push_back(b);
      return true;
    }
    const size_t victim = running.size() - 1;  // the latest admitted
    const bool self = running[victim].get() == &s;
    preempt(victim);
    if (self) return false;
  }
  return true;
}

// Frees a running sequence's blocks (full ones stay in the prefix cache) and queues it first, to be recomputed
// from its tokens so far.
void Engine::Impl::preempt(size_t index) {
  std::unique_ptr<Sequence> s = std::move(running[index]);
  running.erase(running.begin() + ptrdiff_t(index));
  release_blocks(*s);
  s->cache.truncate(0);
  s->n_hashed = 0;
  s->running = false;
  waiting.push_front(std::move(s));
  ++n_queued;
  std::lock_guard lock(mu);
  ++stats.requests_preempted;
  --stats.running;
}

// Registers (and sends to the disk tier) every block that became full and computed since the last step.
void Engine::Impl::register_full_blocks(Sequence& s) {
  if (!opt.prefix_caching) return;
  const int64_t B = opt.block_size;
  while ((s.n_hashed + 1) * B <= s.cache.size()) {
    const auto block_tokens = std::span<const int32_t>(s.tokens).subspan(size_t(s.n_hashed * B), size_t(B));
    const BlockHash h = hash_block(s.n_hashed == 0 ? BlockHash{} : s.last_hash, block_tokens);
    const int32_t b = s.cache.blocks()[size_t(s.n_hashed)];
    if (pool->register_block(b, h) && disk && (s.n_hashed + 1) * B <= s.n_prompt && !disk->contains(h)) {
      store->read_block(b, block_buf);
      disk->store(h, block_tokens, block_buf);
    }
    s.last_hash = h;
    ++s.n_hashed;
  }
}

void Engine::Impl::publish(Sequence& s, const TokenEvent& e) {
  {
    std::lock_guard lock(s.state->mu);
    s.state->unread.push_back(e);
    ++s.state->completion_tokens;
    if (s.state->ttft < 0)
      s.state->ttft = std::chrono::duration<double>(Clock::now() - s.state->submitted).count();
  }
  s.state->cv.notify_all();
  std::lock_guard lock(mu);
  ++stats.generated_tokens;
}

// Last block first: the pool's LRU then evicts a prefix's tail before its head, which later requests share most.
void Engine::Impl::release_blocks(Sequence& s) {
  for (auto it = s.cache.blocks().rbegin(); it != s.cache.blocks().rend(); ++it) pool->release(*it);
  s.cache.blocks().clear();
}

// Ends a request: returns its blocks and wakes its reader. The Sequence is marked dead (state reset) and removed
// from the scheduler's lists by the caller.
void Engine::Impl::finish(Sequence& s, FinishReason reason, const std::string& error) {
  if (!s.state) return;
  release_blocks(s);
  {
    // Figures first, so a front end that sees the request end also sees it counted.
    std::lock_guard lock(mu);
    if (reason == FinishReason::kCancelled) ++stats.requests_cancelled;
    else ++stats.requests_finished;
    if (s.running) --stats.running;
    copy_block_figures();
  }
  s.running = false;
  {
    std::lock_guard lock(s.state->mu);
    s.state->finished = true;
    s.state->reason = reason;
    s.state->error = error;
  }
  s.state->cv.notify_all();
  cv.notify_all();  // shutdown() waits for the running count to reach zero
  s.state.reset();  // marks it dead: the caller removes it from `running` or `waiting`
}

// The pool belongs to the scheduler thread; front ends read its figures from `stats`. Call with `mu` held.
void Engine::Impl::copy_block_figures() {
  stats.kv_blocks_used = pool->in_use();
  stats.kv_blocks_cached = pool->cached();
}

void Engine::Impl::update_stats() {
  std::lock_guard lock(mu);
  copy_block_figures();
  cv.notify_all();  // shutdown() waits on running/queue becoming empty
}

}  // namespace r1
