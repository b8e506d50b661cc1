#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "graph.h"

namespace netdef {

// The extents before, at and after `axis` of a shape: a tensor viewed as [outer, extent, inner].
inline void around(const Shape& s, int64_t axis, int64_t& outer, int64_t& extent, int64_t& inner) {
  outer = 1; inner = 1;
  for (int64_t i = 0; i < axis; i++) outer *= s[i];
  extent = s[axis];
  for (size_t i = axis + 1; i < s.size(); i++) inner *= s[i];
}

// A dense layer's output shape [N, outFeatures], or an empty shape with `problem` set when the input does not
// flatten to inFeatures per row.
inline Shape denseOutput(const Shape& s, int64_t inFeatures, int64_t outFeatures, std::string& problem) {
  if (s.empty() || volume(s) / std::max<int64_t>(s[0], 1) != inFeatures) {
    problem = "input " + formatShape(s) + " does not flatten to " + std::to_string(inFeatures) + " features";
    return {};
  }
  return {s[0], outFeatures};
}

// Row-major strides of a shape.
inline std::vector<int64_t> stridesOf(const Shape& s) {
  std::vector<int64_t> st(s.size(), 1);
  for (int64_t i = static_cast<int64_t>(s.size()) - 2; i >= 0; i--) st[i] = st[i + 1] * s[i + 1];
  return st;
}

// Sizes where -2 entries are dimensions of the layer's inputs at run time, taken in order from (input, axis) pairs
// (layers/dims.ts, FROM_INPUT); `fail` reports a pair that names no dimension.
template <class Fail>
Shape sizesFrom(const std::vector<int64_t>& sizes, const std::vector<int64_t>& dimsFrom, const std::vector<Shape>& inputs, Fail fail) {
  Shape out = sizes;
  size_t next = 0;
  for (int64_t& d : out) {
    if (d != -2) continue;
    if (next + 2 > dimsFrom.size()) fail("a size taken from an input has no (input, axis) pair");
    const int64_t input = dimsFrom[next], axis = dimsFrom[next + 1];
    next += 2;
    if (input < 0 || input >= static_cast<int64_t>(inputs.size()) || axis < 0 || axis >= static_cast<int64_t>(inputs[input].size())) {
      fail("a size is taken from dimension " + std::to_string(axis) + " of input " + std::to_string(input) + ", which it does not have");
    }
    d = inputs[input][axis];
  }
  return out;
}

}  // namespace netdef
