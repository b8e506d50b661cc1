// In a project whose netdef has no addon (no prebuild fits, no toolchain): networks, ONNX export and inspection
// work; the first native call is an AddonUnavailableError that says how to build.
import { AddonUnavailableError, buildEngine, exportOnnx, WeightStore } from "netdef";
import defineLeNet from "./lenet.mjs";

const zeros = (...shape) => ({ dtype: "float32", shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)) });
const net = defineLeNet(new WeightStore([
  ["conv1.weight", zeros(20, 1, 5, 5)], ["conv1.bias", zeros(20)], ["conv2.weight", zeros(50, 20, 5, 5)], ["conv2.bias", zeros(50)],
  ["fc1.weight", zeros(500, 800)], ["fc1.bias", zeros(500)], ["fc2.weight", zeros(10, 500)], ["fc2.bias", zeros(10)],
]));
console.log(`defined: ${net.summary().totalParameters} parameters; ONNX export: ${(await exportOnnx(net)).length} bytes`);
try {
  await buildEngine(net, { profiles: [{ data: { min: [1, 1, 28, 28], opt: [1, 1, 28, 28], max: [1, 1, 28, 28] } }] });
  throw new Error("buildEngine worked without an addon");
} catch (error) {
  if (!(error instanceof AddonUnavailableError) || !/build-addon\.mjs/.test(error.message)) throw error;
  console.log(`buildEngine: ${error.name}: ${error.message}`);
}
