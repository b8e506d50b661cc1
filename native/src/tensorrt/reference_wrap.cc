#include "tensorrt/reference_wrap.h"

#include <cstring>

#include "addon_errors.h"
#include "errors.h"
#include "tensorrt/lowering.h"
#include "tensorrt/reference_network.h"

namespace netdef {

namespace {

Napi::Value toJs(Napi::Env env, const reference::Value& v) {
  using Kind = reference::Value::Kind;
  switch (v.kind) {
    case Kind::kNumber: return Napi::Number::New(env, v.numbers.at(0));
    case Kind::kBoolean: return Napi::Boolean::New(env, v.numbers.at(0) != 0);
    case Kind::kText: return Napi::String::New(env, v.text);
    case Kind::kNumbers: {
      Napi::Array a = Napi::Array::New(env, v.numbers.size());
      for (size_t i = 0; i < v.numbers.size(); i++) a.Set(i, v.numbers[i]);
      return a;
    }
    case Kind::kTensor: {
      Napi::Object out = Napi::Object::New(env);
      out.Set("tensor", v.tensors.at(0));
      if (!v.numbers.empty()) out.Set("index", v.numbers[0]);
      return out;
    }
    case Kind::kTensors: {
      Napi::Array a = Napi::Array::New(env, v.tensors.size());
      for (size_t i = 0; i < v.tensors.size(); i++) a.Set(i, v.tensors[i]);
      Napi::Object out = Napi::Object::New(env);
      out.Set("tensors", a);
      return out;
    }
    case Kind::kWeights: {
      Napi::Object out = Napi::Object::New(env);
      out.Set("weights", v.weights);
      return out;
    }
  }
  return env.Undefined();
}

Napi::Object networkToJs(Napi::Env env, const reference::Network& n) {
  Napi::Object result = Napi::Object::New(env);
  Napi::Array tensors = Napi::Array::New(env, n.tensors.size());
  for (size_t i = 0; i < n.tensors.size(); i++) tensors.Set(i, n.tensors[i]->getName());
  result.Set("tensors", tensors);
  Napi::Array inputs = Napi::Array::New(env, n.inputs.size());
  for (size_t i = 0; i < n.inputs.size(); i++) {
    Napi::Object input = Napi::Object::New(env);
    input.Set("tensor", n.inputs[i]);
    input.Set("type", recording::toString(n.inputTypes[i].first));
    reference::Value dims = reference::ILayer::dims(n.inputTypes[i].second);
    input.Set("dimensions", toJs(env, dims));
    input.Set("nbDims", n.inputTypes[i].second.nbDims);
    inputs.Set(i, input);
  }
  result.Set("inputs", inputs);
  Napi::Array layers = Napi::Array::New(env, n.layers.size());
  for (size_t i = 0; i < n.layers.size(); i++) {
    const reference::ILayer& l = *n.layers[i];
    Napi::Object layer = Napi::Object::New(env);
    layer.Set("method", l.method);
    layer.Set("name", l.getName());
    Napi::Object args = Napi::Object::New(env);
    for (const auto& [key, value] : l.args) args.Set(key, toJs(env, value));
    layer.Set("args", args);
    Napi::Array calls = Napi::Array::New(env, l.calls.size());
    for (size_t c = 0; c < l.calls.size(); c++) {
      Napi::Object call = Napi::Object::New(env);
      call.Set("method", l.calls[c].first);
      call.Set("value", toJs(env, l.calls[c].second));
      calls.Set(c, call);
    }
    layer.Set("calls", calls);
    Napi::Array outputs = Napi::Array::New(env, l.getNbOutputs());
    for (int32_t o = 0; o < l.getNbOutputs(); o++) outputs.Set(o, l.getOutput(o)->id());
    layer.Set("outputs", outputs);
    layers.Set(i, layer);
  }
  result.Set("layers", layers);
  Napi::Array outputs = Napi::Array::New(env, n.outputs.size());
  for (size_t i = 0; i < n.outputs.size(); i++) outputs.Set(i, n.outputs[i]);
  result.Set("outputs", outputs);
  Napi::Array weights = Napi::Array::New(env, n.weights.size());
  for (size_t i = 0; i < n.weights.size(); i++) {
    const reference::WeightsRecord& r = n.weights[i];
    Napi::Object w = Napi::Object::New(env);
    w.Set("type", recording::toString(r.type));
    w.Set("count", static_cast<double>(r.count));
    Napi::Uint8Array bytes = Napi::Uint8Array::New(env, r.bytes.size());
    if (!r.bytes.empty()) std::memcpy(bytes.Data(), r.bytes.data(), r.bytes.size());
    w.Set("bytes", bytes);
    Napi::Array names = Napi::Array::New(env, r.names.size());
    for (size_t k = 0; k < r.names.size(); k++) names.Set(k, r.names[k]);
    w.Set("names", names);
    weights.Set(i, w);
  }
  result.Set("weights", weights);
  return result;
}

}  // namespace

Napi::Value referenceTensorRTLoweringJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsTypedArray()) throw Napi::TypeError::New(env, "referenceTensorRTLowering(plan): plan must be a Uint8Array");
  Napi::TypedArray array = info[0].As<Napi::TypedArray>();
  reference::Network network;
  try {
    reference::lower(static_cast<const uint8_t*>(array.ArrayBuffer().Data()) + array.ByteOffset(), array.ByteLength(), network);
  } catch (const PlanError& e) {
    throw jsError(env, "ERR_PLAN", e.what());
  } catch (const LoweringError& e) {
    // A refused add* call: the lowering names the layer, the reference the header rule it broke.
    std::string message = e.what();
    if (!network.refusals.empty()) message += " — " + network.refusals.back().rule;
    throw jsError(env, "ERR_LOWERING", message);
  } catch (const std::exception& e) {
    throw jsError(env, "ERR_NATIVE", e.what());
  }
  return networkToJs(env, network);
}

}  // namespace netdef
