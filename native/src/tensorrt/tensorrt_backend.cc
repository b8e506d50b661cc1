#include "tensorrt/tensorrt_backend.h"

#include <cuda_runtime_api.h>

#include <NvInfer.h>
#include <NvInferRuntime.h>

#include <cstring>
#include <deque>
#include <sstream>

#include "tensorrt/lowering.h"
#include "tensorrt/tensorrt_api.h"

namespace netdef {

namespace {

// Collects TensorRT's warnings and errors so that a failed call can say why: the last few only (a long-lived process
// would otherwise hold every warning ever logged), cleared as each operation starts (`take`), so that an old warning
// never reads as the cause of a later error.
class Logger : public nvinfer1::ILogger {
 public:
  void log(Severity severity, nvinfer1::AsciiChar const* message) noexcept override {
    if (severity > Severity::kWARNING) return;
    std::lock_guard<std::mutex> lock(mutex_);
    if (messages_.size() == kKept) messages_.erase(messages_.begin());
    messages_.emplace_back(message);
  }
  std::string take() {
    std::lock_guard<std::mutex> lock(mutex_);
    std::string all;
    for (const std::string& m : messages_) all += (all.empty() ? "" : "\n") + m;
    messages_.clear();
    return all;
  }

 private:
  static constexpr size_t kKept = 16;
  std::mutex mutex_;
  std::vector<std::string> messages_;
};

Logger& logger() {
  static Logger instance;
  return instance;
}

// TensorRT's error recorder, set on the builder, network, runtime, contexts and refitters: errors TensorRT reports
// through it rather than the logger (thread-safe, as "multiple execution contexts" may report at once). None is fatal
// to us: TensorRT then fails the call, and `fail` says why with what both recorded.
class ErrorRecorder : public nvinfer1::IErrorRecorder {
 public:
  int32_t getNbErrors() const noexcept override {
    std::lock_guard<std::mutex> lock(mutex_);
    return static_cast<int32_t>(errors_.size());
  }
  nvinfer1::ErrorCode getErrorCode(int32_t i) const noexcept override {
    std::lock_guard<std::mutex> lock(mutex_);
    return i >= 0 && i < static_cast<int32_t>(errors_.size()) ? errors_[i].first : nvinfer1::ErrorCode::kUNSPECIFIED_ERROR;
  }
  ErrorDesc getErrorDesc(int32_t i) const noexcept override {
    std::lock_guard<std::mutex> lock(mutex_);
    return i >= 0 && i < static_cast<int32_t>(errors_.size()) ? errors_[i].second.c_str() : "";
  }
  bool hasOverflowed() const noexcept override { return overflowed_; }
  void clear() noexcept override {
    std::lock_guard<std::mutex> lock(mutex_);
    errors_.clear();
    overflowed_ = false;
  }
  bool reportError(nvinfer1::ErrorCode code, ErrorDesc desc) noexcept override {
    std::lock_guard<std::mutex> lock(mutex_);
    if (errors_.size() == kKept) { errors_.pop_front(); overflowed_ = true; }
    errors_.emplace_back(code, desc ? desc : "");  // "must not store the desc pointer"
    return false;
  }
  RefCount incRefCount() noexcept override { return ++references_; }
  RefCount decRefCount() noexcept override { return --references_; }
  std::string take() {
    std::lock_guard<std::mutex> lock(mutex_);
    std::string all;
    for (const auto& [code, desc] : errors_) all += (all.empty() ? "" : "\n") + desc;
    errors_.clear();
    overflowed_ = false;
    return all;
  }

 private:
  static constexpr size_t kKept = 16;
  mutable std::mutex mutex_;
  std::deque<std::pair<nvinfer1::ErrorCode, std::string>> errors_;
  std::atomic<bool> overflowed_{false};
  std::atomic<RefCount> references_{0};
};

ErrorRecorder& recorder() {
  static ErrorRecorder instance;
  return instance;
}

// What the logger and the error recorder hold now, and cleared: the start of an operation calls it to drop what
// earlier ones left, a failure to say why.
std::string takeMessages() {
  const std::string logged = logger().take(), recorded = recorder().take();
  return logged.empty() ? recorded : recorded.empty() ? logged : logged + "\n" + recorded;
}

[[noreturn]] void fail(const std::string& what) {
  const std::string details = takeMessages();
  throw TensorRTError(what + (details.empty() ? "" : ": " + details));
}

void check(cudaError_t status, const char* what) {
  if (status != cudaSuccess) throw TensorRTError(std::string(what) + ": " + cudaGetErrorString(status));
}

// TensorRT works on the calling thread's current CUDA device: each operation (on whichever worker thread) sets the
// engine's first.
void useDevice(int device) {
  check(cudaSetDevice(device), "cudaSetDevice");
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
  takeMessages();  // what earlier operations logged is not this build's
  // The timing cache is declared first, so destroyed last: its "lifetime … must exceed … all builders" using it.
  Owned<nvinfer1::ITimingCache> cache;
  useDevice(config.device);
  Owned<nvinfer1::IBuilder> builder(nvinfer1::createInferBuilder(logger()));
  if (!builder) fail("createInferBuilder failed");
  builder->setErrorRecorder(&recorder());
  // Strongly typed: tensor types come from the network. TensorRT 11 networks are always so (the flag is deprecated).
#if NV_TENSORRT_MAJOR >= 11
  const uint32_t flags = 0U;
#else
  const auto flags = 1U << static_cast<uint32_t>(nvinfer1::NetworkDefinitionCreationFlag::kSTRONGLY_TYPED);
#endif
  Owned<nvinfer1::INetworkDefinition> network(builder->createNetworkV2(flags));
  Owned<nvinfer1::IBuilderConfig> cfg(builder->createBuilderConfig());
  if (!network || !cfg) fail("cannot create a network definition or builder config");
  network->setErrorRecorder(&recorder());

  Lowering<TensorRTApi> lowering(*network, graph);  // owns derived weight buffers until the build returns
  lowering.run();

  cfg->setMemoryPoolLimit(nvinfer1::MemoryPoolType::kWORKSPACE, config.workspaceBytes);
  cfg->setBuilderOptimizationLevel(config.optimizationLevel);
  if (config.refit == "all") cfg->setFlag(nvinfer1::BuilderFlag::kREFIT);
  else if (config.refit == "identical") cfg->setFlag(nvinfer1::BuilderFlag::kREFIT_IDENTICAL);
  else if (config.refit != "none") throw TensorRTError("refit mode '" + config.refit + "' is not one of none, all, identical");
  if (config.stripPlan) cfg->setFlag(nvinfer1::BuilderFlag::kSTRIP_PLAN);
  // kTF32 is "Enabled by default": float32 layers would multiply in TF32's 10-bit mantissa. Float32 means float32.
  if (!config.allowTF32) cfg->clearFlag(nvinfer1::BuilderFlag::kTF32);
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
  // A cache from another GPU or TensorRT version is refused: the build starts from an empty one instead.
  cache.reset(cfg->createTimingCache(config.timingCache.data(), config.timingCache.size()));
  if (!config.timingCache.empty() && (!cache || !cfg->setTimingCache(*cache, false))) {
    config.warnings.push_back("the timing cache was not usable (from another GPU or TensorRT version?): " + takeMessages() + "; the build starts from an empty cache");
    cache.reset(cfg->createTimingCache(nullptr, 0));
  }
  if (!cache || !cfg->setTimingCache(*cache, false)) fail("timing cache could not be created");
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

TensorRTTarget currentTensorRTTarget(int device) {
  cudaDeviceProp prop{};
  check(cudaGetDeviceProperties(&prop, device), "cudaGetDeviceProperties");
  return {NV_TENSORRT_MAJOR * 10000 + NV_TENSORRT_MINOR * 100 + NV_TENSORRT_PATCH, prop.major * 10 + prop.minor};
}

namespace {

// Bytes a value of netdef's `dtype` takes, and TensorRT's DataType for it.
size_t elementSize(const std::string& dtype) {
  if (dtype == "float32" || dtype == "int32") return 4;
  if (dtype == "float16" || dtype == "bfloat16") return 2;
  if (dtype == "int64") return 8;
  if (dtype == "int8" || dtype == "uint8" || dtype == "bool") return 1;
  throw TensorRTError("data type '" + dtype + "' is not one netdef exchanges with TensorRT");
}
std::string dtypeName(nvinfer1::DataType t) {
  switch (t) {
    case nvinfer1::DataType::kFLOAT: return "float32";
    case nvinfer1::DataType::kHALF: return "float16";
    case nvinfer1::DataType::kBF16: return "bfloat16";
    case nvinfer1::DataType::kINT8: return "int8";
    case nvinfer1::DataType::kUINT8: return "uint8";
    case nvinfer1::DataType::kINT32: return "int32";
    case nvinfer1::DataType::kINT64: return "int64";
    case nvinfer1::DataType::kBOOL: return "bool";
    default: return "?";
  }
}

}  // namespace

struct TensorRTEngine::Impl {
  int device = 0;
  Owned<nvinfer1::IRuntime> runtime;  // outlives the engine (declared first, destroyed last)
  Owned<nvinfer1::ICudaEngine> engine;
  std::shared_mutex use;  // executions share it; a refit takes it alone
};

struct TensorRTContext::Impl {
  std::shared_ptr<TensorRTEngine> engine;  // kept alive while the context lives
  Owned<nvinfer1::IExecutionContext> context;
  cudaStream_t stream = nullptr;
  bool ownStream = true;                     // made here (else the caller's, never destroyed here)
  std::map<std::string, void*> device;       // device buffers by tensor name
  std::map<std::string, size_t> capacity;    // their sizes in bytes
  ~Impl() {
    cudaSetDevice(engine->impl_->device);
    if (stream) cudaStreamSynchronize(stream);
    for (auto& [name, ptr] : device) cudaFree(ptr);
    if (stream && ownStream) cudaStreamDestroy(stream);
    context.reset();
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

std::shared_ptr<TensorRTEngine> TensorRTEngine::deserialize(const uint8_t* data, size_t size, int device) {
  takeMessages();
  useDevice(device);
  std::shared_ptr<TensorRTEngine> e(new TensorRTEngine());
  e->impl_ = std::make_unique<Impl>();
  e->impl_->device = device;
  e->impl_->runtime.reset(nvinfer1::createInferRuntime(logger()));
  if (!e->impl_->runtime) fail("createInferRuntime failed");
  e->impl_->runtime->setErrorRecorder(&recorder());
  e->impl_->engine.reset(e->impl_->runtime->deserializeCudaEngine(data, size));
  if (!e->impl_->engine) fail("deserializeCudaEngine failed (a plan built by another TensorRT version or for another GPU?)");
  return e;
}

TensorRTEngine::~TensorRTEngine() = default;

int TensorRTEngine::profiles() const { return impl_->engine->getNbOptimizationProfiles(); }

std::shared_ptr<TensorRTContext> TensorRTEngine::createContext(int profile, uintptr_t stream) {
  takeMessages();
  useDevice(impl_->device);
  if (profile < 0 || profile >= profiles()) throw TensorRTError("optimization profile " + std::to_string(profile) + " does not exist: the engine has " + std::to_string(profiles()));
  std::shared_ptr<TensorRTContext> c(new TensorRTContext());
  c->impl_ = std::make_unique<TensorRTContext::Impl>();
  c->impl_->engine = shared_from_this();
  c->impl_->context.reset(impl_->engine->createExecutionContext());
  if (!c->impl_->context) fail("createExecutionContext failed");
  c->impl_->context->setErrorRecorder(&recorder());
  c->impl_->ownStream = stream == 0;
  if (stream) c->impl_->stream = reinterpret_cast<cudaStream_t>(stream);
  else check(cudaStreamCreate(&c->impl_->stream), "cudaStreamCreate");
  if (!c->impl_->context->setOptimizationProfileAsync(profile, c->impl_->stream)) fail("setOptimizationProfileAsync(" + std::to_string(profile) + ") failed");
  check(cudaStreamSynchronize(c->impl_->stream), "cudaStreamSynchronize");
  return c;
}

TensorRTContext::~TensorRTContext() = default;

std::vector<TensorBytes> TensorRTContext::execute(const std::vector<TensorBytes>& inputs) {
  std::lock_guard<std::mutex> lock(mutex_);
  Impl& m = *impl_;
  std::shared_lock<std::shared_mutex> inUse(m.engine->impl_->use);
  useDevice(m.engine->impl_->device);
  nvinfer1::ICudaEngine& engine = *m.engine->impl_->engine;
  for (const TensorBytes& in : inputs) {
    const std::string expected = dtypeName(engine.getTensorDataType(in.name.c_str()));
    if (in.dtype != expected) throw TensorRTError("input '" + in.name + "' is " + expected + " in the engine, but " + in.dtype + " values were given");
    if (in.bytes.size() != static_cast<size_t>(volume(in.shape)) * elementSize(in.dtype)) {
      throw TensorRTError("input '" + in.name + "' holds " + std::to_string(in.bytes.size()) + " bytes, shape " + formatShape(in.shape) + " of " + in.dtype + " needs " +
                          std::to_string(volume(in.shape) * elementSize(in.dtype)));
    }
    if (!m.context->setInputShape(in.name.c_str(), toDims(in.shape))) fail("setInputShape('" + in.name + "') refused shape " + formatShape(in.shape));
    void* dst = m.buffer(in.name, std::max<size_t>(in.bytes.size(), 1));
    check(cudaMemcpyAsync(dst, in.bytes.data(), in.bytes.size(), cudaMemcpyHostToDevice, m.stream), "cudaMemcpyAsync to device");
    if (!m.context->setTensorAddress(in.name.c_str(), dst)) fail("setTensorAddress('" + in.name + "') failed");
  }
  std::vector<TensorBytes> outputs;
  for (int32_t i = 0; i < engine.getNbIOTensors(); i++) {
    const char* name = engine.getIOTensorName(i);
    if (engine.getTensorIOMode(name) != nvinfer1::TensorIOMode::kOUTPUT) continue;
    const nvinfer1::Dims d = m.context->getTensorShape(name);
    TensorBytes o{name, dtypeName(engine.getTensorDataType(name)), Shape(d.d, d.d + d.nbDims), {}};
    o.bytes.resize(static_cast<size_t>(volume(o.shape)) * elementSize(o.dtype));
    if (!m.context->setTensorAddress(name, m.buffer(name, std::max<size_t>(o.bytes.size(), 1)))) fail(std::string("setTensorAddress('") + name + "') failed");
    outputs.push_back(std::move(o));
  }
  if (!m.context->enqueueV3(m.stream)) fail("enqueueV3 failed");
  for (TensorBytes& o : outputs) {
    check(cudaMemcpyAsync(o.bytes.data(), m.device[o.name], o.bytes.size(), cudaMemcpyDeviceToHost, m.stream), "cudaMemcpyAsync to host");
  }
  check(cudaStreamSynchronize(m.stream), "cudaStreamSynchronize");
  return outputs;
}

std::vector<std::pair<std::string, Shape>> TensorRTContext::enqueue(const std::vector<DeviceBinding>& bindings) {
  std::lock_guard<std::mutex> lock(mutex_);
  Impl& m = *impl_;
  std::shared_lock<std::shared_mutex> inUse(m.engine->impl_->use);
  useDevice(m.engine->impl_->device);
  nvinfer1::ICudaEngine& engine = *m.engine->impl_->engine;
  for (const DeviceBinding& b : bindings) {
    if (engine.getTensorIOMode(b.name.c_str()) == nvinfer1::TensorIOMode::kNONE) throw TensorRTError("'" + b.name + "' is neither an input nor an output of the engine");
    if (engine.getTensorIOMode(b.name.c_str()) == nvinfer1::TensorIOMode::kINPUT && !m.context->setInputShape(b.name.c_str(), toDims(b.shape))) {
      fail("setInputShape('" + b.name + "') refused shape " + formatShape(b.shape));
    }
    if (!m.context->setTensorAddress(b.name.c_str(), reinterpret_cast<void*>(b.address))) fail("setTensorAddress('" + b.name + "') failed");
  }
  std::vector<std::pair<std::string, Shape>> shapes;
  for (int32_t i = 0; i < engine.getNbIOTensors(); i++) {
    const char* name = engine.getIOTensorName(i);
    if (engine.getTensorIOMode(name) != nvinfer1::TensorIOMode::kOUTPUT) continue;
    const nvinfer1::Dims d = m.context->getTensorShape(name);
    shapes.emplace_back(name, Shape(d.d, d.d + d.nbDims));
  }
  if (!m.context->enqueueV3(m.stream)) fail("enqueueV3 failed");
  if (m.ownStream) check(cudaStreamSynchronize(m.stream), "cudaStreamSynchronize");
  return shapes;
}

void TensorRTEngine::refit(const std::map<std::string, TensorBytes>& weights) {
  std::unique_lock<std::shared_mutex> alone(impl_->use);
  takeMessages();
  useDevice(impl_->device);
  nvinfer1::ICudaEngine& engine = *impl_->engine;
  if (!engine.isRefittable()) throw TensorRTError("this engine was built without refit: build with refit: \"all\" (or \"identical\")");
  Owned<nvinfer1::IRefitter> refitter(nvinfer1::createInferRefitter(engine, logger()));
  if (!refitter) fail("createInferRefitter failed");
  refitter->setErrorRecorder(&recorder());
  std::vector<std::string> problems;
  std::deque<std::vector<uint8_t>> converted;  // kept until the refit is done
  for (const auto& [name, given] : weights) {
    const nvinfer1::Weights prototype = refitter->getWeightsPrototype(name.c_str());
    if (prototype.count < 0) { problems.push_back("'" + name + "' is not a refittable weight of this engine"); continue; }
    const std::string type = dtypeName(prototype.type);
    // float32 values for a float16/bfloat16 weight (the lowering gives half layers weights of their type) are rounded
    // to it, ties to even, as the lowering rounded them.
    const TensorBytes* source = &given;
    TensorBytes rounded;
    if (given.dtype == "float32" && (type == "float16" || type == "bfloat16")) {
      const Storage storage = type == "float16" ? Storage::kFloat16 : Storage::kBfloat16;
      const size_t n = given.bytes.size() / sizeof(float);
      rounded = TensorBytes{name, type, given.shape, std::vector<uint8_t>(n * sizeof(uint16_t))};
      for (size_t i = 0; i < n; i++) {
        float v;
        std::memcpy(&v, given.bytes.data() + i * sizeof(float), sizeof v);
        const uint16_t bits = toHalfBits(storage == Storage::kFloat16 ? roundToFloat16(v) : roundToBfloat16(v), storage);
        std::memcpy(rounded.bytes.data() + i * sizeof bits, &bits, sizeof bits);
      }
      source = &rounded;
    }
    const TensorBytes& w = *source;
    if (type != w.dtype) { problems.push_back("'" + name + "' is " + type + " in the engine, " + w.dtype + " values were given"); continue; }
    if (static_cast<int64_t>(w.bytes.size()) != prototype.count * static_cast<int64_t>(elementSize(w.dtype))) {
      problems.push_back("'" + name + "' has " + std::to_string(w.bytes.size() / elementSize(w.dtype)) + " values, the engine expects " + std::to_string(prototype.count));
      continue;
    }
    converted.push_back(w.bytes);
    if (!refitter->setNamedWeights(name.c_str(), nvinfer1::Weights{prototype.type, converted.back().data(), prototype.count})) {
      problems.push_back("'" + name + "' was refused: " + takeMessages());
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
