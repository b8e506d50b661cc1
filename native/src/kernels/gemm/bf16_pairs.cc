// bfloat16 products in pairs (AVX-512 BF16's VDPBF16PS), and whether they are faster than float32 FMAs on this CPU.
#include <chrono>
#if defined(__x86_64__)
#include <immintrin.h>
#endif
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <stdexcept>

#include "engine_options.h"
#include "kernels/gemm/gemm.h"
#include "kernels/gemm/micro_kernel.h"
#include "thread_pool.h"

namespace netdef {

using namespace gemm_detail;

#if defined(__x86_64__)
namespace {

constexpr int kProbeChains = 12, kProbeSteps = 4000;
double secondsSince(std::chrono::steady_clock::time_point start) { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); }

// Seconds for kProbeSteps steps of kProbeChains independent chains of 16-lane instructions (VDPBF16PS: 32 products
// each; FMA: 16). The chains start from different values: identical ones were merged into one by the compiler, so
// the FMAs were timed as one chain's latency. (No lambdas: a lambda is compiled for the baseline target, where
// VDPBF16PS cannot be.)
__attribute__((target("avx2,fma,f16c,avx512f,avx512vl,avx512bw,avx512dq,avx512bf16"))) double timePairs(volatile float& sink) {
  __m512 acc[kProbeChains];
  for (int c = 0; c < kProbeChains; c++) acc[c] = _mm512_set1_ps(static_cast<float>(c + 1));
  __m512bh one = (__m512bh)_mm512_set1_epi16(0x3f80);
  const auto start = std::chrono::steady_clock::now();
  for (int s = 0; s < kProbeSteps; s++) {
#pragma GCC unroll 12
    for (int c = 0; c < kProbeChains; c++) acc[c] = _mm512_dpbf16_ps(acc[c], one, one);
    __asm__ volatile("" : "+v"(one));
  }
  const double seconds = secondsSince(start);
  for (int c = 0; c < kProbeChains; c++) sink = sink + acc[c][0];
  return seconds;
}
NETDEF_WIDE double timeFmas(volatile float& sink) {
  Vec16 acc[kProbeChains];
  for (int c = 0; c < kProbeChains; c++) acc[c] = Vec16{} + static_cast<float>(c + 1);
  Vec16 one = Vec16{} + 1.0f;
  const auto start = std::chrono::steady_clock::now();
  for (int s = 0; s < kProbeSteps; s++) {
#pragma GCC unroll 12
    for (int c = 0; c < kProbeChains; c++) acc[c] = acc[c] * one + one;
    __asm__ volatile("" : "+v"(one));
  }
  const double seconds = secondsSince(start);
  for (int c = 0; c < kProbeChains; c++) sink = sink + acc[c][0];
  return seconds;
}

// Whether VDPBF16PS makes products faster than the float32 FMAs that would replace it (per product, less than 0.75
// of the time), timed once (best of three, about 0.1 ms): the rate differs by CPU. Zen 4 and Zen 5 make twice as many
// products a cycle by VDPBF16PS as by 16-float FMAs; Xeons of the 4th and 5th generation half as many: there bfloat16
// products made MobileNetV2 2.5 times slower than float32.
bool bf16ProductsFaster() {
  volatile float sink = 0;
  double pairs = 1e9, fmas = 1e9;
  for (int run = 0; run < 3; run++) {
    pairs = std::min(pairs, timePairs(sink));
    fmas = std::min(fmas, timeFmas(sink));
  }
  return pairs / 2 < 0.75 * fmas;  // a VDPBF16PS makes twice an FMA's products
}

}  // namespace
#endif

bool bf16DotSupported() {
#if defined(__x86_64__)
  static const bool cpu = __builtin_cpu_supports("avx512bf16") && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw");
  // The engine's options, read as each kernel is made: off, on wherever the CPU has the instruction, or where faster.
  const EngineOptions::Toggle mode = currentOptions().bfloat16Products;
  if (!cpu || mode == EngineOptions::Toggle::kOff) return false;
  if (mode == EngineOptions::Toggle::kOn) return true;
  static const bool faster = bf16ProductsFaster();
  return faster;
#else
  return false;
#endif
}

std::vector<float> prepackPairsA(int64_t M, int64_t K, const float* A, int64_t lda) {
  const int64_t pairs = (K + 1) / 2, panels = (M + kMR - 1) / kMR;
  std::vector<float> packed(static_cast<size_t>(panels * kMR * pairs));
  const auto high = [](float v) { uint32_t bits; std::memcpy(&bits, &v, 4); return bits >> 16; };
  for (int64_t p = 0; p < panels; p++)
    for (int64_t k = 0; k < pairs; k++)
      for (int64_t r = 0; r < kMR; r++) {
        const int64_t i = p * kMR + r;
        const uint32_t low = i < M ? high(A[i * lda + 2 * k]) : 0, upper = i < M && 2 * k + 1 < K ? high(A[i * lda + 2 * k + 1]) : 0;
        const uint32_t pair = low | upper << 16;
        std::memcpy(&packed[(p * pairs + k) * kMR + r], &pair, 4);
      }
  return packed;
}

void bf16PairsGemm(int64_t M, int64_t N, int64_t pairs, const PackB& packPairs, float* C, int64_t ldc, int64_t kBlock, const float* prepackedPairs, const GemmEpilogue* epilogue) {
  if (!bf16DotSupported()) throw std::logic_error("bf16PairsGemm: this CPU has no AVX-512 BF16");
  gemmPackedB(M, N, pairs, nullptr, 0, packPairs, C, ldc, false, kBlock, prepackedPairs, epilogue, nullptr, 0, sweepPairTiles);
}

}  // namespace netdef
