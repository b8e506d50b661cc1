"""The peer's side of `npm run bench`: PyTorch's own ONNX export of every bench model and pattern, and the patterns'
weights and float64 references.

    python3 scripts/pytorch/bench_models.py fixtures <resnet18 list.json> <out-dir>

writes <out-dir>/onnx/<model>.onnx (TorchScript exporter, dynamo=False, opset 17, dynamic batch; `ONLY=<name>` for
one) and <out-dir>/patterns/<pattern>.safetensors and <pattern>_io.safetensors (`input`, and
`skip` for the U-Net stage; `output_fp64`, `output_fp32`). The models take the fixtures' weights; the patterns are
seeded, with randomised BatchNorm and LayerNorm statistics so that folding matters. Every export is run by
onnxruntime on the model's reference input and compared with the float64 output. The resnet18 list comes from
`tsx --conditions=netdef-source scripts/resnet18-weights.ts <list.json>`. Needs PyTorch 2.x, torchvision,
onnxruntime."""
import copy
import os
import sys

import numpy as np
import onnxruntime
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

from resnet18_io import resnet18_model
from safetensors_io import read_safetensors, write_safetensors


class LeNet(nn.Module):
    """fixtures/README.md's lenet."""

    def __init__(self):
        super().__init__()
        self.conv1, self.conv2 = nn.Conv2d(1, 20, 5), nn.Conv2d(20, 50, 5)
        self.fc1, self.fc2 = nn.Linear(800, 500), nn.Linear(500, 10)

    def forward(self, x):
        x = F.max_pool2d(self.conv2(F.max_pool2d(self.conv1(x), 2)), 2)
        return F.log_softmax(self.fc2(F.relu(self.fc1(x.flatten(1)))), dim=1)


class ConvBnMish(nn.Module):
    def __init__(self, cin, cout, k, stride):
        super().__init__()
        self.conv, self.bn = nn.Conv2d(cin, cout, k, stride, k // 2, bias=False), nn.BatchNorm2d(cout)

    def forward(self, x):
        return F.mish(self.bn(self.conv(x)))


class YoloBlock(nn.Module):
    """fixtures/README.md's yolo_block."""

    def __init__(self):
        super().__init__()
        self.stem, self.down, self.reduce = ConvBnMish(3, 16, 3, 1), ConvBnMish(16, 32, 3, 2), ConvBnMish(128, 32, 1, 1)
        self.head = nn.Conv2d(48, 18, 1)

    def forward(self, x):
        stem = self.stem(x)
        down = self.down(stem)
        spp = torch.cat([down, *(F.max_pool2d(down, k, 1, k // 2) for k in (5, 9, 13))], 1)
        up = F.interpolate(self.reduce(spp), scale_factor=2, mode="nearest")
        return torch.sigmoid(self.head(torch.cat([up, stem], 1)))


class SqueezeExcitationBlock(nn.Module):
    """EfficientNet-B0's stage-2 MBConv at 56×56: expand 1×1 24→144, depthwise 3×3, squeeze-excitation with 6 hidden
    channels and SiLU, project 1×1 144→24, residual."""

    def __init__(self, channels=24, expanded=144, squeezed=6):
        super().__init__()
        self.expand = nn.Sequential(nn.Conv2d(channels, expanded, 1, bias=False), nn.BatchNorm2d(expanded), nn.SiLU())
        self.depthwise = nn.Sequential(nn.Conv2d(expanded, expanded, 3, padding=1, groups=expanded, bias=False), nn.BatchNorm2d(expanded), nn.SiLU())
        self.se = torchvision.ops.SqueezeExcitation(expanded, squeezed, activation=nn.SiLU)
        self.project = nn.Sequential(nn.Conv2d(expanded, channels, 1, bias=False), nn.BatchNorm2d(channels))

    def forward(self, x):
        return x + self.project(self.se(self.depthwise(self.expand(x))))


class PreNormTransformerBlock(nn.Module):
    """A ViT encoder block on [B, tokens, d] (the tokens count the class token): x + attention(norm1(x)), then
    x + mlp(norm2(x)) with GELU (erf)."""

    def __init__(self, d, heads, mlp_ratio):
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(d, eps=1e-6), nn.LayerNorm(d, eps=1e-6)
        self.attn = nn.MultiheadAttention(d, heads, batch_first=True)
        self.mlp = nn.Sequential(nn.Linear(d, d * mlp_ratio), nn.GELU(), nn.Linear(d * mlp_ratio, d))

    def forward(self, x):
        h = self.norm1(x)
        x = x + self.attn(h, h, h, need_weights=False)[0]
        return x + self.mlp(self.norm2(x))


class UNetDecoderStage(nn.Module):
    """Transposed convolution 64→32 (2×2, stride 2) from 16×16, concatenation with a 32-channel skip, two 3×3
    convolution + BatchNorm + ReLU, bilinear ×2 (align_corners=False), a 1×1 to 2 classes."""

    def __init__(self):
        super().__init__()
        self.up = nn.ConvTranspose2d(64, 32, 2, stride=2)
        block = lambda cin: [nn.Conv2d(cin, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU()]
        self.conv = nn.Sequential(*block(64), *block(32))
        self.head = nn.Conv2d(32, 2, 1)

    def forward(self, x, skip):
        y = self.conv(torch.cat([self.up(x), skip], 1))
        return self.head(F.interpolate(y, scale_factor=2, mode="bilinear", align_corners=False))


class Conv1dStack(nn.Module):
    """An audio front end on [B, 1, 8000]: kernel 80 stride 16 → 32 channels, then two kernel-3 stages (32, 64), each
    with BatchNorm, ReLU and max pooling by 4."""

    def __init__(self):
        super().__init__()
        stage = lambda cin, cout, k, s: nn.Sequential(nn.Conv1d(cin, cout, k, s), nn.BatchNorm1d(cout), nn.ReLU(), nn.MaxPool1d(4))
        self.stages = nn.Sequential(stage(1, 32, 80, 16), stage(32, 32, 3, 1), stage(32, 64, 3, 1))

    def forward(self, x):
        return self.stages(x)


PATTERNS = {  # name: (module, inputs without the batch)
    "se_block": (SqueezeExcitationBlock, {"input": [24, 56, 56]}),
    "vit_block_64": (lambda: PreNormTransformerBlock(64, 4, 2), {"input": [65, 64]}),
    "vit_block_192": (lambda: PreNormTransformerBlock(192, 3, 4), {"input": [197, 192]}),
    "unet_decoder": (UNetDecoderStage, {"input": [64, 16, 16], "skip": [32, 32, 32]}),
    "conv1d_stack": (Conv1dStack, {"input": [1, 8000]}),
}


def randomise_statistics(model):
    """Seeded normalisation statistics and affine terms away from their defaults, so that folding them matters."""
    for m in model.modules():
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 1.5)
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d, nn.LayerNorm)):
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)


def with_weights(model, path):
    missing, unexpected = model.load_state_dict(read_safetensors(path), strict=False)
    assert not unexpected and all(m.endswith("num_batches_tracked") for m in missing), (missing, unexpected)
    return model.eval()


def export(model, inputs, path):
    names = list(inputs)
    # The tracer hands nn.MultiheadAttention's is_causal to scaled_dot_product_attention as a tensor, which it refuses.
    sdpa = F.scaled_dot_product_attention
    F.scaled_dot_product_attention = lambda q, k, v, mask=None, dropout=0.0, is_causal=False, **kwargs: sdpa(q, k, v, mask, dropout, bool(is_causal), **kwargs)
    torch.onnx.export(model, tuple(inputs.values()), path, dynamo=False, opset_version=17, input_names=names,
                      output_names=["output"], dynamic_axes={name: {0: "batch"} for name in [*names, "output"]})
    F.scaled_dot_product_attention = sdpa


def check(path, inputs, expected):
    """onnxruntime on the export against the float64 output, at the reference's batch and at batch 1 (the batch is
    dynamic): the largest difference relative to the output's range."""
    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    for batch in (None, 1):
        feed = {k: v[:batch].numpy() for k, v in inputs.items()}
        got = session.run(None, feed)[0].astype(np.float64)
        want = expected[:batch].numpy()
        error = np.abs(got - want).max() / max(np.abs(want).max(), 1e-30)
        assert got.shape == want.shape and error < 1e-4, f"{path} at batch {len(got)}: {got.shape}, error {error:.2g}"
    print(f"{os.path.basename(path)}: {os.path.getsize(path) / 1e6:.1f} MB, onnxruntime vs float64 max |diff| / max |y| = {error:.2g}")


def main(fixtures, resnet18_list, out):
    torch.backends.mha.set_fastpath_enabled(False)  # the fused encoder kernel does not export
    os.makedirs(f"{out}/onnx", exist_ok=True)
    os.makedirs(f"{out}/patterns", exist_ok=True)
    encoder = nn.TransformerEncoderLayer(64, 4, 128, dropout=0.0, activation="gelu", batch_first=True)
    # name: (model, the fixture whose <name>_io.safetensors holds its reference, or the shape of a random input)
    models = {
        "lenet": (with_weights(LeNet(), f"{fixtures}/lenet.safetensors"), "lenet"),
        "yolo_block": (with_weights(YoloBlock(), f"{fixtures}/yolo_block.safetensors"), "yolo_block"),
        "mobilenet_v2": (with_weights(torchvision.models.mobilenet_v2(), f"{fixtures}/mobilenet_v2.safetensors"), "mobilenet_v2"),
        "resnet18": (resnet18_model(resnet18_list), "resnet18"),
        "squeezenet": (with_weights(torchvision.models.squeezenet1_1(), f"{fixtures}/squeezenet.safetensors"), "squeezenet"),
        "shufflenet_v2": (with_weights(torchvision.models.shufflenet_v2_x0_5(), f"{fixtures}/shufflenet_v2.safetensors"), "shufflenet_v2"),
        "encoder": (with_weights(encoder, f"{fixtures}/encoder.safetensors"), "encoder"),
        # The tracer fixes the sequence length in the attention's reshapes: one export per length.
        "encoder_seq128": (with_weights(copy.deepcopy(encoder), f"{fixtures}/encoder.safetensors"), [2, 128, 64]),
    }
    only = os.environ.get("ONLY")  # one model or pattern, where the files that come back are limited
    with torch.no_grad():
        for name, (model, reference) in models.items():
            if only and name != only: continue
            if isinstance(reference, str):
                io = read_safetensors(f"{fixtures}/{reference}_io.safetensors")
                inputs, expected = {"input": io["input"].float()}, io["output_fp64"]
            else:
                inputs = {"input": torch.randn(*reference, generator=torch.Generator().manual_seed(0))}
                expected = copy.deepcopy(model).double()(inputs["input"].double())
            path = f"{out}/onnx/{name}.onnx"
            export(model, inputs, path)
            check(path, inputs, expected)
        for seed, (name, (factory, shapes)) in enumerate(PATTERNS.items()):
            if only and name != only: continue
            torch.manual_seed(seed)
            model = factory()
            randomise_statistics(model)
            model.eval()
            inputs = {k: torch.randn(2, *shape) for k, shape in shapes.items()}
            y32 = model(*inputs.values())
            y64 = model.double()(*(v.double() for v in inputs.values()))
            model.float()
            state = {k: v for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
            write_safetensors(f"{out}/patterns/{name}.safetensors", state)
            write_safetensors(f"{out}/patterns/{name}_io.safetensors", {**inputs, "output_fp64": y64, "output_fp32": y32})
            print(f"{name}: {sum(v.numel() for v in state.values())} parameters, output {list(y64.shape)}, "
                  f"fp32 vs fp64 max |diff| {float((y32.double() - y64).abs().max()):.2g}")
            path = f"{out}/onnx/{name}.onnx"
            export(model, inputs, path)
            check(path, inputs, y64)


if __name__ == "__main__":
    main(*sys.argv[1:4])
