#pragma once
#include <algorithm>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "kernels/kernel.h"

// numpy/PyTorch broadcasting, shared by the element-wise layers (element-wise, select).

namespace netdef {

// Broadcast shape of several shapes (numpy rules), or an ExecutionError from the kernel.
inline Shape broadcast(const std::vector<Shape>& shapes, const std::function<void(const std::string&)>& fail) {
  size_t rank = 0;
  for (auto& s : shapes) rank = std::max(rank, s.size());
  Shape out(rank, 1);
  for (auto& s : shapes) {
    for (size_t i = 0; i < s.size(); i++) {
      int64_t& o = out[rank - s.size() + i];
      if (s[i] == o || s[i] == 1) continue;
      if (o == 1) o = s[i];
      else {
        std::string all;
        for (auto& t : shapes) all += formatShape(t) + " ";
        fail("shapes do not broadcast: " + all);
      }
    }
  }
  return out;
}

// Element offsets into an input of shape `in` for each output element of shape `out` (broadcast source indices).
inline void broadcastOffsets(const Shape& in, const Shape& out, std::vector<int64_t>& offsets) {
  const size_t rank = out.size();
  Shape padded(rank - in.size(), 1);
  padded.insert(padded.end(), in.begin(), in.end());
  auto st = stridesOf(padded);
  for (size_t i = 0; i < rank; i++) if (padded[i] == 1) st[i] = 0;
  const int64_t total = volume(out);
  offsets.resize(total);
  std::vector<int64_t> idx(rank, 0);
  int64_t off = 0;
  for (int64_t e = 0; e < total; e++) {
    offsets[e] = off;
    for (int64_t d = static_cast<int64_t>(rank) - 1; d >= 0; d--) {
      off += st[d];
      if (++idx[d] < out[d]) break;
      off -= st[d] * out[d];
      idx[d] = 0;
    }
  }
}

// Binary ops and the ternary select share the broadcasting walk.
class Broadcasting : public Kernel {
 public:
  using Kernel::Kernel;
  std::vector<Shape> outputShapes(const std::vector<Shape>& in) const override {
    return {broadcast(in, [this](const std::string& m) { fail(m); })};
  }
};

}  // namespace netdef
