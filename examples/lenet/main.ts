import path from "node:path";
import { fileURLToPath } from "node:url";
import { loadWeights } from "netdef";
import { defineLeNet } from "./network.js";

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), "../../fixtures");
const net = defineLeNet(await loadWeights(path.join(fixtures, "lenet.safetensors")));
console.log(net.summary().toString());
