#pragma once
#include <napi.h>

namespace netdef {

// The TensorRT backend's JS surface (only in addons built with NETDEF_WITH_TENSORRT):
//   tensorrtBuild(plan, config, onProgress) → { promise: Promise<{ engine, timingCache, target }>, cancel() }
//   TensorRTEngine.deserialize(bytes) → Promise<TensorRTEngine>; engine.execute(inputs); engine.refit(weights)
//   tensorrtTarget() → { tensorrtVersion, computeCapability }
void defineTensorRT(Napi::Env env, Napi::Object exports);

}  // namespace netdef
