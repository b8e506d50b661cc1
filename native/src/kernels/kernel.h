#pragma once
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "engine_options.h"
#include "graph.h"

namespace netdef {

// The allocator of activation buffers: growing one leaves the new floats unset instead of zeroing them. Every
// kernel writes all of its output (pooled buffers hold the previous tensor's values anyway), so zeroing them on
// each execution was pure cost.
//
// Large buffers start on a page: two buffers streamed side by side (a copy, an element-wise layer, a convolution's
// input and output) then sit at the same offset within their pages. Wherever malloc puts them, the offsets differ by
// a few bytes, and the CPU takes each load as possibly depending on a store made just before to the other buffer at
// the same address modulo 4 KiB (4K aliasing): a copy between such buffers ran 4–5× slower.
template <class T>
struct UninitialisedAllocator : std::allocator<T> {
  template <class U> struct rebind { using other = UninitialisedAllocator<U>; };
  UninitialisedAllocator() = default;
  template <class U> UninitialisedAllocator(const UninitialisedAllocator<U>&) noexcept {}
  static constexpr size_t kPage = 4096, kPaged = 64 * 1024;  // buffers from 64 KiB up start on a page
  T* allocate(size_t n) {
    const size_t bytes = n * sizeof(T);
    if (bytes < kPaged) return std::allocator<T>::allocate(n);
    void* p = std::aligned_alloc(kPage, (bytes + kPage - 1) / kPage * kPage);
    if (!p) throw std::bad_alloc();
    return static_cast<T*>(p);
  }
  void deallocate(T* p, size_t n) {
    if (n * sizeof(T) < kPaged) std::allocator<T>::deallocate(p, n);
    else std::free(p);
  }
  template <class U> void construct(U* p) noexcept { ::new (static_cast<void*>(p)) U; }
  template <class U, class... Args> void construct(U* p, Args&&... args) { ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...); }
};
using Floats = std::vector<float, UninitialisedAllocator<float>>;

// How a tensor's values are held between layers: float32, or 16 bits a value (bfloat16, float16) where every value
// is a value of that type (its producer rounds to it) and every layer that reads it takes 16-bit input: half the
// memory and traffic, the same numbers.
// Integer tensors (int32 and int64) are held as int64 values, two float slots each, and computed as integers: an
// int32 tensor's values are wrapped to 32 bits by whatever writes them (isInteger, wrapInteger).
enum class Storage { kFloat32, kBfloat16, kFloat16, kInt32, kInt64 };

inline bool isInteger(Storage s) { return s == Storage::kInt32 || s == Storage::kInt64; }
inline bool is16Bit(Storage s) { return s == Storage::kBfloat16 || s == Storage::kFloat16; }
// A value computed in int64 as the tensor of storage `s` holds it (int32: wrapped, as C++ and PyTorch wrap).
inline int64_t wrapInteger(int64_t v, Storage s) { return s == Storage::kInt32 ? static_cast<int64_t>(static_cast<int32_t>(static_cast<uint32_t>(v))) : v; }

// How a 4-d tensor's values are ordered between layers: planar (NCHW, the network's own order), or channel-blocked
// (NCHW8c: per image, blocks of 8 channels, each block's pixels in order with the 8 channels' values side by side).
// Blocked tensors run between 1×1 convolutions, short-sum stems, depthwise convolutions and global pooling (a
// MobileNet's inverted residuals): their kernels compute 8 channels in the lanes of a vector, so in planar order each
// had to transpose its input or output on the way (see Engine::chooseLayout).
enum class Layout { kPlanar, kBlocked8 };

// A tensor's values during one execution: its concrete shape and elements in their storage (floating-point types,
// booleans and 8-bit integers are computed in float32, where each of their values is exact; int32 and int64 as
// int64). 16-bit storage packs two values into each float slot of `data`, integer storage takes two slots a value.
struct Buffer {
  Shape shape;
  Floats data;
  Storage storage = Storage::kFloat32;
  Layout layout = Layout::kPlanar;
  const uint16_t* halves() const { return reinterpret_cast<const uint16_t*>(data.data()); }
  uint16_t* halves() { return reinterpret_cast<uint16_t*>(data.data()); }
  const int64_t* integers() const { return reinterpret_cast<const int64_t*>(data.data()); }
  int64_t* integers() { return reinterpret_cast<int64_t*>(data.data()); }
};

// A buffer's values as T: float in float32 storage, int64_t in integer storage (kernels that only move values, for
// either kind of tensor).
template <class T> T* valuesAs(Buffer& b) { return reinterpret_cast<T*>(b.data.data()); }
template <class T> const T* valuesAs(const Buffer& b) { return reinterpret_cast<const T*>(b.data.data()); }

// The float slots `count` values take in `storage`.
inline size_t slotsFor(int64_t count, Storage storage) {
  return static_cast<size_t>(isInteger(storage) ? 2 * count : is16Bit(storage) ? (count + 1) / 2 : count);
}

// The 16 bits of a float that is a value of the 16-bit `type` (so nothing is rounded here); a NaN stays a NaN.
inline uint16_t toHalfBits(float value, Storage type) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  const uint32_t sign = (bits >> 16) & 0x8000u;
  if (type == Storage::kBfloat16) return static_cast<uint16_t>((bits >> 16) | (value != value ? 0x40u : 0u));  // quieted: a low payload would read as ∞
  if (value != value) return static_cast<uint16_t>(sign | 0x7e00u);
  const float magnitude = value < 0 ? -value : value;
  if (magnitude >= 65536.0f) return static_cast<uint16_t>(sign | 0x7c00u);  // ±∞ (finite float16 values end at 65504)
  if (magnitude < 6.103515625e-05f) return static_cast<uint16_t>(sign | static_cast<uint32_t>(magnitude * 16777216.0f));  // subnormal: steps of 2^-24
  return static_cast<uint16_t>(sign | ((((bits >> 23) & 0xffu) - 112u) << 10) | ((bits >> 13) & 0x3ffu));
}

// A 16-bit value of `type` as the float it stands for.
inline float fromHalfBits(uint16_t h, Storage type) {
  uint32_t bits;
  if (type == Storage::kBfloat16) {
    bits = static_cast<uint32_t>(h) << 16;
  } else {
    const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16, exponent = (h >> 10) & 0x1fu, mantissa = h & 0x3ffu;
    if (exponent == 0) {
      const float magnitude = static_cast<float>(mantissa) * (1.0f / 16777216.0f);  // subnormal or zero
      return sign ? -magnitude : magnitude;
    }
    bits = sign | (exponent == 31 ? 0x7f800000u | (mantissa << 13) : ((exponent + 112u) << 23) | (mantissa << 13));
  }
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

// `count` values from 16-bit storage of `type` into floats, and floats that are values of `type` into its storage
// (fromHalfBits / toHalfBits, eight at a time).
void widenHalves(const uint16_t* halves, float* floats, int64_t count, Storage type);
void narrowToHalves(const float* floats, uint16_t* halves, int64_t count, Storage type);

// `count` values from `from` (starting at value `at`) into `to` (at value `toAt`), each buffer in its own storage:
// copied, widened, or narrowed (the values then being of the 16-bit type); integers only to integer storage. For
// layers that move values.
void copyValues(const Buffer& from, int64_t at, Buffer& to, int64_t toAt, int64_t count);

// A buffer's values as float32: in place, or widened from 16-bit storage into `scratch` (for layers that read a
// small tensor as a whole — a dense layer's input, a global pooling's — where one pass over it costs little).
inline const float* floatValues(const Buffer& b, Floats& scratch) {
  if (b.storage == Storage::kFloat32) return b.data.data();
  const int64_t count = volume(b.shape);
  scratch.resize(static_cast<size_t>(count));
  widenHalves(b.halves(), scratch.data(), count, b.storage);
  return scratch.data();
}

// One image of a layer's input, output and optional residual (laid out as the output), each in float32 or in 16-bit
// storage of the type beside it: exactly one pointer of each pair set.
struct ImageIO {
  const float* x = nullptr;
  const uint16_t* x16 = nullptr;
  float* y = nullptr;
  uint16_t* y16 = nullptr;
  const float* residual = nullptr;
  const uint16_t* residual16 = nullptr;
  Storage x16Type = Storage::kFloat32, y16Type = Storage::kFloat32, residual16Type = Storage::kFloat32;
  bool xBlocked = false, yBlocked = false;  // channel-blocked (a residual is laid out as the output)
};

// One layer's implementation. Kernels are immutable once made, so one engine serves many execution contexts.
class Kernel {
 public:
  explicit Kernel(const OpDesc& op) : name_(op.name), kind_(op.kind) {}
  virtual ~Kernel() = default;
  // Output shapes for concrete input shapes; throws ExecutionError when the shapes do not fit the layer.
  virtual std::vector<Shape> outputShapes(const std::vector<Shape>& inputs) const = 0;
  // Computes the outputs, already sized to outputShapes() in their storage.
  virtual void run(const std::vector<const Buffer*>& inputs, const std::vector<Buffer*>& outputs) const = 0;
  // Whether run() reads and writes buffers in 16-bit storage (those not taking it only ever see float32).
  virtual bool takes16BitStorage() const { return false; }
  // Whether run() reads and writes int32/int64 tensors in integer storage; the engine refuses a plan that gives
  // integer tensors to a layer whose kernel does not (Engine::checkIntegers).
  virtual bool computesIntegers() const { return false; }
  // The 16-bit type every value written belongs to, rounded by the kernel itself (kFloat32: none).
  virtual Storage writes16BitValues() const { return Storage::kFloat32; }
  // Whether the outputs are values of the inputs' 16-bit type whenever the inputs are (max pooling: it only selects).
  virtual bool keeps16BitValues() const { return false; }
  // Whether it multiplies in bfloat16 (AVX-512 BF16) when its first input is held in `input` storage.
  virtual bool multipliesInBfloat16(Storage input) const { (void)input; return false; }
  // The implementation run() takes once the layouts are settled, where a layer kind has several and the plan's tactic
  // does not say which (inspect() shows it beside the tactic); empty otherwise.
  virtual std::string kernelName() const { return {}; }
  // Whether run() reads input `input`, and writes its output, channel-blocked when the engine holds them so (float32
  // tensors of 4 dimensions whose channels are a multiple of 8); `blockedLike`: inputs laid out as the output.
  virtual bool readsBlocked(size_t input) const { (void)input; return false; }
  virtual bool writesBlocked() const { return false; }
  // Whether it writes a blocked output fast enough when its first input is (or is not) blocked.
  virtual bool writesBlockedFrom(bool inputBlocked) const { (void)inputBlocked; return writesBlocked(); }
  virtual std::vector<size_t> blockedLike() const { return {}; }
  // Told once, when the engine is made (before any run), whether its first input and its output are blocked: a kernel
  // may drop what it then never uses (a 1×1 convolution's weights are packed for both layouts until then).
  virtual void settleLayouts(bool inputBlocked, bool outputBlocked) { (void)inputBlocked, (void)outputBlocked; }
  // Producer fusion: this layer computes the layers before it that lead to its first input along with its own work,
  // so that the tensors between them are never written (a depthwise convolution inside the 1×1 after it, and the 1×1
  // expansion before the depthwise one). canFuseProducers: whether it can for this chain of layers (in execution
  // order, each the only reader of the one before, the last writing this layer's first input); fusesProducerAt:
  // whether it does with a tensor of this shape between two of them; runFused: the run, given each producer's inputs
  // (the tensors between, never written, only have shapes).
  virtual bool canFuseProducers(const std::vector<const Kernel*>& chain) const { (void)chain; return false; }
  virtual bool fusesProducerAt(const Shape& between) const { (void)between; return false; }
  virtual void runFused(const std::vector<const Kernel*>& chain, const std::vector<std::vector<const Buffer*>>& chainInputs, const std::vector<const Buffer*>& inputs,
                        const std::vector<Buffer*>& outputs) const {
    (void)chain, (void)chainInputs, (void)inputs, (void)outputs;
  }

 protected:
  [[noreturn]] void fail(const std::string& message) const { throw ExecutionError(name_ + " (" + kind_ + "): " + message); }
  // A parameter or weight the plan holds in the wrong form.
  [[noreturn]] void bad(const std::string& message) const { throw PlanError(name_ + " (" + kind_ + "): " + message); }

  std::string name_;
  std::string kind_;
};

std::unique_ptr<Kernel> makeKernel(const OpDesc& op);

// Factories, one per kernel family file.
std::unique_ptr<Kernel> makeConvolution(const OpDesc& op);
std::unique_ptr<Kernel> makeInt8Convolution(const OpDesc& op);  // a convolution with an inputScale
std::unique_ptr<Kernel> makeDeconvolution(const OpDesc& op);
std::unique_ptr<Kernel> makePooling(const OpDesc& op);
std::unique_ptr<Kernel> makeFullyConnected(const OpDesc& op);
std::unique_ptr<Kernel> makeInt8Dense(const OpDesc& op);  // a dense layer with an inputScale
std::unique_ptr<Kernel> makeMatrixMultiply(const OpDesc& op);
std::unique_ptr<Kernel> makeActivation(const OpDesc& op);
std::unique_ptr<Kernel> makeUnary(const OpDesc& op);
std::unique_ptr<Kernel> makeElementWise(const OpDesc& op);
std::unique_ptr<Kernel> makeScale(const OpDesc& op);
std::unique_ptr<Kernel> makeSelect(const OpDesc& op);
std::unique_ptr<Kernel> makeParametricReLU(const OpDesc& op);
std::unique_ptr<Kernel> makeCast(const OpDesc& op);
std::unique_ptr<Kernel> makePointwiseChain(const OpDesc& op);
std::unique_ptr<Kernel> makeQuantize(const OpDesc& op);
std::unique_ptr<Kernel> makeDequantize(const OpDesc& op);
std::unique_ptr<Kernel> makeIdentity(const OpDesc& op);
std::unique_ptr<Kernel> makeConstant(const OpDesc& op);
std::unique_ptr<Kernel> makeShuffle(const OpDesc& op);
std::unique_ptr<Kernel> makeSlice(const OpDesc& op);
std::unique_ptr<Kernel> makeConcatenation(const OpDesc& op);
std::unique_ptr<Kernel> makePadding(const OpDesc& op);
std::unique_ptr<Kernel> makeGather(const OpDesc& op);
std::unique_ptr<Kernel> makeResize(const OpDesc& op);
std::unique_ptr<Kernel> makeSoftMax(const OpDesc& op);
std::unique_ptr<Kernel> makeReduce(const OpDesc& op);
std::unique_ptr<Kernel> makeTopK(const OpDesc& op);
std::unique_ptr<Kernel> makeNormalization(const OpDesc& op);
std::unique_ptr<Kernel> makeLRN(const OpDesc& op);

// Activation applied in place, shared by the activation layer and the fused epilogue of convolutions.
// With `round`, the result is then rounded to a 16-bit float type: a reduced-precision activation's storage,
// fused by the builder into the layer that produces it.
struct ActivationFn {
  enum class Type { kNone, kRelu, kSigmoid, kTanh, kLeakyRelu, kElu, kSelu, kSoftsign, kSoftplus, kClip, kHardSigmoid,
                    kScaledTanh, kThresholdedRelu, kGeluErf, kGeluTanh, kMish };
  enum class Round { kNone, kFloat16, kBfloat16 };
  Type type = Type::kNone;
  float alpha = 0, beta = 0;
  Round round = Round::kNone;
  static ActivationFn parse(const std::string& name, double alpha, double beta);
  // The activation (and rounding) the builder fused into a convolution or dense layer (none when the plan names none).
  static ActivationFn fused(const OpDesc& op);
  void apply(float* data, int64_t count) const;

 private:
  void applyActivation(float* data, int64_t count) const;
};

// The nearest float16 / bfloat16 (ties to even; float16 overflows to ±∞ and has subnormals), as a float.
float roundToFloat16(float v);
float roundToBfloat16(float v);
// Whether every value is a bfloat16 value (its low 16 bits zero): a bfloat16 network's weights.
bool allBfloat16Values(const std::vector<float>& values);

// Hot inner loops are compiled for AVX-512, AVX2+FMA and baseline x86-64; the loader picks by CPU at run time.
#if defined(__x86_64__) && !defined(NETDEF_NO_MULTIVERSION)
#define NETDEF_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define NETDEF_CLONES
#endif

// Eight floats, one AVX register (two SSE registers on baseline x86-64).
typedef float Vec8 __attribute__((vector_size(32)));
// Sixteen floats, one AVX-512 register: only in functions compiled for AVX-512 (NETDEF_WIDE), reached where
// wideTiles() (GCC lowers it to AVX2 registers badly, spilling: a tenth of the 8-float code's speed).
typedef float Vec16 __attribute__((vector_size(64)));
#define NETDEF_WIDE __attribute__((target("avx2,fma,f16c,avx512f,avx512vl,avx512bw,avx512dq")))

// A layer's optional bias, checked to hold one value per output channel.
std::vector<float> optionalBias(const OpDesc& op, int64_t channels);

// One packed panel of B: rows k0 … k0+kc, columns j0 … j0+nr, as kc rows of kGemmPanel floats (zero beyond nr).
// Either fills `panel` and returns it, or returns B's own memory when B is already held in that layout (Winograd's
// transformed input). Lets a convolution pack straight from its input instead of materialising im2col.
constexpr int64_t kGemmPanel = 16;
using PackB = std::function<const float*(int64_t k0, int64_t kc, int64_t j0, int64_t nr, float* panel)>;

// What a convolution does to its GEMM's result, applied to each tile of C as it is finished, while in cache:
// C[i, j] = activation(C[i, j] + bias[i] + residual[i, j]) (bias and residual optional, residual laid out as C).
// The residual may be held in 16-bit storage, and the result stored to 16-bit storage laid out as C instead of C
// (its values then being of that type: the activation rounds to it); C then only holds the partial sums of earlier
// K blocks (null when K takes one block), and nothing is accumulated onto it.
struct GemmEpilogue {
  const float* bias = nullptr;
  const float* residual = nullptr;
  const uint16_t* residual16 = nullptr;
  Storage residual16Type = Storage::kFloat32;
  uint16_t* out16 = nullptr;
  Storage out16Type = Storage::kFloat32;
  ActivationFn activation;
};

// The epilogue of a convolution's GEMM over one image's output channels from `offset` values into its planes on:
// `bias` (already at the first of those channels, or null), the image's residual and 16-bit output, the activation.
inline GemmEpilogue convolutionEpilogue(const ImageIO& image, int64_t offset, const float* bias, const ActivationFn& activation) {
  GemmEpilogue ep;
  ep.bias = bias;
  ep.residual = image.residual ? image.residual + offset : nullptr;
  ep.residual16 = image.residual16 ? image.residual16 + offset : nullptr;
  ep.residual16Type = image.residual16Type;
  ep.out16 = image.y16 ? image.y16 + offset : nullptr;
  ep.out16Type = image.y16Type;
  ep.activation = activation;
  return ep;
}

// C[M,N] (+)= A[M,K] · B with B supplied panel by panel, then the epilogue if given.
// `prepackedA` (from prepackA), when given, replaces A: constant weights are packed once. K goes in blocks of
// `kBlock` (of up to 1,024 where B is narrow: a few panels, packed whole).
// `rowMajorB` (B itself, [K, N] with leading dimension `ldb`), when given, lets a wide GEMM read whole panels in place.
void sgemmPackedB(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const PackB& packB, float* C, int64_t ldc, bool accumulate,
                  int64_t kBlock = 256, const float* prepackedA = nullptr, const GemmEpilogue* epilogue = nullptr, const float* rowMajorB = nullptr, int64_t ldb = 0);

// Whether the float32 GEMM runs its tile of 16-float vectors (CPUs with AVX-512, unless the engine's options say
// wideTiles false).
bool wideTiles();

// C[0:M, 0:nr] = A · B, nr ≤ 16, A prepacked (prepackA), B's row k the nr floats at b plus taps[k]
// bytes (a convolution's input read in place, a window's taps apart), then the epilogue (its bias, residual and
// 16-bit output indexed from column col0 of rows 0…M).
void sgemmTaps(int64_t M, int64_t nr, int64_t K, const float* prepackedA, const float* b, const int64_t* taps, float* C, int64_t ldc, int64_t col0, const GemmEpilogue* epilogue);

// Columns [j0, j0+nr) of a row-major B (rows from `b`, already at the block's first row) into one panel.
void packBPanel(int64_t kc, int64_t j0, int64_t nr, const float* b, int64_t ldb, bool transB, float* panel);

// A[M,K] in the GEMM's panel layout: panels of 6 rows, each all of K, k-major (any block of K is a run of each).
std::vector<float> prepackA(int64_t M, int64_t K, const float* A, int64_t lda);

// bfloat16 products at twice float32's rate, on CPUs with AVX-512 BF16 (VDPBF16PS: each 32-bit lane of A and B
// holds a pair of bfloat16 values, of two consecutive k, and both products are added to the lane's float32 sum;
// each product is exact in float32, so only the order of the additions differs from float32 arithmetic on the same
// values). Only where that is faster than float32 FMAs on this CPU (timed once); the engine's options'
// bfloat16Products "off" turns it off (the float32 kernels then compute the same values), "on" on wherever the CPU
// has the instruction.
bool bf16DotSupported();
// A[M,K] (bfloat16 values held as floats) in panels of 6 rows of ⌈K/2⌉ pairs, as prepackA's layout with K halved.
std::vector<float> prepackPairsA(int64_t M, int64_t K, const float* A, int64_t lda);
// C[M,N] = A · B over `pairs` pairs of K, A from prepackPairsA and B's panels of pairs from `packPairs` (k0 and kc
// count pairs: kc rows of 16 lanes, each lane the bfloat16 values of rows 2k and 2k+1 of its column, the second
// in the high half), then the epilogue. Only where bf16DotSupported().
void bf16PairsGemm(int64_t M, int64_t N, int64_t pairs, const PackB& packPairs, float* C, int64_t ldc, int64_t kBlock, const float* prepackedPairs, const GemmEpilogue* epilogue);

// C[M,N] (+)= A[M,K] · B, B given as [K,N] (transB false) or [N,K] (transB true); row-major with leading dims.
void sgemm(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B, int64_t ldb, bool transB,
           float* C, int64_t ldc, bool accumulate);

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
