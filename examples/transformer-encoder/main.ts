// PyTorch's nn.TransformerEncoderLayer ported by state_dict names (multi-head attention from in_proj_weight's rows,
// layer norm, erf GELU), checked against PyTorch's float64 output: npm run example:transformer-encoder
import { checkAgainstPyTorch } from "../fixture-check.js";
import { defineTransformerEncoder } from "../../models/transformer-encoder.js";

await checkAgainstPyTorch("encoder", (weights) => defineTransformerEncoder(weights), "input", "output");
