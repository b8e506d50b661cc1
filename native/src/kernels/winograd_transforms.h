#pragma once
// Winograd F(m×m, 3×3)'s transforms, shared by the planar (winograd.cc) and channel-blocked (blocked_winograd.cc)
// kernels.
#include <cstdint>
#include <vector>

#include "kernels/kernel.h"
#include "kernels/simd.h"
#include "kernels/vector_math.h"

namespace netdef {

// Y = Aᵀ·M·A, V = Bᵀ·d·B and U = G·g·Gᵀ (Lavin & Gray, 2015), for m = 2:
//   Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1],  G = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1],  Aᵀ = [1 1 1 0; 0 1 −1 −1];
// for m = 4:
//   Bᵀ = [4 0 −5 0 1 0; 0 −4 −4 1 1 0; 0 4 −4 −1 1 0; 0 −2 −1 2 1 0; 0 2 −1 −2 1 0; 0 4 0 −5 0 1],
//   G = [¼ 0 0; −⅙ −⅙ −⅙; −⅙ ⅙ −⅙; 1/24 1/12 ⅙; 1/24 −1/12 ⅙; 0 0 1],
//   Aᵀ = [1 1 1 1 1 0; 0 1 −1 2 −2 0; 0 1 1 4 4 0; 0 1 −1 8 −8 1].
// Each 2-d transform is the 1-d one applied to rows, then to columns. The 1-d transforms take n lanes at once
// (d[k][x] is element k of lane x; n a multiple of 8: tiles side by side for planar tensors, a block's 8 channels of
// one tile for blocked ones), inlined into their callers' loops; written out with explicit vectors rather than as
// matrix products, because a product by a zero entry cannot be dropped in IEEE arithmetic (∞·0), and because with
// six input and six output rows the compiler would need more run-time aliasing checks than it allows and leave the
// loops scalar.
template <int M> struct Transforms;
template <> struct Transforms<2> {
  // t = Bᵀ·d.
  __attribute__((always_inline)) static inline void input(const float* const* d, float* const* t, int64_t n) {
    for (int64_t x = 0; x < n; x += 8) {
      const Vec8 d0 = vmath::load(d[0] + x), d1 = vmath::load(d[1] + x), d2 = vmath::load(d[2] + x), d3 = vmath::load(d[3] + x);
      vmath::store(t[0] + x, d0 - d2);
      vmath::store(t[1] + x, d1 + d2);
      vmath::store(t[2] + x, d2 - d1);
      vmath::store(t[3] + x, d1 - d3);
    }
  }
  // y = Aᵀ·s (s: M + 2 elements, y: M).
  __attribute__((always_inline)) static inline void output(const float* const* s, float* const* y, int64_t n) {
    for (int64_t x = 0; x < n; x += 8) {
      const Vec8 s0 = vmath::load(s[0] + x), s1 = vmath::load(s[1] + x), s2 = vmath::load(s[2] + x), s3 = vmath::load(s[3] + x);
      vmath::store(y[0] + x, s0 + s1 + s2);
      vmath::store(y[1] + x, s1 - s2 - s3);
    }
  }
};
template <> struct Transforms<4> {
  __attribute__((always_inline)) static inline void input(const float* const* d, float* const* t, int64_t n) {
    for (int64_t x = 0; x < n; x += 8) {
      const Vec8 d0 = vmath::load(d[0] + x), d1 = vmath::load(d[1] + x), d2 = vmath::load(d[2] + x), d3 = vmath::load(d[3] + x), d4 = vmath::load(d[4] + x), d5 = vmath::load(d[5] + x);
      const Vec8 a = d4 - 4.0f * d2, b = d3 - 4.0f * d1;  // rows 1 and 2: a ± b
      const Vec8 c = d4 - d2, e = 2.0f * (d3 - d1);        // rows 3 and 4: c ± e
      vmath::store(t[0] + x, 4.0f * d0 - 5.0f * d2 + d4);
      vmath::store(t[1] + x, a + b);
      vmath::store(t[2] + x, a - b);
      vmath::store(t[3] + x, c + e);
      vmath::store(t[4] + x, c - e);
      vmath::store(t[5] + x, 4.0f * d1 - 5.0f * d3 + d5);
    }
  }
  __attribute__((always_inline)) static inline void output(const float* const* s, float* const* y, int64_t n) {
    for (int64_t x = 0; x < n; x += 8) {
      const Vec8 s0 = vmath::load(s[0] + x), s1 = vmath::load(s[1] + x), s2 = vmath::load(s[2] + x), s3 = vmath::load(s[3] + x), s4 = vmath::load(s[4] + x), s5 = vmath::load(s[5] + x);
      const Vec8 p = s1 + s2, q = s1 - s2, r = s3 + s4, u = s3 - s4;
      vmath::store(y[0] + x, s0 + p + r);
      vmath::store(y[1] + x, q + 2.0f * u);
      vmath::store(y[2] + x, p + 4.0f * r);
      vmath::store(y[3] + x, q + 8.0f * u + s5);
    }
  }
};


// U_ξ[o][c] = (G·g·Gᵀ)_ξ for ξ = α·i + j (α = m + 2) of weights [out][in][3][3], as [α²][out][in]: in double,
// rounded once.
std::vector<float> winogradWeights(const std::vector<float>& weights, int64_t outChannels, int64_t inChannels, int tile);

}  // namespace netdef
