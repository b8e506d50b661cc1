#include "context_wrap.h"

#include <cstring>

#include "addon_errors.h"

namespace netdef {

namespace {

Napi::FunctionReference* gContextConstructor = nullptr;

}  // namespace

// One execution: runs the network (on any thread), then turns its outputs into JS values (on the JS thread).
class Execution {
 public:
  Execution(std::shared_ptr<ExecutionContext> context, std::vector<NamedBuffer> inputs, bool profile, int repeats)
      : context_(std::move(context)), inputs_(std::move(inputs)), profile_(profile), repeats_(repeats) {}

  void run() {
    try {
      for (int run = 1; run < repeats_; run++) {
        std::vector<LayerTime> times;
        for (NamedBuffer& o : context_->execute(copyOfInputs(), profile_ ? &times : nullptr)) context_->giveBack(std::move(o.buffer.data));
        keepFastest(times);
      }
      std::vector<LayerTime> times;
      outputs_ = context_->execute(std::move(inputs_), profile_ ? &times : nullptr);
      keepFastest(times);
    } catch (const ExecutionError& e) {
      fail("ERR_EXECUTION", e.what());
    } catch (const PlanError& e) {
      fail("ERR_PLAN", e.what());
    } catch (const std::bad_alloc&) {
      fail("ERR_NATIVE", "out of memory while executing");
    } catch (const std::exception& e) {
      fail("ERR_NATIVE", e.what());
    }
  }
  const std::vector<NamedBuffer>& inputs() const { return inputs_; }
  bool failed() const { return failed_; }
  const std::string& message() const { return message_; }
  Napi::Error error(Napi::Env env) const { return jsError(env, code_, message_); }

  // { outputs: [{ name, data, shape }], profile? }; the output buffers go back to the context's pool.
  Napi::Object result(Napi::Env env) {
    Napi::Object result = Napi::Object::New(env);
    Napi::Array outputs = Napi::Array::New(env, outputs_.size());
    for (size_t i = 0; i < outputs_.size(); i++) {
      NamedBuffer& o = outputs_[i];
      Napi::Object item = Napi::Object::New(env);
      item.Set("name", o.name);
      Napi::Float32Array data = Napi::Float32Array::New(env, o.buffer.data.size());
      std::memcpy(data.Data(), o.buffer.data.data(), o.buffer.data.size() * sizeof(float));
      item.Set("data", data);
      Napi::Array shape = Napi::Array::New(env, o.buffer.shape.size());
      for (size_t d = 0; d < o.buffer.shape.size(); d++) shape.Set(d, Napi::Number::New(env, static_cast<double>(o.buffer.shape[d])));
      item.Set("shape", shape);
      outputs.Set(i, item);
      context_->giveBack(std::move(o.buffer.data));
    }
    result.Set("outputs", outputs);
    if (profile_) {
      Napi::Array times = Napi::Array::New(env, times_.size());
      for (size_t i = 0; i < times_.size(); i++) {
        Napi::Object t = Napi::Object::New(env);
        t.Set("layer", times_[i].layer);
        t.Set("milliseconds", times_[i].milliseconds);
        times.Set(i, t);
      }
      result.Set("profile", times);
    }
    return result;
  }

 private:
  std::vector<NamedBuffer> copyOfInputs() {
    std::vector<NamedBuffer> copy;
    for (const NamedBuffer& b : inputs_) {
      NamedBuffer c{b.name, {b.buffer.shape, context_->takeBuffer(b.buffer.data.size())}};
      std::memcpy(c.buffer.data.data(), b.buffer.data.data(), b.buffer.data.size() * sizeof(float));
      copy.push_back(std::move(c));
    }
    return copy;
  }
  // Each layer's fastest time over the runs (the layers run in the same order every time).
  void keepFastest(std::vector<LayerTime>& times) {
    if (times_.empty()) times_ = std::move(times);
    else for (size_t i = 0; i < times_.size() && i < times.size(); i++) times_[i].milliseconds = std::min(times_[i].milliseconds, times[i].milliseconds);
  }
  void fail(const char* code, const std::string& message) {
    code_ = code;
    message_ = message;
    failed_ = true;
  }

  std::shared_ptr<ExecutionContext> context_;
  std::vector<NamedBuffer> inputs_, outputs_;
  std::vector<LayerTime> times_;
  bool profile_;
  int repeats_;
  const char* code_ = "ERR_NATIVE";
  std::string message_;
  bool failed_ = false;
};

namespace {

// An execution settling a promise: run off the JS thread, or on it (runHere) when short.
class ExecuteWorker : public Napi::AsyncWorker {
 public:
  ExecuteWorker(Napi::Env env, Execution execution)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), execution_(std::move(execution)) {}
  Napi::Promise promise() { return deferred_.Promise(); }

  void runHere() {
    execution_.run();
    if (execution_.failed()) deferred_.Reject(execution_.error(Env()).Value());
    else OnOK();
  }

  void Execute() override {
    execution_.run();
    if (execution_.failed()) SetError(execution_.message());
  }
  void OnOK() override { deferred_.Resolve(execution_.result(Env())); }
  void OnError(const Napi::Error&) override { deferred_.Reject(execution_.error(Env()).Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  Execution execution_;
};

// Executions predicted shorter than this run on the JS thread: handing one to a libuv worker and back costs
// 60–200 µs on a small VM (two thread wake-ups), as long as a LeNet inference itself, while blocking the event loop
// for under half a millisecond is harmless. Longer ones, and every first one, run off the JS thread.
constexpr double kInlineMilliseconds = 0.5;

}  // namespace

Napi::Function ContextWrap::define(Napi::Env env) {
  Napi::Function fn = DefineClass(env, "ExecutionContext", {
      InstanceMethod<&ContextWrap::execute>("execute"),
      InstanceMethod<&ContextWrap::executeSync>("executeSync"),
      InstanceMethod<&ContextWrap::dispose>("dispose"),
  });
  gContextConstructor = new Napi::FunctionReference(Napi::Persistent(fn));
  env.AddCleanupHook([] { delete gContextConstructor; gContextConstructor = nullptr; });
  return fn;
}

Napi::Object ContextWrap::create(Napi::Env env, std::shared_ptr<const EngineSlot> slot) {
  return gContextConstructor->New({Napi::External<std::shared_ptr<const EngineSlot>>::New(env, &slot)});
}

ContextWrap::ContextWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ContextWrap>(info) {
  if (info.Length() != 1 || !info[0].IsExternal()) throw Napi::TypeError::New(info.Env(), "ExecutionContext cannot be constructed directly: use engine.createExecutionContext()");
  context_ = std::make_shared<ExecutionContext>(*info[0].As<Napi::External<std::shared_ptr<const EngineSlot>>>().Data());
}

// The arguments of execute and executeSync, ([{ name, data: Float32Array, shape: number[] }], profile, repeats = 1),
// as an execution on copies of the inputs. `repeats` runs the network that many times back to back, each layer's
// profile time the fastest: the auto-tuner's measurement, with no trip through JS between runs (long enough for the
// pool's workers to fall asleep, so that every run would time their wake-up).
Execution ContextWrap::executionOf(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!context_) throw jsError(env, "ERR_DISPOSED", "the execution context has been disposed");
  if (info.Length() < 1 || !info[0].IsArray()) throw Napi::TypeError::New(env, "execute(inputs): inputs must be an array");
  Napi::Array list = info[0].As<Napi::Array>();
  std::vector<NamedBuffer> inputs;
  for (uint32_t i = 0; i < list.Length(); i++) {
    Napi::Value v = list.Get(i);
    if (!v.IsObject()) throw Napi::TypeError::New(env, "execute: input " + std::to_string(i) + " is not an object");
    Napi::Object o = v.As<Napi::Object>();
    Napi::Value name = o.Get("name"), data = o.Get("data"), shape = o.Get("shape");
    if (!name.IsString() || !data.IsTypedArray() || data.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array || !shape.IsArray()) {
      throw Napi::TypeError::New(env, "execute: input " + std::to_string(i) + " must be { name: string, data: Float32Array, shape: number[] }");
    }
    NamedBuffer b;
    b.name = name.As<Napi::String>().Utf8Value();
    Napi::Array dims = shape.As<Napi::Array>();
    if (dims.Length() > 8) throw Napi::RangeError::New(env, "execute: input '" + b.name + "' has more than 8 dimensions");
    for (uint32_t d = 0; d < dims.Length(); d++) {
      Napi::Value dim = dims.Get(d);
      double value = dim.IsNumber() ? dim.As<Napi::Number>().DoubleValue() : -1;
      if (!(value >= 1 && value <= 9.0e15) || value != static_cast<double>(static_cast<int64_t>(value))) {
        throw Napi::RangeError::New(env, "execute: input '" + b.name + "' has a dimension that is not a positive integer");
      }
      b.buffer.shape.push_back(static_cast<int64_t>(value));
    }
    Napi::Float32Array array = data.As<Napi::Float32Array>();
    b.buffer.data = context_->takeBuffer(array.ElementLength());
    std::memcpy(b.buffer.data.data(), array.Data(), array.ElementLength() * sizeof(float));
    inputs.push_back(std::move(b));
  }
  const bool profile = info.Length() > 1 && info[1].ToBoolean().Value();
  const double repeats = info.Length() > 2 && info[2].IsNumber() ? info[2].As<Napi::Number>().DoubleValue() : 1;
  if (!(repeats >= 1 && repeats <= 1000)) throw Napi::RangeError::New(env, "execute: repeats must be from 1 to 1000");
  return Execution(context_, std::move(inputs), profile, static_cast<int>(repeats));
}

// execute(...) → Promise<{ outputs, profile? }>
Napi::Value ContextWrap::execute(const Napi::CallbackInfo& info) {
  Execution execution = executionOf(info);
  const bool here = context_->predictMilliseconds(execution.inputs()) < kInlineMilliseconds;
  auto* worker = new ExecuteWorker(info.Env(), std::move(execution));
  Napi::Promise promise = worker->promise();
  if (here) {
    worker->runHere();
    delete worker;
  } else {
    worker->Queue();
  }
  return promise;
}

// executeSync(...) → { outputs, profile? }, run on the calling (JS) thread.
Napi::Value ContextWrap::executeSync(const Napi::CallbackInfo& info) {
  Execution execution = executionOf(info);
  execution.run();
  if (execution.failed()) throw execution.error(info.Env());
  return execution.result(info.Env());
}

void ContextWrap::dispose(const Napi::CallbackInfo&) { context_.reset(); }

}  // namespace netdef
