#include "execution_context.h"

#include <algorithm>
#include <chrono>

namespace netdef {

ExecutionContext::ExecutionContext(std::shared_ptr<const EngineSlot> slot) : slot_(std::move(slot)) {
  const Graph& g = slot_->get()->graph();
  buffers_.resize(g.tensors.size());
  lastUse_.assign(g.tensors.size(), -1);
  for (size_t i = 0; i < g.ops.size(); i++) for (int t : g.ops[i].inputs) lastUse_[t] = static_cast<int>(i);
  for (auto& [name, t] : g.outputs) lastUse_[t] = static_cast<int>(g.ops.size());
}

Floats ExecutionContext::takeBuffer(size_t size) {
  std::lock_guard<std::mutex> lock(poolMutex_);
  // Best fit: the smallest pooled buffer that holds `size`, so large buffers stay for large tensors.
  size_t best = pool_.size();
  for (size_t i = 0; i < pool_.size(); i++) {
    if (pool_[i].capacity() >= size && (best == pool_.size() || pool_[i].capacity() < pool_[best].capacity())) best = i;
  }
  Floats buffer;
  if (best < pool_.size()) {
    buffer = std::move(pool_[best]);
    pool_.erase(pool_.begin() + static_cast<std::ptrdiff_t>(best));
  }
  buffer.resize(size);
  return buffer;
}

void ExecutionContext::giveBack(Floats&& buffer) {
  if (buffer.capacity() == 0) return;
  std::lock_guard<std::mutex> lock(poolMutex_);
  if (pool_.size() < buffers_.size()) {
    pool_.push_back(std::move(buffer));
    return;
  }
  // Full: keep the larger of the newcomer and the smallest pooled buffer.
  auto smallest = std::min_element(pool_.begin(), pool_.end(), [](const auto& a, const auto& b) { return a.capacity() < b.capacity(); });
  if (smallest->capacity() < buffer.capacity()) *smallest = std::move(buffer);
  buffer = Floats();
}

namespace {

int64_t elementsOf(const std::vector<NamedBuffer>& inputs) {
  int64_t elements = 0;
  for (const NamedBuffer& in : inputs) elements += static_cast<int64_t>(in.buffer.data.size());
  return elements;
}

}  // namespace

double ExecutionContext::predictMilliseconds(const std::vector<NamedBuffer>& inputs) const {
  return lastMilliseconds_.load() * static_cast<double>(elementsOf(inputs)) / static_cast<double>(std::max<int64_t>(1, lastElements_.load()));
}

std::vector<NamedBuffer> ExecutionContext::execute(std::vector<NamedBuffer> inputs, std::vector<LayerTime>* times) {
  const auto started = std::chrono::steady_clock::now();
  const int64_t elements = elementsOf(inputs);
  const std::shared_ptr<const Engine> engine = slot_->get();  // this execution's weights, whatever a refit does meanwhile
  const OptionsScope scope(engine->options());
  const Graph& g = engine->graph();
  if (inputs.size() != g.inputs.size()) throw ExecutionError("expected " + std::to_string(g.inputs.size()) + " inputs, received " + std::to_string(inputs.size()));
  for (NamedBuffer& in : inputs) {
    int id = -1;
    for (int t : g.inputs) if (g.tensors[t].name == in.name) id = t;
    if (id < 0) throw ExecutionError("'" + in.name + "' is not an input of this engine");
    const TensorInfo& info = g.tensors[id];
    if (in.buffer.shape.size() != info.dims.size()) throw ExecutionError("input '" + in.name + "' has shape " + formatShape(in.buffer.shape) + ", expected rank " + std::to_string(info.dims.size()));
    for (size_t d = 0; d < info.dims.size(); d++) {
      if (in.buffer.shape[d] < 1 || (info.dims[d] != -1 && info.dims[d] != in.buffer.shape[d])) {
        throw ExecutionError("input '" + in.name + "' has shape " + formatShape(in.buffer.shape) + ", expected " + formatShape(info.dims));
      }
    }
    const Storage storage = engine->storage(id);
    if (isInteger(in.buffer.storage) != isInteger(storage)) {
      throw ExecutionError("input '" + in.name + "' is " + info.dtype + ", but " + (isInteger(storage) ? "floating-point" : "integer") + " values were given");
    }
    if (storage == Storage::kInt32) {
      for (size_t v = 0; v < in.buffer.data.size() / 2; v++) {
        const int64_t value = in.buffer.integers()[v];
        if (value != wrapInteger(value, storage)) throw ExecutionError("input '" + in.name + "' is int32, but holds " + std::to_string(value));
      }
    }
    in.buffer.storage = storage;
    if (in.buffer.data.size() != slotsFor(volume(in.buffer.shape), storage)) {
      throw ExecutionError("input '" + in.name + "' holds " + std::to_string(in.buffer.data.size() / (isInteger(storage) ? 2 : 1)) + " values for shape " + formatShape(in.buffer.shape));
    }
    buffers_[id] = std::move(in.buffer);
  }
  const auto& kernels = engine->kernels();
  std::vector<Shape> inShapes;
  std::vector<const Buffer*> ins;
  std::vector<Buffer*> outs;
  // The layers a later one (fusedUntil) computes along with its own: kernels, inputs, indices.
  std::vector<const Kernel*> chain;
  std::vector<std::vector<const Buffer*>> chainInputs;
  std::vector<int> chainOps;
  int fusedUntil = -1;
  for (size_t i = 0; i < g.ops.size(); i++) {
    const OpDesc& op = g.ops[i];
    inShapes.clear(); ins.clear(); outs.clear();
    for (int t : op.inputs) { inShapes.push_back(buffers_[t].shape); ins.push_back(&buffers_[t]); }
    std::vector<Shape> shapes = kernels[i]->outputShapes(inShapes);
    if (shapes.size() != op.outputs.size()) throw PlanError(op.name + ": kernel produced " + std::to_string(shapes.size()) + " outputs");
    // Layers a later one computes along with its own: their outputs are never written, nor allocated (only their
    // shapes are read: a MobileNetV2 block's expanded tensor, 6× its input, never takes memory); their inputs are kept
    // for that layer, and their time is counted there. The whole chain or none of it, as the shapes between decide.
    if (fusedUntil < 0 && !shapes.empty()) fusedUntil = engine->fusedUntil(i, shapes[0]);
    const bool fused = fusedUntil > static_cast<int>(i);
    // A tensor written into a concatenation's output (Engine::placement) has a shape but no memory of its own: the
    // concatenation's output is allocated here, with this tensor's shape but the concatenation's channels.
    const Engine::Placement placed = engine->placement(op.outputs.empty() ? -1 : op.outputs[0]);
    for (size_t o = 0; o < shapes.size(); o++) {
      const int t = op.outputs[o];
      Buffer& b = placed.whole >= 0 ? buffers_[placed.whole] : buffers_[t];
      if (placed.whole >= 0) {
        if (shapes[o].size() != 4 || shapes[o][1] != g.tensors[t].dims[1]) throw PlanError(op.name + ": output '" + g.tensors[t].name + "' of shape " + formatShape(shapes[o]) + ", but the plan declares " + formatShape(g.tensors[t].dims));
        buffers_[t].shape = shapes[o];
        b.shape = shapes[o];
        b.shape[1] = g.tensors[placed.whole].dims[1];
      } else {
        b.shape = shapes[o];
      }
      const int holder = placed.whole >= 0 ? placed.whole : t;
      b.storage = engine->storage(holder);
      b.layout = engine->layout(holder);
      if (fused) giveBack(std::move(b.data));
      else if (b.data.capacity() == 0) b.data = takeBuffer(slotsFor(volume(b.shape), b.storage));
      else b.data.resize(slotsFor(volume(b.shape), b.storage));
      outs.push_back(&b);
    }
    const auto start = std::chrono::steady_clock::now();
    if (fused) {
      chain.push_back(kernels[i].get());
      chainInputs.push_back(ins);
      chainOps.push_back(static_cast<int>(i));
      if (times) times->push_back({op.name, 0.0});
      continue;
    }
    if (!chain.empty()) kernels[i]->runFused(chain, chainInputs, ins, outs);
    else if (placed.whole >= 0) kernels[i]->runIntoChannels(ins, *outs[0], placed.offset);
    else kernels[i]->run(ins, outs);
    if (times) times->push_back({op.name, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count()});
    // Hand back what no later layer reads: activation memory stays near the live set, not the whole network.
    for (int k : chainOps) for (int t : g.ops[k].inputs) if (lastUse_[t] == k) giveBack(std::move(buffers_[t].data));
    chain.clear();
    chainInputs.clear();
    chainOps.clear();
    fusedUntil = -1;
    for (int t : op.inputs) if (lastUse_[t] == static_cast<int>(i)) giveBack(std::move(buffers_[t].data));
  }
  // Outputs are handed to the caller, who gives their buffers back once copied out; a tensor that is two outputs is
  // copied for the second. Inputs' buffers rejoin the pool.
  std::vector<NamedBuffer> result;
  for (size_t o = 0; o < g.outputs.size(); o++) {
    const int t = g.outputs[o].second;
    size_t earlier = 0;
    while (earlier < o && g.outputs[earlier].second != t) earlier++;
    result.push_back({g.outputs[o].first, earlier < o ? result[earlier].buffer : std::move(buffers_[t])});
  }
  for (int t : g.inputs) giveBack(std::move(buffers_[t].data));
  lastMilliseconds_ = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  lastElements_ = elements;
  return result;
}

}  // namespace netdef
