#pragma once
#include <napi.h>

#include <memory>

#include "engine.h"

namespace netdef {

// Engine options from a JS object (see engine_options.h), defaults for what it leaves out.
EngineOptions engineOptions(Napi::Env env, Napi::Value value);

// JS handle of an Engine: made by `deserialize(plan, options)`, which validates and compiles off the JS thread.
class EngineWrap : public Napi::ObjectWrap<EngineWrap> {
 public:
  static Napi::Function define(Napi::Env env);
  static Napi::Value deserialize(const Napi::CallbackInfo& info);
  explicit EngineWrap(const Napi::CallbackInfo& info);


 private:
  std::shared_ptr<const Engine> engine(Napi::Env env) const;
  Napi::Value header(const Napi::CallbackInfo& info);
  Napi::Value io(const Napi::CallbackInfo& info);
  Napi::Value halfStorage(const Napi::CallbackInfo& info);
  Napi::Value channelBlocked(const Napi::CallbackInfo& info);
  Napi::Value writtenIntoConcatenations(const Napi::CallbackInfo& info);
  Napi::Value bfloat16Products(const Napi::CallbackInfo& info);
  Napi::Value kernelNames(const Napi::CallbackInfo& info);
  Napi::Value shapesAt(const Napi::CallbackInfo& info);
  Napi::Value createContext(const Napi::CallbackInfo& info);
  Napi::Value refit(const Napi::CallbackInfo& info);
  void dispose(const Napi::CallbackInfo& info);

  std::shared_ptr<EngineSlot> slot_;
};

}  // namespace netdef
