// torchvision's squeezenet1_1 ported by state_dict names (Fire modules, ceil-mode pooling), checked against
// PyTorch's float64 output: npm run example:squeezenet
import { checkAgainstPyTorch } from "../fixture-check.js";
import { defineSqueezeNet } from "../../models/squeezenet.js";

await checkAgainstPyTorch("squeezenet", defineSqueezeNet, "input", "output");
