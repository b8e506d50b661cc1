#include "kernels/kernel.h"
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

}  // namespace netdef
