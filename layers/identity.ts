import { defineLayer, resolvedAsGiven } from "./layer.js";

/** A copy of its input: TensorRT's addIdentity (useful as a named tap or output). */
export const identity = defineLayer<"identity", Record<string, never>, Record<string, never>>({
  kind: "identity",
  fromResolved: resolvedAsGiven,
  infer(_ctx, [input]) {
    return { params: {}, outputs: [input!] };
  },
});
