#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/kernel.h"
#include "thread_pool.h"

namespace netdef {

namespace {

// `count` pixels of one block of 8 channels of a planar `from` into a blocked `to`, through float32: `at` and `toAt`
// are the block's first value plus the run's first pixel in planar terms (channel c of the block at + c·pixels);
// pixel i's channel c goes to the block's start + 8·i + c.
void transposeToBlocked(const Buffer& from, int64_t at, Buffer& to, int64_t toAt, int64_t count, int64_t pixels) {
  static thread_local Buffer planar, blocked;
  for (Buffer* b : {&planar, &blocked}) b->data.resize(static_cast<size_t>(8 * count));
  const int64_t pixel = at % pixels;  // the run's first pixel within its block
  float* const rows = planar.data.data();
  float* const lanes = blocked.data.data();
  for (int64_t c = 0; c < 8; c++) copyValues(from, at + c * pixels, planar, c * count, count);
  for (int64_t i = 0; i < count; i++)
    for (int64_t c = 0; c < 8; c++) lanes[8 * i + c] = rows[c * count + i];
  copyValues(blocked, 0, to, toAt - pixel + 8 * pixel, 8 * count);
}

class Concatenation : public Kernel {
  static constexpr int64_t kPiece = 16384;

 public:
  explicit Concatenation(const OpDesc& op) : Kernel(op), axis_(op.params.integer(op.name, "axis")) {}
  std::vector<Shape> outputShapes(const std::vector<Shape>& in) const override {
    Shape out = in.at(0);
    if (axis_ < 0 || axis_ >= static_cast<int64_t>(out.size())) fail("axis out of range");
    for (size_t t = 1; t < in.size(); t++) {
      if (in[t].size() != out.size()) fail("input " + std::to_string(t) + " " + formatShape(in[t]) + " has another rank");
      for (size_t d = 0; d < out.size(); d++) {
        if (static_cast<int64_t>(d) == axis_) continue;
        if (in[t][d] != out[d]) fail("input " + std::to_string(t) + " " + formatShape(in[t]) + " differs from input 0 " + formatShape(in[0]) + " off the axis");
      }
      out[axis_] += in[t][axis_];
    }
    return {out};
  }
  // Channel-blocked inputs and output where the axis is the channels of 4-d tensors and every input's channels are
  // whole blocks of 8: each image's part of an input is then one run of values in either layout, at the same
  // offset in the output's image, so the copies below are the same. An input in the other layout than the output's
  // is transposed on the way, where the engine lets it (transposesInputs: a U-Net's upsampled features and skip
  // connection, both planar, into the blocked input of the 3×3 convolution after them, twice as fast as a planar one).
  void declareShapes(const std::vector<Shape>& in, const std::vector<Shape>&) override {
    channels_ = axis_ == 1;
    for (const Shape& s : in) channels_ = channels_ && s.size() == 4 && s[1] > 0;
    blockable_ = channels_;
    for (const Shape& s : in) blockable_ = blockable_ && s[1] % 8 == 0;
    inputs_ = in.size();
  }
  // On the channels of 4-d tensors whose channel counts the plan fixes, producers may write inputs into the output.
  bool takesWrittenInputs() const override { return channels_; }
  void settleWrittenInputs(const std::vector<bool>& written) override { written_ = written; }
  bool readsBlocked(size_t) const override { return blockable_; }
  bool writesBlocked() const override { return blockable_; }
  std::vector<size_t> blockedLike() const override {
    std::vector<size_t> all;
    for (size_t k = 0; blockable_ && k < inputs_; k++) all.push_back(k);
    return all;
  }
  bool transposesInputs() const override { return blockable_; }
  // Copies values: 16-bit storage in and out, each input converted where its storage differs from the output's.
  bool takes16BitStorage() const override { return true; }
  bool keeps16BitValues() const override { return true; }
  bool computesIntegers() const override { return true; }
  void run(const std::vector<const Buffer*>& in, const std::vector<Buffer*>& out) const override {
    const Shape& os = out[0]->shape;
    int64_t outer, extent, inner;
    around(os, axis_, outer, extent, inner);
    const int64_t outRow = extent * inner;
    // The copies (each input's rows), cut into pieces of at most kPiece values shared out among the cores; a planar
    // input into a blocked output, by blocks of 8 channels and runs of pixels (kPiece / 8 of them).
    struct Piece { const Buffer* from; int64_t at, toAt, count; bool transposed; };
    static thread_local std::vector<Piece> pieces;
    pieces.clear();
    int64_t offset = 0;
    for (size_t k = 0; k < in.size(); k++) {
      const Buffer* b = in[k];
      const int64_t row = b->shape[axis_] * inner;
      if (k < written_.size() && written_[k]) {  // there already
        offset += row;
        continue;
      }
      if (b->layout == out[0]->layout) {
        for (int64_t o = 0; o < outer; o++)
          for (int64_t done = 0; done < row; done += kPiece) pieces.push_back({b, o * row + done, o * outRow + offset + done, std::min(kPiece, row - done), false});
      } else {  // blocks of 8 channels of inner (pixels) values: block-major in both layouts, a pixel's 8 together in the blocked one
        for (int64_t o = 0; o < outer; o++)
          for (int64_t block = 0; block < row; block += 8 * inner)
            for (int64_t done = 0; done < inner; done += kPiece / 8) pieces.push_back({b, o * row + block + done, o * outRow + offset + block + done, std::min(kPiece / 8, inner - done), true});
      }
      offset += row;
    }
    const Piece* list = pieces.data();  // the caller's: workers see it through `list`
    parallelItems(static_cast<int64_t>(pieces.size()), kPiece / 4, [&](int64_t i) {
      const Piece& p = list[i];
      if (!p.transposed) return copyValues(*p.from, p.at, *out[0], p.toAt, p.count);
      transposeToBlocked(*p.from, p.at, *out[0], p.toAt, p.count, inner);
    }, outer * outRow > 2 * kPiece);
  }

 private:
  int64_t axis_;
  bool channels_ = false, blockable_ = false;
  size_t inputs_ = 0;
  std::vector<bool> written_;  // the inputs their producers write into the output
};

}  // namespace

std::unique_ptr<Kernel> makeConcatenation(const OpDesc& op) { return std::make_unique<Concatenation>(op); }

}  // namespace netdef
