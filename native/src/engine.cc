#include "engine.h"

#include <cstdlib>
#include <string>

#include "plan_reader.h"

namespace netdef {

std::shared_ptr<const Engine> Engine::fromPlan(const uint8_t* data, size_t size, const EngineOptions& options) {
  auto engine = std::make_shared<Engine>();
  engine->options_ = options;
  const OptionsScope scope(engine->options_);  // kernels are made under the engine's options (tiles, bfloat16 products)
  engine->graph_ = readPlan(data, size);
  for (const OpDesc& op : engine->graph_.ops) engine->kernels_.push_back(makeKernel(op));
  engine->chooseLayout();
  engine->chooseStorage();
  engine->checkIntegers();
  engine->chooseFusions();
  engine->choosePlacements();
  return engine;
}

namespace {

Storage integerStorage(const std::string& dtype) {
  return dtype == "int32" ? Storage::kInt32 : dtype == "int64" ? Storage::kInt64 : Storage::kFloat32;
}

}  // namespace

void Engine::checkIntegers() const {
  const Graph& g = graph_;
  for (size_t i = 0; i < g.ops.size(); i++) {
    if (kernels_[i]->computesIntegers()) continue;
    for (const auto* list : {&g.ops[i].inputs, &g.ops[i].outputs}) {
      for (int t : *list) {
        if (!isInteger(storage_[t])) continue;
        throw PlanError(g.ops[i].name + " (" + g.ops[i].kind + "): tensor '" + g.tensors[t].name + "' is " + g.tensors[t].dtype +
                        ", but the builtin engine computes this layer kind in floating point only (integers: constant, cast, identity, element-wise, unary, select, reduce, gather, shuffle, slice, expand, concatenation, padding, top-k)");
      }
    }
  }
}

void Engine::chooseStorage() {
  const Graph& g = graph_;
  storage_.assign(g.tensors.size(), Storage::kFloat32);
  for (size_t t = 0; t < g.tensors.size(); t++) storage_[t] = integerStorage(g.tensors[t].dtype);
  if (!options_.halfStorage) return;
  // The 16-bit type each tensor's values all belong to, in execution order (a layer's inputs are produced first).
  std::vector<Storage> exact(g.tensors.size(), Storage::kFloat32);
  std::vector<bool> candidate(g.tensors.size(), false), read(g.tensors.size(), false);
  for (size_t i = 0; i < g.ops.size(); i++) {
    Storage inputs = g.ops[i].inputs.empty() ? Storage::kFloat32 : exact[g.ops[i].inputs[0]];
    for (int t : g.ops[i].inputs) if (exact[t] != inputs) inputs = Storage::kFloat32;
    Storage writes = kernels_[i]->writes16BitValues();
    if (writes == Storage::kFloat32 && kernels_[i]->keeps16BitValues()) writes = inputs;
    for (int t : g.ops[i].outputs) {
      exact[t] = writes;
      candidate[t] = writes != Storage::kFloat32 && kernels_[i]->takes16BitStorage();
    }
  }
  for (size_t i = 0; i < g.ops.size(); i++) {
    for (int t : g.ops[i].inputs) {
      read[t] = true;
      if (!kernels_[i]->takes16BitStorage()) candidate[t] = false;
    }
  }
  for (int t : g.inputs) candidate[t] = false;
  for (auto& [name, t] : g.outputs) candidate[t] = false;
  for (size_t t = 0; t < g.tensors.size(); t++) if (candidate[t] && read[t] && !isInteger(storage_[t])) storage_[t] = exact[t];
}

void Engine::chooseLayout() {
  const Graph& g = graph_;
  layout_.assign(g.tensors.size(), Layout::kPlanar);
  std::vector<bool> blocked(g.tensors.size(), false), read(g.tensors.size(), false);
  const bool enabled = options_.channelBlocked;
  const auto dims = [&g](const std::vector<int>& tensors) {
    std::vector<Shape> shapes;
    for (int t : tensors) shapes.push_back(g.tensors[t].dims);
    return shapes;
  };
  for (size_t i = 0; i < g.ops.size(); i++) kernels_[i]->declareShapes(dims(g.ops[i].inputs), dims(g.ops[i].outputs));
  for (size_t i = 0; i < g.ops.size() && enabled; i++) {
    if (!kernels_[i]->writesBlocked()) continue;
    for (int t : g.ops[i].outputs) {
      const std::vector<int64_t>& dims = g.tensors[t].dims;
      blocked[t] = dims.size() == 4 && dims[1] > 0 && dims[1] % 8 == 0 && integerStorage(g.tensors[t].dtype) == Storage::kFloat32;
    }
  }
  for (size_t i = 0; i < g.ops.size(); i++) {
    for (size_t k = 0; k < g.ops[i].inputs.size(); k++) {
      const int t = g.ops[i].inputs[k];
      read[t] = true;
      if (!kernels_[i]->readsBlocked(k)) blocked[t] = false;
    }
  }
  for (int t : g.inputs) blocked[t] = false;
  for (auto& [name, t] : g.outputs) blocked[t] = false;
  for (size_t t = 0; t < g.tensors.size(); t++) blocked[t] = blocked[t] && read[t];
  // Tensors whose every reader prefers them blocked: a layer in front that transposes its inputs writes them blocked
  // whatever its inputs' layouts. Readers before writers (reverse order): a layer that forwards its output's
  // preference (forwardsPreference) then passes on the final one.
  std::vector<bool> preferred(g.tensors.size(), true);
  for (auto& [name, t] : g.outputs) preferred[t] = false;
  for (size_t i = g.ops.size(); i-- > 0;) {
    const OpDesc& op = g.ops[i];
    for (size_t k = 0; k < op.inputs.size(); k++) {
      const bool prefers = kernels_[i]->forwardsPreference() && !op.outputs.empty() ? preferred[op.outputs[0]] : kernels_[i]->prefersBlocked(k);
      if (!prefers) preferred[op.inputs[k]] = false;
    }
  }
  // Until nothing changes: inputs that must be laid out as the output (a fused residual) are planar where the two
  // differ, and so are the outputs of layers that write a blocked output slowly from a planar input.
  for (bool changed = true; changed;) {
    changed = false;
    for (size_t i = 0; i < g.ops.size(); i++) {
      const OpDesc& op = g.ops[i];
      if (op.outputs.empty()) continue;
      const int out = op.outputs[0];
      if (kernels_[i]->transposesInputs() && blocked[out] && preferred[out]) continue;
      for (size_t k : kernels_[i]->blockedLike()) {
        const int t = op.inputs.at(k);
        if (blocked[t] != blocked[out]) { blocked[t] = blocked[out] = false; changed = true; }
      }
      if (blocked[out] && !op.inputs.empty() && !kernels_[i]->writesBlockedFrom(blocked[op.inputs[0]])) { blocked[out] = false; changed = true; }
    }
  }
  for (size_t t = 0; t < g.tensors.size(); t++) if (blocked[t]) layout_[t] = Layout::kBlocked8;
  for (size_t i = 0; i < g.ops.size(); i++) {
    const OpDesc& op = g.ops[i];
    kernels_[i]->settleLayouts(!op.inputs.empty() && blocked[op.inputs[0]], !op.outputs.empty() && blocked[op.outputs[0]]);
  }
}

bool Engine::runsBlocked(size_t op) const {
  for (const auto* list : {&graph_.ops[op].inputs, &graph_.ops[op].outputs})
    for (int t : *list) if (layout_[t] == Layout::kBlocked8) return true;
  return false;
}

void Engine::chooseFusions() {
  const Graph& g = graph_;
  fusedInto_.assign(g.ops.size(), -1);
  if (!options_.fuseProducers) return;
  std::vector<int> readers(g.tensors.size(), 0);
  for (const OpDesc& op : g.ops) for (int t : op.inputs) readers[t]++;
  for (auto& [name, t] : g.outputs) readers[t]++;
  // Op i feeds op i + 1 alone, through a blocked tensor: its only output is read once, as the next op's first input.
  auto feedsNext = [&](size_t i) {
    const OpDesc &op = g.ops[i], &next = g.ops[i + 1];
    return op.outputs.size() == 1 && !next.inputs.empty() && readers[op.outputs[0]] == 1 && next.inputs[0] == op.outputs[0] &&
           layout_[op.outputs[0]] == Layout::kBlocked8;
  };
  for (size_t j = 1; j < g.ops.size(); j++) {
    // The longest chain ending at op j - 1 that op j can compute (two layers at most: an expansion and a depthwise).
    for (size_t length = std::min<size_t>(2, j); length >= 1; length--) {
      std::vector<const Kernel*> chain;
      bool linked = true;
      for (size_t i = j - length; i < j; i++) { chain.push_back(kernels_[i].get()); linked = linked && feedsNext(i) && fusedInto_[i] < 0; }
      if (!linked || !kernels_[j]->canFuseProducers(chain)) continue;
      for (size_t i = j - length; i < j; i++) fusedInto_[i] = static_cast<int>(j);
      break;
    }
  }
}

void Engine::choosePlacements() {
  const Graph& g = graph_;
  placement_.assign(g.tensors.size(), Placement{});
  if (!options_.fuseProducers) return;
  std::vector<int> readers(g.tensors.size(), 0), producer(g.tensors.size(), -1);
  std::vector<bool> runsChain(g.ops.size(), false);
  for (size_t i = 0; i < g.ops.size(); i++) {
    for (int t : g.ops[i].inputs) readers[t]++;
    for (int t : g.ops[i].outputs) producer[t] = static_cast<int>(i);
    if (fusedInto_[i] >= 0) runsChain[fusedInto_[i]] = true;
  }
  for (auto& [name, t] : g.outputs) readers[t]++;
  for (size_t j = 0; j < g.ops.size(); j++) {
    const OpDesc& op = g.ops[j];
    if (!kernels_[j]->takesWrittenInputs() || op.outputs.size() != 1) continue;
    const int whole = op.outputs[0];
    std::vector<bool> written(op.inputs.size(), false);
    int64_t offset = 0, channels = 0;
    for (int t : op.inputs) channels += g.tensors[t].dims[1];
    if (channels != g.tensors[whole].dims[1]) continue;  // not the plan's own output shape: left to the concatenation to report
    for (size_t k = 0; k < op.inputs.size(); k++) {
      const int t = op.inputs[k], p = producer[t];
      written[k] = p >= 0 && readers[t] == 1 && g.ops[p].outputs.size() == 1 && fusedInto_[p] < 0 && !runsChain[p] && kernels_[p]->writesIntoChannels() &&
                   layout_[t] == layout_[whole] && storage_[t] == storage_[whole];
      if (written[k]) placement_[t] = {whole, offset};
      offset += g.tensors[t].dims[1];
    }
    kernels_[j]->settleWrittenInputs(written);
  }
}

int Engine::fusedUntil(size_t op, const Shape& output) const {
  const int until = fusedInto_[op];
  if (until < 0) return -1;
  Shape between = output;
  for (int k = static_cast<int>(op) + 1;; k++) {
    if (!kernels_[until]->fusesProducerAt(*kernels_[k - 1], between)) return -1;
    if (k >= until) return until;
    between = kernels_[k]->outputShapes({between})[0];
  }
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
