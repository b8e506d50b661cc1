#pragma once
#include <napi.h>

namespace netdef {

// referenceTensorRTLowering(plan) → the network the lowering defines, as data for tensorrt/reference/.
Napi::Value referenceTensorRTLoweringJs(const Napi::CallbackInfo& info);

}  // namespace netdef
