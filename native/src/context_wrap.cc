#include "context_wrap.h"

#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>

#include "addon_errors.h"
#include "output_arrays.h"

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

  // { outputs: [{ name, data, shape }], profile? }; the output buffers go back to the context's pool. `recycled`:
  // the arrays' memory from recycledArrayBuffer (an execution settled from the context's thread), or V8's own (on
  // the JS thread: recycled blocks come back only when the event loop turns, which a loop of executions that never
  // leave the JS thread does not let it do).
  Napi::Object result(Napi::Env env, bool recycled) {
    Napi::Object result = Napi::Object::New(env);
    Napi::Array outputs = Napi::Array::New(env, outputs_.size());
    for (size_t i = 0; i < outputs_.size(); i++) {
      NamedBuffer& o = outputs_[i];
      Napi::Object item = Napi::Object::New(env);
      item.Set("name", o.name);
      const size_t count = static_cast<size_t>(volume(o.buffer.shape));
      const bool integers = isInteger(o.buffer.storage);
      const size_t bytes = count * (integers ? sizeof(int64_t) : sizeof(float));
      Napi::ArrayBuffer memory = recycled ? recycledArrayBuffer(env, bytes, o.buffer.data.data()) : Napi::ArrayBuffer::New(env, bytes);
      if (!recycled && bytes) std::memcpy(memory.Data(), o.buffer.data.data(), bytes);
      if (integers) item.Set("data", Napi::BigInt64Array::New(env, count, memory, 0));
      else item.Set("data", Napi::Float32Array::New(env, count, memory, 0));
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
      NamedBuffer c{b.name, {b.buffer.shape, context_->takeBuffer(b.buffer.data.size()), b.buffer.storage}};
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

// One execution and the promise it settles.
struct Job {
  Execution execution;
  Napi::Promise::Deferred deferred;

  void settle(Napi::Env env, bool recycled) {
    if (execution.failed()) deferred.Reject(execution.error(env).Value());
    else deferred.Resolve(execution.result(env, recycled));
  }
};

// Executions predicted shorter than this run on the JS thread: handing one to another thread and back costs
// 60–200 µs on a small VM (two thread wake-ups), as long as a LeNet inference itself, while blocking the event loop
// for under half a millisecond is harmless. Longer ones, and every first one, run on the context's thread.
constexpr double kInlineMilliseconds = 0.5;

}  // namespace

// The context's own thread, where its longer executions run one after another (as on a TensorRT context's stream),
// each settling its promise back on the JS thread. The same thread from one execution to the next, so the kernels'
// thread-local scratch buffers stay in its core's caches: on libuv's four workers taking turns, mobilenet_v2 at
// batch 1 ran 6–12 % slower than on the JS thread. It ends after a second without work (and starts again with the
// next execution), so contexts left undisposed hold no threads until they are collected.
class ContextThread {
 public:
  explicit ContextThread(Napi::Env env) : shared_(std::make_shared<Shared>()) {
    settler_ = Settler::New(env, "netdef.execute", 0, 1, new std::shared_ptr<Shared>(shared_), [](Napi::Env, void*, std::shared_ptr<Shared>* shared) {
      {
        std::lock_guard<std::mutex> lock((*shared)->mutex);
        (*shared)->finalized = true;
      }
      delete shared;
    });
    shared_->handle = settler_;
    settler_.Unref(env);  // referenced only while an execution is under way (the event loop waits for it then)
  }
  // On the JS thread: the queued executions finish (their promises settle later), then the thread ends.
  ~ContextThread() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    wake_.notify_one();
    if (thread_.joinable()) thread_.join();
    std::lock_guard<std::mutex> lock(shared_->mutex);
    if (!shared_->finalized) settler_.Release();
  }

  void run(Napi::Env env, std::unique_ptr<Job> job) {
    if (shared_->pending++ == 0) settler_.Ref(env);
    std::lock_guard<std::mutex> lock(mutex_);
    queue_.push_back(std::move(job));
    if (running_) return wake_.notify_one();
    if (thread_.joinable()) thread_.join();  // ended idle (or about to)
    running_ = true;
    thread_ = std::thread([this] { loop(); });
  }

 private:
  // What the JS thread's callbacks share with this thread: the executions under way (the handle is unreferenced when
  // none is), and whether Node has finalized the threadsafe function (as it does when the environment is torn down,
  // however many threads hold it): after that this thread must not touch it.
  struct Shared {
    std::mutex mutex;
    bool finalized = false;
    napi_threadsafe_function handle = nullptr;
    int pending = 0;
  };
  static void settle(Napi::Env env, Napi::Function, std::shared_ptr<Shared>* shared, Job* done) {
    std::unique_ptr<Job> job(done);
    if (env == nullptr) return;  // the environment is being torn down: nothing to settle
    if (--(*shared)->pending == 0) napi_unref_threadsafe_function(env, (*shared)->handle);
    job->settle(env, true);
  }
  using Settler = Napi::TypedThreadSafeFunction<std::shared_ptr<Shared>, Job, &ContextThread::settle>;

  void loop() {
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      wake_.wait_for(lock, std::chrono::seconds(1), [&] { return stop_ || !queue_.empty(); });
      if (queue_.empty()) break;  // stopped, or idle for a second
      std::unique_ptr<Job> job = std::move(queue_.front());
      queue_.pop_front();
      lock.unlock();
      job->execution.run();
      {
        std::lock_guard<std::mutex> settling(shared_->mutex);
        if (!shared_->finalized && settler_.NonBlockingCall(job.get()) == napi_ok) job.release();  // settled on the JS thread
      }
      lock.lock();
    }
    running_ = false;
  }

  std::shared_ptr<Shared> shared_;
  Settler settler_;
  std::mutex mutex_;  // guards the queue, stop_ and running_
  std::condition_variable wake_;
  std::deque<std::unique_ptr<Job>> queue_;
  bool stop_ = false, running_ = false;
  std::thread thread_;
};

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
    const napi_typedarray_type type = data.IsTypedArray() ? data.As<Napi::TypedArray>().TypedArrayType() : napi_float64_array;
    if (!name.IsString() || (type != napi_float32_array && type != napi_int32_array && type != napi_bigint64_array) || !shape.IsArray()) {
      throw Napi::TypeError::New(env, "execute: input " + std::to_string(i) + " must be { name: string, data: Float32Array | Int32Array | BigInt64Array, shape: number[] }");
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
    // Integers arrive as int32 or int64 and are held as int64 (the execution then checks them against the input's type).
    Napi::TypedArray array = data.As<Napi::TypedArray>();
    const size_t count = array.ElementLength();
    b.buffer.storage = type == napi_float32_array ? Storage::kFloat32 : Storage::kInt64;
    b.buffer.data = context_->takeBuffer(slotsFor(static_cast<int64_t>(count), b.buffer.storage));
    if (type == napi_float32_array) std::memcpy(b.buffer.data.data(), data.As<Napi::Float32Array>().Data(), count * sizeof(float));
    else if (type == napi_bigint64_array) std::memcpy(b.buffer.integers(), data.As<Napi::BigInt64Array>().Data(), count * sizeof(int64_t));
    else std::copy_n(data.As<Napi::Int32Array>().Data(), count, b.buffer.integers());
    inputs.push_back(std::move(b));
  }
  const bool profile = info.Length() > 1 && info[1].ToBoolean().Value();
  const double repeats = info.Length() > 2 && info[2].IsNumber() ? info[2].As<Napi::Number>().DoubleValue() : 1;
  if (!(repeats >= 1 && repeats <= 1000)) throw Napi::RangeError::New(env, "execute: repeats must be from 1 to 1000");
  return Execution(context_, std::move(inputs), profile, static_cast<int>(repeats));
}

// execute(...) → Promise<{ outputs, profile? }>
Napi::Value ContextWrap::execute(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto job = std::make_unique<Job>(Job{executionOf(info), Napi::Promise::Deferred::New(env)});
  Napi::Promise promise = job->deferred.Promise();
  if (context_->predictMilliseconds(job->execution.inputs()) < kInlineMilliseconds) {
    job->execution.run();
    job->settle(env, false);
    return promise;
  }
  if (!thread_) thread_ = std::make_unique<ContextThread>(env);
  thread_->run(env, std::move(job));
  return promise;
}

// executeSync(...) → { outputs, profile? }, run on the calling (JS) thread.
Napi::Value ContextWrap::executeSync(const Napi::CallbackInfo& info) {
  Execution execution = executionOf(info);
  execution.run();
  if (execution.failed()) throw execution.error(info.Env());
  return execution.result(info.Env(), false);
}

void ContextWrap::dispose(const Napi::CallbackInfo&) {
  thread_.reset();
  context_.reset();
}

ContextWrap::~ContextWrap() = default;

}  // namespace netdef
