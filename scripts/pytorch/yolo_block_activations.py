"""Every intermediate activation of yolo_block, computed by PyTorch from the fixture's weights and input, saved under
netdef's layer names (fixtures/yolo_block_activations.safetensors): the reference for compareLayers' test.

Run where PyTorch is installed:  python3 scripts/pytorch/yolo_block_activations.py fixtures <out-dir>
Reads and writes safetensors with a few lines of its own, so only torch and numpy are needed."""
import sys

import numpy as np
import torch
import torch.nn.functional as F

from safetensors_io import read_safetensors, write_safetensors


def main(fixtures, out_dir):
    torch.set_grad_enabled(False)
    w = read_safetensors(f"{fixtures}/yolo_block.safetensors")
    io = read_safetensors(f"{fixtures}/yolo_block_io.safetensors")
    acts = {}

    def cbm(x, name, stride, padding):
        y = F.conv2d(x, w[f"{name}.conv.weight"], None, stride, padding)
        acts[f"{name}.conv"] = y
        y = F.batch_norm(y, w[f"{name}.bn.running_mean"], w[f"{name}.bn.running_var"], w[f"{name}.bn.weight"], w[f"{name}.bn.bias"], False, 0.0, 1e-5)
        acts[f"{name}.bn"] = y
        acts[f"{name}.softplus"] = F.softplus(y)
        acts[f"{name}.tanh"] = torch.tanh(acts[f"{name}.softplus"])
        acts[f"{name}.mish"] = y * acts[f"{name}.tanh"]
        return acts[f"{name}.mish"]

    x = io["input"].float()
    stem = cbm(x, "stem", 1, 1)
    down = cbm(stem, "down", 2, 1)
    pools = []
    for k in (5, 9, 13):
        acts[f"spp.pool{k}"] = F.max_pool2d(down, k, 1, k // 2)
        pools.append(acts[f"spp.pool{k}"])
    acts["spp"] = torch.cat([down, *pools], 1)
    reduce = cbm(acts["spp"], "reduce", 1, 0)
    acts["up"] = F.interpolate(reduce, scale_factor=2, mode="nearest")
    acts["head.cat"] = torch.cat([acts["up"], stem], 1)
    acts["head"] = F.conv2d(acts["head.cat"], w["head.weight"], w["head.bias"])
    acts["head.sigmoid"] = torch.sigmoid(acts["head"])
    error = (acts["head.sigmoid"] - io["output_fp32"]).abs().max().item()
    print(f"{len(acts)} activations; final output vs fixture output_fp32: max |diff| = {error:.3g}")
    assert error < 1e-5, "the re-implementation does not reproduce the fixture"
    write_safetensors(f"{out_dir}/yolo_block_activations.safetensors", acts)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
