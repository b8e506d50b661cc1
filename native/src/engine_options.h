#pragma once
#include <string>

namespace netdef {

// How an engine runs, chosen when it is loaded (Engine.deserialize's options; the TypeScript side fills what the
// caller leaves out from the documented environment defaults, docs/options.md). The kernels of an engine are made
// and run under its options: the calling thread holds them (OptionsScope), the pool's workers take the caller's for
// each loop.
struct EngineOptions {
  enum class Toggle { kAuto, kOn, kOff };
  int threads = 0;              // threads a parallel loop runs on, the caller's included; 0: the whole pool
  bool channelBlocked = true;   // tensors of 8k channels held channel-blocked between layers that take that layout
  bool fuseProducers = true;    // a layer computes the layers before it along with its own work
  bool halfStorage = true;      // 16-bit storage for tensors of 16-bit values
  Toggle bfloat16Products = Toggle::kAuto;  // bfloat16 pairs by VDPBF16PS: where faster, wherever the CPU has it, never
  bool wideTiles = true;        // 16-float GEMM tiles where the CPU has AVX-512 (else 8-float ones: the same bits)
  std::string int8Kernel;       // a cap on the INT8 kernel family: "" (the best the CPU has), "avxvnni", "avx2", "scalar"
};

// The options of the engine whose kernels the calling thread makes or runs (defaults outside any).
const EngineOptions& currentOptions();

// Holds `options` as the calling thread's for its lifetime (nested scopes restore the outer one).
class OptionsScope {
 public:
  explicit OptionsScope(const EngineOptions& options);
  ~OptionsScope();
  OptionsScope(const OptionsScope&) = delete;
  OptionsScope& operator=(const OptionsScope&) = delete;

 private:
  const EngineOptions* previous_;
};

}  // namespace netdef
