// Runs a builtin plan without Node: the engine library driven from C++, for architectures Node is not run on here
// (the arm64 prebuild's engine under qemu-user: scripts/arm64-check.sh).
//   netdef_run_plan <model.plan> <input> <input.f32> <dims, e.g. 2x3x224x224> <output> <output.f32>
// Inputs and outputs are raw little-endian float32; exit status 0 on success, 1 with the error on stderr.
#include <cstdio>
#include <cstring>
#include <exception>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "engine.h"
#include "execution_context.h"

namespace {

std::vector<char> readAll(const char* path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(std::string("cannot read ") + path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 7) {
    std::fprintf(stderr, "usage: %s <model.plan> <input> <input.f32> <dims> <output> <output.f32>\n", argv[0]);
    return 2;
  }
  try {
    const std::vector<char> plan = readAll(argv[1]);
    auto engine = netdef::Engine::fromPlan(reinterpret_cast<const uint8_t*>(plan.data()), plan.size(), netdef::EngineOptions{});
    netdef::ExecutionContext context(std::make_shared<netdef::EngineSlot>(engine));
    netdef::Buffer input;
    std::stringstream dims(argv[4]);
    for (std::string d; std::getline(dims, d, 'x');) input.shape.push_back(std::stoll(d));
    const std::vector<char> values = readAll(argv[3]);
    input.data.resize(values.size() / sizeof(float));
    std::memcpy(input.data.data(), values.data(), input.data.size() * sizeof(float));
    std::vector<netdef::NamedBuffer> inputs;
    inputs.push_back({argv[2], std::move(input)});
    for (const netdef::NamedBuffer& out : context.execute(std::move(inputs), nullptr)) {
      if (out.name != argv[5]) continue;
      std::ofstream file(argv[6], std::ios::binary);
      file.write(reinterpret_cast<const char*>(out.buffer.data.data()), static_cast<std::streamsize>(netdef::volume(out.buffer.shape) * sizeof(float)));
      return file ? 0 : 1;
    }
    std::fprintf(stderr, "no output named %s\n", argv[5]);
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
}
