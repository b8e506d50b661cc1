#include <napi.h>

#include "context_wrap.h"
#include "cpu_features.h"
#include "thread_pool.h"
#include "kernels/int8_gemm.h"
#include "engine_wrap.h"
#include "tensorrt/record_lowering.h"
#include "tensorrt/reference_wrap.h"
#include "addon_errors.h"
#include "tensorrt/lowering.h"
#ifdef NETDEF_WITH_TENSORRT
#include "tensorrt/tensorrt_wrap.h"
#include "kernels/gemm/gemm.h"
#endif

namespace netdef {

namespace {

Napi::Value cpuFeaturesJs(const Napi::CallbackInfo& info) {
  auto features = cpuFeatures();
  Napi::Array out = Napi::Array::New(info.Env(), features.size());
  for (size_t i = 0; i < features.size(); i++) out.Set(i, features[i]);
  return out;
}

// recordTensorRTLowering(plan) → { calls: [{ target, method, args }], weights: [{ owner, values }] }
Napi::Value recordTensorRTLoweringJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsTypedArray()) throw Napi::TypeError::New(env, "recordTensorRTLowering(plan): plan must be a Uint8Array");
  Napi::TypedArray array = info[0].As<Napi::TypedArray>();
  recording::Recorder recorder;
  try {
    recordLowering(static_cast<const uint8_t*>(array.ArrayBuffer().Data()) + array.ByteOffset(), array.ByteLength(), recorder);
  } catch (const PlanError& e) {
    throw jsError(env, "ERR_PLAN", e.what());
  } catch (const LoweringError& e) {
    throw jsError(env, "ERR_LOWERING", e.what());
  } catch (const std::exception& e) {
    throw jsError(env, "ERR_NATIVE", e.what());
  }
  Napi::Array calls = Napi::Array::New(env, recorder.calls.size());
  for (size_t i = 0; i < recorder.calls.size(); i++) {
    Napi::Object c = Napi::Object::New(env);
    c.Set("target", recorder.calls[i].target);
    c.Set("method", recorder.calls[i].method);
    c.Set("args", recorder.calls[i].args);
    calls.Set(i, c);
  }
  Napi::Array weights = Napi::Array::New(env, recorder.weightValues.size());
  for (size_t i = 0; i < recorder.weightValues.size(); i++) {
    Napi::Object w = Napi::Object::New(env);
    w.Set("owner", recorder.weightValues[i].first);
    const auto& v = recorder.weightValues[i].second;
    Napi::Float32Array values = Napi::Float32Array::New(env, v.size());
    std::copy(v.begin(), v.end(), values.Data());
    w.Set("values", values);
    weights.Set(i, w);
  }
  Napi::Object result = Napi::Object::New(env);
  result.Set("calls", calls);
  result.Set("weights", weights);
  return result;
}

// planSchema() → { format, kinds: { [kind]: [{ name, type, optional, values? }] }, tactics }: the schema this addon
// was compiled with, for the test that checks it against plan/schema.ts.
Napi::Value planSchemaJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  static const char* const kTypes[] = {"number", "integer", "numbers", "integers", "boolean", "string"};
  Napi::Object kinds = Napi::Object::New(env);
  for (const auto& kind : schema::kKinds) {
    Napi::Array fields = Napi::Array::New(env, kind.fieldCount);
    for (size_t i = 0; i < kind.fieldCount; i++) {
      const schema::Field& f = kind.fields[i];
      Napi::Object field = Napi::Object::New(env);
      field.Set("name", f.name);
      field.Set("type", kTypes[static_cast<int>(f.type)]);
      field.Set("optional", f.optional);
      if (f.values) {
        Napi::Array values = Napi::Array::New(env, f.valueCount);
        for (size_t v = 0; v < f.valueCount; v++) values.Set(v, f.values[v]);
        field.Set("values", values);
      }
      fields.Set(i, field);
    }
    kinds.Set(kind.name, fields);
  }
  Napi::Array tactics = Napi::Array::New(env);
  for (const char* tactic : schema::kConvolutionTactics) tactics.Set(tactics.Length(), tactic);
  Napi::Object result = Napi::Object::New(env);
  result.Set("format", schema::kPlanFormat);
  result.Set("kinds", kinds);
  result.Set("tactics", tactics);
  return result;
}

}  // namespace

}  // namespace netdef

static Napi::Object initNetdef(Napi::Env env, Napi::Object exports) {
  using namespace netdef;
  exports.Set("Engine", EngineWrap::define(env));
  exports.Set("ExecutionContext", ContextWrap::define(env));
  exports.Set("cpuFeatures", Napi::Function::New(env, cpuFeaturesJs));
  // The kernel families an engine of these options runs.
  exports.Set("int8KernelName", Napi::Function::New(env, [](const Napi::CallbackInfo& info) -> Napi::Value {
    const EngineOptions options = engineOptions(info.Env(), info.Length() > 0 ? info[0] : info.Env().Undefined());
    const OptionsScope scope(options);
    return Napi::String::New(info.Env(), int8KernelName());
  }));
  exports.Set("gemmTileName", Napi::Function::New(env, [](const Napi::CallbackInfo& info) -> Napi::Value {
    const EngineOptions options = engineOptions(info.Env(), info.Length() > 0 ? info[0] : info.Env().Undefined());
    const OptionsScope scope(options);
    return Napi::String::New(info.Env(), wideTiles() ? "12x16" : "6x16");
  }));
  exports.Set("recordTensorRTLowering", Napi::Function::New(env, recordTensorRTLoweringJs));
  exports.Set("referenceTensorRTLowering", Napi::Function::New(env, referenceTensorRTLoweringJs));
  exports.Set("planSchema", Napi::Function::New(env, planSchemaJs));
  exports.Set("takeMostLoopThreads", Napi::Function::New(env, [](const Napi::CallbackInfo& info) -> Napi::Value {
    return Napi::Number::New(info.Env(), static_cast<double>(takeMostLoopThreads()));
  }));
#ifdef NETDEF_WITH_TENSORRT
  defineTensorRT(env, exports);
  exports.Set("tensorrt", Napi::Boolean::New(env, true));
#else
  exports.Set("tensorrt", Napi::Boolean::New(env, false));
#endif
  return exports;
}

NODE_API_MODULE(netdef, initNetdef)
