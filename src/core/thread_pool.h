// One persistent pool of worker threads shared by every kernel. Created once; parallel_for hands out chunks of an
// index range through an atomic counter (the calling thread works too), so there is no per-call thread creation or
// allocation on the decode hot path.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace r1 {

class ThreadPool {
 public:
  // n_threads counts the caller; 0 means one per hardware thread.
  explicit ThreadPool(int n_threads = 0);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return n_threads_; }

  // Calls fn(begin, end) over disjoint chunks covering [0, n), each at most `grain` long (0: n / (4 * size())).
  template <typename Fn>
  void parallel_for(int64_t n, int64_t grain, Fn&& fn) {
    if (n <= 0) return;
    if (grain <= 0) grain = std::max<int64_t>(1, n / (4 * int64_t(n_threads_)));
    if (n_threads_ == 1 || n <= grain) {
      fn(int64_t(0), n);
      return;
    }
    auto thunk = [](void* ctx, int64_t b, int64_t e) { (*static_cast<Fn*>(ctx))(b, e); };
    run(n, grain, thunk, &fn);
  }

  // The process-wide pool (sized by set_global_threads before first use, else by hardware).
  static ThreadPool& global();
  static void set_global_threads(int n_threads);

 private:
  using Thunk = void (*)(void*, int64_t, int64_t);
  void run(int64_t n, int64_t grain, Thunk thunk, void* ctx);
  void worker_loop();
  void work_on_current_job();

  int n_threads_;
  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable wake_;
  std::condition_variable done_;
  std::atomic<uint64_t> generation_{0};  // bumped (under mu_) once a job's fields are set
  bool stop_ = false;
  // The current job.
  Thunk thunk_ = nullptr;
  void* ctx_ = nullptr;
  int64_t n_ = 0, grain_ = 1;
  std::atomic<int64_t> next_{0};
  std::atomic<int> active_{0};
};

}  // namespace r1
