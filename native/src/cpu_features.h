#pragma once
#include <string>
#include <vector>

namespace netdef {

// The instruction-set extensions of this CPU that netdef's kernels can use, by their common names.
std::vector<std::string> cpuFeatures();

}  // namespace netdef
