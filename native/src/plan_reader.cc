#include "plan_reader.h"

#include <cmath>
#include <cstring>
#include <sstream>

namespace netdef {

std::string formatShape(const Shape& s) {
  std::ostringstream out;
  out << "[";
  for (size_t i = 0; i < s.size(); i++) out << (i ? "," : "") << s[i];
  out << "]";
  return out.str();
}

namespace {

const schema::Field* findField(const schema::Kind& kind, const std::string& key) {
  for (size_t i = 0; i < kind.fieldCount; i++) if (key == kind.fields[i].name) return &kind.fields[i];
  return nullptr;
}

}  // namespace

void Params::declared(const std::string& op, const std::string& key) const {
  if (!kind || !findField(*kind, key)) {
    throw PlanError(op + ": reads parameter '" + key + "', which the schema of kind '" + (kind ? kind->name : "?") + "' does not declare");
  }
}

bool Params::has(const std::string& key) const {
  declared("a layer", key);
  return numbers.count(key) || strings.count(key);
}

const std::vector<double>& Params::list(const std::string& op, const std::string& key) const {
  declared(op, key);
  auto it = numbers.find(key);
  if (it == numbers.end()) throw PlanError(op + ": parameter '" + key + "' is missing from the plan");
  return it->second;
}

double Params::number(const std::string& op, const std::string& key) const {
  const auto& values = list(op, key);
  if (values.size() != 1) throw PlanError(op + ": parameter '" + key + "' should be one number");
  return values[0];
}

int64_t Params::integer(const std::string& op, const std::string& key) const {
  double v = number(op, key);
  if (v != std::floor(v) || std::fabs(v) > 9.0e15) throw PlanError(op + ": parameter '" + key + "' should be an integer");
  return static_cast<int64_t>(v);
}

std::vector<int64_t> Params::integers(const std::string& op, const std::string& key) const {
  std::vector<int64_t> out;
  for (double v : list(op, key)) {
    if (v != std::floor(v) || std::fabs(v) > 9.0e15) throw PlanError(op + ": parameter '" + key + "' should hold integers");
    out.push_back(static_cast<int64_t>(v));
  }
  return out;
}

const std::string& Params::string(const std::string& op, const std::string& key) const {
  declared(op, key);
  auto it = strings.find(key);
  if (it == strings.end()) throw PlanError(op + ": parameter '" + key + "' is missing from the plan");
  return it->second;
}

const std::vector<float>& OpDesc::weight(const std::string& role) const {
  auto it = weights.find(role);
  if (it == weights.end()) {
    throw PlanError(name + " (" + kind + "): weight '" + role + (integerWeights.count(role) ? "' holds integers where floats are expected" : "' is missing from the plan"));
  }
  return it->second;
}

const std::vector<int64_t>& OpDesc::integerWeight(const std::string& role) const {
  auto it = integerWeights.find(role);
  if (it == integerWeights.end()) {
    throw PlanError(name + " (" + kind + "): weight '" + role + (weights.count(role) ? "' holds floats where integers are expected" : "' is missing from the plan"));
  }
  return it->second;
}

uint64_t fnv1a64(const uint8_t* data, size_t size) {
  uint64_t hash = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < size; i++) {
    hash ^= data[i];
    hash *= 0x100000001b3ull;
  }
  return hash;
}

namespace {

// Bounds-checked little-endian reads over the plan's bytes.
class Reader {
 public:
  Reader(const uint8_t* data, size_t size) : data_(data), size_(size) {}

  size_t position() const { return pos_; }
  size_t remaining() const { return size_ - pos_; }

  void need(size_t bytes, const char* what) {
    if (bytes > remaining()) {
      throw PlanError("plan is truncated or corrupted: " + std::string(what) + " needs " + std::to_string(bytes) +
                      " bytes at byte " + std::to_string(pos_) + " but " + std::to_string(remaining()) + " remain");
    }
  }
  template <typename T>
  T scalar(const char* what) {
    need(sizeof(T), what);
    T value;
    std::memcpy(&value, data_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return value;
  }
  uint32_t u32(const char* what) { return scalar<uint32_t>(what); }
  // A count of items, each at least `minItemBytes` long: bounded by what remains, so a lying count cannot
  // make us allocate more than the plan could hold.
  uint32_t count(const char* what, size_t minItemBytes) {
    uint32_t n = u32(what);
    if (static_cast<uint64_t>(n) * minItemBytes > remaining()) {
      throw PlanError("plan is corrupted: " + std::string(what) + " " + std::to_string(n) + " at byte " +
                      std::to_string(pos_ - 4) + " exceeds what the remaining " + std::to_string(remaining()) + " bytes can hold");
    }
    return n;
  }
  std::string string(const char* what, size_t maxLength = 1 << 20) {
    uint32_t n = u32(what);
    if (n > maxLength) throw PlanError("plan is corrupted: " + std::string(what) + " length " + std::to_string(n) + " at byte " + std::to_string(pos_ - 4));
    need(n, what);
    std::string s(reinterpret_cast<const char*>(data_ + pos_), n);
    // Names reach error messages, whose what() a NUL would cut short (an empty message reads as success to N-API).
    if (s.find('\0') != std::string::npos) throw PlanError("plan is corrupted: " + std::string(what) + " at byte " + std::to_string(pos_) + " holds a NUL character");
    pos_ += n;
    return s;
  }
  void bytes(void* out, size_t n, const char* what) {
    need(n, what);
    std::memcpy(out, data_ + pos_, n);
    pos_ += n;
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

const char* kDataTypes[] = {"float32", "float16", "bfloat16", "int8", "uint8", "int32", "int64", "bool"};

const schema::Kind* findKind(const std::string& name) {
  for (const auto& kind : schema::kKinds) if (name == kind.name) return &kind;
  return nullptr;
}

// An op's parameters against its kind's schema: each declared, of its type (a number, an integer or a boolean as one
// value; strings among those allowed), the required ones present. What memory safety needs beyond (values in range,
// consistent with the shapes) each kernel checks when it is made.
void checkParams(const OpDesc& op) {
  const std::string where = "plan is corrupted: layer '" + op.name + "' (" + op.kind + ")";
  const schema::Kind& kind = *op.params.kind;
  // Kernels index their inputs and outputs by position: a count other than the kind's is refused here, once.
  if (op.inputs.size() < kind.minInputs || op.inputs.size() > kind.maxInputs || op.outputs.size() != kind.outputs) {
    const std::string inputs = kind.minInputs == kind.maxInputs ? std::to_string(kind.minInputs) : std::to_string(kind.minInputs) + " to " + std::to_string(kind.maxInputs);
    throw PlanError(where + " has " + std::to_string(op.inputs.size()) + " inputs and " + std::to_string(op.outputs.size()) + " outputs; its kind takes " + inputs +
                    " inputs and gives " + std::to_string(kind.outputs));
  }
  for (const auto& [key, values] : op.params.numbers) {
    const schema::Field* field = findField(kind, key);
    if (!field) throw PlanError(where + " has parameter '" + key + "', which its kind does not have");
    using T = schema::FieldType;
    if (field->type == T::kString) throw PlanError(where + " parameter '" + key + "' should be a string");
    const bool one = field->type == T::kNumber || field->type == T::kInteger || field->type == T::kBoolean;
    if (one && values.size() != 1) throw PlanError(where + " parameter '" + key + "' should be one value, not " + std::to_string(values.size()));
    for (double v : values) {
      const bool integral = std::floor(v) == v && std::fabs(v) <= 9007199254740992.0;
      if ((field->type == T::kInteger || field->type == T::kIntegers) && !integral) throw PlanError(where + " parameter '" + key + "' should hold integers");
      // No parameter of any kind (extents, strides, paddings, axes, counts) needs more than 31 bits: bounding them
      // here keeps every product of them inside int64 in the kernels.
      if ((field->type == T::kInteger || field->type == T::kIntegers) && std::fabs(v) > 2147483647.0) {
        throw PlanError(where + " parameter '" + key + "' holds " + std::to_string(static_cast<int64_t>(v)) + ", beyond the 31 bits any parameter needs");
      }
      if (field->type == T::kBoolean && v != 0 && v != 1) throw PlanError(where + " parameter '" + key + "' should be 0 or 1");
    }
  }
  for (const auto& [key, value] : op.params.strings) {
    const schema::Field* field = findField(kind, key);
    if (!field) throw PlanError(where + " has parameter '" + key + "', which its kind does not have");
    if (field->type != schema::FieldType::kString) throw PlanError(where + " parameter '" + key + "' should be numbers");
    bool allowed = field->values == nullptr;
    for (size_t i = 0; i < field->valueCount; i++) allowed = allowed || value == field->values[i];
    if (!allowed) throw PlanError(where + " parameter '" + key + "' is '" + value + "', not a value its kind allows");
  }
  for (size_t i = 0; i < kind.fieldCount; i++) {
    const schema::Field& field = kind.fields[i];
    if (!field.optional && !op.params.numbers.count(field.name) && !op.params.strings.count(field.name)) {
      throw PlanError(where + " lacks parameter '" + std::string(field.name) + "'");
    }
  }
}

void checkTensorId(int64_t id, size_t count, const std::string& where) {
  if (id < 0 || static_cast<size_t>(id) >= count) throw PlanError("plan is corrupted: " + where + " refers to tensor " + std::to_string(id) + " of " + std::to_string(count));
}

}  // namespace

Graph readPlan(const uint8_t* data, size_t size) {
  if (size < 8 + 4 + 4 + 8) throw PlanError("not a netdef plan: " + std::to_string(size) + " bytes is shorter than any plan");
  if (std::memcmp(data, kPlanMagic, 8) != 0) throw PlanError("not a netdef plan: the first 8 bytes are not the magic NETDEFPL");
  uint64_t stored;
  std::memcpy(&stored, data + size - 8, 8);
  if (fnv1a64(data, size - 8) != stored) throw PlanError("plan is corrupted: its checksum does not match its contents");
  Reader in(data, size - 8);
  in.need(8, "magic");
  uint8_t magic[8];
  in.bytes(magic, 8, "magic");
  uint32_t layout = in.u32("layout version");
  if (layout != kPlanLayoutVersion) {
    throw PlanError("plan layout version " + std::to_string(layout) + " is not supported by this netdef (it reads layout " + std::to_string(kPlanLayoutVersion) +
                    ", plan format " + schema::kPlanFormat + "); rebuild the plan with this netdef");
  }
  const std::string format = in.string("plan format", 256);
  if (format != schema::kPlanFormat) {
    throw PlanError("plan format " + format + " is not this netdef's (" + schema::kPlanFormat + "): a plan loads only in the netdef version that built it, as TensorRT's engines; rebuild the plan with this netdef");
  }
  Graph g;
  g.header = in.string("header", 64u << 20);

  uint32_t tensorCount = in.count("tensor count", 10);
  for (uint32_t t = 0; t < tensorCount; t++) {
    TensorInfo info;
    info.name = in.string("tensor name", 4096);
    uint32_t dtype = in.u32("tensor dtype");
    if (dtype >= sizeof(kDataTypes) / sizeof(kDataTypes[0])) throw PlanError("plan is corrupted: tensor '" + info.name + "' has dtype code " + std::to_string(dtype));
    info.dtype = kDataTypes[dtype];
    uint32_t rank = in.u32("tensor rank");
    if (rank > 8) throw PlanError("plan is corrupted: tensor '" + info.name + "' has rank " + std::to_string(rank));
    for (uint32_t d = 0; d < rank; d++) {
      int64_t dim = in.scalar<int64_t>("tensor dimension");
      if (dim < -1 || dim > (int64_t(1) << 40)) throw PlanError("plan is corrupted: tensor '" + info.name + "' has dimension " + std::to_string(dim));
      info.dims.push_back(dim);
    }
    g.tensors.push_back(std::move(info));
  }
  uint32_t inputCount = in.count("input count", 4);
  for (uint32_t i = 0; i < inputCount; i++) {
    int64_t id = in.u32("input tensor");
    checkTensorId(id, g.tensors.size(), "an input");
    g.inputs.push_back(static_cast<int>(id));
  }
  uint32_t outputCount = in.count("output count", 8);
  for (uint32_t i = 0; i < outputCount; i++) {
    std::string name = in.string("output name", 4096);
    int64_t id = in.u32("output tensor");
    checkTensorId(id, g.tensors.size(), "output '" + name + "'");
    g.outputs.emplace_back(name, static_cast<int>(id));
  }
  std::vector<bool> produced(g.tensors.size(), false);
  for (int id : g.inputs) produced[id] = true;
  uint32_t opCount = in.count("layer count", 24);
  for (uint32_t o = 0; o < opCount; o++) {
    OpDesc op;
    op.kind = in.string("layer kind", 64);
    op.name = in.string("layer name", 4096);
    const std::string where = "layer '" + op.name + "'";
    op.params.kind = findKind(op.kind);
    if (!op.params.kind) throw PlanError(op.name + ": layer kind '" + op.kind + "' is not known to this netdef's builtin engine");
    uint32_t nIn = in.count("layer input count", 4);
    for (uint32_t i = 0; i < nIn; i++) {
      int64_t id = in.u32("layer input");
      checkTensorId(id, g.tensors.size(), where);
      if (!produced[id]) throw PlanError("plan is corrupted: " + where + " reads tensor '" + g.tensors[id].name + "' before it is produced");
      op.inputs.push_back(static_cast<int>(id));
    }
    uint32_t nOut = in.count("layer output count", 4);
    for (uint32_t i = 0; i < nOut; i++) {
      int64_t id = in.u32("layer output");
      checkTensorId(id, g.tensors.size(), where);
      if (produced[id]) throw PlanError("plan is corrupted: " + where + " writes tensor '" + g.tensors[id].name + "', which is already produced");
      produced[id] = true;
      op.outputs.push_back(static_cast<int>(id));
    }
    uint32_t nParams = in.count("parameter count", 9);
    for (uint32_t p = 0; p < nParams; p++) {
      std::string key = in.string("parameter name", 256);
      uint32_t type = in.u32("parameter type");
      if (type == 0) {
        uint32_t n = in.count("parameter values", 8);
        std::vector<double> values(n);
        if (n) in.bytes(values.data(), n * sizeof(double), "parameter values");
        for (double v : values) if (!std::isfinite(v)) throw PlanError("plan is corrupted: " + where + " parameter '" + key + "' is not finite");
        op.params.numbers[key] = std::move(values);
      } else if (type == 1) {
        op.params.strings[key] = in.string("parameter string", 256);
      } else {
        throw PlanError("plan is corrupted: " + where + " parameter '" + key + "' has type " + std::to_string(type));
      }
    }
    checkParams(op);
    uint32_t nWeights = in.count("weight count", 16);
    for (uint32_t w = 0; w < nWeights; w++) {
      std::string role = in.string("weight role", 64);
      std::string weightName = in.string("weight name", 4096);
      const uint32_t type = in.u32("weight type");  // 0: float32, 1: int64
      if (type > 1) throw PlanError("plan is corrupted: " + where + " weight '" + role + "' has type " + std::to_string(type));
      if (op.weights.count(role) || op.integerWeights.count(role)) throw PlanError("plan is corrupted: " + where + " weight '" + role + "' appears twice");
      const uint64_t n = in.scalar<uint64_t>("weight element count"), size = type == 0 ? 4 : 8;
      if (n > in.remaining() / size) throw PlanError("plan is truncated or corrupted: " + where + " weight '" + role + "' claims " + std::to_string(n) + " elements");
      if (type == 0) {
        std::vector<float> values(n);
        if (n) in.bytes(values.data(), n * size, "weight values");
        op.weights[role] = std::move(values);
      } else {
        std::vector<int64_t> values(n);
        if (n) in.bytes(values.data(), n * size, "weight values");
        op.integerWeights[role] = std::move(values);
      }
      if (!weightName.empty()) op.weightNames[role] = std::move(weightName);
    }
    g.ops.push_back(std::move(op));
  }
  for (auto& [name, id] : g.outputs) {
    if (!produced[id]) throw PlanError("plan is corrupted: output '" + name + "' is never produced");
  }
  if (in.remaining() != 0) throw PlanError("plan is corrupted: " + std::to_string(in.remaining()) + " unexpected bytes before the checksum");
  return g;
}

}  // namespace netdef
