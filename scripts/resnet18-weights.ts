// Lists models/resnet18.ts's randomWeights as scripts/pytorch/resnet18_io.py regenerates them: each tensor's name, role,
// layer kind and shape in the order the generator draws them, with the sum and first value to check the copy
// against. `tsx --conditions=netdef-source scripts/resnet18-weights.ts <out.json>`
import fs from "node:fs";
import { defineResNet18, randomWeights } from "../models/resnet18.js";

const net = defineResNet18();
const store = randomWeights(net);
const list = net.toJSON().layers.flatMap((layer) => Object.entries(layer.weights).map(([role, binding]) => {
  const data = store.get(binding.name)!.data as Float32Array;
  return { name: binding.name, role, kind: layer.kind, shape: binding.shape, sum: data.reduce((a, v) => a + v, 0), first: data[0] };
}));
fs.writeFileSync(process.argv[2]!, JSON.stringify(list));
console.log(`${list.length} tensors listed in ${process.argv[2]}`);
