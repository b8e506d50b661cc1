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

}  // namespace netdef
