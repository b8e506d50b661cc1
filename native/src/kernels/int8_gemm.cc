#include "kernels/int8_gemm.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "thread_pool.h"
#include "engine_options.h"
#include "kernels/gemm/gemm.h"
#include "kernels/activation_fn.h"
#include "kernels/simd.h"

namespace netdef {

namespace {

constexpr int64_t kCols = kGemmPanel;
constexpr int64_t kWideGroup = 4;  // B panels per task when B is wide
using Tile = int32_t[kInt8Rows * kCols];
// One kInt8Rows × 16 tile of A · B in int32, over `quads` quads of K.
using MicroKernel = void (*)(int64_t quads, const int8_t* ap, const int8_t* bp, Tile& tile);

// Portable reference: the same integers as the vector kernels, one product at a time.
void microScalar(int64_t quads, const int8_t* ap, const int8_t* bp, Tile& tile) {
  std::fill(tile, tile + kInt8Rows * kCols, 0);
  for (int64_t q = 0; q < quads; q++)
    for (int64_t r = 0; r < kInt8Rows; r++)
      for (int64_t j = 0; j < kCols; j++)
        for (int t = 0; t < 4; t++) tile[r * kCols + j] += int32_t{ap[(q * kInt8Rows + r) * 4 + t]} * int32_t{bp[(q * kCols + j) * 4 + t]};
}

#if defined(__x86_64__)
// The byte dot products multiply an unsigned operand by a signed one. B (activations) is the unsigned side: as is
// when it holds no negative values, else as |b| with b's sign moved onto A (sign_epi8), which keeps every product.
// vpmaddubsw adds pairs of products into int16: at most 2 · 128 · 127 = 32,512, so it never saturates (weights are
// within ±127); vpmaddwd by ones then widens pairs to int32.
template <bool kNegative>
__attribute__((target("avx2"))) void microAvx2(int64_t quads, const int8_t* ap, const int8_t* bp, Tile& tile) {
  __m256i acc[kInt8Rows][2];  // every loop over rows unrolled, so the array lives in registers
#pragma GCC unroll 8
  for (int64_t r = 0; r < kInt8Rows; r++) acc[r][0] = acc[r][1] = _mm256_setzero_si256();
  const __m256i ones = _mm256_set1_epi16(1);
  for (int64_t q = 0; q < quads; q++) {
    const __m256i b0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bp + q * 64));
    const __m256i b1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bp + q * 64 + 32));
    const __m256i u0 = kNegative ? _mm256_sign_epi8(b0, b0) : b0, u1 = kNegative ? _mm256_sign_epi8(b1, b1) : b1;
#pragma GCC unroll 8
    for (int64_t r = 0; r < kInt8Rows; r++) {
      int32_t word;
      std::memcpy(&word, ap + (q * kInt8Rows + r) * 4, 4);
      const __m256i a = _mm256_set1_epi32(word);
      const __m256i a0 = kNegative ? _mm256_sign_epi8(a, b0) : a, a1 = kNegative ? _mm256_sign_epi8(a, b1) : a;
      acc[r][0] = _mm256_add_epi32(acc[r][0], _mm256_madd_epi16(_mm256_maddubs_epi16(u0, a0), ones));
      acc[r][1] = _mm256_add_epi32(acc[r][1], _mm256_madd_epi16(_mm256_maddubs_epi16(u1, a1), ones));
    }
  }
#pragma GCC unroll 8
  for (int64_t r = 0; r < kInt8Rows; r++) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(tile + r * kCols), acc[r][0]);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(tile + r * kCols + 8), acc[r][1]);
  }
}

// VNNI: vpdpbusd multiplies, sums each quad and accumulates into int32 in one instruction (no int16 step).
#define NETDEF_VNNI_KERNEL(NAME, TARGET, DPBUSD)                                                                        \
  template <bool kNegative>                                                                                             \
  __attribute__((target(TARGET))) void NAME(int64_t quads, const int8_t* ap, const int8_t* bp, Tile& tile) {             \
    __m256i acc[kInt8Rows][2];                                                                                           \
    _Pragma("GCC unroll 8") for (int64_t r = 0; r < kInt8Rows; r++) acc[r][0] = acc[r][1] = _mm256_setzero_si256();    \
    for (int64_t q = 0; q < quads; q++) {                                                                                \
      const __m256i b0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bp + q * 64));                             \
      const __m256i b1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bp + q * 64 + 32));                        \
      const __m256i u0 = kNegative ? _mm256_sign_epi8(b0, b0) : b0, u1 = kNegative ? _mm256_sign_epi8(b1, b1) : b1;     \
      _Pragma("GCC unroll 8") for (int64_t r = 0; r < kInt8Rows; r++) {                                                 \
        int32_t word;                                                                                                    \
        std::memcpy(&word, ap + (q * kInt8Rows + r) * 4, 4);                                                            \
        const __m256i a = _mm256_set1_epi32(word);                                                                       \
        acc[r][0] = DPBUSD(acc[r][0], u0, kNegative ? _mm256_sign_epi8(a, b0) : a);                                     \
        acc[r][1] = DPBUSD(acc[r][1], u1, kNegative ? _mm256_sign_epi8(a, b1) : a);                                     \
      }                                                                                                                  \
    }                                                                                                                    \
    _Pragma("GCC unroll 8") for (int64_t r = 0; r < kInt8Rows; r++) {                                                   \
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(tile + r * kCols), acc[r][0]);                                     \
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(tile + r * kCols + 8), acc[r][1]);                                 \
    }                                                                                                                    \
  }
NETDEF_VNNI_KERNEL(microAvx512Vnni, "avx2,avx512f,avx512vl,avx512bw,avx512vnni", _mm256_dpbusd_epi32)
NETDEF_VNNI_KERNEL(microAvxVnni, "avx2,avxvnni", _mm256_dpbusd_avx_epi32)
#undef NETDEF_VNNI_KERNEL

// 512-bit VNNI over `Panels` A panels (up to 16 rows) against one B panel, one 16-column accumulator a row: 16
// vpdpbusd chains, where the 256-bit kernel's 8 chains of half vectors ran at half the rate of a Xeon's two 512-bit
// units (16 rows: 64 to 512 channels in whole groups, where groups of 12 left a last one of 4 rows at a third of the
// rate; ResNet's 3×3 INT8 layers 3–5 % faster).
// A B with negative values is made unsigned by adding 128 to each byte (flipping its top bit), and 128 times each
// row's sum of A taken off the row's sums after: the same integers (AVX-512 has no sign_epi8 for the other kernels'
// way, and that costs two instructions a product).
template <int Panels, bool kNegative>
__attribute__((target("avx2,avx512f,avx512vl,avx512bw,avx512vnni"))) void microVnniWide(int64_t quads, const int8_t* ap, int64_t aPanelBytes, const int32_t* rowSums, const int8_t* bp,
                                                                                        Tile* tiles) {
  __m512i acc[Panels * kInt8Rows];
#pragma GCC unroll 16
  for (int i = 0; i < Panels * kInt8Rows; i++) acc[i] = _mm512_setzero_si512();
  const __m512i flip = _mm512_set1_epi8(static_cast<char>(0x80));
  for (int64_t q = 0; q < quads; q++) {
    __m512i b = _mm512_loadu_si512(bp + q * 64);
    if (kNegative) b = _mm512_xor_si512(b, flip);
#pragma GCC unroll 4
    for (int p = 0; p < Panels; p++)
#pragma GCC unroll 4
      for (int r = 0; r < kInt8Rows; r++) {
        int32_t word;
        std::memcpy(&word, ap + p * aPanelBytes + (q * kInt8Rows + r) * 4, 4);
        acc[p * kInt8Rows + r] = _mm512_dpbusd_epi32(acc[p * kInt8Rows + r], b, _mm512_set1_epi32(word));
      }
  }
#pragma GCC unroll 4
  for (int p = 0; p < Panels; p++)
#pragma GCC unroll 4
    for (int r = 0; r < kInt8Rows; r++) {
      __m512i sums = acc[p * kInt8Rows + r];
      if (kNegative) sums = _mm512_sub_epi32(sums, _mm512_set1_epi32(128 * rowSums[p * kInt8Rows + r]));
      _mm512_storeu_si512(tiles[p] + r * kCols, sums);
    }
}
template <bool kNegative>
void microVnniWideAny(int64_t quads, const int8_t* ap, int64_t aPanelBytes, const int32_t* rowSums, int64_t panels, const int8_t* bp, Tile* tiles) {
  if (panels == 4) microVnniWide<4, kNegative>(quads, ap, aPanelBytes, rowSums, bp, tiles);
  else if (panels == 3) microVnniWide<3, kNegative>(quads, ap, aPanelBytes, rowSums, bp, tiles);
  else if (panels == 2) microVnniWide<2, kNegative>(quads, ap, aPanelBytes, rowSums, bp, tiles);
  else microVnniWide<1, kNegative>(quads, ap, aPanelBytes, rowSums, bp, tiles);
}
#endif

// Up to kWidePanels A panels (their rows' sums at rowSums) against one B panel, into a tile each.
using WideKernel = void (*)(int64_t quads, const int8_t* ap, int64_t aPanelBytes, const int32_t* rowSums, int64_t panels, const int8_t* bp, Tile* tiles);
constexpr int64_t kWidePanels = 4;

struct Implementation {
  const char* name;
  MicroKernel nonNegative, negative;
  WideKernel wideNonNegative = nullptr, wideNegative = nullptr;  // where the CPU has them
};

// The best implementation the CPU has, lowered by a cap (avxvnni, avx2 or scalar: how each is checked against the
// portable one on a CPU that has the better ones).
Implementation chooseImplementation(const std::string& limit) {
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (limit.empty() && __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw"))
    return {"avx512vnni", microAvx512Vnni<false>, microAvx512Vnni<true>, microVnniWideAny<false>, microVnniWideAny<true>};
  if ((limit.empty() || limit == "avxvnni") && __builtin_cpu_supports("avxvnni")) return {"avxvnni", microAvxVnni<false>, microAvxVnni<true>};
  if (limit != "scalar" && __builtin_cpu_supports("avx2")) return {"avx2", microAvx2<false>, microAvx2<true>};
#endif
  return {"scalar", microScalar, microScalar};
}

// The implementation under the calling thread's engine options (int8Kernel).
const Implementation& implementation() {
  static const Implementation best = chooseImplementation(""), vnni = chooseImplementation("avxvnni"), avx2 = chooseImplementation("avx2"),
                              scalar = chooseImplementation("scalar");
  const std::string& cap = currentOptions().int8Kernel;
  return cap == "scalar" ? scalar : cap == "avx2" ? avx2 : cap == "avxvnni" ? vnni : best;
}

// One tile of C from its int32 sums: scale, bias, residual, then ReLU/clip and the INT8 grid as it is stored, or any
// other activation (and the grid) on the stored rows.
NETDEF_CLONES
void finishTile(const Tile& tile, int64_t row0, int64_t col0, int64_t mr, int64_t nr, const float* rowScale, float* C, int64_t ldc, const GemmEpilogue& ep) {
  using Type = ActivationFn::Type;
  const Type act = ep.activation.type;
  const bool clamp = (act == Type::kRelu || act == Type::kClip) && ep.activation.round == ActivationFn::Round::kNone;
  const float lower = act == Type::kClip ? ep.activation.alpha : act == Type::kRelu ? 0.0f : -INFINITY;
  const float upper = act == Type::kClip ? ep.activation.beta : INFINITY;
  const bool after = !clamp && (act != Type::kNone || ep.activation.round != ActivationFn::Round::kNone);
  const float grid = after ? 0.0f : ep.activation.grid;  // a fused quantize → dequantize, in registers after the clamp
  for (int64_t r = 0; r < mr; r++) {
    const int64_t i = row0 + r;
    const float scale = rowScale[i], bias = ep.bias ? ep.bias[i] : 0.0f;
    const float* residual = ep.residual ? ep.residual + i * ldc + col0 : nullptr;
    float* c = C + i * ldc + col0;
    const int32_t* sums = tile + r * kCols;
    auto finish = [&](int64_t j) {
      float v = static_cast<float>(sums[j]) * scale + bias;
      if (residual) v += residual[j];
      if (clamp) v = std::min(std::max(v, lower), upper);
      if (grid > 0) v = quantizeToInt8(v, grid) * grid;
      c[j] = v;
    };
    if (nr == kCols) for (int64_t j = 0; j < kCols; j++) finish(j);  // a fixed count: vectorised
    else for (int64_t j = 0; j < nr; j++) finish(j);
    if (after) ep.activation.apply(c, nr);
  }
}

// quantizeChannelsLast, one element at a time.
bool quantizeChannelsLastScalar(const float* x, int64_t pixels, int64_t channels, int64_t paddedChannels, int64_t begin, int64_t end, float scale, int8_t* q) {
  int32_t negative = 0;
  for (int64_t c0 = 0; c0 < paddedChannels; c0 += 4)
    for (int64_t p = begin; p < end; p++) {
      uint32_t word = 0;
      for (int64_t t = 0; t < 4; t++) {
        const int32_t v = c0 + t < channels ? static_cast<int32_t>(quantizeToInt8(x[(c0 + t) * pixels + p], scale)) : 0;
        negative |= v;
        word |= static_cast<uint32_t>(v & 0xff) << (8 * t);
      }
      std::memcpy(q + p * paddedChannels + c0, &word, 4);
    }
  return negative < 0;
}

#if defined(__x86_64__)
// quantizeToInt8 on 8 floats, as int32: division, round-to-nearest-even and saturation (max before min, so NaN
// becomes −128 as there).
__attribute__((target("avx2"), always_inline)) inline __m256i quantize8(const float* x, __m256 divisor) {
  const __m256 r = _mm256_round_ps(_mm256_div_ps(_mm256_loadu_ps(x), divisor), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  return _mm256_cvtps_epi32(_mm256_min_ps(_mm256_max_ps(r, _mm256_set1_ps(-128.0f)), _mm256_set1_ps(127.0f)));
}

// quantizeChannelsLast, 8 pixels at a time.
__attribute__((target("avx2"))) bool quantizeChannelsLastAvx2(const float* x, int64_t pixels, int64_t channels, int64_t paddedChannels, int64_t begin, int64_t end, float scale, int8_t* q) {
  const __m256 divisor = _mm256_set1_ps(scale);
  const __m256i low = _mm256_set1_epi32(0xff);
  __m256i negative = _mm256_setzero_si256();
  const int64_t vectorEnd = begin + (end - begin) / 8 * 8;
  for (int64_t c0 = 0; c0 < paddedChannels; c0 += 4) {
    for (int64_t p = begin; p < vectorEnd; p += 8) {
      __m256i word = _mm256_setzero_si256();
      for (int64_t t = 0; t < 4 && c0 + t < channels; t++) {
        const __m256i v = quantize8(x + (c0 + t) * pixels + p, divisor);
        negative = _mm256_or_si256(negative, v);
        word = _mm256_or_si256(word, _mm256_sllv_epi32(_mm256_and_si256(v, low), _mm256_set1_epi32(static_cast<int>(8 * t))));
      }
      alignas(32) uint32_t words[8];
      _mm256_store_si256(reinterpret_cast<__m256i*>(words), word);
      for (int k = 0; k < 8; k++) std::memcpy(q + (p + k) * paddedChannels + c0, &words[k], 4);
    }
  }
  const bool tail = quantizeChannelsLastScalar(x, pixels, channels, paddedChannels, vectorEnd, end, scale, q);
  return tail || _mm256_movemask_ps(_mm256_castsi256_ps(negative)) != 0;
}
#endif

// quantizeRow, one element at a time.
bool quantizeRowScalar(const float* x, int64_t count, float scale, int8_t* q) {
  bool negative = false;
  for (int64_t i = 0; i < count; i++) {
    const float v = quantizeToInt8(x[i], scale);
    q[i] = static_cast<int8_t>(v);
    negative |= v < 0;
  }
  return negative;
}

#if defined(__x86_64__)
// quantizeRow, 32 at a time: four vectors by quantize8, then packed to bytes (the packs interleave the 128-bit
// halves; a permutation puts the 8 groups of 4 back in order).
__attribute__((target("avx2"))) bool quantizeRowAvx2(const float* x, int64_t count, float scale, int8_t* q) {
  const __m256 divisor = _mm256_set1_ps(scale);
  const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
  __m256i negative = _mm256_setzero_si256();
  int64_t i = 0;
  for (; i + 32 <= count; i += 32) {
    __m256i v[4];
    for (int k = 0; k < 4; k++) {
      v[k] = quantize8(x + i + 8 * k, divisor);
      negative = _mm256_or_si256(negative, v[k]);
    }
    const __m256i bytes = _mm256_packs_epi16(_mm256_packs_epi32(v[0], v[1]), _mm256_packs_epi32(v[2], v[3]));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(q + i), _mm256_permutevar8x32_epi32(bytes, order));
  }
  const bool tail = quantizeRowScalar(x + i, count - i, scale, q + i);
  return tail || _mm256_movemask_ps(_mm256_castsi256_ps(negative)) != 0;
}
#endif

}  // namespace

#if defined(__x86_64__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"  // GCC 12's AVX-512 headers, in the unpack and shuffle intrinsics
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
NETDEF_WIDE void transposeWords(const int8_t* const* sources, int64_t offset, int8_t* rows, int64_t rowStride) {
  __m512i t[16], u[16];
  for (int j = 0; j < 16; j++) t[j] = _mm512_loadu_si512(sources[j] + offset);
  for (int i = 0; i < 8; i++) {
    u[2 * i] = _mm512_unpacklo_epi32(t[2 * i], t[2 * i + 1]);
    u[2 * i + 1] = _mm512_unpackhi_epi32(t[2 * i], t[2 * i + 1]);
  }
  for (int i = 0; i < 4; i++) {  // t[4i + k], 128-bit lane L: sources 4i … 4i + 3, word 4L + k
    t[4 * i] = _mm512_unpacklo_epi64(u[4 * i], u[4 * i + 2]);
    t[4 * i + 1] = _mm512_unpackhi_epi64(u[4 * i], u[4 * i + 2]);
    t[4 * i + 2] = _mm512_unpacklo_epi64(u[4 * i + 1], u[4 * i + 3]);
    t[4 * i + 3] = _mm512_unpackhi_epi64(u[4 * i + 1], u[4 * i + 3]);
  }
  for (int k = 0; k < 4; k++) {
    u[k] = _mm512_shuffle_i32x4(t[k], t[4 + k], 0x88);
    u[4 + k] = _mm512_shuffle_i32x4(t[k], t[4 + k], 0xdd);
    u[8 + k] = _mm512_shuffle_i32x4(t[8 + k], t[12 + k], 0x88);
    u[12 + k] = _mm512_shuffle_i32x4(t[8 + k], t[12 + k], 0xdd);
  }
  for (int k = 0; k < 4; k++) {  // row w: word w of each source
    _mm512_storeu_si512(rows + rowStride * k, _mm512_shuffle_i32x4(u[k], u[8 + k], 0x88));
    _mm512_storeu_si512(rows + rowStride * (8 + k), _mm512_shuffle_i32x4(u[k], u[8 + k], 0xdd));
    _mm512_storeu_si512(rows + rowStride * (4 + k), _mm512_shuffle_i32x4(u[4 + k], u[12 + k], 0x88));
    _mm512_storeu_si512(rows + rowStride * (12 + k), _mm512_shuffle_i32x4(u[4 + k], u[12 + k], 0xdd));
  }
}
#pragma GCC diagnostic pop
#endif

Int8Matrix Int8Matrix::fromGrid(const float* a, int64_t rows, int64_t depth, std::string& problem) {
  Int8Matrix m;
  m.rows = rows;
  m.depth = depth;
  m.quads = (depth + 3) / 4;
  const int64_t panels = (rows + kInt8Rows - 1) / kInt8Rows;
  m.packed.assign(static_cast<size_t>(panels * m.quads * kInt8Rows * 4), 0);
  m.step.assign(static_cast<size_t>(rows), 1.0f);
  m.sums.assign(static_cast<size_t>(panels * kInt8Rows), 0);
  for (int64_t i = 0; i < rows; i++) {
    const float* row = a + i * depth;
    float amax = 0;
    for (int64_t k = 0; k < depth; k++) amax = std::max(amax, std::fabs(row[k]));
    if (!std::isfinite(amax)) { problem = "row " + std::to_string(i) + " holds a non-finite value"; return m; }
    if (amax > 0) m.step[i] = amax / 127;
    int8_t* panel = m.packed.data() + (i / kInt8Rows) * m.quads * kInt8Rows * 4;
    for (int64_t k = 0; k < depth; k++) {
      const float q = row[k] / m.step[i], rounded = std::nearbyint(q);
      // Tolerance for the float rounding of grid values scaled by a folded BatchNorm (errors ~1e-5 of a step).
      if (std::fabs(q - rounded) > 1e-2f || std::fabs(rounded) > 127) {
        problem = "row " + std::to_string(i) + " is not on a symmetric INT8 grid (value " + std::to_string(row[k]) + " is " + std::to_string(q) + " steps of amax/127)";
        return m;
      }
      panel[((k / 4) * kInt8Rows + i % kInt8Rows) * 4 + k % 4] = static_cast<int8_t>(rounded);
      m.sums[i] += static_cast<int32_t>(rounded);
    }
  }
  return m;
}

void igemm(const Int8Matrix& a, int64_t N, const PackB8& packB, bool negativeB, const float* rowScale, float* C, int64_t ldc, const GemmEpilogue& epilogue) {
  const int64_t M = a.rows, quads = a.quads;
  if (M == 0 || N == 0) return;
  const MicroKernel kernel = negativeB ? implementation().negative : implementation().nonNegative;
  // (Offset by 128, a product reaches 127 · 255: the int32 sums hold 65,536 of them.)
  const WideKernel wide = negativeB ? (a.depth <= 65536 ? implementation().wideNegative : nullptr) : implementation().wideNonNegative;
  const int64_t step = wide ? kWidePanels : 1;  // A panels a kernel call takes
  const int64_t mPanels = (M + kInt8Rows - 1) / kInt8Rows, nPanels = (N + kCols - 1) / kCols;
  const int64_t panelBytes = quads * 4 * kCols, aPanelBytes = quads * kInt8Rows * 4;
  const bool parallel = M * N * a.depth > (1 << 16);
  // A panels [p0, p1) (at most `step`) against B panel q.
  auto tiles = [&](int64_t p0, int64_t p1, int64_t q, const int8_t* bp) {
    alignas(64) Tile sums[kWidePanels];
    if (wide) wide(quads, a.packed.data() + p0 * aPanelBytes, aPanelBytes, a.sums.data() + p0 * kInt8Rows, p1 - p0, bp, sums);
    else kernel(quads, a.packed.data() + p0 * aPanelBytes, bp, sums[0]);
    for (int64_t p = p0; p < p1; p++)
      finishTile(sums[p - p0], p * kInt8Rows, q * kCols, std::min(kInt8Rows, M - p * kInt8Rows), std::min(kCols, N - q * kCols), rowScale, C, ldc, epilogue);
  };
  // The whole K at once (int8 panels are a quarter of float ones: a 4,608-deep panel is 72 KiB), so each tile is
  // finished in one visit. As in the float GEMM: wide B in groups of panels per task, narrow B packed once and
  // met by chunks of A panels.
  if (nPanels >= 8) {
    const int64_t groups = balancedParts(nPanels, kWideGroup);
    parallelFor(groups, [&](int64_t group) {
      static thread_local std::vector<int8_t> buffer;
      const int64_t q0 = partBegin(nPanels, groups, group), q1 = partBegin(nPanels, groups, group + 1);
      buffer.resize(static_cast<size_t>(kWideGroup * panelBytes));
      for (int64_t q = q0; q < q1; q++) packB(q * kCols, std::min(kCols, N - q * kCols), buffer.data() + (q - q0) * panelBytes);
      for (int64_t p = 0; p < mPanels; p += step)
        for (int64_t q = q0; q < q1; q++) tiles(p, std::min(mPanels, p + step), q, buffer.data() + (q - q0) * panelBytes);
    }, parallel);
    return;
  }
  static thread_local std::vector<int8_t> shared;  // the caller's: workers see it through `panels`
  shared.resize(static_cast<size_t>(nPanels * panelBytes));
  int8_t* panels = shared.data();
  parallelFor(nPanels, [&](int64_t q) { packB(q * kCols, std::min(kCols, N - q * kCols), panels + q * panelBytes); }, parallel);
  const int64_t chunks = balancedParts(mPanels, std::min<int64_t>(8, std::max<int64_t>(1, mPanels / 8)));
  parallelFor(chunks, [&](int64_t chunk) {
    const int64_t end = partBegin(mPanels, chunks, chunk + 1);
    for (int64_t q = 0; q < nPanels; q++)
      for (int64_t p = partBegin(mPanels, chunks, chunk); p < end; p += step) tiles(p, std::min(end, p + step), q, panels + q * panelBytes);
  }, parallel);
}

#if defined(__x86_64__)
namespace {

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"  // GCC 12's AVX-512 headers, in the conversion intrinsics
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
// quantizeChannelsLast, 16 pixels at a time, for whole blocks of 64 padded channels: each quad's 16 words made in a
// vector (the same division, rounding and clamp as quantize8), then each block of 16 quads transposed into the 16
// pixels' rows (the 8-pixel version stores every word on its own: a fifth of an INT8 layer's time on 64 channels).
NETDEF_WIDE bool quantizeChannelsLastWide(const float* x, int64_t pixels, int64_t channels, int64_t paddedChannels, int64_t begin, int64_t end, float scale, int8_t* q) {
  const __m512 divisor = _mm512_set1_ps(scale), lowest = _mm512_set1_ps(-128.0f), highest = _mm512_set1_ps(127.0f);
  const __m512i low = _mm512_set1_epi32(0xff);
  __m512i negative = _mm512_setzero_si512();
  const int64_t quads = paddedChannels / 4, vectorEnd = begin + (end - begin) / 16 * 16;
  static thread_local std::vector<int8_t> words;  // [quad][16 pixels] words
  words.resize(static_cast<size_t>(quads * 64));
  const int8_t* sources[16];
  for (int64_t p = begin; p < vectorEnd; p += 16) {
    for (int64_t w = 0; w < quads; w++) {
      __m512i word = _mm512_setzero_si512();
      for (int64_t t = 0; t < 4 && 4 * w + t < channels; t++) {
        const __m512 r = _mm512_roundscale_ps(_mm512_div_ps(_mm512_loadu_ps(x + (4 * w + t) * pixels + p), divisor), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        const __m512i v = _mm512_cvtps_epi32(_mm512_min_ps(_mm512_max_ps(r, lowest), highest));
        negative = _mm512_or_si512(negative, v);
        word = _mm512_or_si512(word, _mm512_slli_epi32(_mm512_and_si512(v, low), static_cast<unsigned>(8 * t)));
      }
      _mm512_storeu_si512(words.data() + 64 * w, word);
    }
    for (int64_t block = 0; block < quads / 16; block++) {
      for (int j = 0; j < 16; j++) sources[j] = words.data() + 64 * (16 * block + j);
      transposeWords(sources, 0, q + p * paddedChannels + 64 * block, paddedChannels);
    }
  }
  const bool tail = quantizeChannelsLastAvx2(x, pixels, channels, paddedChannels, vectorEnd, end, scale, q);
  return tail || _mm512_movepi32_mask(negative) != 0;
}
#pragma GCC diagnostic pop

}  // namespace
#endif

bool quantizeChannelsLast(const float* x, int64_t pixels, int64_t channels, int64_t paddedChannels, int64_t begin, int64_t end, float scale, int8_t* q) {
#if defined(__x86_64__)
  if (paddedChannels % 64 == 0 && wideTiles()) return quantizeChannelsLastWide(x, pixels, channels, paddedChannels, begin, end, scale, q);
  static const bool avx2 = __builtin_cpu_supports("avx2");
  if (avx2) return quantizeChannelsLastAvx2(x, pixels, channels, paddedChannels, begin, end, scale, q);
#endif
  return quantizeChannelsLastScalar(x, pixels, channels, paddedChannels, begin, end, scale, q);
}

NETDEF_CLONES
void quantizeValues(const float* x, float* y, int64_t count, float scale) {
  for (int64_t i = 0; i < count; i++) y[i] = quantizeToInt8(x[i], scale);
}

bool quantizeRow(const float* x, int64_t count, float scale, int8_t* q) {
#if defined(__x86_64__)
  static const bool avx2 = __builtin_cpu_supports("avx2");
  if (avx2) return quantizeRowAvx2(x, count, scale, q);
#endif
  return quantizeRowScalar(x, count, scale, q);
}

const char* int8KernelName() { return implementation().name; }

}  // namespace netdef
