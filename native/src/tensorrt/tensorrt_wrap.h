#pragma once
#include <napi.h>

namespace netdef {

// The TensorRT backend's JS surface (only in addons built with NETDEF_WITH_TENSORRT):
//   tensorrtBuild(plan, config, onProgress) → { promise: Promise<{ engine, timingCache, target, warnings }>, cancel() }
//   TensorRTEngine.deserialize(bytes) → Promise<TensorRTEngine>; engine.createContext(profile) → Promise<context>;
//   context.execute(inputs) (each { name, dtype, data, shape }, data in the dtype's bytes); engine.refit(weights)
//   tensorrtTarget() → { tensorrtVersion, computeCapability }
void defineTensorRT(Napi::Env env, Napi::Object exports);

}  // namespace netdef
