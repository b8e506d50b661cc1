#include <napi.h>

#include "context_wrap.h"
#include "cpu_features.h"
#include "engine_wrap.h"

namespace netdef {

namespace {

Napi::Value cpuFeaturesJs(const Napi::CallbackInfo& info) {
  auto features = cpuFeatures();
  Napi::Array out = Napi::Array::New(info.Env(), features.size());
  for (size_t i = 0; i < features.size(); i++) out.Set(i, features[i]);
  return out;
}

}  // namespace

}  // namespace netdef

static Napi::Object initNetdef(Napi::Env env, Napi::Object exports) {
  using namespace netdef;
  exports.Set("Engine", EngineWrap::define(env));
  exports.Set("ExecutionContext", ContextWrap::define(env));
  exports.Set("cpuFeatures", Napi::Function::New(env, cpuFeaturesJs));
#ifdef NETDEF_WITH_TENSORRT
  exports.Set("tensorrt", Napi::Boolean::New(env, true));
#else
  exports.Set("tensorrt", Napi::Boolean::New(env, false));
#endif
  return exports;
}

NODE_API_MODULE(netdef, initNetdef)
