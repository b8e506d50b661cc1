#pragma once
#include <napi.h>

#include <cstddef>

namespace netdef {

// The typed array an execution's output is returned in, of `bytes` bytes: its memory is taken from a pool of blocks
// that earlier outputs returned when the garbage collector freed them, not freshly allocated. A fresh ArrayBuffer of
// a few MB per execution was fresh pages to fault in on every copy (squeeze-excitation at batch 8: 715 page faults,
// 7 ms of a 16 ms execution on a VM, its layers 8.7 ms). `copy` fills it.
Napi::ArrayBuffer recycledArrayBuffer(Napi::Env env, size_t bytes, const void* copy);

}  // namespace netdef
