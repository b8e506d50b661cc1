#pragma once
// The TensorRT backend: build (lowering + IBuilder), runtime (IRuntime, execution contexts on a CUDA stream) and
// refit (IRefitter by PyTorch weight name). Compiled only with NETDEF_WITH_TENSORRT.
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "graph.h"
#include "kernels/kernel.h"

namespace nvinfer1 {
class ICudaEngine;
class IExecutionContext;
class IRuntime;
}  // namespace nvinfer1

namespace netdef {

class TensorRTError : public std::runtime_error {
 public:
  explicit TensorRTError(const std::string& message) : std::runtime_error(message) {}
};

struct ShapeRangeSpec {
  Shape min, opt, max;
};

struct TensorRTBuildConfig {
  size_t workspaceBytes = size_t(1) << 30;
  int optimizationLevel = 3;                                       // 0…5, TensorRT's default 3
  std::vector<std::map<std::string, ShapeRangeSpec>> profiles;     // one map per optimization profile
  std::vector<uint8_t> timingCache;                                // read before, written back after the build
  std::string refit = "none";                                      // "none" | "all" | "identical" (pairs with stripPlan)
  bool stripPlan = false;
};

// Phase name, step, step count; returns false to cancel the build.
using BuildProgressFn = std::function<bool(const std::string& phase, int step, int steps)>;

// Lowers the graph, builds and serializes it. Throws TensorRTError with TensorRT's own error messages.
std::vector<uint8_t> buildTensorRTPlan(const Graph& graph, TensorRTBuildConfig& config, const BuildProgressFn& progress);

// What a TensorRT engine file needs to be loaded on this machine: TensorRT version and GPU compute capability.
struct TensorRTTarget {
  int tensorrtVersion;     // major·10000 + minor·100 + patch
  int computeCapability;   // major·10 + minor of device 0
};
TensorRTTarget currentTensorRTTarget();

class TensorRTEngine {
 public:
  static std::shared_ptr<TensorRTEngine> deserialize(const uint8_t* data, size_t size);
  ~TensorRTEngine();

  struct Output {
    std::string name;
    Shape shape;
    std::vector<float> data;
  };
  // Copies inputs to the device, sets input shapes, runs enqueueV3 on its own stream, copies outputs back.
  // One call at a time per engine context; the engine itself is shared.
  std::vector<Output> execute(const std::vector<std::pair<std::string, Buffer>>& inputs);

  // Refit by PyTorch name: every name must be refittable and match its prototype's count; loops until TensorRT
  // reports no missing weights. Throws TensorRTError listing unknown names, count mismatches and missing ones.
  void refit(const std::map<std::string, std::vector<float>>& weights);

 private:
  TensorRTEngine() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::mutex mutex_;
};

}  // namespace netdef
