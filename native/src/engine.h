#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "graph.h"
#include "kernels/kernel.h"

namespace netdef {

// A deserialized plan with a kernel per layer. Immutable, so any number of execution contexts share it.
class Engine {
 public:
  // Validates the plan (PlanError when it is not one we can trust) and makes every kernel.
  static std::shared_ptr<const Engine> fromPlan(const uint8_t* data, size_t size);

  const Graph& graph() const { return graph_; }
  const std::vector<std::unique_ptr<Kernel>>& kernels() const { return kernels_; }

 private:
  Graph graph_;
  std::vector<std::unique_ptr<Kernel>> kernels_;
};

}  // namespace netdef
