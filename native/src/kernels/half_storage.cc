#include <cstring>

#include "kernels/kernel.h"
#include "kernels/simd.h"
#include "kernels/vector_math.h"

namespace netdef {

NETDEF_CLONES
void widenHalves(const uint16_t* h, float* f, int64_t count, Storage type) {
  int64_t i = 0;
  for (; i + 8 <= count; i += 8) {
    const Vec8 v = vmath::widen8(h + i, type);
    __builtin_memcpy(f + i, &v, sizeof v);
  }
  for (; i < count; i++) f[i] = fromHalfBits(h[i], type);
}

NETDEF_CLONES
void narrowToHalves(const float* f, uint16_t* h, int64_t count, Storage type) {
  int64_t i = 0;
  for (; i + 8 <= count; i += 8) {
    Vec8 v;
    __builtin_memcpy(&v, f + i, sizeof v);
    vmath::narrow8(v, type, h + i);
  }
  for (; i < count; i++) h[i] = toHalfBits(f[i], type);
}

void copyValues(const Buffer& from, int64_t at, Buffer& to, int64_t toAt, int64_t count) {
  if (isInteger(from.storage) || isInteger(to.storage)) {
    if (isInteger(from.storage) != isInteger(to.storage)) throw ExecutionError("copyValues: integer and floating-point storage do not mix");
    for (int64_t i = 0; i < count; i++) to.integers()[toAt + i] = wrapInteger(from.integers()[at + i], to.storage);
    return;
  }
  const bool from16 = is16Bit(from.storage), to16 = is16Bit(to.storage);
  if (from16 && to16) std::memcpy(to.halves() + toAt, from.halves() + at, static_cast<size_t>(count) * sizeof(uint16_t));
  else if (from16) widenHalves(from.halves() + at, to.data.data() + toAt, count, from.storage);
  else if (to16) narrowToHalves(from.data.data() + at, to.halves() + toAt, count, to.storage);
  else std::memcpy(to.data.data() + toAt, from.data.data() + at, static_cast<size_t>(count) * sizeof(float));
}

}  // namespace netdef
