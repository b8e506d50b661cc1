"""fixtures/resnet18_io.safetensors: torchvision's resnet18 with the weights of models/resnet18.ts's randomWeights
(seed 18), regenerated here draw for draw and checked against the list scripts/resnet18-weights.ts writes.

    python3 scripts/pytorch/resnet18_io.py <list.json> <out.safetensors>"""
import json
import math
import sys

import numpy as np
import torch
import torchvision

from safetensors_io import write_safetensors


def resnet18_model(list_path):
    """torchvision's resnet18 in eval mode with randomWeights' tensors, each checked against the list's checksum."""
    state, tensors = 18, {}
    for t in json.load(open(list_path)):
        count = int(np.prod(t["shape"]))
        fan_in = count / t["shape"][0]
        values = np.empty(count)
        for i in range(count):  # the generator's LCG and formulas, in float64 as in JavaScript
            state = (state * 1664525 + 1013904223) % 2**32
            u = state / 2**32
            if t["role"] == "variance": values[i] = 0.5 + u
            elif t["role"] == "weight" and t["kind"] == "batchNorm": values[i] = 0.5 + u * 0.5
            else: values[i] = (u * 2 - 1) * math.sqrt(3 / max(fan_in, 1)) * (0.1 if t["role"] in ("bias", "mean") else 1)
        f = values.astype(np.float32)
        if float(f[0]) != t["first"] or abs(float(f.astype(np.float64).sum()) - t["sum"]) > 1e-9 * max(1.0, abs(t["sum"])):
            sys.exit(f"{t['name']} differs from the generator's")
        tensors[t["name"]] = torch.from_numpy(f.reshape(t["shape"]))
    model = torchvision.models.resnet18()
    missing, unexpected = model.load_state_dict(tensors, strict=False)
    assert not unexpected and all(m.endswith("num_batches_tracked") for m in missing), (missing, unexpected)
    return model.eval()


if __name__ == "__main__":
    model = resnet18_model(sys.argv[1])
    n = np.arange(2 * 3 * 224 * 224, dtype=np.float64)
    x = torch.from_numpy((np.sin(n * 0.001) * 2 + np.cos(n * 0.37)).astype(np.float32).reshape(2, 3, 224, 224))
    with torch.no_grad():
        y32 = model(x)
        y64 = model.double()(x.double())
    print(f"fp32 vs fp64 max |diff| {float((y32.double() - y64).abs().max()):.2g}, max |y| {float(y64.abs().max()):.3g}")
    write_safetensors(sys.argv[2], {"input": x, "output_fp64": y64, "output_fp32": y32})
