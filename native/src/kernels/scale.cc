#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "kernels/kernel.h"
#include "thread_pool.h"

namespace netdef {

namespace {

// (x · scale + shift) ^ power, per tensor, per channel (on channelAxis) or per element of the dimensions from
// channelAxis on (TensorRT's kELEMENTWISE).
class Scale : public Kernel {
 public:
  explicit Scale(const OpDesc& op)
      : Kernel(op), mode_(op.params.string(op.name, "mode")), axis_(op.params.integer(op.name, "channelAxis")) {
    for (const char* role : {"shift", "scale", "power"}) if (op.hasWeight(role)) values_[role] = op.weight(role);
    if (mode_ != "uniform" && mode_ != "channel" && mode_ != "elementwise") bad("scale mode '" + mode_ + "'");
  }
  std::vector<Shape> outputShapes(const std::vector<Shape>& in) const override {
    const Shape& s = in.at(0);
    if (axis_ < 0 || axis_ >= static_cast<int64_t>(s.size())) fail("channelAxis " + std::to_string(axis_) + " is outside input " + formatShape(s));
    const int64_t need = mode_ == "uniform" ? 1 : mode_ == "channel" ? s[axis_] : volume(Shape(s.begin() + axis_, s.end()));
    for (auto& [role, v] : values_) {
      if (static_cast<int64_t>(v.size()) != need) fail(role + " has " + std::to_string(v.size()) + " values; input " + formatShape(s) + " in " + mode_ + " mode needs " + std::to_string(need));
    }
    return {s};
  }
  void run(const std::vector<const Buffer*>& in, const std::vector<Buffer*>& out) const override {
    const Shape& s = in[0]->shape;
    const int64_t n = volume(s);
    int64_t inner = 1, extent = 1;
    if (mode_ == "channel") {
      extent = s[axis_];
      for (size_t i = axis_ + 1; i < s.size(); i++) inner *= s[i];
    } else if (mode_ == "elementwise") {
      extent = volume(Shape(s.begin() + axis_, s.end()));
    }
    const auto find = [this](const char* role) { auto it = values_.find(role); return it == values_.end() ? nullptr : it->second.data(); };
    const float *sc = find("scale"), *sh = find("shift"), *pw = find("power");
    const float* x = in[0]->data.data();
    float* y = out[0]->data.data();
    const bool uniform = mode_ == "uniform", channel = mode_ == "channel";  // decided once, not per element
    parallelRanges(n, 16384, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; i++) {
        const int64_t c = uniform ? 0 : channel ? (i / inner) % extent : i % extent;
        float v = x[i];
        if (sc) v *= sc[c];
        if (sh) v += sh[c];
        if (pw) v = std::pow(v, pw[c]);
        y[i] = v;
      }
    }, n > 65536);
  }

 private:
  std::string mode_;
  int64_t axis_;
  std::map<std::string, std::vector<float>> values_;
};

}  // namespace

std::unique_ptr<Kernel> makeScale(const OpDesc& op) { return std::make_unique<Scale>(op); }

}  // namespace netdef
