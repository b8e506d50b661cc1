#include "kernels/winograd.h"

#include <algorithm>
#include <functional>

#include "kernels/kernel.h"
#include "thread_pool.h"

namespace netdef {

namespace {

// Y = Aᵀ·M·A, V = Bᵀ·d·B and U = G·g·Gᵀ with (Lavin & Gray, 2015):
//   Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1],  G = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1],  Aᵀ = [1 1 1 0; 0 1 −1 −1].
// Both transforms run on whole rows of tiles at once (loops over the tile column tx), so they vectorise.

// One channel's input transform. `even`/`odd` hold the zero-padded rows split by column parity (padded column
// 2i at even[r][i], 2i + 1 at odd[r][i]), so tile tx's columns are even[tx], odd[tx], even[tx + 1], odd[tx + 1].
// rowT[r][j][tx] = (d·B)[j] of row r; V_{4i+j}[tx] = (Bᵀ·rowT)[i] over the tile's four rows.
NETDEF_CLONES
void transformInput(const float* even, const float* odd, int64_t paddedRows, int64_t half, int64_t tilesH, int64_t tilesW, float* rowT,
                    float* V, int64_t planeStride) {
  for (int64_t r = 0; r < paddedRows; r++) {
    const float* e = even + r * half;
    const float* o = odd + r * half;
    float* t = rowT + r * 4 * tilesW;
    for (int64_t x = 0; x < tilesW; x++) {
      t[x] = e[x] - e[x + 1];
      t[tilesW + x] = o[x] + e[x + 1];
      t[2 * tilesW + x] = e[x + 1] - o[x];
      t[3 * tilesW + x] = o[x] - o[x + 1];
    }
  }
  for (int64_t ty = 0; ty < tilesH; ty++) {
    for (int j = 0; j < 4; j++) {
      const float* r0 = rowT + ((2 * ty) * 4 + j) * tilesW;
      const float* r1 = r0 + 4 * tilesW;
      const float* r2 = r1 + 4 * tilesW;
      const float* r3 = r2 + 4 * tilesW;
      float* v0 = V + (0 * 4 + j) * planeStride + ty * tilesW;
      float* v1 = V + (1 * 4 + j) * planeStride + ty * tilesW;
      float* v2 = V + (2 * 4 + j) * planeStride + ty * tilesW;
      float* v3 = V + (3 * 4 + j) * planeStride + ty * tilesW;
      for (int64_t x = 0; x < tilesW; x++) {
        v0[x] = r0[x] - r2[x];
        v1[x] = r1[x] + r2[x];
        v2[x] = r2[x] - r1[x];
        v3[x] = r1[x] - r3[x];
      }
    }
  }
}

// One output channel's transform: M_ξ rows of tilesW products per tile row → the channel's [OH][OW] plane.
NETDEF_CLONES
void transformOutput(const float* M, int64_t planeStride, int64_t tilesH, int64_t tilesW, float* y, int64_t OH, int64_t OW, float* scratch) {
  float* left = scratch;                // output column 2·tx of the current row
  float* right = scratch + tilesW;      // output column 2·tx + 1
  for (int64_t ty = 0; ty < tilesH; ty++) {
    const float* m[16];
    for (int xi = 0; xi < 16; xi++) m[xi] = M + xi * planeStride + ty * tilesW;
    for (int i = 0; i < 2 && 2 * ty + i < OH; i++) {
      for (int64_t x = 0; x < tilesW; x++) {
        float r[4];  // (Aᵀ·M)[i][j]
        for (int j = 0; j < 4; j++) r[j] = i == 0 ? m[j][x] + m[4 + j][x] + m[8 + j][x] : m[4 + j][x] - m[8 + j][x] - m[12 + j][x];
        left[x] = r[0] + r[1] + r[2];
        right[x] = r[1] - r[2] - r[3];
      }
      float* row = y + (2 * ty + i) * OW;
      for (int64_t x = 0; x < OW / 2; x++) { row[2 * x] = left[x]; row[2 * x + 1] = right[x]; }
      if (OW % 2) row[OW - 1] = left[OW / 2];
    }
  }
}

// Scratch that grows to the largest layer and is reused, per thread: the transformed input and the 16 products.
struct Scratch {
  std::vector<float> transformed, products;
};

}  // namespace

bool WinogradF2x3::fits(const int64_t kernel[3], const int64_t stride[3], const int64_t dilation[3], int64_t groups, int spatial) {
  return spatial == 2 && groups == 1 && kernel[1] == 3 && kernel[2] == 3 && stride[1] == 1 && stride[2] == 1 && dilation[1] == 1 && dilation[2] == 1;
}

WinogradF2x3::WinogradF2x3(const std::vector<float>& weights, int64_t outChannels, int64_t inChannels, int64_t kBlock)
    : out_(outChannels), in_(inChannels), kBlock_(kBlock) {
  // U_ξ[o][c] for ξ = 4·i + j: G·g·Gᵀ in double, rounded once.
  std::vector<float> u(16 * out_ * in_);
  const double G[4][3] = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};
  for (int64_t o = 0; o < out_; o++)
    for (int64_t c = 0; c < in_; c++) {
      const float* g = weights.data() + (o * in_ + c) * 9;
      double gg[4][3];  // G·g
      for (int i = 0; i < 4; i++)
        for (int j = 0; j < 3; j++) gg[i][j] = G[i][0] * g[j] + G[i][1] * g[3 + j] + G[i][2] * g[6 + j];
      for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) u[((4 * i + j) * out_ + o) * in_ + c] = static_cast<float>(gg[i][0] * G[j][0] + gg[i][1] * G[j][1] + gg[i][2] * G[j][2]);
    }
  for (int xi = 0; xi < 16; xi++) packed_.push_back(prepackA(out_, in_, u.data() + xi * out_ * in_, in_, kBlock_));
}

void WinogradF2x3::run(const float* x, const uint16_t* x16, Storage x16Type, int64_t H, int64_t W, int64_t padTop, int64_t padLeft, float* y, int64_t OH, int64_t OW,
                       const std::function<void(int64_t, float*)>& finish) const {
  const int64_t tilesH = (OH + 1) / 2, tilesW = (OW + 1) / 2, tiles = tilesH * tilesW;
  static thread_local Scratch scratch;
  // V_ξ is held as the GEMM's B panels ([panel][in][16 tiles]), so the GEMMs read it without packing; the last
  // panel's columns past `tiles` are zero.
  const int64_t panelCount = (tiles + kGemmPanel - 1) / kGemmPanel;
  scratch.transformed.resize(16 * panelCount * in_ * kGemmPanel);
  if (const int64_t used = tiles - (panelCount - 1) * kGemmPanel; used < kGemmPanel) {
    for (int xi = 0; xi < 16; xi++)
      for (int64_t c = 0; c < in_; c++) {
        float* last = scratch.transformed.data() + ((xi * panelCount + panelCount - 1) * in_ + c) * kGemmPanel;
        std::fill(last + used, last + kGemmPanel, 0.0f);
      }
  }
  scratch.products.resize(16 * out_ * tiles);
  float* V = scratch.transformed.data();
  float* M = scratch.products.data();
  // V_ξ[c][t] = (Bᵀ·d·B)_ξ for the 4×4 input patch d of tile t, zero outside the input.
  const int64_t paddedRows = 2 * tilesH + 2, half = tilesW + 1;
  parallelItems(in_, 24 * tiles, [&](int64_t c) {  // the transform: about 24 steps a tile
    static thread_local std::vector<float> rows;
    rows.assign(2 * paddedRows * half + 4 * paddedRows * tilesW + 16 * tiles, 0.0f);
    float* even = rows.data();
    float* odd = even + paddedRows * half;
    for (int64_t r = 0; r < paddedRows; r++) {
      const int64_t h = r - padTop;
      if (h < 0 || h >= H) continue;
      const int64_t columns = std::min(W, 2 * half - padLeft);
      const float* source = x16 ? nullptr : x + (c * H + h) * W;
      if (x16) {  // widened first, a row at a time
        static thread_local Floats wide;
        wide.resize(static_cast<size_t>(columns));
        widenHalves(x16 + (c * H + h) * W, wide.data(), columns, x16Type);
        source = wide.data();
      }
      for (int64_t col = 0; col < columns; col++) {
        const int64_t p = col + padLeft;
        (p % 2 ? odd : even)[r * half + p / 2] = source[col];
      }
    }
    float* rowT = odd + paddedRows * half;
    float* channel = rowT + 4 * paddedRows * tilesW;  // V_ξ[c][·] for the 16 ξ, then copied into the panels
    transformInput(even, odd, paddedRows, half, tilesH, tilesW, rowT, channel, tiles);
    for (int xi = 0; xi < 16; xi++)
      for (int64_t q = 0; q < panelCount; q++) {
        const float* from = channel + xi * tiles + q * kGemmPanel;
        float* to = V + ((xi * panelCount + q) * in_ + c) * kGemmPanel;
        const int64_t count = std::min<int64_t>(kGemmPanel, tiles - q * kGemmPanel);
        if (count == kGemmPanel) __builtin_memcpy(to, from, kGemmPanel * sizeof(float));  // fixed size: inline moves
        else for (int64_t k = 0; k < count; k++) to[k] = from[k];
      }
  }, in_ * tiles > 2048);
  // M_ξ = U_ξ · V_ξ: 16 GEMMs of [out × in] · [in × tiles], B read in place from V; a GEMM per task (each runs
  // on one thread), so the cores share out 16 equal pieces of work behind one barrier instead of splitting each
  // small GEMM behind its own.
  parallelFor(16, [&](int64_t xi) {
    const float* Vxi = V + xi * panelCount * in_ * kGemmPanel;
    sgemmPackedB(out_, tiles, in_, nullptr, in_, [&](int64_t k0, int64_t, int64_t j0, int64_t, float*) {
      return Vxi + ((j0 / kGemmPanel) * in_ + k0) * kGemmPanel;
    }, M + xi * out_ * tiles, tiles, false, kBlock_, packed_[xi].data());
  }, out_ * tiles * in_ > (1 << 16));
  // Y = Aᵀ·M·A per tile, clipped to the output; each channel finished while in cache.
  parallelItems(out_, 24 * tiles, [&](int64_t o) {
    static thread_local std::vector<float> columns;
    columns.resize(2 * tilesW);
    float* yo = y + o * OH * OW;
    transformOutput(M + o * tiles, out_ * tiles, tilesH, tilesW, yo, OH, OW, columns.data());
    finish(o, yo);
  }, out_ * tiles > 2048);
}

}  // namespace netdef
