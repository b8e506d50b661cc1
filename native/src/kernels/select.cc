#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "kernels/broadcast.h"
#include "kernels/kernel.h"
#include "thread_pool.h"

namespace netdef {

namespace {

class Select : public Broadcasting {
 public:
  using Broadcasting::Broadcasting;
  void run(const std::vector<const Buffer*>& in, const std::vector<Buffer*>& out) const override {
    if (isInteger(out[0]->storage)) choose<int64_t>(in, *out[0]);
    else choose<float>(in, *out[0]);
  }
  bool computesIntegers() const override { return true; }

 private:
  template <class T>
  static void choose(const std::vector<const Buffer*>& in, Buffer& out) {
    const float* condition = in[0]->data.data();
    const T *a = valuesAs<T>(*in[1]), *b = valuesAs<T>(*in[2]);
    T* y = valuesAs<T>(out);
    const BroadcastRows<3> rows({&in[0]->shape, &in[1]->shape, &in[2]->shape}, out.shape);
    const int64_t inner = rows.inner();
    const auto [sc, sa, sb] = rows.innerStride();
    rows.forRows(0, rows.rows(), [&](int64_t r, const std::array<int64_t, 3>& at) {
      for (int64_t i = 0; i < inner; i++) y[r * inner + i] = condition[at[0] + i * sc] != 0 ? a[at[1] + i * sa] : b[at[2] + i * sb];
    });
  }
};

}  // namespace

std::unique_ptr<Kernel> makeSelect(const OpDesc& op) { return std::make_unique<Select>(op); }

}  // namespace netdef
