#include "kernels/winograd.h"

#include <algorithm>
#include <functional>

#include "kernels/kernel.h"
#include "kernels/vector_math.h"
#include "kernels/winograd_transforms.h"
#include "thread_pool.h"
#include "kernels/gemm/gemm.h"
#include "kernels/simd.h"

namespace netdef {

namespace {

// G of F(2×2, 3×3) and F(4×4, 3×3) (winograd_transforms.h has the matrices).
constexpr double kG2[4][3] = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};
constexpr double kG4[6][3] = {{0.25, 0, 0}, {-1.0 / 6, -1.0 / 6, -1.0 / 6}, {-1.0 / 6, 1.0 / 6, -1.0 / 6}, {1.0 / 24, 1.0 / 12, 1.0 / 6}, {1.0 / 24, -1.0 / 12, 1.0 / 6}, {0, 0, 1}};

// One channel's input transform, from its rows split by phase (phases[k][r][i], `half` apart, `paddedRows` rows a
// phase): rows first, rowT[r][j][tx] = (d·B)[j] of padded row r; then columns, V_{α·i + j}[tx] = (Bᵀ·rowT)[i] over
// each tile row's α rows, into channel[ξ·planeStride + ty·tilesW + tx]. Loops run over `lanes` tiles (see run).
template <int M>
NETDEF_CLONES void transformInputChannel(const float* phases, int64_t paddedRows, int64_t half, int64_t tilesH, int64_t tilesW, int64_t lanes,
                                         float* rowT, float* channel, int64_t planeStride) {
  constexpr int A = M + 2;
  const float* d[A];
  float* t[A];
  for (int64_t r = 0; r < paddedRows; r++) {
    for (int k = 0; k < A; k++) d[k] = phases + ((k % M) * paddedRows + r) * half + k / M;
    for (int j = 0; j < A; j++) t[j] = rowT + (r * A + j) * lanes;
    Transforms<M>::input(d, t, lanes);
  }
  for (int64_t ty = 0; ty < tilesH; ty++) {
    for (int j = 0; j < A; j++) {
      for (int k = 0; k < A; k++) d[k] = rowT + ((M * ty + k) * A + j) * lanes;
      for (int i = 0; i < A; i++) t[i] = channel + (A * i + j) * planeStride + ty * tilesW;
      Transforms<M>::input(d, t, lanes);
    }
  }
}

// One output channel: the products (plane ξ at products + ξ·productPlane, tile row ty at ty·tilesW) through Aᵀ·M·A
// into the [OH][OW] plane y, clipped to it; columnT and finished are scratch of (M + 2)·M and M rows of `lanes`.
template <int M>
NETDEF_CLONES void transformOutputChannel(const float* products, int64_t productPlane, int64_t tilesH, int64_t tilesW, int64_t lanes,
                                          float* columnT, float* finished, float* y, int64_t OH, int64_t OW) {
  constexpr int A = M + 2;
  const float* s[A];
  float* u[A];
  for (int64_t ty = 0; ty < tilesH; ty++) {
    for (int j = 0; j < A; j++) {  // (Aᵀ·M)[i][j] for the tile row: columnT[i][j][tx]
      for (int k = 0; k < A; k++) s[k] = products + (A * k + j) * productPlane + ty * tilesW;
      for (int i = 0; i < M; i++) u[i] = columnT + (i * A + j) * lanes;
      Transforms<M>::output(s, u, lanes);
    }
    for (int i = 0; i < M && M * ty + i < OH; i++) {  // output column M·tx + c of output row M·ty + i: finished[c][tx]
      for (int j = 0; j < A; j++) s[j] = columnT + (i * A + j) * lanes;
      for (int c = 0; c < M; c++) u[c] = finished + c * lanes;
      Transforms<M>::output(s, u, lanes);
      float* row = y + (M * ty + i) * OW;
      const int64_t whole = OW / M;
      for (int64_t tx = 0; tx < whole; tx++)
        for (int c = 0; c < M; c++) row[M * tx + c] = finished[c * lanes + tx];
      for (int64_t col = whole * M; col < OW; col++) row[col] = finished[(col % M) * lanes + col / M];
    }
  }
}

// One input row of `columns` values, after `padLeft` zero columns, split by column phase: padded column M·i + k to
// phase[k·phaseStride + i] (the zeros are already there). The whole groups of M columns inside the row are a
// loop with constant strides, which the compiler vectorises with shuffles.
template <int M>
__attribute__((always_inline)) inline void splitPhasesBody(const float* source, int64_t columns, int64_t padLeft, float* phase, int64_t phaseStride) {
  const int64_t first = (padLeft + M - 1) / M, last = (columns + padLeft) / M;  // groups [first, last) lie inside
  for (int64_t p = padLeft; p < std::min(first * M, columns + padLeft); p++) phase[(p % M) * phaseStride + p / M] = source[p - padLeft];
  const float* from = source + first * M - padLeft;
  for (int64_t i = 0; i < last - first; i++)
    for (int k = 0; k < M; k++) phase[k * phaseStride + first + i] = from[M * i + k];
  for (int64_t p = std::max(first, last) * M; p < columns + padLeft; p++) phase[(p % M) * phaseStride + p / M] = source[p - padLeft];
}
template <int M>
NETDEF_CLONES void splitPhases(const float* source, int64_t columns, int64_t padLeft, float* phase, int64_t phaseStride) {
  splitPhasesBody<M>(source, columns, padLeft, phase, phaseStride);
}

// Scratch that grows to the largest layer and is reused, per thread: the transformed input and the products.
struct Scratch {
  std::vector<float> transformed, products;
};

}  // namespace

std::vector<float> winogradWeights(const std::vector<float>& weights, int64_t outChannels, int64_t inChannels, int tile) {
  const int a = tile + 2;
  const double* G = tile == 2 ? &kG2[0][0] : &kG4[0][0];
  std::vector<float> u(static_cast<size_t>(a * a * outChannels * inChannels));
  for (int64_t o = 0; o < outChannels; o++)
    for (int64_t c = 0; c < inChannels; c++) {
      const float* g = weights.data() + (o * inChannels + c) * 9;
      double gg[6][3];  // G·g
      for (int i = 0; i < a; i++)
        for (int j = 0; j < 3; j++) gg[i][j] = G[i * 3] * g[j] + G[i * 3 + 1] * g[3 + j] + G[i * 3 + 2] * g[6 + j];
      for (int i = 0; i < a; i++)
        for (int j = 0; j < a; j++)
          u[((a * i + j) * outChannels + o) * inChannels + c] = static_cast<float>(gg[i][0] * G[j * 3] + gg[i][1] * G[j * 3 + 1] + gg[i][2] * G[j * 3 + 2]);
    }
  return u;
}

bool Winograd::fits(const int64_t kernel[3], const int64_t stride[3], const int64_t dilation[3], int64_t groups, int spatial) {
  return spatial == 2 && groups == 1 && kernel[1] == 3 && kernel[2] == 3 && stride[1] == 1 && stride[2] == 1 && dilation[1] == 1 && dilation[2] == 1;
}

Winograd::Winograd(const std::vector<float>& weights, int64_t outChannels, int64_t inChannels, int64_t kBlock, int tile)
    : out_(outChannels), in_(inChannels), kBlock_(kBlock), tile_(tile), alpha_(tile + 2) {
  const int a = alpha_;
  const std::vector<float> u = winogradWeights(weights, out_, in_, tile);
  for (int xi = 0; xi < a * a; xi++) packed_.push_back(prepackA(out_, in_, u.data() + xi * out_ * in_, in_));
}

void Winograd::run(int64_t images, const float* x, const uint16_t* x16, Storage x16Type, int64_t H, int64_t W, int64_t padTop, int64_t padLeft, float* y, int64_t OH, int64_t OW,
                   const std::function<void(int64_t, int64_t, float*)>& finish) const {
  const int64_t m = tile_, a = alpha_, planes = a * a;
  // Tile t of image n is GEMM column n·imageTiles + t.
  const int64_t tilesH = (OH + m - 1) / m, tilesW = (OW + m - 1) / m, imageTiles = tilesH * tilesW, tiles = images * imageTiles;
  // Images go through in groups whose transformed input and products fit a scratch budget (as TensorRT bounds its
  // workspace): 64 images of 64 channels on 56×56 would otherwise take 230 MB. About 4 MB an image there, 1 MB on
  // 7×7 with 512 channels (a batch of 8 in one group).
  constexpr int64_t kScratchBudget = 16 << 20;
  const int64_t imageBytes = static_cast<int64_t>(sizeof(float)) * planes * (imageTiles * (in_ + out_) + in_ * kGemmPanel);
  const int64_t group = std::max<int64_t>(1, kScratchBudget / imageBytes);
  if (images > group) {
    for (int64_t n0 = 0; n0 < images; n0 += group) {
      const int64_t inAt = n0 * in_ * H * W;
      run(std::min(group, images - n0), x ? x + inAt : nullptr, x16 ? x16 + inAt : nullptr, x16Type, H, W, padTop, padLeft, y + n0 * out_ * OH * OW, OH, OW,
          [&](int64_t n, int64_t o, float* plane) { finish(n0 + n, o, plane); });
    }
    return;
  }
  static thread_local Scratch scratch;
  // V_ξ is held as the GEMM's B panels ([panel][in][16 tiles]), so the GEMMs read it without packing; the last
  // panel's columns past `tiles` are zero.
  const int64_t panelCount = (tiles + kGemmPanel - 1) / kGemmPanel;
  // A cache line between panels and between product planes: at 64 channels a panel is exactly 4 KiB, so one
  // channel's rows in the (m+2)² × panels panels (and an output channel's rows in the product planes, at other
  // sizes) would all fall in the same L1 set.
  const int64_t panelSize = in_ * kGemmPanel + kGemmPanel, productPlane = out_ * tiles + kGemmPanel;
  scratch.transformed.resize(static_cast<size_t>(planes * panelCount * panelSize));
  if (const int64_t used = tiles - (panelCount - 1) * kGemmPanel; used < kGemmPanel) {
    for (int64_t xi = 0; xi < planes; xi++)
      for (int64_t c = 0; c < in_; c++) {
        float* last = scratch.transformed.data() + (xi * panelCount + panelCount - 1) * panelSize + c * kGemmPanel;
        std::fill(last + used, last + kGemmPanel, 0.0f);
      }
  }
  // Every transform loop runs over a whole number of 8-float vectors (`lanes` ≥ tilesW tiles), with no scalar
  // tail: what it computes past the last tile of a row is garbage, overwritten by the next row or never read.
  const int64_t lanes = (tilesW + 7) / 8 * 8;
  scratch.products.resize(static_cast<size_t>(planes * productPlane + lanes));
  float* V = scratch.transformed.data();
  float* M = scratch.products.data();
  std::fill(M + planes * productPlane, M + planes * productPlane + lanes, 0.0f);  // read past the last row
  // V_ξ[c][t] = (Bᵀ·d·B)_ξ for the α×α input patch d of tile t, zero outside the input. The zero-padded rows are
  // split by column phase (padded column m·i + k at phase[k][i]), so element k of tile tx's row is
  // phase[k mod m][tx + k / m]: the row pass reads each element of all the tiles as one contiguous run.
  const int64_t paddedRows = m * tilesH + 2, half = lanes + 1, planeStride = imageTiles + lanes;
  parallelItems(images * in_, 10 * planes * imageTiles, [&](int64_t item) {  // the transform: about 10 steps a product
    const int64_t n = item / in_, c = item % in_;
    static thread_local std::vector<float> work;
    const size_t phaseSize = static_cast<size_t>(m * paddedRows * half);
    work.resize(phaseSize + static_cast<size_t>(a * paddedRows * lanes + planes * planeStride));
    std::fill(work.begin(), work.begin() + phaseSize, 0.0f);
    float* phases = work.data();
    for (int64_t r = 0; r < paddedRows; r++) {
      const int64_t h = r - padTop;
      if (h < 0 || h >= H) continue;
      const int64_t columns = std::min(W, m * half - padLeft);
      const float* source = x16 ? nullptr : x + ((n * in_ + c) * H + h) * W;
      if (x16) {  // widened first, a row at a time
        static thread_local Floats wide;
        wide.resize(static_cast<size_t>(columns));
        widenHalves(x16 + ((n * in_ + c) * H + h) * W, wide.data(), columns, x16Type);
        source = wide.data();
      }
      (m == 2 ? splitPhases<2> : splitPhases<4>)(source, columns, padLeft, phases + r * half, paddedRows * half);
    }
    float* rowT = phases + phaseSize;
    float* channel = rowT + a * paddedRows * lanes;  // V_ξ[c][·] for every ξ, then copied into the panels
    (m == 2 ? transformInputChannel<2> : transformInputChannel<4>)(phases, paddedRows, half, tilesH, tilesW, lanes, rowT, channel, planeStride);
    // The image's tiles [first, first + imageTiles) into the panels, in runs that end at panel boundaries.
    const int64_t first = n * imageTiles;
    for (int64_t xi = 0; xi < planes; xi++)
      for (int64_t t = first; t < first + imageTiles;) {
        const int64_t q = t / kGemmPanel, offset = t % kGemmPanel, count = std::min(kGemmPanel - offset, first + imageTiles - t);
        const float* from = channel + xi * planeStride + (t - first);
        float* to = V + (xi * panelCount + q) * panelSize + c * kGemmPanel + offset;
        if (count == kGemmPanel) __builtin_memcpy(to, from, kGemmPanel * sizeof(float));  // fixed size: inline moves
        else for (int64_t k = 0; k < count; k++) to[k] = from[k];
        t += count;
      }
  }, images * in_ * imageTiles > 2048);
  // M_ξ = U_ξ · V_ξ: (m+2)² GEMMs of [out × in] · [in × tiles], B read in place from V; a GEMM per task (each runs
  // on one thread), so the cores share out equal pieces of work behind one barrier instead of splitting each
  // small GEMM behind its own.
  parallelFor(planes, [&](int64_t xi) {
    const float* Vxi = V + xi * panelCount * panelSize;
    sgemmPackedB(out_, tiles, in_, nullptr, in_, [&](int64_t k0, int64_t, int64_t j0, int64_t, float*) {
      return Vxi + (j0 / kGemmPanel) * panelSize + k0 * kGemmPanel;
    }, M + xi * productPlane, tiles, false, kBlock_, packed_[xi].data());
  }, out_ * tiles * in_ > (1 << 16));
  // Y = Aᵀ·M·A per tile, clipped to the output; each channel finished while in cache.
  parallelItems(images * out_, 8 * planes * imageTiles, [&](int64_t item) {
    const int64_t n = item / out_, o = item % out_;
    static thread_local std::vector<float> work;
    work.resize(static_cast<size_t>((m * a + m) * lanes));
    float* yo = y + (n * out_ + o) * OH * OW;
    (m == 2 ? transformOutputChannel<2> : transformOutputChannel<4>)(M + o * tiles + n * imageTiles, productPlane, tilesH, tilesW, lanes, work.data(),
                                                                     work.data() + m * a * lanes, yo, OH, OW);
    finish(n, o, yo);
  }, images * out_ * imageTiles > 2048);
}

}  // namespace netdef
