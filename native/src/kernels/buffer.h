#pragma once
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <vector>

#include "graph.h"

// Tensors' values between layers: their memory, their storage (float32, 16 bits, integers) and layout, and the
// conversions between storages.

namespace netdef {

// The allocator of activation buffers: growing one leaves the new floats unset instead of zeroing them. Every
// kernel writes all of its output (pooled buffers hold the previous tensor's values anyway), so zeroing them on
// each execution was pure cost.
//
// Large buffers start on a page: two buffers streamed side by side (a copy, an element-wise layer, a convolution's
// input and output) then sit at the same offset within their pages. Wherever malloc puts them, the offsets differ by
// a few bytes, and the CPU takes each load as possibly depending on a store made just before to the other buffer at
// the same address modulo 4 KiB (4K aliasing): a copy between such buffers ran 4–5× slower.
template <class T>
struct UninitialisedAllocator : std::allocator<T> {
  template <class U> struct rebind { using other = UninitialisedAllocator<U>; };
  UninitialisedAllocator() = default;
  template <class U> UninitialisedAllocator(const UninitialisedAllocator<U>&) noexcept {}
  static constexpr size_t kPage = 4096, kPaged = 64 * 1024;  // buffers from 64 KiB up start on a page
  T* allocate(size_t n) {
    const size_t bytes = n * sizeof(T);
    if (bytes < kPaged) return std::allocator<T>::allocate(n);
    void* p = std::aligned_alloc(kPage, (bytes + kPage - 1) / kPage * kPage);
    if (!p) throw std::bad_alloc();
    return static_cast<T*>(p);
  }
  void deallocate(T* p, size_t n) {
    if (n * sizeof(T) < kPaged) std::allocator<T>::deallocate(p, n);
    else std::free(p);
  }
  template <class U> void construct(U* p) noexcept { ::new (static_cast<void*>(p)) U; }
  template <class U, class... Args> void construct(U* p, Args&&... args) { ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...); }
};
using Floats = std::vector<float, UninitialisedAllocator<float>>;

// How a tensor's values are held between layers: float32, or 16 bits a value (bfloat16, float16) where every value
// is a value of that type (its producer rounds to it) and every layer that reads it takes 16-bit input: half the
// memory and traffic, the same numbers.
// Integer tensors (int32 and int64) are held as int64 values, two float slots each, and computed as integers: an
// int32 tensor's values are wrapped to 32 bits by whatever writes them (isInteger, wrapInteger).
enum class Storage { kFloat32, kBfloat16, kFloat16, kInt32, kInt64 };

inline bool isInteger(Storage s) { return s == Storage::kInt32 || s == Storage::kInt64; }
inline bool is16Bit(Storage s) { return s == Storage::kBfloat16 || s == Storage::kFloat16; }
// A value computed in int64 as the tensor of storage `s` holds it (int32: wrapped, as C++ and PyTorch wrap).
inline int64_t wrapInteger(int64_t v, Storage s) { return s == Storage::kInt32 ? static_cast<int64_t>(static_cast<int32_t>(static_cast<uint32_t>(v))) : v; }

// How a 4-d tensor's values are ordered between layers: planar (NCHW, the network's own order), or channel-blocked
// (NCHW8c: per image, blocks of 8 channels, each block's pixels in order with the 8 channels' values side by side).
// Blocked tensors run between 1×1 convolutions, short-sum stems, depthwise convolutions and global pooling (a
// MobileNet's inverted residuals): their kernels compute 8 channels in the lanes of a vector, so in planar order each
// had to transpose its input or output on the way (see Engine::chooseLayout).
enum class Layout { kPlanar, kBlocked8 };

// A tensor's values during one execution: its concrete shape and elements in their storage (floating-point types,
// booleans and 8-bit integers are computed in float32, where each of their values is exact; int32 and int64 as
// int64). 16-bit storage packs two values into each float slot of `data`, integer storage takes two slots a value.
struct Buffer {
  Shape shape;
  Floats data;
  Storage storage = Storage::kFloat32;
  Layout layout = Layout::kPlanar;
  const uint16_t* halves() const { return reinterpret_cast<const uint16_t*>(data.data()); }
  uint16_t* halves() { return reinterpret_cast<uint16_t*>(data.data()); }
  const int64_t* integers() const { return reinterpret_cast<const int64_t*>(data.data()); }
  int64_t* integers() { return reinterpret_cast<int64_t*>(data.data()); }
};

// A buffer's values as T: float in float32 storage, int64_t in integer storage (kernels that only move values, for
// either kind of tensor).
template <class T> T* valuesAs(Buffer& b) { return reinterpret_cast<T*>(b.data.data()); }
template <class T> const T* valuesAs(const Buffer& b) { return reinterpret_cast<const T*>(b.data.data()); }

// The float slots `count` values take in `storage`.
inline size_t slotsFor(int64_t count, Storage storage) {
  return static_cast<size_t>(isInteger(storage) ? 2 * count : is16Bit(storage) ? (count + 1) / 2 : count);
}

// The 16 bits of a float that is a value of the 16-bit `type` (so nothing is rounded here); a NaN stays a NaN.
inline uint16_t toHalfBits(float value, Storage type) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  const uint32_t sign = (bits >> 16) & 0x8000u;
  if (type == Storage::kBfloat16) return static_cast<uint16_t>((bits >> 16) | (value != value ? 0x40u : 0u));  // quieted: a low payload would read as ∞
  if (value != value) return static_cast<uint16_t>(sign | 0x7e00u);
  const float magnitude = value < 0 ? -value : value;
  if (magnitude >= 65536.0f) return static_cast<uint16_t>(sign | 0x7c00u);  // ±∞ (finite float16 values end at 65504)
  if (magnitude < 6.103515625e-05f) return static_cast<uint16_t>(sign | static_cast<uint32_t>(magnitude * 16777216.0f));  // subnormal: steps of 2^-24
  return static_cast<uint16_t>(sign | ((((bits >> 23) & 0xffu) - 112u) << 10) | ((bits >> 13) & 0x3ffu));
}

// A 16-bit value of `type` as the float it stands for.
inline float fromHalfBits(uint16_t h, Storage type) {
  uint32_t bits;
  if (type == Storage::kBfloat16) {
    bits = static_cast<uint32_t>(h) << 16;
  } else {
    const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16, exponent = (h >> 10) & 0x1fu, mantissa = h & 0x3ffu;
    if (exponent == 0) {
      const float magnitude = static_cast<float>(mantissa) * (1.0f / 16777216.0f);  // subnormal or zero
      return sign ? -magnitude : magnitude;
    }
    bits = sign | (exponent == 31 ? 0x7f800000u | (mantissa << 13) : ((exponent + 112u) << 23) | (mantissa << 13));
  }
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

// `count` values from 16-bit storage of `type` into floats, and floats that are values of `type` into its storage
// (fromHalfBits / toHalfBits, eight at a time).
void widenHalves(const uint16_t* halves, float* floats, int64_t count, Storage type);
void narrowToHalves(const float* floats, uint16_t* halves, int64_t count, Storage type);

// `count` values from `from` (starting at value `at`) into `to` (at value `toAt`), each buffer in its own storage:
// copied, widened, or narrowed (the values then being of the 16-bit type); integers only to integer storage. For
// layers that move values.
void copyValues(const Buffer& from, int64_t at, Buffer& to, int64_t toAt, int64_t count);

// A buffer's values as float32: in place, or widened from 16-bit storage into `scratch` (for layers that read a
// small tensor as a whole — a dense layer's input, a global pooling's — where one pass over it costs little).
inline const float* floatValues(const Buffer& b, Floats& scratch) {
  if (b.storage == Storage::kFloat32) return b.data.data();
  const int64_t count = volume(b.shape);
  scratch.resize(static_cast<size_t>(count));
  widenHalves(b.halves(), scratch.data(), count, b.storage);
  return scratch.data();
}

// One image of a layer's input, output and optional residual (laid out as the output), each in float32 or in 16-bit
// storage of the type beside it: exactly one pointer of each pair set.
struct ImageIO {
  const float* x = nullptr;
  const uint16_t* x16 = nullptr;
  float* y = nullptr;
  uint16_t* y16 = nullptr;
  const float* residual = nullptr;
  const uint16_t* residual16 = nullptr;
  Storage x16Type = Storage::kFloat32, y16Type = Storage::kFloat32, residual16Type = Storage::kFloat32;
  bool xBlocked = false, yBlocked = false;  // channel-blocked (a residual is laid out as the output)
};

}  // namespace netdef
