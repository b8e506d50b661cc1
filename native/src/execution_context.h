#pragma once
#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "engine.h"

namespace netdef {

struct NamedBuffer {
  std::string name;
  Buffer buffer;
};

struct LayerTime {
  std::string layer;
  double milliseconds;
};

// Per-context state: the activation buffers, reused from one execution to the next. One execution at a time per
// context; several contexts of one engine run concurrently.
class ExecutionContext {
 public:
  explicit ExecutionContext(std::shared_ptr<const EngineSlot> engine);

  // Runs the network on the named inputs (every input exactly once, shapes of the right rank, lengths matching
  // shapes); returns the outputs by name. `times`, when given, receives each layer's wall time.
  std::vector<NamedBuffer> execute(std::vector<NamedBuffer> inputs, std::vector<LayerTime>* times);

  // What an execution on these inputs should take, from the last one scaled by input size (infinite before the first).
  double predictMilliseconds(const std::vector<NamedBuffer>& inputs) const;

  // A buffer of `size` floats from this context's pool (for the next execution's inputs), and one handed back (an
  // execution's outputs, once copied out): the buffers stay mapped from one execution to the next, instead of
  // new memory being paged in each time. Safe from any thread.
  Floats takeBuffer(size_t size);
  void giveBack(Floats&& buffer);

 private:
  std::atomic<double> lastMilliseconds_{1e300};
  std::atomic<int64_t> lastElements_{1};
  std::shared_ptr<const EngineSlot> slot_;
  std::vector<Buffer> buffers_;
  // For each tensor, the index of the last layer that reads it (outputs: never freed), so buffers are released
  // as soon as they are dead.
  std::vector<int> lastUse_;
  // Buffers of dead tensors, kept for the next tensor that fits: activation memory follows the live set. Never
  // more buffers than the graph has tensors.
  std::mutex poolMutex_;
  std::vector<Floats> pool_;
};

}  // namespace netdef
