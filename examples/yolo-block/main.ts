// A detector block ported by hand (Conv-BN-Mish, SPP, nearest upsample), checked against PyTorch: npm run example:yolo-block
import { checkAgainstPyTorch } from "../fixture-check.js";
import { defineYoloBlock } from "../../models/yolo-block.js";

await checkAgainstPyTorch("yolo_block", defineYoloBlock, "input", "output");
