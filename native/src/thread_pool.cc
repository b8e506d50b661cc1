#include "thread_pool.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <condition_variable>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "engine_options.h"

namespace netdef {

namespace {

thread_local bool tInsideLoop = false;
thread_local int64_t tThreadIndex = 0;  // the pool's workers are 1…, whichever thread calls a loop 0

// Workers spin for a short while after each loop before they sleep: at batch 1 a network is a chain of short
// parallel loops, and waking a sleeping thread (a futex call, an inter-processor interrupt on a VM) costs tens of
// microseconds each time, as much as a small layer's work.
class ThreadPool {
 public:
  ThreadPool() {
    // NETDEF_NUM_THREADS caps the pool (1: run on the caller alone), e.g. to leave cores to other work.
    unsigned cores = std::max(1u, std::thread::hardware_concurrency());
    if (const char* limit = std::getenv("NETDEF_NUM_THREADS")) {
      const long wanted = std::strtol(limit, nullptr, 10);
      if (wanted >= 1) cores = std::min<unsigned>(cores, static_cast<unsigned>(wanted));
    }
    shares_ = std::make_unique<Share[]>(cores);
    for (unsigned i = 1; i < cores; i++) workers_.emplace_back([this, i] { tThreadIndex = i; loop(); });
  }
  ~ThreadPool() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    for (auto& w : workers_) w.join();
  }

  int64_t threads() const { return static_cast<int64_t>(workers_.size()) + 1; }
  int64_t takeMostParticipants() { return maxParticipants_.exchange(0); }
  // The threads a loop of the calling thread's engine runs on: the pool, capped by the engine's options.
  int64_t threadsFor(const EngineOptions& options) const {
    return options.threads > 0 ? std::min<int64_t>(threads(), options.threads) : threads();
  }

  void run(int64_t count, const std::function<void(int64_t)>& body) {
    const EngineOptions& options = currentOptions();
    const int64_t n = threadsFor(options);
    std::unique_lock<std::mutex> own(busy_, std::try_to_lock);
    if (!own.owns_lock() || n < 2 || count < 2) {
      recordParticipants(1);
      for (int64_t i = 0; i < count; i++) body(i);
      return;
    }
    body_ = &body;
    count_ = count;
    loopThreads_ = n;
    loopOptions_ = &options;
    for (int64_t t = 0; t < n; t++) {
      shares_[t].next.store(count * t / n, std::memory_order_relaxed);
      shares_[t].end = count * (t + 1) / n;
    }
    error_ = nullptr;
    participants_.store(0, std::memory_order_relaxed);
    members_.store(0, std::memory_order_release);  // open to workers; publishes the fields above to those who join
    {
      std::lock_guard<std::mutex> lock(mutex_);
      generation_.fetch_add(1, std::memory_order_release);
    }
    wake_.notify_all();
    work();
    // Every item is taken: close the loop to workers that have not joined yet (one waking from sleep would make the
    // caller wait out its wake-up, 0.3–0.7 ms on a VM, for no work), then wait for those inside, at most one item
    // behind, by spinning, yielding if one was descheduled.
    members_.fetch_or(kClosed, std::memory_order_acq_rel);
    for (int spins = 0; (members_.load(std::memory_order_acquire) & ~kClosed) != 0; spins++) {
      if (spins < 4096) pause(); else std::this_thread::yield();
    }
    body_ = nullptr;
    recordParticipants(participants_.load(std::memory_order_relaxed));
    if (error_) std::rethrow_exception(error_);
  }

 private:
  void recordParticipants(int64_t took) {
    for (int64_t most = maxParticipants_.load(); took > most && !maxParticipants_.compare_exchange_weak(most, took);) {}
  }
  static void pause() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
  }
  // The next item for this thread: from its own share while any is left, then from the others' (a thread late to
  // the loop, descheduled or asleep, has its share taken over). Item i of every loop of n items goes to the same
  // thread whenever the threads keep pace, so consecutive layers split alike find their data in that core's caches
  // (a layer's channels or pixel panels, as the layer before wrote them): in-process alternation against handing
  // items out in one sequence, mobilenet_v2 at batch 1 10–19 % faster, resnet18 6 % (batch 1 and 8), yolo_block
  // 5 %, LeNet and mobilenet_v2 at batch 8 level.
  int64_t claim() {
    const int64_t n = loopThreads_;
    for (int64_t k = 0; k < n; k++) {
      Share& share = shares_[(tThreadIndex + k) % n];
      if (share.next.load(std::memory_order_relaxed) >= share.end) continue;
      const int64_t i = share.next.fetch_add(1, std::memory_order_relaxed);
      if (i < share.end) return i;
    }
    return count_;
  }
  void work() {
    if (tThreadIndex >= loopThreads_) return;  // beyond the engine's thread cap: this loop is not for it
    const OptionsScope scope(*loopOptions_);  // the caller's engine options, for the kernels' choices inside the body
    tInsideLoop = true;
    for (int64_t i, taken = 0; (i = claim()) < count_; taken++) {
      if (taken == 0) participants_.fetch_add(1, std::memory_order_relaxed);
      try {
        (*body_)(i);
      } catch (...) {
        std::lock_guard<std::mutex> lock(mutex_);
        if (!error_) error_ = std::current_exception();
        for (int64_t t = 0; t < loopThreads_; t++) shares_[t].next = count_;  // stop handing out work
      }
    }
    tInsideLoop = false;
  }
  // Enters the loop in progress unless the caller has closed it (then there is nothing left to do).
  bool join() {
    uint64_t state = members_.load(std::memory_order_acquire);
    while (!(state & kClosed)) {
      if (members_.compare_exchange_weak(state, state + 1, std::memory_order_acq_rel)) return true;
    }
    return false;
  }
  void loop() {
    uint64_t seen = 0;
    for (;;) {
      // Spin about 500 µs for the next loop, then sleep until one is published.
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::microseconds(500);
      for (int spins = 0; generation_.load(std::memory_order_acquire) == seen; spins++) {
        pause();
        if ((spins & 255) == 0 && std::chrono::steady_clock::now() > deadline) {
          std::unique_lock<std::mutex> lock(mutex_);
          wake_.wait(lock, [&] { return stop_ || generation_.load(std::memory_order_relaxed) != seen; });
          break;
        }
      }
      {
        std::lock_guard<std::mutex> lock(mutex_);
        if (stop_) return;
      }
      seen = generation_.load(std::memory_order_acquire);
      if (join()) {
        work();
        members_.fetch_sub(1, std::memory_order_release);
      }
    }
  }

  std::vector<std::thread> workers_;
  std::mutex busy_;   // held by the caller of the loop in progress
  std::mutex mutex_;  // guards sleeping, stopping and the first error
  std::condition_variable wake_;
  const std::function<void(int64_t)>* body_ = nullptr;
  // Each thread's share of the loop in progress, [next, end), a cache line each.
  struct alignas(64) Share {
    std::atomic<int64_t> next{0};
    int64_t end = 0;
  };
  std::unique_ptr<Share[]> shares_;
  int64_t count_ = 0;
  int64_t loopThreads_ = 1;                     // the threads the loop in progress runs on (the first shares)
  std::atomic<int64_t> participants_{0};        // threads that took an item of the loop in progress
  std::atomic<int64_t> maxParticipants_{0};     // the most threads that took items of one loop, since last asked
  const EngineOptions* loopOptions_ = nullptr;  // the caller's engine options
  // The workers inside the loop in progress, and kClosed once the caller has taken the last item.
  static constexpr uint64_t kClosed = uint64_t{1} << 63;
  std::atomic<uint64_t> members_{kClosed};
  std::atomic<uint64_t> generation_{0};
  bool stop_ = false;
  std::exception_ptr error_;
};

ThreadPool& pool() {
  static ThreadPool instance;
  return instance;
}

}  // namespace

int64_t poolThreads() { return pool().threadsFor(currentOptions()); }

int64_t takeMostLoopThreads() { return pool().takeMostParticipants(); }

bool insideParallelLoop() { return tInsideLoop; }

void parallelFor(int64_t count, const std::function<void(int64_t)>& body, bool parallel) {
  if (!parallel) {
    for (int64_t i = 0; i < count; i++) body(i);
    return;
  }
  pool().run(count, body);
}

}  // namespace netdef
