#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "engine_options.h"
#include "graph.h"
#include "kernels/kernel.h"

namespace netdef {

// A deserialized plan with a kernel per layer. Immutable, so any number of execution contexts share it.
class Engine {
 public:
  // Validates the plan (PlanError when it is not one we can trust) and makes every kernel, under `options`.
  static std::shared_ptr<const Engine> fromPlan(const uint8_t* data, size_t size, const EngineOptions& options);

  const EngineOptions& options() const { return options_; }

  const Graph& graph() const { return graph_; }
  const std::vector<std::unique_ptr<Kernel>>& kernels() const { return kernels_; }
  // How each tensor is held between layers (network inputs and outputs: always float32).
  Storage storage(int tensor) const { return storage_[tensor]; }
  // How each tensor's values are ordered (network inputs and outputs: always planar).
  Layout layout(int tensor) const { return layout_[tensor]; }
  // Whether layer `op` reads or writes a blocked tensor (and so runs its blocked kernels, whatever its tactic).
  bool runsBlocked(size_t op) const;
  // The layer that may compute layer `op` along with its own work (one of the next two), or -1 (Kernel::canFuseProducers).
  int fusedInto(size_t op) const { return fusedInto_[op]; }
  // That layer where it does so with layer `op` writing `output` (Kernel::fusesProducerAt at every shape between,
  // the whole chain or none of it), or -1.
  int fusedUntil(size_t op, const Shape& output) const;
  // Where a tensor's producer writes it into a concatenation's output (Kernel::writesIntoChannels): that tensor and
  // the first channel; `whole` -1 for the others.
  struct Placement { int whole = -1; int64_t offset = 0; };
  Placement placement(int tensor) const { return tensor < 0 ? Placement{} : placement_[tensor]; }

 private:
  // Channel-blocked for tensors whose producer writes and every reader reads that layout (and whose channels are a
  // multiple of 8); options' channelBlocked false keeps every tensor planar (the same results).
  void chooseLayout();
  // 16 bits for tensors whose producer writes values of a 16-bit type and whose every reader takes 16-bit storage (in
  // the layouts chosen before); options' halfStorage false keeps every tensor in float32 (the same results).
  void chooseStorage();
  // A PlanError where an int32/int64 tensor meets a layer whose kernel computes in floating point only.
  void checkIntegers() const;
  // Chains of layers a later layer can compute along with its own (canFuseProducers), each the only reader of the
  // one before, through blocked tensors (whose layers run the blocked kernels alone: see Kernel::settleLayouts);
  // options' fuseProducers false fuses none (the same results).
  void chooseFusions();
  // Inputs of concatenations on the channels that their producers write into the concatenation's output, where the
  // producer can, the concatenation is the tensor's only reader and both tensors share layout and storage; options'
  // fuseProducers false places none (the same results).
  void choosePlacements();

  EngineOptions options_;
  Graph graph_;
  std::vector<std::unique_ptr<Kernel>> kernels_;
  std::vector<Storage> storage_;
  std::vector<Layout> layout_;
  std::vector<int> fusedInto_;
  std::vector<Placement> placement_;
};

// The engine an EngineWrap and its contexts currently run. Refit swaps in an engine with new weights; executions
// already running keep the snapshot they started with, so a refit never changes weights under a running layer.
class EngineSlot {
 public:
  explicit EngineSlot(std::shared_ptr<const Engine> engine) : engine_(std::move(engine)) {}
  std::shared_ptr<const Engine> get() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return engine_;
  }
  // Replaces the engine by one of the same structure (tensors, layers, kinds); throws PlanError otherwise.
  void replace(std::shared_ptr<const Engine> engine);

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const Engine> engine_;
};

}  // namespace netdef
