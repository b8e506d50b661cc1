"""Evaluation sets for INT8 and bfloat16 quality (issue 30): for each convolution fixture model, 64 inputs drawn
from a stated distribution — each element uniform in [-1, 1), (u · 2 − 1) of netdef's seeded mulberry32
(debug/random.ts) at seed 2026, drawn in order — and PyTorch's float64 outputs for them. The inputs are not stored:
netdef draws them again from the seed (scripts/quality.ts). Calibration sets need no references (seed 1).
  python3 eval_sets.py <fixtures folder> <out folder>
writes <out>/<model>_eval.safetensors holding output_fp64 [64, …]."""
import sys

import numpy as np
import torch
import torchvision

from safetensors_io import read_safetensors, write_safetensors

COUNT, SEED, SHAPE = 64, 2026, (3, 224, 224)


def mulberry32(seed, count):
    """mulberry32's first `count` numbers in [0, 1) as netdef draws them: draw i depends only on seed + i·0x6d2b79f5."""
    with np.errstate(over="ignore"):
        a = ((np.uint64(seed) + np.arange(1, count + 1, dtype=np.uint64) * np.uint64(0x6D2B79F5)) & np.uint64(0xFFFFFFFF)).astype(np.uint32)
        t = (a ^ (a >> np.uint32(15))) * (a | np.uint32(1))
        t ^= t + (t ^ (t >> np.uint32(7))) * (t | np.uint32(61))
        return (t ^ (t >> np.uint32(14))).astype(np.float64) / 4294967296.0


def inputs():
    values = (mulberry32(SEED, COUNT * int(np.prod(SHAPE))) * 2 - 1).astype(np.float32)
    return torch.from_numpy(values.reshape(COUNT, *SHAPE))


def main(fixtures, out):
    x = inputs().double()
    models = {"squeezenet": torchvision.models.squeezenet1_1(), "shufflenet_v2": torchvision.models.shufflenet_v2_x0_5(), "mobilenet_v2": torchvision.models.mobilenet_v2()}
    for name, model in models.items():
        missing, unexpected = model.load_state_dict(read_safetensors(f"{fixtures}/{name}.safetensors"), strict=False)
        assert not unexpected and all(m.endswith("num_batches_tracked") for m in missing), (missing, unexpected)
        model = model.double().eval()
        with torch.no_grad():
            y = torch.cat([model(x[i : i + 8]) for i in range(0, COUNT, 8)])
        write_safetensors(f"{out}/{name}_eval.safetensors", {"output_fp64": y})
        print(f"{name}: output {list(y.shape)}, first values {y[0, :3].tolist()}")


if __name__ == "__main__":
    main(*sys.argv[1:])
