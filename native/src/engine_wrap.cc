#include "engine_wrap.h"

#include <vector>

#include "addon_errors.h"
#include "context_wrap.h"

namespace netdef {

namespace {

// Parses, validates and compiles a plan on a worker thread; resolves to an EngineWrap.
class DeserializeWorker : public Napi::AsyncWorker {
 public:
  DeserializeWorker(Napi::Env env, std::vector<uint8_t> plan, Napi::FunctionReference& constructor)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), plan_(std::move(plan)), constructor_(constructor) {}
  Napi::Promise promise() { return deferred_.Promise(); }

  void Execute() override {
    try {
      engine_ = Engine::fromPlan(plan_.data(), plan_.size());
    } catch (const PlanError& e) {
      code_ = "ERR_PLAN";
      SetError(e.what());
    } catch (const std::exception& e) {
      code_ = "ERR_NATIVE";
      SetError(e.what());
    }
  }
  void OnOK() override {
    // The constructor takes the engine through an External that lives only for this call.
    deferred_.Resolve(constructor_.New({Napi::External<std::shared_ptr<const Engine>>::New(Env(), &engine_)}));
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(jsError(Env(), code_, e.Message()).Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::vector<uint8_t> plan_;
  Napi::FunctionReference& constructor_;
  std::shared_ptr<const Engine> engine_;
  const char* code_ = "ERR_NATIVE";
};

}  // namespace

static Napi::FunctionReference* gEngineConstructor = nullptr;

Napi::Function EngineWrap::define(Napi::Env env) {
  Napi::Function fn = DefineClass(env, "Engine", {
      StaticMethod<&EngineWrap::deserialize>("deserialize"),
      InstanceMethod<&EngineWrap::header>("header"),
      InstanceMethod<&EngineWrap::io>("io"),
      InstanceMethod<&EngineWrap::createContext>("createContext"),
      InstanceMethod<&EngineWrap::dispose>("dispose"),
  });
  gEngineConstructor = new Napi::FunctionReference(Napi::Persistent(fn));
  env.AddCleanupHook([] { delete gEngineConstructor; gEngineConstructor = nullptr; });
  return fn;
}

Napi::Value EngineWrap::deserialize(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsTypedArray()) throw Napi::TypeError::New(env, "deserialize(plan): plan must be a Uint8Array");
  Napi::TypedArray array = info[0].As<Napi::TypedArray>();
  const uint8_t* bytes = static_cast<const uint8_t*>(array.ArrayBuffer().Data()) + array.ByteOffset();
  // Copied: the caller may reuse its buffer while the worker validates this one.
  std::vector<uint8_t> plan(bytes, bytes + array.ByteLength());
  auto* worker = new DeserializeWorker(env, std::move(plan), *gEngineConstructor);
  Napi::Promise promise = worker->promise();
  worker->Queue();  // the worker deletes itself when done
  return promise;
}

EngineWrap::EngineWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<EngineWrap>(info) {
  if (info.Length() != 1 || !info[0].IsExternal()) throw Napi::TypeError::New(info.Env(), "Engine cannot be constructed directly: use Engine.deserialize(plan)");
  engine_ = *info[0].As<Napi::External<std::shared_ptr<const Engine>>>().Data();
}

Napi::Value EngineWrap::header(const Napi::CallbackInfo& info) {
  if (!engine_) throw jsError(info.Env(), "ERR_DISPOSED", "the engine has been disposed");
  return Napi::String::New(info.Env(), engine_->graph().header);
}

// { inputs, outputs }: each { name, dtype, shape } as the plan's body (not its header) has them.
Napi::Value EngineWrap::io(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!engine_) throw jsError(env, "ERR_DISPOSED", "the engine has been disposed");
  const Graph& g = engine_->graph();
  auto describe = [&](const std::string& name, int id) {
    Napi::Object t = Napi::Object::New(env);
    t.Set("name", name);
    t.Set("dtype", g.tensors[id].dtype);
    Napi::Array shape = Napi::Array::New(env, g.tensors[id].dims.size());
    for (size_t d = 0; d < g.tensors[id].dims.size(); d++) shape.Set(d, Napi::Number::New(env, static_cast<double>(g.tensors[id].dims[d])));
    t.Set("shape", shape);
    return t;
  };
  Napi::Array inputs = Napi::Array::New(env, g.inputs.size());
  for (size_t i = 0; i < g.inputs.size(); i++) inputs.Set(i, describe(g.tensors[g.inputs[i]].name, g.inputs[i]));
  Napi::Array outputs = Napi::Array::New(env, g.outputs.size());
  for (size_t i = 0; i < g.outputs.size(); i++) outputs.Set(i, describe(g.outputs[i].first, g.outputs[i].second));
  Napi::Object result = Napi::Object::New(env);
  result.Set("inputs", inputs);
  result.Set("outputs", outputs);
  return result;
}

Napi::Value EngineWrap::createContext(const Napi::CallbackInfo& info) {
  if (!engine_) throw jsError(info.Env(), "ERR_DISPOSED", "the engine has been disposed");
  return ContextWrap::create(info.Env(), engine_);
}

void EngineWrap::dispose(const Napi::CallbackInfo&) { engine_.reset(); }

}  // namespace netdef
