// torchvision's mobilenet_v2 ported by state_dict names, checked against PyTorch: npm run example:mobilenet-v2
import { checkAgainstPyTorch } from "../fixture-check.js";
import { defineMobileNetV2 } from "../../models/mobilenet-v2.js";

await checkAgainstPyTorch("mobilenet_v2", defineMobileNetV2, "input", "output");
