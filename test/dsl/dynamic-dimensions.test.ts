// Porting friction item 1 (#32): slices, splits, reshapes and expansions over dynamic dimensions. Shapes are worked
// out by hand in the comments; values are checked against onnxruntime and the TensorRT reference in the layer table
// (selftest/layer-cases.ts); here, shapes, errors, round trips and runs at several batch sizes.
import { describe, expect, it } from "vitest";
import { buildEngine, Network } from "netdef";
import { thrown } from "./thrown.js";

const input = (shape: number[]) => new Network("dims").addInput("x", "float32", shape);

describe("slices over dynamic dimensions", () => {
  it.each([
    // The reported case: size -1 takes the whole dynamic batch.
    ["size -1 over the batch", [-1, 8, 8, 8], { start: [0, 0, 0, 0], size: [-1, 4, 4, 4] }, [-1, 4, 4, 4]],
    // One axis, given as a number; the others whole: 8 − 2 = 6 channels.
    ["one axis, numbers", [-1, 8, 5], { axes: 1, start: 2, size: -1 }, [-1, 6, 5]],
    // A list of one for one axis (the reported "a list of 1").
    ["a list of one", [-1, 8, 5], { axes: [1], start: [2], size: [3] }, [-1, 3, 5]],
    // x[:, -1:]: start -1 of 8 is 7, one element.
    ["negative start, static", [-1, 8, 5], { axes: 1, start: -1, size: 1 }, [-1, 1, 5]],
    // x[:, :-1] on a dynamic axis: dynamic.
    ["PyTorch end from the end, dynamic", [2, -1, 5], { axes: 1, start: 0, end: -1 }, [2, -1, 5]],
    // x[:, 1:-1] on a static 8: 6.
    ["PyTorch end, static", [2, 8, 5], { axes: 1, start: 1, end: -1 }, [2, 6, 5]],
    // x[:, -3:-1] on a dynamic axis: 2, whatever its extent.
    ["both from the end, dynamic", [2, -1, 5], { axes: 1, start: -3, end: -1 }, [2, 2, 5]],
    // Every other element from 1 to the end of 8: 1, 3, 5, 7.
    ["stride to the end", [2, 8], { axes: -1, start: 1, size: -1, stride: 2 }, [2, 4]],
  ])("%s", (_, shape, params, expected) => expect(input(shape).addSlice("s", params).shape).toEqual(expected));

  it("resolves static dimensions now and keeps counting from the end only where dynamic", () => {
    const net = new Network("resolved");
    net.addInput("x", "float32", [-1, 8, 5]).addSlice("s", { axes: [0, 1], start: [-2, -3], size: [-1, -1] });
    // Axis 0 is dynamic: start -2, to the end; axis 1 is static: -3 of 8 is 5, three elements; axis 2 whole.
    expect(net.layer("s").params).toEqual({ start: [-2, 5, 0], size: [-1, 3, 5], stride: [1, 1, 1] });
  });

  it("refuses windows outside a static dimension and ends before starts, naming them", () => {
    expect(thrown(() => input([2, 8]).addSlice("s", { axes: 1, start: 6, size: 3 })).message).toMatch(/s \(slice\): size must be a window inside dimension 1 \(extent 8\)/);
    expect(thrown(() => input([2, -1]).addSlice("s", { axes: 1, start: 3, end: 2 })).message).toMatch(/end must be after start in dimension 1/);
    expect(thrown(() => input([2, -1]).addSlice("s", { axes: 1, start: -3, end: 2 })).message).toMatch(/end must be counted from the end where start is, on dynamic dimension 1/);
    expect(thrown(() => input([2, 8]).addSlice("s", { axes: 1, start: 0, size: 2, end: 2 })).message).toMatch(/give one of them/);
  });

  it("runs at several batch sizes, counting from the end of each", async () => {
    const net = new Network("tail");
    net.markOutput(net.addInput("x", "float32", [2, -1]).addSlice("last_two", { axes: 1, start: -2, size: -1 }), "y");
    const engine = await buildEngine(net, { profiles: [{ x: { min: [2, 2], opt: [2, 4], max: [2, 6] } }] });
    const context = engine.createExecutionContext();
    for (const n of [2, 5]) {
      const data = Float32Array.from({ length: 2 * n }, (_, i) => i);
      const { y } = await context.execute({ x: { data, shape: [2, n] } });
      // Row r holds r·n … r·n + n − 1: its last two are r·n + n − 2 and r·n + n − 1.
      expect(y!.shape).toEqual([2, 2]);
      expect(Array.from(y!.data as Float32Array)).toEqual([n - 2, n - 1, 2 * n - 2, 2 * n - 1]);
    }
  });
});

describe("split and chunk", () => {
  it("splits a static axis as PyTorch does", () => {
    const parts = input([-1, 116, 7, 7]).addSplit("split", { axis: 1, sizes: [58, 58] });
    expect(parts.map((p) => p.shape)).toEqual([[-1, 58, 7, 7], [-1, 58, 7, 7]]);
    // ⌈10 / 4⌉ = 3: 3, 3, 3, 1.
    expect(input([2, 10]).addChunk("chunk", { chunks: 4, axis: 1 }).map((p) => p.shape[1])).toEqual([3, 3, 3, 1]);
    // ⌈6 / 4⌉ = 2: three chunks, as torch.chunk gives.
    expect(input([2, 6]).addChunk("chunk", { chunks: 4, axis: 1 }).map((p) => p.shape[1])).toEqual([2, 2, 2]);
  });

  it("splits a dynamic axis around one size of -1", () => {
    const parts = input([2, -1]).addSplit("split", { axis: 1, sizes: [1, -1, 2] });
    expect(parts.map((p) => p.shape)).toEqual([[2, 1], [2, -1], [2, 2]]);
  });

  it("refuses what it cannot split, saying what to give", () => {
    expect(thrown(() => input([2, 10]).addSplit("s", { axis: 1, sizes: [4, 4] })).message).toMatch(/sizes that add up to the extent 10 of axis 1/);
    expect(thrown(() => input([2, -1]).addSplit("s", { axis: 1, sizes: [4, 4] })).message).toMatch(/one size of -1 \(axis 1 is dynamic/);
    expect(thrown(() => input([2, -1]).addChunk("c", { chunks: 2, axis: 1 })).message).toMatch(/a static axis \(a dynamic one: addSplit with a size of -1\)/);
  });
});

describe("flatten, squeeze, unsqueeze and reshapes by other tensors' dimensions", () => {
  it.each([
    // torch.flatten(x, 1): 3·1·4 = 12 after a dynamic batch.
    ["flatten from 1", [-1, 3, 1, 4], (x: ReturnType<typeof input>) => x.addFlatten("f", { startDim: 1 }), [-1, 12]],
    // Two dynamic dimensions merged: one -1; the dynamic one after stays dynamic.
    ["flatten of dynamic dimensions", [-1, -1, 4, -1], (x: ReturnType<typeof input>) => x.addFlatten("f", { startDim: 0, endDim: 1 }), [-1, 4, -1]],
    ["squeeze", [-1, 1, -1], (x: ReturnType<typeof input>) => x.addSqueeze("s", { axes: 1 }), [-1, -1]],
    // Unsqueeze at 0 and at the end of the output's four dimensions.
    ["unsqueeze", [-1, -1], (x: ReturnType<typeof input>) => x.addUnsqueeze("u", { axes: [0, -1] }), [1, -1, -1, 1]],
  ])("%s", (_, shape, define, expected) => expect(define(input(shape)).shape).toEqual(expected));

  it("takes another tensor's dynamic dimensions as extra inputs, its static ones as numbers", () => {
    const net = new Network("unflatten");
    const tokens = net.addInput("tokens", "float32", [-1, -1, 64]);
    const rows = tokens.addFlatten("rows", { endDim: 1 });
    const back = rows.addShuffle("back", { reshape: [tokens.dim(0), tokens.dim(1), tokens.dim(2)] });
    expect(back.shape).toEqual([-1, -1, 64]);
    expect(net.layer("back")).toMatchObject({ inputs: ["rows", "tokens"], params: { reshape: [-2, -2, 64], dimsFrom: [1, 0, 1, 1] } });
    // The IR reads back as it was written.
    expect(Network.fromJSON(net.toJSON()).toJSON()).toEqual(net.toJSON());
  });

  it("refuses a squeeze of a dimension that is not 1", () => {
    expect(thrown(() => input([-1, 3]).addSqueeze("s", { axes: 0 })).message).toMatch(/dimensions of size 1 \(a dynamic one may not be 1 at run time\), but received dimension 0 of shape \[-1,3\]/);
  });
});

describe("expand", () => {
  it("broadcasts a class token over the dynamic batch, so that concatenation need not narrow it", async () => {
    const net = new Network("vit_tokens");
    const patches = net.addInput("patches", "float32", [-1, 4, 3]);
    const cls = net.addConstant("cls", { shape: [1, 1, 3], weights: Float32Array.from([7, 8, 9]) });
    const tokens = net.addConcatenation("tokens", [cls.addExpand("cls_tokens", { shape: [patches.dim(0), -1, -1] }), patches], { axis: 1 });
    expect(tokens.shape).toEqual([-1, 5, 3]);
    net.markOutput(tokens, "y");
    const engine = await buildEngine(net, { profiles: [{ patches: { min: [1, 4, 3], opt: [2, 4, 3], max: [3, 4, 3] } }] });
    for (const batch of [1, 3]) {
      const { y } = await engine.createExecutionContext().execute({ patches: { data: new Float32Array(batch * 12).fill(1), shape: [batch, 4, 3] } });
      expect(y!.shape).toEqual([batch, 5, 3]);
      // Each image: the class token's 7, 8, 9, then four patches of ones.
      const values = Array.from(y!.data as Float32Array);
      for (let b = 0; b < batch; b++) expect(values.slice(b * 15, b * 15 + 6)).toEqual([7, 8, 9, 1, 1, 1]);
    }
  });

  it("refuses to expand a dimension other than 1", () => {
    expect(thrown(() => input([2, 3]).addExpand("e", { shape: [2, 4] })).message).toMatch(/e \(expand\): shape must be 3 or -1 at position 1 \(only dimensions of size 1 expand/);
  });
});
