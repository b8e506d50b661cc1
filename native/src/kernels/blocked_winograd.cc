#include "kernels/blocked_winograd.h"

#include <algorithm>
#include <cmath>

#include "kernels/blocked_finish.h"
#include "kernels/vector_math.h"
#include "kernels/winograd_transforms.h"
#include "thread_pool.h"
#include "kernels/activation_fn.h"
#include "kernels/simd.h"

namespace netdef {

namespace {

using In = BlockedConvolution::In;
using Out = BlockedConvolution::Out;

constexpr double kL2Bytes = 1 << 20;  // a core's (Zen 4 and 5; 2 MB on Sapphire Rapids)
constexpr int64_t kMinChunk = 8;      // tiles: the products' tiles of 8+ pixels keep 8 FMA chains going

// Where a chunk's tiles lie: tile t (of the whole batch) is tile row ty, column tx of image n.
struct TileGrid {
  int64_t tilesH, tilesW;
  void locate(int64_t t, int64_t& n, int64_t& ty, int64_t& tx) const {
    n = t / (tilesH * tilesW);
    ty = t / tilesW % tilesH;
    tx = t % tilesW;
  }
};

// V_ξ for tiles [first, first + count): block b of tile t at V + ((ξ·blocks + b)·count + t)·8, written block by
// block, tile by tile, so that each ξ's writes run on through the same lines (tile by tile, block by block, the
// 36 planes' scattered stores missed L1: the transform took as long as the products). Rows first, from the input
// itself where the tile's patch lies inside a float32 image, else from a copy of the patch (zero outside the image,
// widened from 16 bits); then columns.
template <int M>
NETDEF_CLONES void transformInput(In x, int64_t blocks, int64_t H, int64_t W, const int64_t pad[2], const TileGrid& grid, int64_t first, int64_t count, float* V) {
  constexpr int A = M + 2;
  float patch[A][A][8], rows[A][A][8];
  const float* d[A];
  float* t[A];
  for (int64_t b = 0; b < blocks; b++)
    for (int64_t i = 0; i < count; i++) {
      int64_t n, ty, tx;
      grid.locate(first + i, n, ty, tx);
      const int64_t top = ty * M - pad[0], left = tx * M - pad[1], plane = (n * blocks + b) * H * W;
      const bool inside = x.f && top >= 0 && top + A <= H && left >= 0 && left + A <= W;
      if (!inside) {
        for (int r = 0; r < A; r++) {
          const int64_t ih = top + r;
          for (int k = 0; k < A; k++) {
            const int64_t iw = left + k;
            Vec8 v{};
            if (ih >= 0 && ih < H && iw >= 0 && iw < W) {
              const int64_t at = (plane + ih * W + iw) * 8;
              v = x.f ? vmath::load(x.f + at) : vmath::widen8(x.h + at, x.type);
            }
            vmath::store(patch[r][k], v);
          }
        }
      }
      for (int r = 0; r < A; r++) {
        const float* row = inside ? x.f + (plane + (top + r) * W + left) * 8 : patch[r][0];
        for (int k = 0; k < A; k++) d[k] = row + 8 * k, t[k] = rows[r][k];
        Transforms<M>::input(d, t, 8);
      }
      for (int j = 0; j < A; j++) {
        for (int k = 0; k < A; k++) d[k] = rows[k][j], t[k] = V + (((A * k + j) * blocks + b) * count + i) * 8;
        Transforms<M>::input(d, t, 8);
      }
    }
}

// Y = Aᵀ·M_ξ·A for tiles [first, first + count) and output blocks [b0, b1) (M_ξ laid out as V_ξ, `blocks` output
// blocks), clipped to the OH × OW output and finished there (F: kRounded, or kGated for another activation).
template <int M, Finishing F>
NETDEF_CLONES void transformOutput(const float* products, int64_t blocks, int64_t b0, int64_t b1, int64_t outChannels, int64_t OH, int64_t OW, const TileGrid& grid, int64_t first,
                                   int64_t count, Out y, int64_t yChannels, bool yBlocked, const BlockedConvolution::Finish& f) {
  constexpr int A = M + 2;
  float columns[A][M][8], finished[M][M][8];
  const float* s[A];
  float* u[A];
  const int64_t pixels = OH * OW;
  const Vec8 lower = vmath::splat(f.lower), upper = vmath::splat(f.upper);
  for (int64_t b = b0; b < b1; b++) {
    const int64_t c0 = 8 * b, lanes = std::min<int64_t>(8, outChannels - c0);
    Vec8 bias{};
    for (int64_t c = 0; c < lanes && f.bias; c++) bias[c] = f.bias[c0 + c];
    for (int64_t i = 0; i < count; i++) {
      for (int r = 0; r < A; r++) {
        for (int k = 0; k < A; k++) s[k] = products + (((A * r + k) * blocks + b) * count + i) * 8;
        for (int c = 0; c < M; c++) u[c] = columns[r][c];
        Transforms<M>::output(s, u, 8);
      }
      for (int c = 0; c < M; c++) {
        for (int k = 0; k < A; k++) s[k] = columns[k][c];
        for (int r = 0; r < M; r++) u[r] = finished[r][c];
        Transforms<M>::output(s, u, 8);
      }
      int64_t n, ty, tx;
      grid.locate(first + i, n, ty, tx);
      const Out image = y.at(n * yChannels * pixels);
      const BlockedConvolution::In residual = f.residual.at(n * outChannels * pixels);
      for (int r = 0; r < M && ty * M + r < OH; r++)
        for (int c = 0; c < M && tx * M + c < OW; c++) {
          const int64_t pixel = (ty * M + r) * OW + tx * M + c;
          const Vec8 v = vmath::load(finished[r][c]) + bias;
          if (yBlocked) {  // the block's 8 channels of the pixel: one vector
            storeBlocked<F>(v, (b * pixels + pixel) * 8, image, residual, lower, upper, f.gate, f.round);
            continue;
          }
          for (int64_t k = 0; k < lanes; k++) storePlanar<F>(v[k], (c0 + k) * pixels + pixel, image, residual, f.lower, f.upper, f.gate, f.round);  // each channel's plane
        }
    }
  }
}

}  // namespace

BlockedWinograd::BlockedWinograd(const std::vector<float>& weight, int64_t outChannels, int64_t inChannels, int tile)
    : out_(outChannels), in_(inChannels), tile_(tile) {
  const std::vector<float> u = winogradWeights(weight, out_, in_, tile);
  Window unit;
  unit.spatial = 2;
  unit.mode = "explicit_round_down";
  const int64_t planes = (tile + 2) * (tile + 2), matrix = out_ * in_;
  products_.reserve(static_cast<size_t>(planes));
  for (int64_t xi = 0; xi < planes; xi++) products_.emplace_back(std::vector<float>(u.begin() + xi * matrix, u.begin() + (xi + 1) * matrix), out_, in_, unit);
}

void BlockedWinograd::run(int64_t batch, int64_t H, int64_t W, int64_t OH, int64_t OW, const int64_t pad[2], In x, Out y, int64_t yChannels, bool yBlocked,
                          const BlockedConvolution::Finish& finish) const {
  const int64_t m = tile_, planes = (m + 2) * (m + 2), inBlocks = in_ / 8, outBlocks = (out_ + 7) / 8;
  const TileGrid grid{(OH + m - 1) / m, (OW + m - 1) / m};
  const int64_t tiles = batch * grid.tilesH * grid.tilesW;
  // Work items: chunks of tiles × groups of output panels, each item's transformed input and products held in a
  // core's L2 along with the transformed weights it reuses (all of them where they fit in half the L2, as they are
  // then read again by the next chunk; else one ξ's, read once for the chunk's tiles), in its group's share. The
  // fewest groups whose chunks can have kMinChunk tiles, then the largest chunks: each chunk reads all the weights
  // once. Measured at batch 1 (single-layer runs): 64→64 on 56×56, F(4×4): 10 chunks 0.25 ms, 6 chunks 0.39;
  // 256→256 on 14×14, F(4×4): 2 chunks of 8 tiles 0.27–0.30, and 3 groups of them 0.45–0.54; 512→512 on 7×7,
  // F(2×2): 2 groups of 2 chunks 0.47–0.56, 1 group 1.2.
  const int64_t panels = (out_ + 15) / 16, threads = poolThreads();
  const double inBytes = 4.0 * planes * in_, outBytes = 4.0 * planes * outBlocks * 8, weightBytes = 4.0 * planes * in_ * out_;
  const int64_t wanted = std::min<int64_t>(kMinChunk, (tiles + threads - 1) / threads);
  int64_t groups = 1, most = 1;
  for (int64_t g = 1; g <= panels; g++) {
    const double resident = (weightBytes <= kL2Bytes / 2 ? weightBytes : weightBytes / planes) / g;
    groups = g;
    most = std::max<int64_t>(1, static_cast<int64_t>((kL2Bytes * 0.95 - resident) / (inBytes + outBytes / g)));
    if (most >= wanted) break;
  }
  int64_t chunks = balancedParts(tiles, most);
  if (chunks * groups < threads) chunks = std::min(tiles, (threads + groups - 1) / groups);
  const BlockedConvolution::Finish none{nullptr, {}, -INFINITY, INFINITY, {}, ActivationFn::Round::kNone};  // the products as they are
  parallelFor(chunks * groups, [&](int64_t item) {
    const int64_t chunk = item / groups, group = item % groups;
    const int64_t first = partBegin(tiles, chunks, chunk), count = partBegin(tiles, chunks, chunk + 1) - first;
    const int64_t g0 = partBegin(panels, groups, group), g1 = partBegin(panels, groups, group + 1);
    static thread_local Floats V, products;
    V.resize(static_cast<size_t>(planes * inBlocks * count * 8));
    products.resize(static_cast<size_t>(planes * outBlocks * count * 8));
    (m == 2 ? transformInput<2> : transformInput<4>)(x, inBlocks, H, W, pad, grid, first, count, V.data());
    for (int64_t xi = 0; xi < planes; xi++)
      products_[xi].runPixels(In{V.data() + xi * inBlocks * count * 8}, true, count, 0, count, count, Out{products.data() + xi * outBlocks * count * 8}, true, none, g0, g1);
    const bool gated = finish.gate.type != ActivationFn::Type::kNone;
    const auto output = m == 2 ? (gated ? transformOutput<2, Finishing::kGated> : transformOutput<2, Finishing::kRounded>)
                               : (gated ? transformOutput<4, Finishing::kGated> : transformOutput<4, Finishing::kRounded>);
    output(products.data(), outBlocks, 2 * g0, std::min(outBlocks, 2 * g1), out_, OH, OW, grid, first, count, y, yChannels, yBlocked, finish);
  }, tiles * planes * in_ * out_ > (1 << 16));
}

}  // namespace netdef
