// torchvision's shufflenet_v2_x0_5 ported by state_dict names (the channel split by chunk, the channel shuffle by two
// reshapes and a transpose), checked against PyTorch's float64 output: npm run example:shufflenet-v2
import { checkAgainstPyTorch } from "../fixture-check.js";
import { defineShuffleNetV2 } from "../../models/shufflenet-v2.js";

await checkAgainstPyTorch("shufflenet_v2", defineShuffleNetV2, "input", "output");
