#pragma once
#include <cstddef>
#include <cstdint>

#include "tensorrt/recording_api.h"

namespace netdef {

// Lowers a plan's graph into the recording stand-in; the recorder holds every call the lowering made.
void recordLowering(const uint8_t* plan, size_t size, recording::Recorder& recorder);

}  // namespace netdef
