#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "errors.h"
#include "plan_schema.h"

namespace netdef {

using Shape = std::vector<int64_t>;

inline int64_t volume(const Shape& s) {
  int64_t v = 1;
  for (auto d : s) v *= d;
  return v;
}

std::string formatShape(const Shape& s);

struct TensorInfo {
  std::string name;
  std::string dtype;  // netdef DataType name
  Shape dims;         // -1: dynamic
};

// A layer's resolved parameters, by name, as the plan stores them: numbers (lists of doubles) or strings, checked
// by the plan reader against the kind's schema (plan_schema.h).
class Params {
 public:
  std::map<std::string, std::vector<double>> numbers;
  std::map<std::string, std::string> strings;
  // The kind's schema: reading a parameter it does not declare is a PlanError, so no kernel reads what the plan
  // writer and reader never check.
  const schema::Kind* kind = nullptr;

  const std::vector<double>& list(const std::string& op, const std::string& key) const;
  double number(const std::string& op, const std::string& key) const;
  int64_t integer(const std::string& op, const std::string& key) const;
  std::vector<int64_t> integers(const std::string& op, const std::string& key) const;
  bool has(const std::string& key) const;
  const std::string& string(const std::string& op, const std::string& key) const;

 private:
  void declared(const std::string& op, const std::string& key) const;
};

struct OpDesc {
  std::string kind;
  std::string name;
  std::vector<int> inputs;
  std::vector<int> outputs;
  Params params;
  std::map<std::string, std::vector<float>> weights;  // by role
  std::map<std::string, std::vector<int64_t>> integerWeights;  // by role: an int32/int64 constant's values
  std::map<std::string, std::string> weightNames;      // by role: the PyTorch state_dict name, for refit

  const std::vector<float>& weight(const std::string& role) const;
  const std::vector<int64_t>& integerWeight(const std::string& role) const;
  bool hasWeight(const std::string& role) const { return weights.count(role) != 0; }
};

struct Graph {
  std::vector<TensorInfo> tensors;
  std::vector<int> inputs;
  std::vector<std::pair<std::string, int>> outputs;  // output name, tensor id
  std::vector<OpDesc> ops;
  std::string header;  // the plan's JSON header, for the TypeScript side
};

}  // namespace netdef
