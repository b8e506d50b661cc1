#pragma once
#include <algorithm>
#include <string>

#include "kernels/kernel.h"

namespace netdef {

// Sliding-window geometry, normalised to 3 spatial dimensions (1-d and 2-d windows get leading extents of 1).
struct Window {
  int spatial = 0;
  int64_t kernel[3] = {1, 1, 1}, stride[3] = {1, 1, 1}, dilation[3] = {1, 1, 1}, pre[3] = {0, 0, 0}, post[3] = {0, 0, 0};
  std::string mode;
  bool ceil = false;  // PyTorch's ceil_mode (with explicit_round_down): round up, but drop a last window in the padding

  static Window read(const OpDesc& op) {
    Window w;
    auto k = op.params.integers(op.name, "kernel");
    auto s = op.params.integers(op.name, "stride");
    auto d = op.params.has("dilation") ? op.params.integers(op.name, "dilation") : std::vector<int64_t>(k.size(), 1);
    auto pre = op.params.integers(op.name, "prePadding");
    auto post = op.params.integers(op.name, "postPadding");
    w.mode = op.params.string(op.name, "paddingMode");
    w.ceil = op.params.number(op.name, "ceilMode") != 0;
    w.spatial = static_cast<int>(k.size());
    if (w.spatial < 1 || w.spatial > 3 || s.size() != k.size() || d.size() != k.size() || pre.size() != k.size() || post.size() != k.size()) {
      throw PlanError(op.name + ": window parameters of inconsistent lengths");
    }
    for (int i = 0; i < w.spatial; i++) {
      const int j = 3 - w.spatial + i;
      if (k[i] < 1 || s[i] < 1 || d[i] < 1 || pre[i] < 0 || post[i] < 0) throw PlanError(op.name + ": window parameters out of range");
      w.kernel[j] = k[i]; w.stride[j] = s[i]; w.dilation[j] = d[i]; w.pre[j] = pre[i]; w.post[j] = post[i];
    }
    if (w.mode != "explicit_round_down" && w.mode != "explicit_round_up" && w.mode != "same_upper" && w.mode != "same_lower") {
      throw PlanError(op.name + ": padding mode '" + w.mode + "'");
    }
    return w;
  }

  // Concrete padding and output extent of (normalised) dimension j for input extent `size`.
  void resolve(int j, int64_t size, int64_t& padBefore, int64_t& padAfter, int64_t& out) const {
    const int64_t k = dilation[j] * (kernel[j] - 1) + 1;
    if (mode == "same_upper" || mode == "same_lower") {
      out = (size + stride[j] - 1) / stride[j];
      const int64_t total = std::max<int64_t>(0, (out - 1) * stride[j] + k - size);
      const int64_t small = total / 2;
      padBefore = mode == "same_upper" ? small : total - small;
      padAfter = total - padBefore;
      return;
    }
    padBefore = pre[j];
    padAfter = post[j];
    const int64_t span = size + pre[j] + post[j] - k;
    if (span < 0) { out = 0; return; }
    if (mode == "explicit_round_down" && !ceil) { out = span / stride[j] + 1; return; }
    out = (span + stride[j] - 1) / stride[j] + 1;  // TensorRT's kEXPLICIT_ROUND_UP: "O = ceil((M - F) / S) + 1"
    if (ceil && (out - 1) * stride[j] >= size + pre[j]) out--;  // PyTorch: the last window starts inside input or leading pad
  }
};

// Spatial extents of an [N, C, …spatial] shape, normalised to 3.
inline void spatialOf(const Shape& s, int spatial, int64_t out[3]) {
  out[0] = out[1] = out[2] = 1;
  for (int i = 0; i < spatial; i++) out[3 - spatial + i] = s[2 + i];
}

// A convolution's output shape [N, outChannels, …] for input `s`, or an empty shape with `problem` set when `s`
// does not fit the window or the kernel's `inChannels`.
inline Shape convolutionOutput(const Window& w, const Shape& s, int64_t inChannels, int64_t outChannels, std::string& problem) {
  if (static_cast<int>(s.size()) != w.spatial + 2) { problem = "input " + formatShape(s) + " is not of rank " + std::to_string(w.spatial + 2); return {}; }
  if (s[1] != inChannels) { problem = "input " + formatShape(s) + " has " + std::to_string(s[1]) + " channels, the kernel expects " + std::to_string(inChannels); return {}; }
  Shape out = {s[0], outChannels};
  int64_t size[3];
  spatialOf(s, w.spatial, size);
  for (int j = 3 - w.spatial; j < 3; j++) {
    int64_t before, after, extent;
    w.resolve(j, size[j], before, after, extent);
    if (extent < 1) { problem = "input " + formatShape(s) + " is smaller than the window"; return {}; }
    out.push_back(extent);
  }
  return out;
}

}  // namespace netdef
