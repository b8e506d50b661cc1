#include "engine_wrap.h"

#include <algorithm>

#include <vector>

#include "addon_errors.h"
#include "context_wrap.h"

namespace netdef {

namespace {

// Parses, validates and compiles a plan on a worker thread; resolves to an EngineWrap.
class DeserializeWorker : public Napi::AsyncWorker {
 public:
  DeserializeWorker(Napi::Env env, std::vector<uint8_t> plan, EngineOptions options, Napi::FunctionReference& constructor)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), plan_(std::move(plan)), options_(std::move(options)), constructor_(constructor) {}
  Napi::Promise promise() { return deferred_.Promise(); }

  void Execute() override {
    try {
      engine_ = Engine::fromPlan(plan_.data(), plan_.size(), options_);
    } catch (const PlanError& e) {
      code_ = "ERR_PLAN";
      SetError(workerError(e));
    } catch (const std::exception& e) {
      code_ = "ERR_NATIVE";
      SetError(workerError(e));
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
  EngineOptions options_;
  Napi::FunctionReference& constructor_;
  std::shared_ptr<const Engine> engine_;
  const char* code_ = "ERR_NATIVE";
};

}  // namespace

static Napi::FunctionReference* gEngineConstructor = nullptr;

// The engine options from JS ({ threads, channelBlocked, fuseProducers, halfStorage, bfloat16Products, wideTiles,
// int8Kernel }, each optional: the TypeScript side has filled them in and checked them), defaults for the rest.
EngineOptions engineOptions(Napi::Env env, Napi::Value value) {
  EngineOptions options;
  if (value.IsUndefined()) return options;
  if (!value.IsObject()) throw Napi::TypeError::New(env, "deserialize(plan, options): options must be an object");
  Napi::Object o = value.As<Napi::Object>();
  auto flag = [&](const char* key, bool& out) { if (o.Has(key) && o.Get(key).IsBoolean()) out = o.Get(key).As<Napi::Boolean>().Value(); };
  if (o.Has("threads") && o.Get("threads").IsNumber()) options.threads = std::max(0, o.Get("threads").As<Napi::Number>().Int32Value());
  flag("channelBlocked", options.channelBlocked);
  flag("fuseProducers", options.fuseProducers);
  flag("halfStorage", options.halfStorage);
  flag("wideTiles", options.wideTiles);
  if (o.Has("bfloat16Products") && o.Get("bfloat16Products").IsString()) {
    const std::string mode = o.Get("bfloat16Products").As<Napi::String>().Utf8Value();
    options.bfloat16Products = mode == "on" ? EngineOptions::Toggle::kOn : mode == "off" ? EngineOptions::Toggle::kOff : EngineOptions::Toggle::kAuto;
  }
  if (o.Has("int8Kernel") && o.Get("int8Kernel").IsString()) {
    const std::string cap = o.Get("int8Kernel").As<Napi::String>().Utf8Value();
    options.int8Kernel = cap == "auto" ? "" : cap;
  }
  return options;
}

Napi::Function EngineWrap::define(Napi::Env env) {
  Napi::Function fn = DefineClass(env, "Engine", {
      StaticMethod<&EngineWrap::deserialize>("deserialize"),
      InstanceMethod<&EngineWrap::header>("header"),
      InstanceMethod<&EngineWrap::io>("io"),
      InstanceMethod<&EngineWrap::halfStorage>("halfStorage"),
      InstanceMethod<&EngineWrap::channelBlocked>("channelBlocked"),
      InstanceMethod<&EngineWrap::writtenIntoConcatenations>("writtenIntoConcatenations"),
      InstanceMethod<&EngineWrap::bfloat16Products>("bfloat16Products"),
      InstanceMethod<&EngineWrap::kernelNames>("kernelNames"),
      InstanceMethod<&EngineWrap::shapesAt>("shapesAt"),
      InstanceMethod<&EngineWrap::createContext>("createContext"),
      InstanceMethod<&EngineWrap::refit>("refit"),
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
  auto* worker = new DeserializeWorker(env, std::move(plan), engineOptions(env, info.Length() > 1 ? info[1] : env.Undefined()), *gEngineConstructor);
  Napi::Promise promise = worker->promise();
  worker->Queue();  // the worker deletes itself when done
  return promise;
}

EngineWrap::EngineWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<EngineWrap>(info) {
  if (info.Length() != 1 || !info[0].IsExternal()) throw Napi::TypeError::New(info.Env(), "Engine cannot be constructed directly: use Engine.deserialize(plan)");
  slot_ = std::make_shared<EngineSlot>(*info[0].As<Napi::External<std::shared_ptr<const Engine>>>().Data());
}

// The engine now in the slot (a refit may swap it), or an ERR_DISPOSED error.
std::shared_ptr<const Engine> EngineWrap::engine(Napi::Env env) const {
  if (!slot_) throw jsError(env, "ERR_DISPOSED", "the engine has been disposed");
  return slot_->get();
}

Napi::Value EngineWrap::header(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), engine(info.Env())->graph().header); }

// { inputs, outputs }: each { name, dtype, shape } as the plan's body (not its header) has them.
Napi::Value EngineWrap::io(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::shared_ptr<const Engine> live = engine(env);
  const Graph& g = live->graph();
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

// { bfloat16, float16 }: the names of the tensors held in each 16-bit storage between layers.
Napi::Value EngineWrap::halfStorage(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::shared_ptr<const Engine> live = engine(env);
  Napi::Array bfloat16 = Napi::Array::New(env), float16 = Napi::Array::New(env);
  for (size_t t = 0; t < live->graph().tensors.size(); t++) {
    const Storage storage = live->storage(static_cast<int>(t));
    if (!is16Bit(storage)) continue;
    Napi::Array& list = storage == Storage::kBfloat16 ? bfloat16 : float16;
    list.Set(list.Length(), live->graph().tensors[t].name);
  }
  Napi::Object result = Napi::Object::New(env);
  result.Set("bfloat16", bfloat16);
  result.Set("float16", float16);
  return result;
}

// { tensors, layers }: the names of the tensors held channel-blocked between layers, and of the layers reading or
// writing one (which run the blocked kernels: engine.ts says which).
Napi::Value EngineWrap::channelBlocked(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::shared_ptr<const Engine> live = engine(env);
  const Graph& g = live->graph();
  Napi::Array tensors = Napi::Array::New(env), layers = Napi::Array::New(env);
  for (size_t t = 0; t < g.tensors.size(); t++) {
    if (live->layout(static_cast<int>(t)) == Layout::kBlocked8) tensors.Set(tensors.Length(), g.tensors[t].name);
  }
  for (size_t i = 0; i < g.ops.size(); i++) if (live->runsBlocked(i)) layers.Set(layers.Length(), g.ops[i].name);
  Napi::Object result = Napi::Object::New(env);
  result.Set("tensors", tensors);
  result.Set("layers", layers);
  return result;
}

// The names of the tensors that their producers write into the output of the concatenation reading them.
Napi::Value EngineWrap::writtenIntoConcatenations(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::shared_ptr<const Engine> live = engine(env);
  const Graph& g = live->graph();
  Napi::Array tensors = Napi::Array::New(env);
  for (size_t t = 0; t < g.tensors.size(); t++) {
    if (live->placement(static_cast<int>(t)).whole >= 0) tensors.Set(tensors.Length(), g.tensors[t].name);
  }
  return tensors;
}

// shapesAt({ input: shape, … }) → { fusedAway, largest: { tensor, bytes } } at these input shapes: the names of the
// tensors never allocated (the outputs of the layers a later one computes along with its own, Engine::fusedUntil,
// as an execution decides) and the largest tensor with its bytes in its storage — shapes only, nothing allocated.
// Each layer's output shapes are checked against the plan's declared ones on the way.
Napi::Value EngineWrap::shapesAt(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::shared_ptr<const Engine> live = engine(env);
  if (info.Length() < 1 || !info[0].IsObject()) throw Napi::TypeError::New(env, "shapesAt(shapes): shapes must be an object of input shapes");
  const Graph& g = live->graph();
  Napi::Object given = info[0].As<Napi::Object>();
  std::vector<Shape> shapes(g.tensors.size());
  for (int t : g.inputs) {
    Napi::Value v = given.Get(g.tensors[t].name);
    if (!v.IsArray()) throw Napi::TypeError::New(env, "shapesAt: no shape for input '" + g.tensors[t].name + "'");
    Napi::Array dims = v.As<Napi::Array>();
    for (uint32_t d = 0; d < dims.Length(); d++) shapes[t].push_back(static_cast<int64_t>(dims.Get(d).ToNumber().DoubleValue()));
  }
  Napi::Array names = Napi::Array::New(env);
  std::string largest;
  double largestBytes = 0;  // in double: an absurd plan's shapes may multiply past int64
  try {
    for (size_t i = 0, until = 0; i < g.ops.size(); i++) {
      std::vector<Shape> in;
      for (int t : g.ops[i].inputs) in.push_back(shapes[t]);
      const std::vector<Shape> out = live->kernels()[i]->outputShapes(in);
      for (size_t o = 0; o < out.size() && o < g.ops[i].outputs.size(); o++) {
        // The plan's declared shapes are trusted by later decisions (channel blocking by the declared channel count):
        // each must be what the layer gives.
        const TensorInfo& declared = g.tensors[g.ops[i].outputs[o]];
        bool same = declared.dims.size() == out[o].size();
        for (size_t d = 0; same && d < out[o].size(); d++) same = declared.dims[d] < 0 || declared.dims[d] == out[o][d];
        if (!same) {
          throw PlanError(g.ops[i].name + " (" + g.ops[i].kind + "): tensor '" + declared.name + "' is declared " + formatShape(declared.dims) + " but the layer gives " + formatShape(out[o]));
        }
        shapes[g.ops[i].outputs[o]] = out[o];
        double values = 1;
        for (int64_t d : out[o]) values *= static_cast<double>(d);
        const Storage storage = live->storage(g.ops[i].outputs[o]);
        const double bytes = values * (isInteger(storage) ? 8 : is16Bit(storage) ? 2 : 4);
        if (bytes > largestBytes) { largestBytes = bytes; largest = declared.name; }
      }
      if (until <= i && !out.empty()) until = static_cast<size_t>(std::max(0, live->fusedUntil(i, out[0])));
      if (until > i) for (int t : g.ops[i].outputs) names.Set(names.Length(), g.tensors[t].name);
    }
  } catch (const std::exception& e) {
    throw jsError(env, "ERR_EXECUTION", std::string("shapesAt: ") + e.what());
  }
  Napi::Object result = Napi::Object::New(env), top = Napi::Object::New(env);
  top.Set("tensor", largest);
  top.Set("bytes", largestBytes);
  result.Set("fusedAway", names);
  result.Set("largest", top);
  return result;
}

// The names of the layers that multiply in bfloat16, given the storage the engine chose for their inputs.
Napi::Value EngineWrap::bfloat16Products(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::shared_ptr<const Engine> live = engine(env);
  const Graph& g = live->graph();
  Napi::Array layers = Napi::Array::New(env);
  for (size_t i = 0; i < g.ops.size(); i++) {
    if (!g.ops[i].inputs.empty() && live->kernels()[i]->multipliesInBfloat16(live->storage(g.ops[i].inputs[0]))) layers.Set(layers.Length(), g.ops[i].name);
  }
  return layers;
}

// { layer: kernel } for the layers whose kernel names the implementation it runs (Kernel::kernelName).
Napi::Value EngineWrap::kernelNames(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::shared_ptr<const Engine> live = engine(env);
  const Graph& g = live->graph();
  Napi::Object names = Napi::Object::New(env);
  for (size_t i = 0; i < g.ops.size(); i++) {
    const std::string name = live->kernels()[i]->kernelName();
    if (!name.empty()) names.Set(g.ops[i].name, name);
  }
  return names;
}

Napi::Value EngineWrap::createContext(const Napi::CallbackInfo& info) {
  if (!slot_) throw jsError(info.Env(), "ERR_DISPOSED", "the engine has been disposed");
  return ContextWrap::create(info.Env(), slot_);
}

namespace {

// Compiles the plan carrying the new weights off the JS thread, then swaps it in on the JS thread.
class RefitWorker : public Napi::AsyncWorker {
 public:
  RefitWorker(Napi::Env env, std::shared_ptr<EngineSlot> slot, std::vector<uint8_t> plan)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), slot_(std::move(slot)), plan_(std::move(plan)) {}
  Napi::Promise promise() { return deferred_.Promise(); }
  void Execute() override {
    try {
      slot_->replace(Engine::fromPlan(plan_.data(), plan_.size(), slot_->get()->options()));
    } catch (const std::exception& e) {
      SetError(workerError(e));
    }
  }
  void OnOK() override { deferred_.Resolve(Env().Undefined()); }
  void OnError(const Napi::Error& e) override { deferred_.Reject(jsError(Env(), "ERR_PLAN", e.Message()).Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::shared_ptr<EngineSlot> slot_;
  std::vector<uint8_t> plan_;
};

}  // namespace

// refit(plan) → Promise<void>: the same network with new weights; contexts pick it up at their next execution.
Napi::Value EngineWrap::refit(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!slot_) throw jsError(env, "ERR_DISPOSED", "the engine has been disposed");
  if (info.Length() < 1 || !info[0].IsTypedArray()) throw Napi::TypeError::New(env, "refit(plan): plan must be a Uint8Array");
  Napi::TypedArray array = info[0].As<Napi::TypedArray>();
  const uint8_t* bytes = static_cast<const uint8_t*>(array.ArrayBuffer().Data()) + array.ByteOffset();
  auto* worker = new RefitWorker(env, slot_, std::vector<uint8_t>(bytes, bytes + array.ByteLength()));
  Napi::Promise promise = worker->promise();
  worker->Queue();
  return promise;
}

void EngineWrap::dispose(const Napi::CallbackInfo&) { slot_.reset(); }

}  // namespace netdef
