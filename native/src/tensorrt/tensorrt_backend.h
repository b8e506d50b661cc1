#pragma once
// The TensorRT backend: build (lowering + IBuilder), runtime (IRuntime, execution contexts on a CUDA stream) and
// refit (IRefitter by PyTorch weight name). Compiled only with NETDEF_WITH_TENSORRT.
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <vector>

#include "graph.h"


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
  bool allowTF32 = false;                                          // TensorRT enables TF32 by default: off unless asked
  int device = 0;                                                  // the CUDA device to build for
  std::vector<std::string> warnings;                               // what the build says the caller should know
};

// Phase name, step, step count; returns false to cancel the build.
using BuildProgressFn = std::function<bool(const std::string& phase, int step, int steps)>;

// Lowers the graph, builds and serializes it. Throws TensorRTError with TensorRT's own error messages.
std::vector<uint8_t> buildTensorRTPlan(const Graph& graph, TensorRTBuildConfig& config, const BuildProgressFn& progress);

// What a TensorRT engine file needs to be loaded on this machine: TensorRT version and GPU compute capability.
struct TensorRTTarget {
  int tensorrtVersion;     // major·10000 + minor·100 + patch
  int computeCapability;   // major·10 + minor of the device
};
TensorRTTarget currentTensorRTTarget(int device);

// A tensor crossing to or from TensorRT: its data type (netdef's name), shape and raw bytes.
struct TensorBytes {
  std::string name;
  std::string dtype;
  Shape shape;
  std::vector<uint8_t> bytes;
};

class TensorRTContext;

class TensorRTEngine : public std::enable_shared_from_this<TensorRTEngine> {
 public:
  // The engine on CUDA device `device` (every later operation of it and its contexts runs there).
  static std::shared_ptr<TensorRTEngine> deserialize(const uint8_t* data, size_t size, int device);
  ~TensorRTEngine();

  int profiles() const;
  // An execution context of its own (stream, device buffers) on optimization profile `profile`: "one optimization
  // profile per context", several contexts per engine.
  // `stream`: the caller's cudaStream_t (0: the context makes and owns one).
  std::shared_ptr<TensorRTContext> createContext(int profile, uintptr_t stream);

  // Refit by PyTorch name: every name must be refittable and match its prototype's count and type; loops until
  // TensorRT reports no missing weights. Throws TensorRTError listing unknown names, count mismatches and missing ones.
  // Waits for executions in flight (a refit and an inference never overlap).
  void refit(const std::map<std::string, TensorBytes>& weights);

 private:
  friend class TensorRTContext;
  TensorRTEngine() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class TensorRTContext {
 public:
  ~TensorRTContext();
  // Checks each input against the engine's tensor (data type, byte count for its shape), copies it to the device,
  // sets its shape, runs enqueueV3 on the context's stream and copies every output back in its own type. One call
  // at a time per context; contexts of one engine run concurrently.
  std::vector<TensorBytes> execute(const std::vector<TensorBytes>& inputs);

  // Device memory in place, no host copy: each input's and output's CUDA address given by the caller, input shapes
  // set, enqueueV3 on the context's stream. Returns the outputs' shapes. On the caller's stream it returns once
  // enqueued (the caller synchronizes, as with TensorRT); on the context's own, once done.
  struct DeviceBinding {
    std::string name;
    uintptr_t address;
    Shape shape;  // inputs only
  };
  std::vector<std::pair<std::string, Shape>> enqueue(const std::vector<DeviceBinding>& bindings);

 private:
  friend class TensorRTEngine;
  TensorRTContext() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::mutex mutex_;
};

}  // namespace netdef
