// The packed GEMM: A and B packed in panels, K in blocks, the tiles shared out among the cores.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <stdexcept>

#include "engine_options.h"
#include "kernels/gemm/gemm.h"
#include "kernels/gemm/micro_kernel.h"
#include "thread_pool.h"

namespace netdef {

using namespace gemm_detail;

namespace gemm_detail {

// Rows [0, m) of A (k0 … k0+kc) into panels of kMR rows, zero-padded.
void packA(int64_t m, int64_t kc, const float* a, int64_t lda, float* ap) {
  const int64_t panels = (m + kMR - 1) / kMR;
  parallelFor(panels, [&](int64_t p) {
    float* dst = ap + p * kc * kMR;
    for (int64_t r = 0; r < kMR; r++) {
      const int64_t i = p * kMR + r;
      if (i < m) for (int64_t k = 0; k < kc; k++) dst[k * kMR + r] = a[i * lda + k];
      else for (int64_t k = 0; k < kc; k++) dst[k * kMR + r] = 0.0f;
    }
  }, m * kc > (1 << 14));
}

// Columns [j0, j0 + nr) of B (rows k0 … k0+kc, `b` already offset to k0) into one panel, zero-padded;
// B as [K, N] or (transB) [N, K].
void packBPanelImpl(int64_t kc, int64_t j0, int64_t nr, const float* b, int64_t ldb, bool transB, float* bp) {
  if (transB) {
    for (int64_t j = 0; j < kNR; j++) {
      if (j < nr) { const float* src = b + (j0 + j) * ldb; for (int64_t k = 0; k < kc; k++) bp[k * kNR + j] = src[k]; }
      else for (int64_t k = 0; k < kc; k++) bp[k * kNR + j] = 0.0f;
    }
    return;
  }
  for (int64_t k = 0; k < kc; k++) {
    const float* src = b + k * ldb + j0;
    float* dst = bp + k * kNR;
    for (int64_t j = 0; j < nr; j++) dst[j] = src[j];
    for (int64_t j = nr; j < kNR; j++) dst[j] = 0.0f;
  }
}

// K blocks of at most `kBlock`, all of one size: a short trailing block would pay a full pass over C for little work.
int64_t evenBlock(int64_t K, int64_t kBlock) {
  const int64_t blocks = (K + kBlock - 1) / kBlock;
  return (K + blocks - 1) / blocks;
}

}  // namespace gemm_detail

void packBPanel(int64_t kc, int64_t j0, int64_t nr, const float* b, int64_t ldb, bool transB, float* panel) {
  packBPanelImpl(kc, j0, nr, b, ldb, transB, panel);
}

std::vector<float> prepackA(int64_t M, int64_t K, const float* A, int64_t lda) {
  std::vector<float> packed(static_cast<size_t>((M + kMR - 1) / kMR * kMR * K));
  packA(M, K, A, lda, packed.data());
  return packed;
}

namespace gemm_detail {

// sgemmPackedB, its tiles swept by `sweep`: float32 (sweepTiles), or bfloat16 pairs (sweepPairTiles), where K counts
// pairs and each float of A and B holds one.
void gemmPackedB(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const PackB& packB, float* C, int64_t ldc, bool accumulate, int64_t kBlock,
                 const float* prepackedA, const GemmEpilogue* epilogue, const float* rowMajorB, int64_t ldb, SweepFn sweep) {
  if (M == 0 || N == 0) return;
  if (K == 0) {
    if (!accumulate) for (int64_t i = 0; i < M; i++) std::fill(C + i * ldc, C + i * ldc + N, 0.0f);
    return;
  }
  static thread_local AlignedBuffer packedA, sharedB;
  const int64_t mPanels = (M + kMR - 1) / kMR, nPanels = (N + kNR - 1) / kNR;
  // Wide B (many panels): tasks take groups of B panels, packed by the task while hot in cache, then met by every
  // A panel. Narrow B (a few panels, e.g. a 7×7 feature map against 512 filters): all of B packed once, tasks take
  // chunks of A panels (a few tens of KiB, kept in L2) and run them against each B panel in turn (kept in L1), so
  // large weights stream from memory once.
  // A large A against a B that fits in L2 (a dense layer over a long sequence's rows: 1,576 × 768 against 768 × 192)
  // goes the narrow way: a wide sweep re-read all of A from memory for every group of B panels (vit_block_192 at
  // batch 8: 12.9 → 12.0 ms).
  const bool wide = nPanels >= 8 && !(M * K > (int64_t{1} << 18) && N * K <= (int64_t{1} << 18));
  // Chunks of A panels start at even panels: the wide sweep takes them in pairs.
  const int64_t mPairs = (mPanels + 1) / 2, mChunks = balancedParts(mPairs, (std::clamp<int64_t>(mPanels / 8, 1, 8) + 1) / 2);
  const auto chunkBegin = [&](int64_t chunk) { return std::min(mPanels, 2 * partBegin(mPairs, mChunks, chunk)); };
  const bool parallel = M * N * K > (1 << 16);
  const bool oneThread = !parallel || insideParallelLoop();
  // K blocks where B needs none. A narrow B is packed whole: up to 1,024 deep in one block, each tile finished in
  // one visit (960→160 on 7×7: 0.120 → 0.109 ms against blocks of 240). A wide B read in place and split between
  // threads: each K block is a parallel loop of its own, whose end waits for the slower thread (on a VM, for a
  // descheduled one), so one block there too (MobileNetV2's 14×14 projections, 384 and 576 deep, 8–17 % faster in
  // median at batch 1). On one thread the blocks stay: a group's 4 panels of up to 256 rows are read from L2 by
  // every A panel, and 1,024 rows would not fit (5 % slower at batch 8).
  if (!wide || (rowMajorB && !oneThread)) kBlock = std::max(kBlock, std::min<int64_t>(K, kNarrowBlock));
  kBlock = evenBlock(K, kBlock);
  if (epilogue && epilogue->out16 && (accumulate || (K > kBlock && !C))) throw std::logic_error("sgemmPackedB: a 16-bit output's partial sums need C");
  for (int64_t k0 = 0; k0 < K; k0 += kBlock) {
    const int64_t kc = std::min(kBlock, K - k0);
    // A prepacked: panels of all K, read from row k0 on; else this block's panels, packed now.
    const float* ap = prepackedA ? prepackedA + k0 * kMR : nullptr;
    const int64_t aStride = prepackedA ? K * kMR : kc * kMR;
    if (!ap) {
      float* own = packedA.get(static_cast<size_t>(mPanels * kMR * kc));
      packA(M, kc, A + k0, lda, own);
      ap = own;
    }
    const bool add = accumulate || k0 > 0;
    const GemmEpilogue* ep = k0 + kc == K ? epilogue : nullptr;
    if (wide) {
      // B read in place by a GEMM that runs on one thread (one image per thread, at batch > 1): its K rows are as
      // many streams from memory, more than the hardware prefetcher follows, so the first A panel fetches the same
      // rows of the next group of panels, which this thread takes next (MobileNetV2's 1×1 projections at batch 8
      // 6–13 % faster; when groups were handed out in one sequence between threads the next group was the other
      // thread's, and the same fetch lost 4 %; with each thread's own share of groups it is level, within noise).
      // Split between threads, a short sum over many panels goes in a few long runs of consecutive groups instead:
      // a group is little work there, and groups handed out one at a time interleaved the threads' reads of each
      // row of B; in runs each thread streams its own stretch and fetches its next group ahead (MobileNetV2's
      // 112×112 1×1 convolutions of 16 and 32 channels 17–19 % faster in median at batch 1).
      const bool longRuns = !oneThread && kc <= 64 && nPanels >= 16 * poolThreads();
      const int64_t fetchAhead = rowMajorB && (oneThread || longRuns) ? kNR * kWideGroup : 0;
      // Split between threads group by group, a few groups (13 panels of a 14×14 map: 4) leave one thread waiting
      // for the other's last group at the end of the loop: there, narrower groups, about four per thread.
      const int64_t perGroup = oneThread || longRuns ? kWideGroup : std::clamp<int64_t>(nPanels / (4 * poolThreads()), 1, kWideGroup);
      // A task takes a group of B panels (or a run of groups) and sweeps the A panels over each: each A panel meets
      // the group's panels in turn, so C is written row-block by row-block in runs of the group's width rather than
      // 16 floats per page.
      const int64_t groups = balancedParts(nPanels, perGroup);
      const int64_t runs = longRuns ? std::min<int64_t>(groups, 4 * poolThreads()) : groups;
      parallelFor(runs, [&](int64_t run) {
        static thread_local AlignedBuffer packedB;
        float* buffer = packedB.get(static_cast<size_t>(kWideGroup * kNR * kc));
        for (int64_t group = partBegin(groups, runs, run); group < partBegin(groups, runs, run + 1); group++) {
          const int64_t q0 = partBegin(nPanels, groups, group), q1 = partBegin(nPanels, groups, group + 1);
          const float* bps[kWideGroup];
          int64_t strides[kWideGroup];
          for (int64_t q = q0; q < q1; q++) {
            const int64_t nr = std::min(kNR, N - q * kNR);
            // A whole panel of a row-major B is read where it lies, a row per step: no packing.
            strides[q - q0] = rowMajorB && nr == kNR ? ldb : kNR;
            bps[q - q0] = rowMajorB && nr == kNR ? rowMajorB + k0 * ldb + q * kNR : packB(k0, kc, q * kNR, nr, buffer + (q - q0) * kNR * kc);
          }
          sweep(kc, ap, aStride, 0, mPanels, bps, strides, 0, q0, q1, false, M, N, C, ldc, add, ep, fetchAhead);
        }
      }, parallel);
      continue;
    }
    float* shared = sharedB.get(static_cast<size_t>(nPanels * kNR * kc));
    static thread_local std::vector<const float*> panelList;  // the caller's: workers see it through `panels`
    panelList.resize(nPanels);
    const float** panels = panelList.data();
    parallelFor(nPanels, [&](int64_t q) { panels[q] = packB(k0, kc, q * kNR, std::min(kNR, N - q * kNR), shared + q * kNR * kc); }, N * kc > (1 << 13));
    parallelFor(mChunks, [&](int64_t chunk) {
      sweep(kc, ap, aStride, chunkBegin(chunk), chunkBegin(chunk + 1), panels, nullptr, kNR, 0, nPanels, true, M, N, C, ldc, add, ep, 0);
    }, parallel);
  }
}

}  // namespace gemm_detail

void sgemmPackedB(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const PackB& packB, float* C, int64_t ldc, bool accumulate, int64_t kBlock,
                  const float* prepackedA, const GemmEpilogue* epilogue, const float* rowMajorB, int64_t ldb) {
#if defined(__x86_64__)
  if (wideTiles()) return gemmPackedB(M, N, K, A, lda, packB, C, ldc, accumulate, kBlock, prepackedA, epilogue, rowMajorB, ldb, sweepWideTiles);
#endif
  gemmPackedB(M, N, K, A, lda, packB, C, ldc, accumulate, kBlock, prepackedA, epilogue, rowMajorB, ldb, sweepTiles);
}

}  // namespace netdef
