import { describe, expect, it } from "vitest";
import { bindingReport, buildEngine, Network, NetworkError, WeightStore, type WeightTensor } from "netdef";
import { defineLeNet } from "../../models/lenet.js";
import { loadFixtureWeights } from "../fixtures.js";
import { LAYER_KINDS } from "../../layers/kinds.js";
import { defineCase, layerCases } from "../../selftest/layer-cases.js";
import { SELFTEST_MODELS } from "../../selftest/models.js";
import { mutateNetwork, planSubjects } from "../engine/plan-mutants.js";
import { thrown } from "./thrown.js";

const zeros = (shape: number[]): WeightTensor => ({ dtype: "float32", shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)) });

describe("LeNet", () => {
  it("summarises to 431,080 parameters with output [-1, 10]", async () => {
    const summary = defineLeNet(await loadFixtureWeights("lenet.safetensors")).summary();
    expect(summary.totalParameters).toBe(431_080); // 20·25+20 + 50·20·25+50 + 800·500+500 + 500·10+10
    expect(summary.rows.at(-1)).toMatchObject({ layer: "log_softmax", shape: [-1, 10] });
    expect(summary.toString()).toContain("total parameters: 431,080");
  });

  it("keeps layers addressable by name", () => {
    const net = defineLeNet();
    expect(net.layer("conv2")).toMatchObject({ kind: "convolution", inputs: ["pool1"], params: { outChannels: 50, kernel: [5, 5] } });
    expect(net.layer("conv2").output.shape).toEqual([-1, 50, 8, 8]);
  });

  it("round-trips through JSON", async () => {
    const weights = await loadFixtureWeights("lenet.safetensors");
    const ir = defineLeNet(weights).toJSON();
    const copy = Network.fromJSON(JSON.parse(JSON.stringify(ir)), { weights });
    expect(copy.toJSON()).toEqual(ir);
    expect(Object.isFrozen(ir.layers[0]!.params)).toBe(true);
  });
});

describe("errors name the layer, the argument, expected vs received, and the user's line", () => {
  it("a convolution weight with the wrong in-channels", () => {
    const weights = new WeightStore([["conv2.weight", zeros([50, 20, 5, 5])], ["conv2.bias", zeros([50])]]);
    const net = new Network("n", { weights });
    const x = net.addInput("x", "float32", [1, 32, 12, 12]);
    const error = thrown(() => x.addConvolution("conv2", { outChannels: 50, kernel: 5 })); // this is line 47, column 34
    expect(error.message).toBe(
      "conv2: weight 'conv2.weight' has shape [50,20,5,5] but the input has 32 channels, so [50,32,5,5] was expected (test/dsl/network.test.ts:41:34)");
    expect(error.issues[0]).toMatchObject({ code: "weight_shape", layer: "conv2", kind: "convolution" });
  });

  it("a missing weight, with the nearest names", () => {
    const weights = new WeightStore([["conv1.weight", zeros([20, 1, 5, 5])], ["conv1.bias", zeros([20])]]);
    const net = new Network("n", { weights });
    const error = thrown(() => net.addInput("x", "float32", [1, 1, 28, 28]).addConvolution("conv1", { outChannels: 20, kernel: 5, weights: { kernel: "conv1.wieght" } }));
    expect(error.message).toMatch(/^conv1: weight 'conv1.wieght' is not in the weight source; nearest names: 'conv1.weight', 'conv1.bias' \(test\/dsl\/network.test.ts:\d+:\d+\)$/);
  });

  it.each([
    ["unbroadcastable element-wise", (n: Network) => n.addInput("a", "float32", [2, 3]).addElementWise("add", n.addInput("b", "float32", [4]), "sum"),
      "add (elementWise): inputs must be shapes that broadcast (each dimension equal or 1, aligned from the right), but received [2,3] and [4]"],
    ["reshape changing the element count", (n: Network) => n.addInput("a", "float32", [2, 3]).addShuffle("r", { reshape: [5] }),
      "r (shuffle): reshape must be a shape of 6 elements like the input [2,3], but received [5] (5 elements)"],
    ["softmax axis out of range", (n: Network) => n.addInput("a", "float32", [2, 3]).addSoftMax("s", { axis: 2 }),
      "s (softMax): axis must be an integer in [-2, 1] for a rank-2 input, but received 2"],
    ["duplicate layer name", (n: Network) => n.addInput("a", "float32", [2, 3]).addIdentity("a"),
      "a: the name \"a\" is already used by another layer or input of \"n\""],
    ["non-integer dims", (n: Network) => n.addInput("a", "float32", [2, 1.5]),
      "a (input): dims must be positive integers or -1 (dynamic), but received [2,1.5]"],
    ["negative dims", (n: Network) => n.addInput("a", "float32", [2, -3]),
      "a (input): dims must be positive integers or -1 (dynamic), but received [2,-3]"],
    ["tensor of another network", (n: Network) => n.addInput("a", "float32", [2]).addElementWise("s", new Network("m").addInput("b", "float32", [2]), "sum"),
      "s (elementWise): input 1 must be a tensor of network \"n\", but received tensor \"b\" of another network"],
  ])("%s", (_, define, message) => {
    const error = thrown(() => define(new Network("n")));
    expect(error.message).toMatch(new RegExp(`^${message.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} \\(test/dsl/network.test.ts:\\d+:\\d+\\)$`));
  });
});

describe("weights", () => {
  it("accepts explicit arrays and checks their size", () => {
    const net = new Network("n");
    const x = net.addInput("x", "float32", [1, 2]);
    x.addFullyConnected("fc", { outFeatures: 3, weights: { kernel: new Float32Array(6), bias: new Float32Array(3) } });
    expect(net.weights.get("fc.kernel")?.shape).toEqual([3, 2]);
    expect(thrown(() => x.addFullyConnected("fc2", { outFeatures: 3, weights: { kernel: new Float32Array(5) } })).issues[0]!.code).toBe("weight_shape");
  });

  it("rejects a value that is no weight (a bare number from JavaScript) with a NetworkError", () => {
    const x = new Network("n").addInput("x", "float32", [1, 4]);
    const error = thrown(() => x.addQuantize("q", { scale: 0.01 as unknown as Float32Array }));
    expect(error.issues[0]).toMatchObject({ code: "invalid_argument", layer: "q", argument: "weights.scale", received: "number 0.01" });
  });
});

// Constants that behave like weights: inline values of every dtype bind, count as bound in bindingReport, and
// round-trip through toJSON/fromJSON with the network's own weights (a weight file alone is told what it lacks).
describe("inline values", () => {
  it("int32 and int64 typed arrays bind as gather indices and integer constants, computed as such", async () => {
    const net = new Network("n");
    const x = net.addInput("x", "float32", [2, 4]);
    const picked = x.addGather("g", net.addConstant("i", { shape: [3], weights: Int32Array.of(3, 0, -1), dtype: "int32" }), { axis: 1 });
    net.markOutput(picked, "y");
    net.markOutput(net.addConstant("big", { shape: [2], weights: BigInt64Array.of(2n ** 40n, -5n), dtype: "int64" }), "z");
    expect(net.layer("i").weights.values).toEqual({ name: "i.values", shape: [3], inline: true });
    const outputs = await (await buildEngine(net)).createExecutionContext().execute({ x: Float32Array.of(0, 1, 2, 3, 4, 5, 6, 7) });
    // Columns 3, 0 and 3 (−1 counts from the end) of each row.
    expect(Array.from(outputs.y!.data as Float32Array)).toEqual([3, 0, 3, 7, 4, 7]);
    expect(Array.from(outputs.z!.data as BigInt64Array)).toEqual([2n ** 40n, -5n]);
  });

  it("bindingReport counts them as bound; fromJSON takes them from the network's own weights, and says so without them", async () => {
    const weights = new WeightStore([["fc.weight", zeros([3, 4])], ["fc.bias", zeros([3])]]);
    const net = new Network("inline", { weights });
    const x = net.addInput("x", "float32", [-1, 4]);
    const picked = x.addFullyConnected("fc", { outFeatures: 3 }).addGather("pick", net.addConstant("pick.indices", { shape: [2], weights: Int32Array.of(2, 0), dtype: "int32" }), { axis: 1 });
    net.markOutput(picked.addElementWise("scaled", net.addConstant("scale", { shape: [1], weights: Float32Array.of(0.5) }), "prod"), "y");
    const report = bindingReport(net, weights);
    expect(report.missing).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.inline).toHaveLength(2);  // the gather's indices and the scale
    expect(report.toString()).toMatch(/given inline/);
    expect(Network.fromJSON(net.toJSON(), { weights: net.weights }).toJSON()).toEqual(net.toJSON());
    expect(() => Network.fromJSON(net.toJSON(), { weights })).toThrow(/holds values the original network's code gave inline, which its IR does not carry: pass that network's own weights/);
  });
});

describe("the IR's version and schema", () => {
  it("refuses an IR of another version, naming both, and parameters that do not fit their kind's schema", async () => {
    const weights = await loadFixtureWeights("lenet.safetensors");
    const ir = JSON.parse(JSON.stringify(defineLeNet(weights).toJSON()));
    expect(ir.version).toMatch(/^\d+\.[0-9a-f]{12}$/);
    expect(() => Network.fromJSON({ ...ir, version: 1 }, { weights })).toThrow(new RegExp(`version 1, but this netdef \\(${ir.version.replace(".", "\\.")}\\) reads only its own`));
    const layers = (change: (layer: Record<string, any>) => void) => ir.layers.map((l: Record<string, any>) => {
      const copy = structuredClone(l);
      if (copy.name === "pool1") change(copy);
      return copy;
    });
    const refused = (change: (layer: Record<string, any>) => void) => () => Network.fromJSON({ ...ir, layers: layers(change) }, { weights });
    expect(refused((l) => { l.params.type = "maximum"; })).toThrow(/pool1" \(pooling\): parameter 'type': "maximum" is not one of max, average, max_average_blend/);
    expect(refused((l) => { delete l.params.blendFactor; })).toThrow(/parameter 'blendFactor': missing/);
    expect(refused((l) => { l.params.window = [2, 2]; })).toThrow(/parameter 'window' is not one of this kind's/);
    expect(refused((l) => { l.params.stride = [2.5, 2]; })).toThrow(/parameter 'stride': \[2.5,2\] is not a list of integers/);
    expect(refused((l) => { l.kind = "maxPool"; })).toThrow(/kind "maxPool", which this netdef does not know/);
  });
});

// An IR read from a file or a plan is inferred again layer by layer (each kind's fromResolved gives the parameters a
// user would write), so that what it declares is what the DSL would have made of it.
describe("Network.fromJSON infers every layer again", () => {
  it("every row of the layer table and every model comes back as it was recorded", () => {
    const networks = [...Object.values(layerCases).map((c) => defineCase(c).net), ...Object.values(SELFTEST_MODELS).map((m) => m.define())];
    const kinds = new Set<string>();
    for (const net of networks) {
      const ir = net.toJSON();
      for (const l of ir.layers) kinds.add(l.kind);
      expect(Network.fromJSON(JSON.parse(JSON.stringify(ir))).toJSON()).toEqual(ir);
    }
    expect([...kinds].sort()).toEqual([...LAYER_KINDS].sort());
  });

  it("1,000 changed IRs give NetworkErrors or networks whose IR is the one given", async () => {
    const subjects = await planSubjects();
    let state = 29;
    const rand = () => { state = (Math.imul(state ^ (state >>> 15), 0x2c1b3c6d) + 0x9e3779b9) >>> 0; return state / 2 ** 32; };
    let refused = 0;
    for (let i = 0; i < 1000; i++) {
      const ir = JSON.parse(JSON.stringify(subjects[i % subjects.length]!.network.toJSON()));
      for (let n = 1 + Math.floor(rand() * 3); n > 0; n--) mutateNetwork(ir, rand);
      try {
        expect(Network.fromJSON(ir).toJSON()).toEqual(ir);
      } catch (error) {
        if (!(error instanceof NetworkError)) throw error;
        refused++;
      }
    }
    expect(refused).toBeGreaterThan(500);
  });
});
