#include "tensorrt/tensorrt_wrap.h"

#include <cuda_runtime_api.h>

#include <atomic>
#include <cstring>
#include <memory>

#include "addon_errors.h"
#include "plan_reader.h"
#include "tensorrt/lowering.h"
#include "tensorrt/tensorrt_backend.h"

namespace netdef {

namespace {

Napi::Object targetObject(Napi::Env env, const TensorRTTarget& t) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("tensorrtVersion", t.tensorrtVersion);
  o.Set("computeCapability", t.computeCapability);
  return o;
}

Napi::Uint8Array bytesOf(Napi::Env env, const std::vector<uint8_t>& bytes) {
  Napi::Uint8Array out = Napi::Uint8Array::New(env, bytes.size());
  if (!bytes.empty()) std::memcpy(out.Data(), bytes.data(), bytes.size());
  return out;
}

std::vector<uint8_t> bytesFrom(const Napi::Value& value) {
  Napi::TypedArray a = value.As<Napi::TypedArray>();
  const uint8_t* p = static_cast<const uint8_t*>(a.ArrayBuffer().Data()) + a.ByteOffset();
  return std::vector<uint8_t>(p, p + a.ByteLength());
}

Shape shapeFrom(const Napi::Value& value) {
  Shape s;
  Napi::Array a = value.As<Napi::Array>();
  for (uint32_t i = 0; i < a.Length(); i++) s.push_back(static_cast<int64_t>(a.Get(i).As<Napi::Number>().Int64Value()));
  return s;
}

struct Progress {
  std::string phase;
  int step, steps;
};

// Lowers and builds off the JS thread, reporting TensorRT's build phases; `cancel` makes the monitor stop it.
class BuildWorker : public Napi::AsyncProgressQueueWorker<Progress> {
 public:
  BuildWorker(Napi::Env env, std::vector<uint8_t> plan, TensorRTBuildConfig config, Napi::Function onProgress, std::shared_ptr<std::atomic<bool>> cancel)
      : Napi::AsyncProgressQueueWorker<Progress>(env), deferred_(Napi::Promise::Deferred::New(env)), plan_(std::move(plan)),
        config_(std::move(config)), cancel_(std::move(cancel)) {
    if (!onProgress.IsEmpty()) onProgress_ = Napi::Persistent(onProgress);
  }
  Napi::Promise promise() { return deferred_.Promise(); }

  void Execute(const ExecutionProgress& progress) override {
    try {
      const Graph graph = readPlan(plan_.data(), plan_.size());
      engine_ = buildTensorRTPlan(graph, config_, [&](const std::string& phase, int step, int steps) {
        progress.Send(new Progress{phase, step, steps}, 1);
        return !cancel_->load();
      });
      target_ = currentTensorRTTarget(config_.device);
    } catch (const std::exception& e) {
      code_ = dynamic_cast<const LoweringError*>(&e) ? "ERR_LOWERING" : dynamic_cast<const PlanError*>(&e) ? "ERR_PLAN" : "ERR_TENSORRT";
      SetError(workerError(e));
    }
  }
  void OnProgress(const Progress* p, size_t count) override {
    if (onProgress_.IsEmpty()) return;
    for (size_t i = 0; i < count; i++) onProgress_.Call({Napi::String::New(Env(), p[i].phase), Napi::Number::New(Env(), p[i].step), Napi::Number::New(Env(), p[i].steps)});
  }
  void OnOK() override {
    Napi::Object result = Napi::Object::New(Env());
    result.Set("engine", bytesOf(Env(), engine_));
    result.Set("timingCache", bytesOf(Env(), config_.timingCache));
    result.Set("target", targetObject(Env(), target_));
    Napi::Array warnings = Napi::Array::New(Env(), config_.warnings.size());
    for (size_t i = 0; i < config_.warnings.size(); i++) warnings.Set(i, config_.warnings[i]);
    result.Set("warnings", warnings);
    deferred_.Resolve(result);
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(jsError(Env(), code_, e.Message()).Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::vector<uint8_t> plan_;
  TensorRTBuildConfig config_;
  std::shared_ptr<std::atomic<bool>> cancel_;
  Napi::FunctionReference onProgress_;
  std::vector<uint8_t> engine_;
  TensorRTTarget target_{};
  const char* code_ = "ERR_TENSORRT";
};

Napi::Value build(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsTypedArray() || !info[1].IsObject()) throw Napi::TypeError::New(env, "tensorrtBuild(plan, config, onProgress?)");
  Napi::Object c = info[1].As<Napi::Object>();
  TensorRTBuildConfig config;
  if (c.Has("workspaceBytes")) config.workspaceBytes = static_cast<size_t>(c.Get("workspaceBytes").As<Napi::Number>().Int64Value());
  if (c.Has("optimizationLevel")) config.optimizationLevel = c.Get("optimizationLevel").As<Napi::Number>().Int32Value();
  if (c.Has("refit")) config.refit = c.Get("refit").As<Napi::String>().Utf8Value();
  if (c.Has("stripPlan")) config.stripPlan = c.Get("stripPlan").ToBoolean().Value();
  if (c.Has("allowTF32")) config.allowTF32 = c.Get("allowTF32").ToBoolean().Value();
  if (c.Has("device")) config.device = c.Get("device").As<Napi::Number>().Int32Value();
  if (c.Has("timingCache") && c.Get("timingCache").IsTypedArray()) config.timingCache = bytesFrom(c.Get("timingCache"));
  if (c.Has("profiles")) {
    Napi::Array profiles = c.Get("profiles").As<Napi::Array>();
    for (uint32_t i = 0; i < profiles.Length(); i++) {
      Napi::Object p = profiles.Get(i).As<Napi::Object>();
      std::map<std::string, ShapeRangeSpec> ranges;
      Napi::Array names = p.GetPropertyNames();
      for (uint32_t n = 0; n < names.Length(); n++) {
        const std::string name = names.Get(n).As<Napi::String>().Utf8Value();
        Napi::Object r = p.Get(name).As<Napi::Object>();
        ranges[name] = {shapeFrom(r.Get("min")), shapeFrom(r.Get("opt")), shapeFrom(r.Get("max"))};
      }
      config.profiles.push_back(std::move(ranges));
    }
  }
  auto cancel = std::make_shared<std::atomic<bool>>(false);
  Napi::Function onProgress = info.Length() > 2 && info[2].IsFunction() ? info[2].As<Napi::Function>() : Napi::Function();
  auto* worker = new BuildWorker(env, bytesFrom(info[0]), std::move(config), onProgress, cancel);
  Napi::Object handle = Napi::Object::New(env);
  handle.Set("promise", worker->promise());
  handle.Set("cancel", Napi::Function::New(env, [cancel](const Napi::CallbackInfo&) { cancel->store(true); }));
  worker->Queue();
  return handle;
}

// Runs a std::function off the JS thread and resolves with what `resolve` makes of it.
class TaskWorker : public Napi::AsyncWorker {
 public:
  TaskWorker(Napi::Env env, std::function<void()> task, std::function<Napi::Value(Napi::Env)> resolve)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), task_(std::move(task)), resolve_(std::move(resolve)) {}
  Napi::Promise promise() { return deferred_.Promise(); }
  void Execute() override {
    try {
      task_();
    } catch (const std::exception& e) {
      SetError(workerError(e));
    }
  }
  void OnOK() override { deferred_.Resolve(resolve_(Env())); }
  void OnError(const Napi::Error& e) override { deferred_.Reject(jsError(Env(), "ERR_TENSORRT", e.Message()).Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::function<void()> task_;
  std::function<Napi::Value(Napi::Env)> resolve_;
};

// { name, dtype, data: TypedArray, shape } → TensorBytes (the bytes as the typed array holds them).
TensorBytes tensorFrom(const Napi::Object& o) {
  return TensorBytes{o.Get("name").As<Napi::String>().Utf8Value(), o.Get("dtype").As<Napi::String>().Utf8Value(), o.Has("shape") ? shapeFrom(o.Get("shape")) : Shape{},
                     bytesFrom(o.Get("data"))};
}

Napi::Object tensorObject(Napi::Env env, const TensorBytes& t) {
  Napi::Object item = Napi::Object::New(env);
  item.Set("name", t.name);
  item.Set("dtype", t.dtype);
  item.Set("data", bytesOf(env, t.bytes));
  Napi::Array shape = Napi::Array::New(env, t.shape.size());
  for (size_t d = 0; d < t.shape.size(); d++) shape.Set(d, Napi::Number::New(env, static_cast<double>(t.shape[d])));
  item.Set("shape", shape);
  return item;
}

class ContextHandle : public Napi::ObjectWrap<ContextHandle> {
 public:
  static Napi::FunctionReference* constructor;
  static Napi::Function define(Napi::Env env) {
    Napi::Function fn = DefineClass(env, "TensorRTContext", {
        InstanceMethod<&ContextHandle::execute>("execute"),
        InstanceMethod<&ContextHandle::enqueue>("enqueue"),
        InstanceMethod<&ContextHandle::dispose>("dispose"),
    });
    constructor = new Napi::FunctionReference(Napi::Persistent(fn));
    env.AddCleanupHook([] { delete constructor; constructor = nullptr; });
    return fn;
  }
  explicit ContextHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ContextHandle>(info) {
    if (info.Length() != 1 || !info[0].IsExternal()) throw Napi::TypeError::New(info.Env(), "use engine.createContext(profile)");
    context_ = *info[0].As<Napi::External<std::shared_ptr<TensorRTContext>>>().Data();
  }
  // execute([{ name, dtype, data, shape }]) → Promise<[{ name, dtype, data: Uint8Array, shape }]>
  Napi::Value execute(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!context_) throw jsError(env, "ERR_DISPOSED", "the TensorRT execution context has been disposed");
    auto inputs = std::make_shared<std::vector<TensorBytes>>();
    Napi::Array list = info[0].As<Napi::Array>();
    for (uint32_t i = 0; i < list.Length(); i++) inputs->push_back(tensorFrom(list.Get(i).As<Napi::Object>()));
    auto context = context_;
    auto outputs = std::make_shared<std::vector<TensorBytes>>();
    auto* worker = new TaskWorker(env, [context, inputs, outputs] { *outputs = context->execute(*inputs); }, [outputs](Napi::Env env) -> Napi::Value {
      Napi::Array result = Napi::Array::New(env, outputs->size());
      for (size_t i = 0; i < outputs->size(); i++) result.Set(i, tensorObject(env, (*outputs)[i]));
      return result;
    });
    Napi::Promise p = worker->promise();
    worker->Queue();
    return p;
  }
  // enqueue([{ name, address: bigint, shape? }]) → Promise<[{ name, shape }]> (the outputs' shapes)
  Napi::Value enqueue(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!context_) throw jsError(env, "ERR_DISPOSED", "the TensorRT execution context has been disposed");
    auto bindings = std::make_shared<std::vector<TensorRTContext::DeviceBinding>>();
    Napi::Array list = info[0].As<Napi::Array>();
    for (uint32_t i = 0; i < list.Length(); i++) {
      Napi::Object o = list.Get(i).As<Napi::Object>();
      bool lossless = true;
      const uintptr_t address = static_cast<uintptr_t>(o.Get("address").As<Napi::BigInt>().Uint64Value(&lossless));
      if (!lossless) throw Napi::RangeError::New(env, "enqueue: an address is not 64-bit");
      bindings->push_back({o.Get("name").As<Napi::String>().Utf8Value(), address, o.Has("shape") ? shapeFrom(o.Get("shape")) : Shape{}});
    }
    auto context = context_;
    auto shapes = std::make_shared<std::vector<std::pair<std::string, Shape>>>();
    auto* worker = new TaskWorker(env, [context, bindings, shapes] { *shapes = context->enqueue(*bindings); }, [shapes](Napi::Env env) -> Napi::Value {
      Napi::Array result = Napi::Array::New(env, shapes->size());
      for (size_t i = 0; i < shapes->size(); i++) {
        Napi::Object item = Napi::Object::New(env);
        item.Set("name", (*shapes)[i].first);
        Napi::Array shape = Napi::Array::New(env, (*shapes)[i].second.size());
        for (size_t d = 0; d < (*shapes)[i].second.size(); d++) shape.Set(d, Napi::Number::New(env, static_cast<double>((*shapes)[i].second[d])));
        item.Set("shape", shape);
        result.Set(i, item);
      }
      return result;
    });
    Napi::Promise p = worker->promise();
    worker->Queue();
    return p;
  }
  void dispose(const Napi::CallbackInfo&) { context_.reset(); }

 private:
  std::shared_ptr<TensorRTContext> context_;
};

Napi::FunctionReference* ContextHandle::constructor = nullptr;

class EngineHandle : public Napi::ObjectWrap<EngineHandle> {
 public:
  static Napi::FunctionReference* constructor;
  static Napi::Function define(Napi::Env env) {
    Napi::Function fn = DefineClass(env, "TensorRTEngine", {
        StaticMethod<&EngineHandle::deserialize>("deserialize"),
        InstanceMethod<&EngineHandle::createContext>("createContext"),
        InstanceMethod<&EngineHandle::refit>("refit"),
        InstanceMethod<&EngineHandle::dispose>("dispose"),
    });
    constructor = new Napi::FunctionReference(Napi::Persistent(fn));
    env.AddCleanupHook([] { delete constructor; constructor = nullptr; });
    return fn;
  }
  explicit EngineHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<EngineHandle>(info) {
    if (info.Length() != 1 || !info[0].IsExternal()) throw Napi::TypeError::New(info.Env(), "use TensorRTEngine.deserialize(bytes)");
    engine_ = *info[0].As<Napi::External<std::shared_ptr<TensorRTEngine>>>().Data();
  }
  static Napi::Value deserialize(const Napi::CallbackInfo& info) {
    if (info.Length() < 1 || !info[0].IsTypedArray()) throw Napi::TypeError::New(info.Env(), "TensorRTEngine.deserialize(bytes)");
    auto bytes = std::make_shared<std::vector<uint8_t>>(bytesFrom(info[0]));
    const int device = info.Length() > 1 && info[1].IsNumber() ? info[1].As<Napi::Number>().Int32Value() : 0;
    auto engine = std::make_shared<std::shared_ptr<TensorRTEngine>>();
    auto* worker = new TaskWorker(info.Env(), [bytes, engine, device] { *engine = TensorRTEngine::deserialize(bytes->data(), bytes->size(), device); },
                                  [engine](Napi::Env env) -> Napi::Value { return constructor->New({Napi::External<std::shared_ptr<TensorRTEngine>>::New(env, engine.get())}); });
    Napi::Promise p = worker->promise();
    worker->Queue();
    return p;
  }
  // createContext(profile) → Promise<TensorRTContext> on that optimization profile
  Napi::Value createContext(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!engine_) throw jsError(env, "ERR_DISPOSED", "the TensorRT engine has been disposed");
    const int profile = info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().Int32Value() : 0;
    bool lossless = true;
    const uintptr_t stream = info.Length() > 1 && info[1].IsBigInt() ? static_cast<uintptr_t>(info[1].As<Napi::BigInt>().Uint64Value(&lossless)) : 0;
    if (!lossless) throw Napi::RangeError::New(env, "createContext: the stream is not a 64-bit address");
    auto engine = engine_;
    auto context = std::make_shared<std::shared_ptr<TensorRTContext>>();
    auto* worker = new TaskWorker(env, [engine, profile, stream, context] { *context = engine->createContext(profile, stream); },
                                  [context](Napi::Env env) -> Napi::Value { return ContextHandle::constructor->New({Napi::External<std::shared_ptr<TensorRTContext>>::New(env, context.get())}); });
    Napi::Promise p = worker->promise();
    worker->Queue();
    return p;
  }
  // refit({ [pytorchName]: { dtype, data } }) → Promise<void>
  Napi::Value refit(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!engine_) throw jsError(env, "ERR_DISPOSED", "the TensorRT engine has been disposed");
    auto weights = std::make_shared<std::map<std::string, TensorBytes>>();
    Napi::Object o = info[0].As<Napi::Object>();
    Napi::Array names = o.GetPropertyNames();
    for (uint32_t i = 0; i < names.Length(); i++) {
      const std::string name = names.Get(i).As<Napi::String>().Utf8Value();
      Napi::Object w = o.Get(name).As<Napi::Object>();
      w.Set("name", name);
      (*weights)[name] = tensorFrom(w);
    }
    auto engine = engine_;
    auto* worker = new TaskWorker(env, [engine, weights] { engine->refit(*weights); }, [](Napi::Env env) -> Napi::Value { return env.Undefined(); });
    Napi::Promise p = worker->promise();
    worker->Queue();
    return p;
  }

  void dispose(const Napi::CallbackInfo&) { engine_.reset(); }

 private:
  std::shared_ptr<TensorRTEngine> engine_;
};

Napi::FunctionReference* EngineHandle::constructor = nullptr;

// tensorrtDeviceBuffer(bytes, device) → { address, write(Uint8Array), read() → Uint8Array, free() }: device memory for
// enqueue's bindings from JavaScript (the self-test's device I/O), copied synchronously, freed by free() or when the
// last closure holding it is collected.
Napi::Value deviceBuffer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  struct Memory {
    void* ptr = nullptr;
    size_t bytes = 0;
    int device = 0;
    void release() {
      if (ptr) cudaSetDevice(device), cudaFree(ptr);
      ptr = nullptr;
    }
    ~Memory() { release(); }
  };
  auto cuda = [env](cudaError_t status, const char* what) {
    if (status != cudaSuccess) throw jsError(env, "ERR_TENSORRT", std::string(what) + ": " + cudaGetErrorString(status));
  };
  if (info.Length() < 1 || !info[0].IsNumber()) throw Napi::TypeError::New(env, "tensorrtDeviceBuffer(bytes, device): bytes must be a number");
  auto memory = std::make_shared<Memory>();
  memory->bytes = static_cast<size_t>(info[0].As<Napi::Number>().Int64Value());
  memory->device = info.Length() > 1 && info[1].IsNumber() ? info[1].As<Napi::Number>().Int32Value() : 0;
  cuda(cudaSetDevice(memory->device), "cudaSetDevice");
  cuda(cudaMalloc(&memory->ptr, memory->bytes > 0 ? memory->bytes : 1), "cudaMalloc");
  auto live = [env, memory]() {
    if (!memory->ptr) throw jsError(env, "ERR_DISPOSED", "device buffer used after free()");
    cudaSetDevice(memory->device);
  };
  Napi::Object buffer = Napi::Object::New(env);
  buffer.Set("address", Napi::BigInt::New(env, static_cast<uint64_t>(reinterpret_cast<uintptr_t>(memory->ptr))));
  buffer.Set("write", Napi::Function::New(env, [memory, live, cuda](const Napi::CallbackInfo& info) {
    live();
    const std::vector<uint8_t> bytes = bytesFrom(info[0]);
    if (bytes.size() > memory->bytes) throw jsError(info.Env(), "ERR_EXECUTION", "write of " + std::to_string(bytes.size()) + " bytes to a device buffer of " + std::to_string(memory->bytes));
    cuda(cudaMemcpy(memory->ptr, bytes.data(), bytes.size(), cudaMemcpyHostToDevice), "cudaMemcpy to device");
  }));
  buffer.Set("read", Napi::Function::New(env, [memory, live, cuda](const Napi::CallbackInfo& info) -> Napi::Value {
    live();
    std::vector<uint8_t> bytes(memory->bytes);
    cuda(cudaMemcpy(bytes.data(), memory->ptr, bytes.size(), cudaMemcpyDeviceToHost), "cudaMemcpy to host");
    return bytesOf(info.Env(), bytes);
  }));
  buffer.Set("free", Napi::Function::New(env, [memory](const Napi::CallbackInfo&) { memory->release(); }));
  return buffer;
}

}  // namespace

void defineTensorRT(Napi::Env env, Napi::Object exports) {
  exports.Set("tensorrtBuild", Napi::Function::New(env, build));
  exports.Set("TensorRTEngine", EngineHandle::define(env));
  exports.Set("tensorrtDeviceBuffer", Napi::Function::New(env, deviceBuffer));
  ContextHandle::define(env);
  exports.Set("tensorrtTarget", Napi::Function::New(env, [](const Napi::CallbackInfo& info) -> Napi::Value {
    try {
      return targetObject(info.Env(), currentTensorRTTarget(info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().Int32Value() : 0));
    } catch (const std::exception& e) {
      throw jsError(info.Env(), "ERR_TENSORRT", e.what());
    }
  }));
}

}  // namespace netdef
