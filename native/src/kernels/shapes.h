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

}  // namespace netdef
