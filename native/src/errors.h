#pragma once
#include <stdexcept>
#include <string>

namespace netdef {

// A plan that cannot be trusted: truncated, corrupted, foreign or inconsistent. Becomes a PlanError in JS.
class PlanError : public std::runtime_error {
 public:
  explicit PlanError(const std::string& message) : std::runtime_error(message) {}
};

// A bad execution request (input shape, length, disposed object). Becomes an ExecutionError in JS.
class ExecutionError : public std::runtime_error {
 public:
  explicit ExecutionError(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace netdef
