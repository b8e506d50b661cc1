// Type-level tests: `npm test` type-checks this file with tsc first, so a wrong network that the type system
// can describe fails the suite at compile time. Each @ts-expect-error must stay an error.
import { expect, it } from "vitest";
import { Network } from "netdef";

it("rejects wrong networks at compile time", () => {
  const net = new Network("types");
  const x = net.addInput("x", "float32", [1, 4, 8, 8]);
  const y = net.addInput("y", "float32", [1, 4, 8, 8]);
  const attempts = [
    // @ts-expect-error a tensor where weights belong
    () => x.addConvolution("c1", { outChannels: 4, kernel: 3, weights: { kernel: y } }),
    // @ts-expect-error an unknown activation type
    () => x.addActivation("a", { type: "swish" }),
    // @ts-expect-error an unknown element-wise op
    () => x.addElementWise("e", y, "add"),
    // @ts-expect-error softmax needs its axis
    () => x.addSoftMax("s", {}),
    // @ts-expect-error a weight array where a tensor belongs
    () => x.addElementWise("e2", new Float32Array(4), "sum"),
    // @ts-expect-error an unknown data type
    () => net.addInput("z", "float", [1]),
  ];
  // At run time the same mistakes are typed errors too.
  for (const attempt of attempts) expect(attempt).toThrow();
});
