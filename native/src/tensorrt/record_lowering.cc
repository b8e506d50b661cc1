#include "tensorrt/record_lowering.h"

#include "plan_reader.h"
#include "tensorrt/lowering.h"

namespace netdef {

void recordLowering(const uint8_t* plan, size_t size, recording::Recorder& recorder) {
  const Graph graph = readPlan(plan, size);
  recording::INetworkDefinition network(recorder);
  Lowering<recording::RecordingApi> lowering(network, graph);
  lowering.run();
}

}  // namespace netdef
