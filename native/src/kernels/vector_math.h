#pragma once
// exp, expm1, log1p and tanh on 8 or 16 floats at once, for the activations whose scalar libm calls (tens of ns an element)
// would otherwise dominate a network (Mish, SiLU, sigmoid heads). Polynomials from Cephes' single-precision
// routines: within 2 ulp of the correctly rounded result over the float range; NaN in, NaN out. The functions are
// always inlined, so each caller compiled for several targets (NETDEF_CLONES) gets them in its own instruction set:
// an out-of-line copy would be baseline code, passing 32-byte vectors by another convention than an AVX caller's.
#include <cstdint>
#include <cstring>

#include "kernels/activation_fn.h"
#include "kernels/buffer.h"
#include "kernels/simd.h"

namespace netdef::vmath {

#define NETDEF_VMATH inline __attribute__((always_inline))

typedef int32_t Int8 __attribute__((vector_size(32)));

NETDEF_VMATH Vec8 splat(float v) { return Vec8{} + v; }
// Eight floats from anywhere into a vector, and back: no alignment needed, and the vector stays in a register.
NETDEF_VMATH Vec8 load(const float* p) {
  Vec8 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
NETDEF_VMATH void store(float* p, Vec8 v) { std::memcpy(p, &v, sizeof v); }
// sum += a.low·b.low + a.high·b.high in each 32-bit lane of bfloat16 pairs (VDPBF16PS). In assembly: the intrinsic
// cannot be inlined into code compiled for the baseline; only functions compiled for AVX-512 BF16 may reach this
// (the GEMM's and the blocked 1×1's pair sweeps, where bf16DotSupported()).
NETDEF_VMATH void dotPairs(Vec8& sum, Vec8 a, Vec8 b) {
#if defined(__x86_64__)
  asm("vdpbf16ps %2, %1, %0" : "+v"(sum) : "v"(a), "v"(b));
#else
  (void)sum, (void)a, (void)b;
  __builtin_trap();  // never reached: bf16DotSupported() is false off x86-64
#endif
}
// The first n ≤ 8 lanes of v to p, from the register in stores of 4, 2 and 1 lanes (through memory, a copy of the
// vector would cost a call to memcpy, or a vectorised lane loop's masked loads of the store just made, which are not
// forwarded: a stall each time).
NETDEF_VMATH void storeFirst(float* p, Vec8 v, int64_t n) {
  typedef float Vec4 __attribute__((vector_size(16)));
  typedef float Vec2 __attribute__((vector_size(8)));
  if (n >= 8) return store(p, v);
  if (n & 4) {
    const Vec4 q = __builtin_shufflevector(v, v, 0, 1, 2, 3);
    std::memcpy(p, &q, sizeof q);
    p += 4;
    v = __builtin_shufflevector(v, v, 4, 5, 6, 7, 4, 5, 6, 7);
  }
  if (n & 2) {
    const Vec2 d = __builtin_shufflevector(v, v, 0, 1);
    std::memcpy(p, &d, sizeof d);
    p += 2;
    v = __builtin_shufflevector(v, v, 2, 3, 2, 3, 2, 3, 2, 3);
  }
  if (n & 1) *p = v[0];
}
// The 32 bits at p in all eight lanes, as they are: one broadcast load. (Through an integer vector: adding a float to
// a zero vector, as splat does, must be computed (it turns −0 into +0), and a vector of eight copies of a float
// compiled to a chain of lane inserts.)
NETDEF_VMATH Vec8 broadcast(const float* p) {
  int32_t bits;
  std::memcpy(&bits, p, 4);
  const Int8 lanes = Int8{} + bits;
  Vec8 v;
  std::memcpy(&v, &lanes, sizeof v);
  return v;
}
// The math below is written once for 8 and 16 lanes (Vec16 only in code compiled for AVX-512): IntOf<V> is the
// vector of 32-bit integers as wide as V.
typedef int32_t Int16 __attribute__((vector_size(64)));
template <class V> struct IntVector;
template <> struct IntVector<Vec8> { using type = Int8; };
template <> struct IntVector<Vec16> { using type = Int16; };
template <class V> using IntOf = typename IntVector<V>::type;

template <class V> NETDEF_VMATH V splatAs(float v) { return V{} + v; }
template <class V> NETDEF_VMATH V select(IntOf<V> mask, V a, V b) { return mask ? a : b; }
template <class V> NETDEF_VMATH V abs(V x) {
  IntOf<V> bits;
  std::memcpy(&bits, &x, sizeof bits);
  bits &= 0x7fffffff;
  std::memcpy(&x, &bits, sizeof bits);
  return x;
}
// Lane-wise conversions (single instructions; inputs are kept in range by the callers).
template <class V> NETDEF_VMATH IntOf<V> toInt(V v) { return __builtin_convertvector(v, IntOf<V>); }
template <class V> NETDEF_VMATH V toFloat(IntOf<V> v) { return __builtin_convertvector(v, V); }
// 2^n for integer n in [-126, 127], built in the exponent field.
template <class V> NETDEF_VMATH V pow2(IntOf<V> n) {
  const IntOf<V> bits = (n + 127) << 23;
  V r;
  std::memcpy(&r, &bits, sizeof r);
  return r;
}

// e^r for r = x − n·ln 2 (ln 2 in two parts so r keeps its low bits), n = fn a whole number: Cephes' polynomial.
template <class V> NETDEF_VMATH V expOfRest(V x, V fn) {
  const V r = x - fn * 0.693359375f + fn * 2.12194440e-4f;
  const V z = r * r;
  V p = 1.9875691500e-4f * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * z + r + 1.0f;
  return p;
}

template <class V> NETDEF_VMATH V exp(V x) {
  // Clamped to where the result is neither 0 nor ∞ (NaN goes to the top: its result is replaced below).
  const V below = select<V>(x < 88.72283935546875f, x, splatAs<V>(88.72283935546875f));
  const V xc = select<V>(below > -103.97208404541016f, below, splatAs<V>(-103.97208404541016f));
  // n = floor(x / ln 2 + 1/2).
  V fn = xc * 1.44269504088896341f + 0.5f;
  const V back = toFloat<V>(toInt(fn));
  fn = back - select<V>(back > fn, splatAs<V>(1.0f), splatAs<V>(0.0f));  // floor
  const V p = expOfRest(xc, fn);
  // 2^n in two factors: n reaches 128 at the top of the range and −150 at the bottom (subnormal results).
  const IntOf<V> n = toInt(fn), half = n >> 1;
  V result = p * pow2<V>(half) * pow2<V>(n - half);
  result = select<V>(x > 88.72283935546875f, splatAs<V>(__builtin_inff()), result);
  result = select<V>(x < -103.97208404541016f, splatAs<V>(0.0f), result);
  return select<V>(x != x, x, result);
}

// eˣ for the activations and softmax, half of exp's steps: normal results only (0 below −87, ∞ above 88, where exp gives
// subnormals and the top of the float range: a product that makes a subnormal takes a microcode assist of ~100
// cycles on x86), so n = round(x / ln 2) goes into the exponent field at once. The activations built on it lose
// nothing there: their values beyond are 0, ±1 or x to float32's precision, or below 1e−36. NaN in, NaN out.
template <class V> NETDEF_VMATH V expNormal(V x) {
  // n = round(x / ln 2) by adding 1.5·2²³ (its low mantissa bits then hold n); outside [−87, 88] the steps below
  // make nonsense that the selects at the end replace.
  const V shifted = x * 1.44269504088896341f + 12582912.0f;
  const V p = expOfRest(x, shifted - 12582912.0f);
  IntOf<V> bits;
  std::memcpy(&bits, &shifted, sizeof bits);
  bits = (bits << 23) + (127 << 23);  // 2ⁿ: n's low bits into the exponent field (those of 1.5·2²³ shift out)
  V scale;
  std::memcpy(&scale, &bits, sizeof scale);
  V result = select<V>(x > 88.0f, splatAs<V>(__builtin_inff()), p * scale);
  result = select<V>(x < -87.0f, splatAs<V>(0.0f), result);
  return select<V>(x != x, x, result);
}

// log(1 + y) for y in [0, 1]: log of u = 1 + y by Cephes' logf, plus the rounding error of 1 + y, (y − (u − 1)) / u.
template <class V> NETDEF_VMATH V log1pUnit(V y) {
  const V u = y + 1.0f;
  IntOf<V> bits;
  std::memcpy(&bits, &u, sizeof bits);
  IntOf<V> e = ((bits >> 23) & 0xff) - 126;
  bits = (bits & 0x807fffff) | 0x3f000000;  // mantissa m in [0.5, 1)
  V m;
  std::memcpy(&m, &bits, sizeof m);
  const IntOf<V> small = m < 0.707106781186547524f;
  e = e + small;  // small is −1 where true
  m = select<V>(small, m + m, m) - 1.0f;
  const V z = m * m;
  V p = 7.0376836292e-2f * m - 1.1514610310e-1f;
  p = p * m + 1.1676998740e-1f;
  p = p * m - 1.2420140846e-1f;
  p = p * m + 1.4249322787e-1f;
  p = p * m - 1.6668057665e-1f;
  p = p * m + 2.0000714765e-1f;
  p = p * m - 2.4999993993e-1f;
  p = p * m + 3.3333331174e-1f;
  const V fe = toFloat<V>(e);
  V r = p * m * z + fe * -2.12194440e-4f - 0.5f * z;
  r = m + r + fe * 0.693359375f;
  return r + (y - (u - 1.0f)) / u;
}

template <class V> NETDEF_VMATH V tanh(V x) {
  const V ax = abs(x), z = x * x;
  V p = -5.70498872745e-3f * z + 2.06390887954e-2f;
  p = p * z - 5.37397155531e-2f;
  p = p * z + 1.33314422036e-1f;
  p = p * z - 3.33332819422e-1f;
  const V small = x + x * z * p;
  V large = 1.0f - 2.0f / (expNormal(ax + ax) + 1.0f);
  large = select<V>(x < 0.0f, -large, large);
  return select<V>(ax < 0.625f, small, large);
}

// eˣ − 1, by its Taylor series near 0 (where exp(x) − 1 would cancel to a few correct bits).
template <class V> NETDEF_VMATH V expm1(V x) {
  V p = x * (1.0f / 40320) + 1.0f / 5040;
  p = p * x + 1.0f / 720;
  p = p * x + 1.0f / 120;
  p = p * x + 1.0f / 24;
  p = p * x + 1.0f / 6;
  p = p * x + 0.5f;
  p = p * x * x + x;
  return select<V>(abs(x) < 0.5f, p, exp(x) - 1.0f);
}

template <class V> NETDEF_VMATH V sigmoid(V x) { return 1.0f / (1.0f + expNormal(-x)); }

// erf within 2e-7 (Abramowitz and Stegun 7.1.26: 1 − t·P(t)·e^−x², t = 1/(1 + 0.3275911·|x|)), odd.
template <class V> NETDEF_VMATH V erf(V x) {
  const V a = abs(x), t = 1.0f / (1.0f + 0.3275911f * a);
  V p = 1.061405429f * t - 1.453152027f;
  p = p * t + 1.421413741f;
  p = p * t - 0.284496736f;
  p = p * t + 0.254829592f;
  const V r = 1.0f - p * t * expNormal(-a * a);
  return select<V>(x < 0.0f, -r, r);
}

// log(1 + eᵗ) without overflow: max(t, 0) + log1p(e^−|t|).
template <class V> NETDEF_VMATH V softplus(V t) { return select<V>(t > 0.0f, t, splatAs<V>(0.0f)) + log1pUnit(exp(-abs(t))); }

// x · tanh(softplus(x)) with one exponential: tanh(log(1 + eˣ)) = n / (n + 2), n = eˣ(eˣ + 2). Above 20 the factor
// is 1 in float32 (and eˣ would overflow further up).
template <class V> NETDEF_VMATH V mish(V x) {
  const V e = expNormal(select<V>(x > 20.0f, splatAs<V>(0.0f), x)), n = e * (e + 2.0f);
  return select<V>(x > 20.0f, x, x * n / (n + 2.0f));
}

// Whether `activate` below computes this activation (the exp family, GELU, Mish, SiLU, hardswish, ReLU/clip/leaky ReLU); the others take
// ActivationFn's scalar loops.
inline bool vectorised(ActivationFn::Type type) {
  using Type = ActivationFn::Type;
  switch (type) {
    case Type::kRelu: case Type::kClip: case Type::kLeakyRelu: case Type::kSigmoid: case Type::kTanh: case Type::kScaledTanh:
    case Type::kSoftplus: case Type::kElu: case Type::kSelu: case Type::kGeluTanh: case Type::kGeluErf: case Type::kMish: case Type::kSilu:
    case Type::kHardSwish: return true;
    default: return false;
  }
}

// One vectorised activation on 8 or 16 values (α = a, β = b as ActivationFn holds them), the same arithmetic wherever
// it runs: over a stored tensor or on a GEMM tile still in registers.
template <class V> NETDEF_VMATH V activate(ActivationFn::Type type, float a, float b, V v) {
  using Type = ActivationFn::Type;
  switch (type) {
    case Type::kRelu: return v < 0.0f ? splatAs<V>(0.0f) : v;  // NaN stays NaN
    case Type::kClip: { const V lower = splatAs<V>(a), upper = splatAs<V>(b); v = v < lower ? lower : v; return upper < v ? upper : v; }
    case Type::kLeakyRelu: return select<V>(v >= 0.0f, v, a * v);
    case Type::kSigmoid: return sigmoid(v);
    case Type::kTanh: return tanh(v);
    case Type::kScaledTanh: return a * tanh(b * v);
    case Type::kSoftplus: return a * softplus(b * v);
    case Type::kElu: return select<V>(v >= 0.0f, v, a * expm1(v));
    case Type::kSelu: return b * select<V>(v >= 0.0f, v, a * expm1(v));
    case Type::kGeluTanh: return 0.5f * v * (1.0f + tanh(0.79788456080286536f * (v + 0.044715f * v * v * v)));
    case Type::kGeluErf: return 0.5f * v * (1.0f + erf(v * 0.70710678118654752f));
    case Type::kMish: return mish(v);
    case Type::kSilu: return v * sigmoid(v);
    case Type::kHardSwish: {  // x · relu6(x + 3) / 6 as PyTorch: x/6 + 1/2 cancels to a few bits near −3
      const V g = v + 3.0f;
      return v * (g < 0.0f ? splatAs<V>(0.0f) : splatAs<V>(6.0f) < g ? splatAs<V>(6.0f) : g) * (1.0f / 6.0f);
    }
    default: return v;
  }
}

// A vector's bits as unsigned lanes and back.
typedef uint32_t Bits8 __attribute__((vector_size(32)));
NETDEF_VMATH Bits8 bitsOf(Vec8 v) {
  Bits8 b;
  std::memcpy(&b, &v, sizeof b);
  return b;
}
NETDEF_VMATH Vec8 floatsOf(Bits8 b) {
  Vec8 v;
  std::memcpy(&v, &b, sizeof v);
  return v;
}

// roundToBfloat16 on 8 lanes (the same bit arithmetic: nearest, ties to even, NaN kept).
NETDEF_VMATH Vec8 roundBfloat16(Vec8 v) {
  const Bits8 bits = bitsOf(v);
  return select(v != v, v, floatsOf((bits + 0x7fffu + ((bits >> 16) & 1u)) & 0xffff0000u));
}

// roundToFloat16 on 8 lanes (the same arithmetic: 10 mantissa bits to nearest even; below 2^-14 steps of 2^-24,
// rounded by adding and removing 1.5·2^23, which is nearbyint for these small magnitudes; ±∞ from 65520; NaN kept).
NETDEF_VMATH Vec8 roundFloat16(Vec8 v) {
  const Bits8 bits = bitsOf(v), sign = bits & 0x80000000u;
  const Vec8 normal = floatsOf((bits + 0xfffu + ((bits >> 13) & 1u)) & 0xffffe000u);
  const Vec8 a = abs(v);
  const Vec8 steps = ((a * 16777216.0f + 12582912.0f) - 12582912.0f) * (1.0f / 16777216.0f);
  const Vec8 subnormal = floatsOf(bitsOf(steps) | sign);  // the sign kept on a result of zero too
  const Vec8 r = select(a < 6.103515625e-05f, subnormal, normal);
  return select(v != v, v, select(a < 65520.0f, r, floatsOf(sign | 0x7f800000u)));
}

// The rounding a fused epilogue applies, on 8 lanes (none, bfloat16 or float16).
NETDEF_VMATH Vec8 round(ActivationFn::Round to, Vec8 v) {
  if (to == ActivationFn::Round::kBfloat16) return roundBfloat16(v);
  if (to == ActivationFn::Round::kFloat16) return roundFloat16(v);
  return v;
}

// Eight values of 16-bit storage of `type` as floats (fromHalfBits on 8 lanes).
NETDEF_VMATH Vec8 widen8(const uint16_t* h, Storage type) {
  typedef uint16_t Half8 __attribute__((vector_size(16)));
  Half8 packed;
  std::memcpy(&packed, h, sizeof packed);
  const Bits8 x = __builtin_convertvector(packed, Bits8);
  if (type == Storage::kBfloat16) return floatsOf(x << 16);
  const Bits8 sign = (x & 0x8000u) << 16, exponent = (x >> 10) & 0x1fu, mantissa = x & 0x3ffu;
  const Bits8 small = bitsOf(__builtin_convertvector((Int8)mantissa, Vec8) * (1.0f / 16777216.0f)) | sign;  // subnormal or zero
  const Bits8 normal = sign | ((exponent + 112u) << 23) | (mantissa << 13);
  const Bits8 special = sign | 0x7f800000u | (mantissa << 13);  // ±∞, NaN
  return floatsOf(exponent == 0u ? small : exponent == 31u ? special : normal);
}

// Eight floats that are values of the 16-bit `type` into its storage (toHalfBits on 8 lanes: nothing rounded).
NETDEF_VMATH void narrow8(Vec8 v, Storage type, uint16_t* h) {
  typedef uint16_t Half8 __attribute__((vector_size(16)));
  const Bits8 bits = bitsOf(v);
  Bits8 r;
  if (type == Storage::kBfloat16) {
    r = (bits >> 16) | (v != v ? Bits8{} + 0x40u : Bits8{});  // a NaN quieted, as toHalfBits does
  } else {
    const Vec8 a = abs(v);
    const Vec8 subnormal = select(a < 6.103515625e-05f, a, splat(0.0f)) * 16777216.0f;  // whole steps of 2^-24
    r = ((bits & 0x7fffffffu) >> 13) - (112u << 10);
    r = a < 6.103515625e-05f ? (Bits8)__builtin_convertvector(subnormal, Int8) : r;
    r = a >= 65536.0f ? Bits8{} + 0x7c00u : r;
    r = (v != v ? Bits8{} + 0x7e00u : r) | ((bits >> 16) & 0x8000u);
  }
  const Half8 packed = __builtin_convertvector(r, Half8);
  std::memcpy(h, &packed, sizeof packed);
}

// The 8×8 transpose of eight vectors in place (row i, lane j becomes row j, lane i).
NETDEF_VMATH void transpose8(Vec8 (&m)[8]) {
  Vec8 t[8];
  for (int i = 0; i < 8; i += 2) {
    t[i] = __builtin_shufflevector(m[i], m[i + 1], 0, 8, 1, 9, 4, 12, 5, 13);
    t[i + 1] = __builtin_shufflevector(m[i], m[i + 1], 2, 10, 3, 11, 6, 14, 7, 15);
  }
  for (int i = 0; i < 8; i += 4)
    for (int j = 0; j < 2; j++) {
      m[i + 2 * j] = __builtin_shufflevector(t[i + j], t[i + j + 2], 0, 1, 8, 9, 4, 5, 12, 13);
      m[i + 2 * j + 1] = __builtin_shufflevector(t[i + j], t[i + j + 2], 2, 3, 10, 11, 6, 7, 14, 15);
    }
  for (int i = 0; i < 4; i++) {
    t[i] = __builtin_shufflevector(m[i], m[i + 4], 0, 1, 2, 3, 8, 9, 10, 11);
    t[i + 4] = __builtin_shufflevector(m[i], m[i + 4], 4, 5, 6, 7, 12, 13, 14, 15);
  }
  for (int i = 0; i < 8; i++) m[i] = t[i];
}

}  // namespace netdef::vmath
