#pragma once
#include <napi.h>

#include <string>

namespace netdef {

// A JS Error whose `code` tells the TypeScript wrapper which typed error to raise.
inline Napi::Error jsError(Napi::Env env, const char* code, const std::string& message) {
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("code", Napi::String::New(env, code));
  return error;
}

// An exception's message for an AsyncWorker's SetError, never empty: node-addon-api takes an empty error for success
// and would resolve with what the failed work never made.
inline std::string workerError(const std::exception& e) {
  std::string message = e.what();
  return message.empty() ? std::string("failed without a message") : message;
}

}  // namespace netdef
