#pragma once
#include <algorithm>
#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "kernels/kernel.h"
#include "kernels/shapes.h"

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

// A broadcast of N inputs into `out` (or any strided walk of them) as rows: the output's dimensions coalesced wherever every input runs on
// contiguously (or stays put) across them, the innermost coalesced dimension a row of `inner` elements read at
// `innerStride` (1, or 0 where an input is broadcast along it), the others walked by an odometer. However the
// inputs broadcast, the work is then a loop over long rows: [B,C,H,W] × [B,C,1,1] is B·C rows of H·W.
template <size_t N>
class BroadcastRows {
 public:
  BroadcastRows(const std::array<const Shape*, N>& in, const Shape& out) : BroadcastRows(out, broadcastStrides(in, out)) {}

  // Any walk of the inputs: input k's element for output index i at Σ_d i_d·strides[k][d] (a transpose, say).
  BroadcastRows(const Shape& out, const std::array<std::vector<int64_t>, N>& strides) {
    const size_t rank = out.size();
    // Innermost first: a dimension joins the one inside it where each input's stride continues that one's run.
    for (size_t d = rank; d-- > 0;) {
      if (out[d] == 1) continue;
      bool joins = !sizes_.empty();
      for (size_t k = 0; k < N && joins; k++) joins = strides[k][d] == strides_[k].back() * sizes_.back();
      if (joins) {
        sizes_.back() *= out[d];
        continue;
      }
      sizes_.push_back(out[d]);
      for (size_t k = 0; k < N; k++) strides_[k].push_back(strides[k][d]);
    }
    if (sizes_.empty()) {
      sizes_.push_back(1);
      for (size_t k = 0; k < N; k++) strides_[k].push_back(0);
    }
    inner_ = sizes_[0];
    for (size_t k = 0; k < N; k++) innerStride_[k] = strides_[k][0];
    for (size_t d = 1; d < sizes_.size(); d++) rows_ *= sizes_[d];
  }
  int64_t rows() const { return rows_; }
  int64_t inner() const { return inner_; }
  const std::array<int64_t, N>& innerStride() const { return innerStride_; }

  // Calls body(row, offsets of the row's first element in each input) for rows [begin, end), in order.
  template <class Body>
  void forRows(int64_t begin, int64_t end, Body&& body) const {
    const size_t outer = sizes_.size() - 1;
    std::vector<int64_t> index(outer);
    std::array<int64_t, N> offset{};
    for (size_t d = 0, r = static_cast<size_t>(begin); d < outer; d++) {
      index[d] = static_cast<int64_t>(r % sizes_[d + 1]);
      r /= sizes_[d + 1];
      for (size_t k = 0; k < N; k++) offset[k] += index[d] * strides_[k][d + 1];
    }
    for (int64_t row = begin; row < end; row++) {
      body(row, offset);
      for (size_t d = 0; d < outer; d++) {
        for (size_t k = 0; k < N; k++) offset[k] += strides_[k][d + 1];
        if (++index[d] < sizes_[d + 1]) break;
        for (size_t k = 0; k < N; k++) offset[k] -= strides_[k][d + 1] * sizes_[d + 1];
        index[d] = 0;
      }
    }
  }

 private:
  static std::array<std::vector<int64_t>, N> broadcastStrides(const std::array<const Shape*, N>& in, const Shape& out) {
    const size_t rank = out.size();
    std::array<std::vector<int64_t>, N> strides;
    for (size_t k = 0; k < N; k++) {
      Shape padded(rank - in[k]->size(), 1);
      padded.insert(padded.end(), in[k]->begin(), in[k]->end());
      strides[k] = stridesOf(padded);
      for (size_t d = 0; d < rank; d++) if (padded[d] == 1) strides[k][d] = 0;
    }
    return strides;
  }

  Shape sizes_;                                  // coalesced, innermost first
  std::array<std::vector<int64_t>, N> strides_;  // per input, per coalesced dimension
  int64_t inner_ = 1, rows_ = 1;
  std::array<int64_t, N> innerStride_{};
};

// Binary ops and the ternary select share the broadcasting walk.
class Broadcasting : public Kernel {
 public:
  using Kernel::Kernel;
  std::vector<Shape> outputShapes(const std::vector<Shape>& in) const override {
    return {broadcast(in, [this](const std::string& m) { fail(m); })};
  }
};

}  // namespace netdef
