#pragma once
#include <cstdint>
#include <functional>

namespace netdef {

// Runs body(i) for every i in [0, count) on a process-wide pool of workers (one per core, the caller being one of
// them), when `parallel` is true and the pool is free; otherwise on the caller alone. One parallel loop runs at a
// time: a loop started inside another, or by another execution context meanwhile, runs on its own thread, which
// keeps cores from being oversubscribed. The items are split into one contiguous share per thread (the caller's the
// first); each thread takes its own share's items first, then helps with the others'. The first exception a body
// throws is rethrown to the caller.
void parallelFor(int64_t count, const std::function<void(int64_t)>& body, bool parallel = true);

// Whether the calling thread is running an item of a parallel loop, so that a loop it starts runs on it alone.
bool insideParallelLoop();

// The threads a parallel loop of the calling thread's engine runs on (the pool's workers and the caller, capped by the
// engine's options).
int64_t poolThreads();

// The most threads that took items of one parallel loop since the last call (a test's view of the thread cap).
int64_t takeMostLoopThreads();

// How many parts to split `count` items into, each of at most about `perPart`: a multiple of the pool's threads
// (where there are items enough), so that no thread is left alone with a last part while the others wait. With
// part i = [count·i / parts, count·(i + 1) / parts), sizes differ by at most one item: 13 GEMM panels in groups of
// at most 4 are 3 + 3 + 3 + 4 (7 and 6 a thread), not 4 + 4 + 4 + 1 (8 and 5).
inline int64_t balancedParts(int64_t count, int64_t perPart) {
  const int64_t parts = (count + perPart - 1) / perPart, threads = poolThreads();
  const int64_t rounded = (parts + threads - 1) / threads * threads;
  return rounded <= count ? rounded : parts;
}
inline int64_t partBegin(int64_t count, int64_t parts, int64_t i) { return count * i / parts; }

// parallelFor over [0, count) in ranges of `chunk` elements: body(begin, end) per range, for element-wise loops.
inline void parallelRanges(int64_t count, int64_t chunk, const std::function<void(int64_t, int64_t)>& body, bool parallel = true) {
  parallelFor((count + chunk - 1) / chunk, [&](int64_t c) { body(c * chunk, count < (c + 1) * chunk ? count : (c + 1) * chunk); }, parallel);
}

// parallelFor over items of about `itemWork` elementary steps each, handed out in runs of several items when items
// are small (a 4×4 pooling plane, a 7×7 channel), so that each hand-out (an atomic add) is paid for by a few
// thousand steps of work; runs balanced between the threads (balancedParts).
inline void parallelItems(int64_t count, int64_t itemWork, const std::function<void(int64_t)>& body, bool parallel = true) {
  const int64_t perTask = 4096 / (itemWork < 1 ? 1 : itemWork);
  const int64_t tasks = balancedParts(count, perTask < 1 ? 1 : perTask);
  parallelFor(tasks, [&](int64_t task) {
    for (int64_t i = partBegin(count, tasks, task); i < partBegin(count, tasks, task + 1); i++) body(i);
  }, parallel);
}

}  // namespace netdef
