"""Every module's output of a PyTorch model on one input, saved under the module's name (features.3.squeeze, …) in
one safetensors file: the reference for compareLayers / `netdef compare`, whose layers are named after the modules.

    python3 scripts/pytorch/save_activations.py <module:factory> <weights.safetensors> <input.npy> <out.safetensors>

e.g. `torchvision.models:squeezenet1_1` with `fixtures/squeezenet.safetensors`. The model runs in eval mode in
float32; a module called more than once keeps its last output; outputs that are not one tensor are skipped; each
output is copied as the hook sees it (an in-place ReLU after a convolution would otherwise overwrite it)."""
import importlib
import sys

import numpy as np
import torch

from safetensors_io import read_safetensors, write_safetensors

factory_path, weights_path, input_path, out_path = sys.argv[1:5]
module_name, factory_name = factory_path.split(":")
model = getattr(importlib.import_module(module_name), factory_name)()
missing, unexpected = model.load_state_dict(read_safetensors(weights_path), strict=False)
assert not unexpected and all(m.endswith("num_batches_tracked") for m in missing), (missing, unexpected)
model.eval()

outputs = {}
for name, module in model.named_modules():
    if name:
        module.register_forward_hook(lambda _m, _i, out, name=name: isinstance(out, torch.Tensor) and outputs.__setitem__(name, out.detach().clone()))
with torch.no_grad():
    outputs["output"] = model(torch.from_numpy(np.load(input_path).astype(np.float32))).contiguous()
write_safetensors(out_path, outputs)
print(f"{len(outputs)} activations → {out_path}")
