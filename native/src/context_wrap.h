#pragma once
#include <napi.h>

#include <memory>

#include "execution_context.h"

namespace netdef {

class Execution;
class ContextThread;

// JS handle of an ExecutionContext. `execute` copies the inputs, runs on the context's own thread (on the JS thread
// when short) and resolves to the outputs; `executeSync` runs on the JS thread and returns them.
class ContextWrap : public Napi::ObjectWrap<ContextWrap> {
 public:
  static Napi::Function define(Napi::Env env);
  static Napi::Object create(Napi::Env env, std::shared_ptr<const EngineSlot> slot);
  explicit ContextWrap(const Napi::CallbackInfo& info);
  ~ContextWrap();

 private:
  Execution executionOf(const Napi::CallbackInfo& info);
  Napi::Value execute(const Napi::CallbackInfo& info);
  Napi::Value executeSync(const Napi::CallbackInfo& info);
  void dispose(const Napi::CallbackInfo& info);

  // Shared with a running execution, so disposing mid-run cannot free what the worker uses.
  std::shared_ptr<ExecutionContext> context_;
  std::unique_ptr<ContextThread> thread_;  // started by the first execution that does not run inline
};

}  // namespace netdef
