// Unit tests of the engine library, without Node: `native/build/netdef_unit_tests` (npm test runs it through
// test/native/unit.test.ts). Each CHECK names what it expected; the exit status is the number of failures.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "engine.h"
#include "engine_options.h"
#include "kernels/activation_fn.h"
#include "kernels/gemm/gemm.h"
#include "kernels/kernel.h"
#include "plan_reader.h"
#include "thread_pool.h"

namespace {

int failures = 0;
std::vector<std::pair<const char*, std::function<void()>>>& tests() {
  static std::vector<std::pair<const char*, std::function<void()>>> all;
  return all;
}
struct Register {
  Register(const char* name, std::function<void()> body) { tests().emplace_back(name, std::move(body)); }
};
#define TEST(name) static void name(); static Register register_##name(#name, name); static void name()
#define CHECK(condition) \
  do { if (!(condition)) { failures++; std::printf("  FAILED %s:%d: %s\n", __FILE__, __LINE__, #condition); } } while (0)

// What the message of the exception `work` throws contains (empty: it threw none).
template <typename E>
std::string thrown(const std::function<void()>& work) {
  try {
    work();
  } catch (const E& e) {
    return e.what();
  }
  return "";
}

// A plan as plan/encode.ts writes it (layout 2, this netdef's format): one softMax layer over a [2, 3] input.
class PlanBytes {
 public:
  explicit PlanBytes(const std::vector<std::pair<std::string, std::vector<double>>>& params, const std::string& kind = "softMax") {
    bytes_.assign(netdef::kPlanMagic, netdef::kPlanMagic + 8);
    u32(netdef::kPlanLayoutVersion);
    string(netdef::schema::kPlanFormat);
    string("{}");
    u32(2);  // tensors x, y: float32 [2, 3]
    for (const char* name : {"x", "y"}) { string(name); u32(0); u32(2); i64(2); i64(3); }
    u32(1); u32(0);                 // input x
    u32(1); string("y"); u32(1);    // output y
    u32(1); string(kind); string("s");
    u32(1); u32(0); u32(1); u32(1);  // reads x, writes y
    u32(static_cast<uint32_t>(params.size()));
    for (const auto& [key, values] : params) {
      string(key); u32(0); u32(static_cast<uint32_t>(values.size()));
      for (double v : values) raw(&v, 8);
    }
    u32(0);  // no weights
    const uint64_t sum = netdef::fnv1a64(bytes_.data(), bytes_.size());
    raw(&sum, 8);
  }
  const std::vector<uint8_t>& bytes() const { return bytes_; }

 private:
  void raw(const void* p, size_t n) { bytes_.insert(bytes_.end(), static_cast<const uint8_t*>(p), static_cast<const uint8_t*>(p) + n); }
  void u32(uint32_t v) { raw(&v, 4); }
  void i64(int64_t v) { raw(&v, 8); }
  void string(const std::string& s) { u32(static_cast<uint32_t>(s.size())); raw(s.data(), s.size()); }
  std::vector<uint8_t> bytes_;
};

}  // namespace

using namespace netdef;

TEST(plan_reader_takes_a_plan_its_schema_describes_and_refuses_others) {
  const PlanBytes good({{"axis", {1}}});
  const Graph g = readPlan(good.bytes().data(), good.bytes().size());
  CHECK(g.ops.size() == 1 && g.ops[0].params.integer("s", "axis") == 1);
  const auto refused = [](const PlanBytes& plan) {
    return thrown<PlanError>([&] { readPlan(plan.bytes().data(), plan.bytes().size()); });
  };
  CHECK(refused(PlanBytes({})).find("lacks parameter 'axis'") != std::string::npos);
  CHECK(refused(PlanBytes({{"axis", {1}}, {"window", {2}}})).find("has parameter 'window', which its kind does not have") != std::string::npos);
  CHECK(refused(PlanBytes({{"axis", {0.5}}})).find("should hold integers") != std::string::npos);
  CHECK(refused(PlanBytes({{"axis", {1}}}, "softmax")).find("layer kind 'softmax' is not known") != std::string::npos);
}

TEST(a_kernel_cannot_read_a_parameter_its_kind_does_not_declare) {
  const PlanBytes plan({{"axis", {1}}});
  const Graph g = readPlan(plan.bytes().data(), plan.bytes().size());
  CHECK(thrown<PlanError>([&] { g.ops[0].params.number("s", "epsilon"); }).find("does not declare") != std::string::npos);
}

TEST(softmax_engine_from_a_plan_runs_and_sums_to_one) {
  const PlanBytes plan({{"axis", {1}}});
  const auto engine = Engine::fromPlan(plan.bytes().data(), plan.bytes().size(), EngineOptions{});
  Buffer in{{2, 3}, {}}, out{{2, 3}, {}};
  in.data.assign({0.f, 1.f, 2.f, -1.f, -1.f, -1.f});
  out.data.resize(6);
  engine->kernels()[0]->run({&in}, {&out});
  CHECK(std::fabs(out.data[0] + out.data[1] + out.data[2] - 1) < 1e-6f);
  CHECK(std::fabs(out.data[3] - 1.f / 3) < 1e-7f);
  CHECK(out.data[2] > out.data[1] && out.data[1] > out.data[0]);
}

TEST(sgemm_matches_the_plain_sums_with_either_tile) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> value(-1, 1);
  for (auto [M, N, K] : {std::tuple<int64_t, int64_t, int64_t>{1, 1, 1}, {7, 19, 33}, {13, 40, 300}, {64, 17, 5}}) {
    for (bool transB : {false, true}) {
      std::vector<float> A(M * K), B(K * N), expected(M * N, 0.f);
      for (auto& v : A) v = value(rng);
      for (auto& v : B) v = value(rng);
      for (int64_t i = 0; i < M; i++)
        for (int64_t j = 0; j < N; j++) {
          double sum = 0;
          for (int64_t k = 0; k < K; k++) sum += double(A[i * K + k]) * (transB ? B[j * K + k] : B[k * N + j]);
          expected[i * N + j] = float(sum);
        }
      std::vector<std::vector<float>> results;
      for (bool wide : {true, false}) {
        EngineOptions options;
        options.wideTiles = wide;
        const OptionsScope scope(options);
        std::vector<float> C(M * N, 0.f);
        sgemm(M, N, K, A.data(), K, B.data(), transB ? K : N, transB, C.data(), N, false);
        for (int64_t i = 0; i < M * N; i++) CHECK(std::fabs(C[i] - expected[i]) <= 1e-5f * (1 + K));
        results.push_back(C);
      }
      CHECK(results[0] == results[1]);  // the 16-float and the 8-float tiles: the same FMA chains, the same bits
    }
  }
}

TEST(parallel_for_runs_every_item_once_capped_by_the_engine_threads) {
  std::vector<int> seen(1000, 0);
  parallelFor(1000, [&](int64_t i) { seen[i]++; });
  bool once = true;
  for (int s : seen) once = once && s == 1;
  CHECK(once);
  EngineOptions one;
  one.threads = 1;
  const OptionsScope scope(one);
  CHECK(poolThreads() == 1);
  const std::thread::id caller = std::this_thread::get_id();
  bool onCaller = true;
  parallelFor(1000, [&](int64_t) { onCaller = onCaller && std::this_thread::get_id() == caller; });
  CHECK(onCaller);
}

TEST(parallel_for_rethrows_a_body_exception_to_the_caller) {
  CHECK(thrown<std::runtime_error>([] { parallelFor(100, [](int64_t i) { if (i == 57) throw std::runtime_error("item 57"); }); }) == "item 57");
}

TEST(options_scopes_nest_and_restore) {
  CHECK(currentOptions().channelBlocked);
  EngineOptions outer;
  outer.channelBlocked = false;
  {
    const OptionsScope a(outer);
    EngineOptions inner;
    inner.threads = 3;
    {
      const OptionsScope b(inner);
      CHECK(currentOptions().threads == 3 && currentOptions().channelBlocked);
    }
    CHECK(!currentOptions().channelBlocked && currentOptions().threads == 0);
  }
  CHECK(currentOptions().channelBlocked);
}

TEST(rounding_to_16_bit_floats_ties_to_even_and_overflows_as_float16_does) {
  auto bits = [](float v) { uint32_t b; std::memcpy(&b, &v, 4); return b; };
  auto of = [](uint32_t b) { float v; std::memcpy(&v, &b, 4); return v; };
  CHECK(bits(roundToBfloat16(of(0x3f808000u))) == 0x3f800000u);  // halfway, even below: down
  CHECK(bits(roundToBfloat16(of(0x3f818000u))) == 0x3f820000u);  // halfway, odd below: up
  CHECK(roundToFloat16(65520.0f) == INFINITY);                     // halfway past 65504: to ∞
  CHECK(roundToFloat16(65519.0f) == 65504.0f);
  CHECK(roundToFloat16(1.0f + 1.0f / 2048) == 1.0f);               // half a float16 step above 1: to even
  CHECK(roundToFloat16(std::ldexp(1.0f, -25)) == 0.0f && roundToFloat16(std::ldexp(1.5f, -25)) == std::ldexp(1.0f, -24));  // subnormals
}

int main() {
  for (const auto& [name, body] : tests()) {
    const int before = failures;
    try {
      body();
    } catch (const std::exception& e) {
      failures++;
      std::printf("  FAILED %s: threw %s\n", name, e.what());
    }
    std::printf("%s %s\n", failures == before ? "ok  " : "FAIL", name);
  }
  std::printf("%zu tests, %d failed checks\n", tests().size(), failures);
  return failures == 0 ? 0 : 1;
}
