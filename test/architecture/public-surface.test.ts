// The package's entry points: "netdef" is the user API; layer definitions are in "netdef/layers" (LAYERS), what the engine
// runs on this CPU, the recorded TensorRT calls and the TensorRT reference in "netdef/diagnostics". No name means two things.
import { describe, expect, it } from "vitest";
import * as root from "netdef";
import * as diagnostics from "netdef/diagnostics";
import * as layers from "netdef/layers";

describe("the public surface", () => {
  it("the root exports no layer definition; quantize is the function that quantizes a network", () => {
    const definitions = layers.LAYER_KINDS.filter((kind) => kind in root && kind !== "quantize");
    expect(definitions).toEqual([]);
    expect(typeof root.quantize).toBe("function");
    expect("kind" in root.quantize).toBe(false);
    expect(layers.LAYERS.quantize.kind).toBe("quantize");
  });

  it("every layer kind's definition is in netdef/layers' LAYERS under its kind, and no definition stands alone there", () => {
    for (const kind of layers.LAYER_KINDS) expect(layers.LAYERS[kind]).toMatchObject({ kind });
    expect(layers.LAYER_KINDS.filter((kind) => kind in layers)).toEqual([]);
  });

  it("a name exported by two entry points is the same thing in both", () => {
    const entries = { root, layers, diagnostics } as Record<string, Record<string, unknown>>;
    const clashes: string[] = [];
    for (const [a, one] of Object.entries(entries)) {
      for (const [b, other] of Object.entries(entries)) {
        if (a >= b) continue;
        for (const name of Object.keys(one)) if (name in other && one[name] !== other[name]) clashes.push(`${name}: ${a} vs ${b}`);
      }
    }
    expect(clashes).toEqual([]);
  });

  it("diagnostics: the kernel families, the lowering's recorder and the TensorRT reference", () => {
    expect(Object.keys(diagnostics).sort()).toEqual(["TensorRTReference", "TensorRTRuleError", "gemmTileName", "int8KernelName", "recordTensorRTLowering"]);
  });
});
