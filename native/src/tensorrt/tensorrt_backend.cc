#include "tensorrt/tensorrt_backend.h"

#include <cuda_runtime_api.h>

#include <NvInfer.h>
#include <NvInferRuntime.h>

#include <cstring>
#include <sstream>

#include "tensorrt/lowering.h"
#include "tensorrt/tensorrt_api.h"

namespace netdef {

namespace {

// Collects TensorRT's warnings and errors so that a failed call can say why.
class Logger : public nvinfer1::ILogger {
 public:
  void log(Severity severity, nvinfer1::AsciiChar const* message) noexcept override {
    if (severity > Severity::kWARNING) return;
    std::lock_guard<std::mutex> lock(mutex_);
    messages_ += (messages_.empty() ? "" : "\n") + std::string(message);
  }
  std::string take() {
    std::lock_guard<std::mutex> lock(mutex_);
    std::string m;
    m.swap(messages_);
    return m;
  }

 private:
  std::mutex mutex_;
  std::string messages_;
};

Logger& logger() {
  static Logger instance;
  return instance;
}

[[noreturn]] void fail(const std::string& what) {
  const std::string details = logger().take();
  throw TensorRTError(what + (details.empty() ? "" : ": " + details));
}

void check(cudaError_t status, const char* what) {
  if (status != cudaSuccess) throw TensorRTError(std::string(what) + ": " + cudaGetErrorString(status));
}

template <class T>
struct Deleter {
  void operator()(T* p) const { delete p; }  // TensorRT 10 objects are released with delete
};
template <class T>
using Owned = std::unique_ptr<T, Deleter<T>>;

// Bridges TensorRT's build phases to the caller's progress callback; returning false cancels the build.
class ProgressMonitor : public nvinfer1::IProgressMonitor {
 public:
  explicit ProgressMonitor(const BuildProgressFn& progress) : progress_(progress) {}
  void phaseStart(char const* phase, char const*, int32_t steps) noexcept override {
    std::lock_guard<std::mutex> lock(mutex_);
    steps_[phase] = steps;
    call(phase, 0);
  }
  bool stepComplete(char const* phase, int32_t step) noexcept override {
    std::lock_guard<std::mutex> lock(mutex_);
    return call(phase, step + 1);
  }
  void phaseFinish(char const* phase) noexcept override {
    std::lock_guard<std::mutex> lock(mutex_);
    call(phase, steps_[phase]);
  }
  bool cancelled() const { return cancelled_; }

 private:
  bool call(const std::string& phase, int step) {
    if (!progress_) return true;
    try {
      if (!progress_(phase, step, steps_[phase])) cancelled_ = true;
    } catch (...) {
      cancelled_ = true;
    }
    return !cancelled_;
  }
  const BuildProgressFn& progress_;
  std::mutex mutex_;
  std::map<std::string, int> steps_;
  std::atomic<bool> cancelled_{false};
};

nvinfer1::Dims toDims(const Shape& s) {
  nvinfer1::Dims d{};
  d.nbDims = static_cast<int32_t>(s.size());
  for (size_t i = 0; i < s.size(); i++) d.d[i] = s[i];
  return d;
}

}  // namespace

std::vector<uint8_t> buildTensorRTPlan(const Graph& graph, TensorRTBuildConfig& config, const BuildProgressFn& progress) {
  Owned<nvinfer1::IBuilder> builder(nvinfer1::createInferBuilder(logger()));
  if (!builder) fail("createInferBuilder failed");
  // Strongly typed: tensor types come from the network. TensorRT 11 networks are always so (the flag is deprecated).
#if NV_TENSORRT_MAJOR >= 11
  const uint32_t flags = 0U;
#else
  const auto flags = 1U << static_cast<uint32_t>(nvinfer1::NetworkDefinitionCreationFlag::kSTRONGLY_TYPED);
#endif
  Owned<nvinfer1::INetworkDefinition> network(builder->createNetworkV2(flags));
  Owned<nvinfer1::IBuilderConfig> cfg(builder->createBuilderConfig());
  if (!network || !cfg) fail("cannot create a network definition or builder config");

  Lowering<TensorRTApi> lowering(*network, graph);  // owns derived weight buffers until the build returns
  lowering.run();

  cfg->setMemoryPoolLimit(nvinfer1::MemoryPoolType::kWORKSPACE, config.workspaceBytes);
  cfg->setBuilderOptimizationLevel(config.optimizationLevel);
  if (config.refit == "all") cfg->setFlag(nvinfer1::BuilderFlag::kREFIT);
  else if (config.refit == "identical") cfg->setFlag(nvinfer1::BuilderFlag::kREFIT_IDENTICAL);
  else if (config.refit != "none") throw TensorRTError("refit mode '" + config.refit + "' is not one of none, all, identical");
  if (config.stripPlan) cfg->setFlag(nvinfer1::BuilderFlag::kSTRIP_PLAN);
  for (const auto& ranges : config.profiles) {
    nvinfer1::IOptimizationProfile* profile = builder->createOptimizationProfile();  // owned by the builder
    for (const auto& [name, r] : ranges) {
      if (!profile->setDimensions(name.c_str(), nvinfer1::OptProfileSelector::kMIN, toDims(r.min)) ||
          !profile->setDimensions(name.c_str(), nvinfer1::OptProfileSelector::kOPT, toDims(r.opt)) ||
          !profile->setDimensions(name.c_str(), nvinfer1::OptProfileSelector::kMAX, toDims(r.max))) {
        fail("optimization profile for input '" + name + "' was refused");
      }
    }
    if (cfg->addOptimizationProfile(profile) < 0) fail("optimization profile was refused");
  }
  Owned<nvinfer1::ITimingCache> cache(cfg->createTimingCache(config.timingCache.data(), config.timingCache.size()));
  if (!cache || !cfg->setTimingCache(*cache, false)) fail("timing cache could not be used");
  ProgressMonitor monitor(progress);
  cfg->setProgressMonitor(&monitor);

  Owned<nvinfer1::IHostMemory> plan(builder->buildSerializedNetwork(*network, *cfg));
  if (monitor.cancelled()) throw TensorRTError("build cancelled");
  if (!plan) fail("buildSerializedNetwork failed");
  Owned<nvinfer1::IHostMemory> cacheBlob(cache->serialize());
  if (cacheBlob) config.timingCache.assign(static_cast<const uint8_t*>(cacheBlob->data()), static_cast<const uint8_t*>(cacheBlob->data()) + cacheBlob->size());
  const auto* bytes = static_cast<const uint8_t*>(plan->data());
  return std::vector<uint8_t>(bytes, bytes + plan->size());
}

TensorRTTarget currentTensorRTTarget() {
  int device = 0;
  cudaDeviceProp prop{};
  check(cudaGetDevice(&device), "cudaGetDevice");
  check(cudaGetDeviceProperties(&prop, device), "cudaGetDeviceProperties");
  return {NV_TENSORRT_MAJOR * 10000 + NV_TENSORRT_MINOR * 100 + NV_TENSORRT_PATCH, prop.major * 10 + prop.minor};
}

struct TensorRTEngine::Impl {
  Owned<nvinfer1::IRuntime> runtime;  // outlives the engine (declared first, destroyed last)
  Owned<nvinfer1::ICudaEngine> engine;
  Owned<nvinfer1::IExecutionContext> context;
  cudaStream_t stream = nullptr;
  std::map<std::string, void*> device;       // device buffers by tensor name
  std::map<std::string, size_t> capacity;    // their sizes in bytes
  ~Impl() {
    for (auto& [name, ptr] : device) cudaFree(ptr);
    if (stream) cudaStreamDestroy(stream);
    context.reset();
    engine.reset();
  }
  void* buffer(const std::string& name, size_t bytes) {
    if (capacity[name] < bytes) {
      if (device[name]) cudaFree(device[name]);
      device[name] = nullptr;
      check(cudaMalloc(&device[name], bytes), "cudaMalloc");  // 256-byte aligned, as setTensorAddress needs
      capacity[name] = bytes;
    }
    return device[name];
  }
};

std::shared_ptr<TensorRTEngine> TensorRTEngine::deserialize(const uint8_t* data, size_t size) {
  std::shared_ptr<TensorRTEngine> e(new TensorRTEngine());
  e->impl_ = std::make_unique<Impl>();
  e->impl_->runtime.reset(nvinfer1::createInferRuntime(logger()));
  if (!e->impl_->runtime) fail("createInferRuntime failed");
  e->impl_->engine.reset(e->impl_->runtime->deserializeCudaEngine(data, size));
  if (!e->impl_->engine) fail("deserializeCudaEngine failed (a plan built by another TensorRT version or for another GPU?)");
  e->impl_->context.reset(e->impl_->engine->createExecutionContext());
  if (!e->impl_->context) fail("createExecutionContext failed");
  check(cudaStreamCreate(&e->impl_->stream), "cudaStreamCreate");
  return e;
}

TensorRTEngine::~TensorRTEngine() = default;

std::vector<TensorRTEngine::Output> TensorRTEngine::execute(const std::vector<std::pair<std::string, Buffer>>& inputs) {
  std::lock_guard<std::mutex> lock(mutex_);
  Impl& m = *impl_;
  for (const auto& [name, buffer] : inputs) {
    if (m.engine->getTensorDataType(name.c_str()) != nvinfer1::DataType::kFLOAT) throw TensorRTError("input '" + name + "' is not float32; only float32 IO is bridged so far");
    if (!m.context->setInputShape(name.c_str(), toDims(buffer.shape))) fail("setInputShape('" + name + "') refused shape " + formatShape(buffer.shape));
    void* dst = m.buffer(name, buffer.data.size() * sizeof(float));
    check(cudaMemcpyAsync(dst, buffer.data.data(), buffer.data.size() * sizeof(float), cudaMemcpyHostToDevice, m.stream), "cudaMemcpyAsync to device");
    if (!m.context->setTensorAddress(name.c_str(), dst)) fail("setTensorAddress('" + name + "') failed");
  }
  std::vector<Output> outputs;
  for (int32_t i = 0; i < m.engine->getNbIOTensors(); i++) {
    const char* name = m.engine->getIOTensorName(i);
    if (m.engine->getTensorIOMode(name) != nvinfer1::TensorIOMode::kOUTPUT) continue;
    const nvinfer1::Dims d = m.context->getTensorShape(name);
    Output o{name, Shape(d.d, d.d + d.nbDims), {}};
    o.data.resize(volume(o.shape));
    if (!m.context->setTensorAddress(name, m.buffer(name, std::max<size_t>(o.data.size(), 1) * sizeof(float)))) fail(std::string("setTensorAddress('") + name + "') failed");
    outputs.push_back(std::move(o));
  }
  if (!m.context->enqueueV3(m.stream)) fail("enqueueV3 failed");
  for (Output& o : outputs) {
    check(cudaMemcpyAsync(o.data.data(), m.device[o.name], o.data.size() * sizeof(float), cudaMemcpyDeviceToHost, m.stream), "cudaMemcpyAsync to host");
  }
  check(cudaStreamSynchronize(m.stream), "cudaStreamSynchronize");
  return outputs;
}

void TensorRTEngine::refit(const std::map<std::string, std::vector<float>>& weights) {
  std::lock_guard<std::mutex> lock(mutex_);
  Impl& m = *impl_;
  if (!m.engine->isRefittable()) throw TensorRTError("this engine was built without refit: build with refit: \"all\" (or \"identical\")");
  Owned<nvinfer1::IRefitter> refitter(nvinfer1::createInferRefitter(*m.engine, logger()));
  if (!refitter) fail("createInferRefitter failed");
  std::vector<std::string> problems;
  for (const auto& [name, values] : weights) {
    const nvinfer1::Weights prototype = refitter->getWeightsPrototype(name.c_str());
    if (prototype.count < 0) { problems.push_back("'" + name + "' is not a refittable weight of this engine"); continue; }
    if (prototype.count != static_cast<int64_t>(values.size())) {
      problems.push_back("'" + name + "' has " + std::to_string(values.size()) + " values, the engine expects " + std::to_string(prototype.count));
      continue;
    }
    if (prototype.type != nvinfer1::DataType::kFLOAT) { problems.push_back("'" + name + "' is not float32 in the engine"); continue; }
    if (!refitter->setNamedWeights(name.c_str(), nvinfer1::Weights{nvinfer1::DataType::kFLOAT, values.data(), prototype.count})) {
      problems.push_back("'" + name + "' was refused: " + logger().take());
    }
  }
  // Fusions can make weights interdependent: TensorRT lists what it still needs; every one must have been given.
  const int32_t missing = refitter->getMissingWeights(0, nullptr);
  if (missing > 0) {
    std::vector<char const*> names(missing);
    refitter->getMissingWeights(missing, names.data());
    for (const char* n : names) problems.push_back("'" + std::string(n) + "' is missing");
  }
  if (!problems.empty()) {
    std::ostringstream out;
    out << "refit refused, engine unchanged:";
    for (const auto& p : problems) out << "\n  " << p;
    throw TensorRTError(out.str());
  }
  if (!refitter->refitCudaEngine()) fail("refitCudaEngine failed");
}

}  // namespace netdef
