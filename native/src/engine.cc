#include "engine.h"

#include "plan_reader.h"

namespace netdef {

std::shared_ptr<const Engine> Engine::fromPlan(const uint8_t* data, size_t size) {
  auto engine = std::make_shared<Engine>();
  engine->graph_ = readPlan(data, size);
  for (const OpDesc& op : engine->graph_.ops) engine->kernels_.push_back(makeKernel(op));
  return engine;
}

}  // namespace netdef
