#include "engine.h"

#include "plan_reader.h"

namespace netdef {

std::shared_ptr<const Engine> Engine::fromPlan(const uint8_t* data, size_t size) {
  auto engine = std::make_shared<Engine>();
  engine->graph_ = readPlan(data, size);
  for (const OpDesc& op : engine->graph_.ops) engine->kernels_.push_back(makeKernel(op));
  return engine;
}

void EngineSlot::replace(std::shared_ptr<const Engine> engine) {
  const Graph &a = get()->graph(), &b = engine->graph();
  bool same = a.tensors.size() == b.tensors.size() && a.ops.size() == b.ops.size() && a.inputs == b.inputs && a.outputs == b.outputs;
  for (size_t i = 0; same && i < a.ops.size(); i++) same = a.ops[i].kind == b.ops[i].kind && a.ops[i].inputs == b.ops[i].inputs && a.ops[i].outputs == b.ops[i].outputs;
  for (size_t i = 0; same && i < a.tensors.size(); i++) same = a.tensors[i].name == b.tensors[i].name && a.tensors[i].dims == b.tensors[i].dims;
  if (!same) throw PlanError("refit: the new plan's network differs from the engine's (only weights may change)");
  std::lock_guard<std::mutex> lock(mutex_);
  engine_ = std::move(engine);
}

}  // namespace netdef
