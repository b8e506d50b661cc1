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
    std::vector<int64_t> oc, oa, ob;
    broadcastOffsets(in[0]->shape, out[0]->shape, oc);
    broadcastOffsets(in[1]->shape, out[0]->shape, oa);
    broadcastOffsets(in[2]->shape, out[0]->shape, ob);
    if (isInteger(out[0]->storage)) choose<int64_t>(in, *out[0], oc, oa, ob);
    else choose<float>(in, *out[0], oc, oa, ob);
  }
  bool computesIntegers() const override { return true; }

 private:
  template <class T>
  static void choose(const std::vector<const Buffer*>& in, Buffer& out, const std::vector<int64_t>& oc, const std::vector<int64_t>& oa, const std::vector<int64_t>& ob) {
    const float* condition = in[0]->data.data();
    const T *a = valuesAs<T>(*in[1]), *b = valuesAs<T>(*in[2]);
    T* y = valuesAs<T>(out);
    for (size_t i = 0; i < oc.size(); i++) y[i] = condition[oc[i]] != 0 ? a[oa[i]] : b[ob[i]];
  }
};

}  // namespace

std::unique_ptr<Kernel> makeSelect(const OpDesc& op) { return std::make_unique<Select>(op); }

}  // namespace netdef
