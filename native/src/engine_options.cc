#include "engine_options.h"

namespace netdef {

namespace {

const EngineOptions kDefaults;
thread_local const EngineOptions* tOptions = &kDefaults;

}  // namespace

const EngineOptions& currentOptions() { return *tOptions; }

OptionsScope::OptionsScope(const EngineOptions& options) : previous_(tOptions) { tOptions = &options; }
OptionsScope::~OptionsScope() { tOptions = previous_; }

}  // namespace netdef
