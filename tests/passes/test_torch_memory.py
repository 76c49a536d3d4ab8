"""The static memory model against what PyTorch allocates, measured by MemTracker.

Bundled networks (a representative subset, at a reduced resolution to keep the suite fast; the
memory model does not depend on the resolution, and ``bench/memory_check.py`` runs every
bundled spec at its own) at batch 1 and 8: inference, and a training step with SGD and with
Adam; then one small network per op that no bundled spec uses, so that every op's declared
facts (what backward keeps, views, in-place) are measured. The goal is ±10% of the measured
peak; the figures printed by ``bench/memory_check.py`` are in the README.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow  # builds and runs networks (or processes): not in the quick subset

torch = pytest.importorskip("torch")

import archscope  # noqa: E402
from archscope.passes.memory import MemoryOptions, memory  # noqa: E402
from archscope.torch_backend.memory_check import measured_peak  # noqa: E402

TOLERANCE = 0.10

# one per family, together using every op a bundled spec uses (resolution: None = the spec's own;
# small, to keep the suite fast: MemTracker's cost is per op, the model's exactness is not per pixel)
NETWORKS = {
    "lenet5": None,  # tanh, avgpool, linear
    "resnet18": 32,  # batch norm, relu and add in place, max pooling
    "mobilenet_v2": 32,  # relu6 (in place, it keeps a copy), depthwise convs
    "mobilenet_v3_small": 32,  # hardswish, hardsigmoid, squeeze-excitation (mul)
    "squeezenet1_1": 64,  # concat, dropout, ceil-mode max pooling
    "shufflenet_v2_x0_5": 32,  # split (views), channel_shuffle
    "convnext_tiny": 32,  # layer_norm over channels, gelu, layer_scale, drop_path
    "regnet_y_400mf": 32,  # sigmoid, grouped convs
    "zfnet": 64,  # lrn
    "tcn1d": None,  # conv1d, batchnorm1d, maxpool1d
    "deconvnet": 64,  # conv_transpose2d, max_unpool2d with the pool's switches
    "yolov8n": 64,  # silu, split, upsample, softmax, several outputs, a frozen layer (DFL)
    "unet": 64,  # upsample, skip concatenation
    "vit_b_16": 32,  # class_token, position_embedding, multihead_attention, linear on tokens, select
}
MODES = ("infer", "sgd", "adam")


def _check(analysis: archscope.Analysis, batch: int, mode: str) -> tuple[int, int]:
    module = archscope.build(analysis)
    xs = [torch.randn(batch, *shape) for _, shape in analysis.report.inputs]
    measured = measured_peak(module, xs, mode)["Total"]
    options = MemoryOptions(batch=batch, train=mode != "infer", optimizer="adam" if mode == "adam" else "sgd")
    return memory(analysis.graph, options).peak_bytes, measured


@pytest.mark.parametrize("batch", [1, 8])
@pytest.mark.parametrize("name", list(NETWORKS))
def test_bundled_networks(name: str, batch: int):
    analysis = archscope.analyze(name, resolution=NETWORKS[name])
    assert analysis.ok, analysis.errors
    for mode in MODES:
        try:
            static, measured = _check(analysis, batch, mode)
        except ValueError as exc:  # PyTorch's batch norm refuses one value per channel in training
            assert batch == 1 and mode != "infer" and "more than 1 value per channel" in str(exc)
            continue
        assert abs(static / measured - 1) <= TOLERANCE, (mode, static, measured)


# small networks for the ops no bundled spec uses: a conv before (so that a gradient flows into
# the op and its backward runs) and, for most, one after (so that its output is kept or not)
OP_NETWORKS = {
    "adaptive_avgpool3d": (
        "[2, 6, 6, 6]",
        "{op: conv3d, out: 4, kernel: 1}",
        "{op: adaptive_avgpool3d, output_size: 2}",
    ),
    "adaptive_maxpool1d": ("[2, 12]", "{op: conv1d, out: 4, kernel: 3}", "{op: adaptive_maxpool1d, output_size: 4}"),
    "adaptive_maxpool3d": (
        "[2, 4, 6, 6]",
        "{op: conv3d, out: 4, kernel: 3, padding: 1}",
        "{op: adaptive_maxpool3d, output_size: 2}",
    ),
    "adaptive_maxpool2d": ("[2, 9, 9]", "{op: conv2d, out: 4, kernel: 3}", "{op: adaptive_maxpool2d, output_size: 3}"),
    "avgpool1d": ("[2, 12]", "{op: conv1d, out: 4, kernel: 3}", "{op: avgpool1d, kernel: 2}"),
    "avgpool3d": ("[2, 6, 6, 6]", "{op: conv3d, out: 4, kernel: 1}", "{op: avgpool3d, kernel: 2}"),
    "batchnorm3d": ("[2, 4, 4, 4]", "{op: conv3d, out: 4, kernel: 1}", "batchnorm3d", "relu"),
    "conv3d": ("[2, 6, 6, 6]", "{op: conv3d, out: 4, kernel: 3}", "relu", "{op: conv3d, out: 2, kernel: 1}"),
    "conv_transpose1d": (
        "[2, 8]",
        "{op: conv1d, out: 4, kernel: 1}",
        "{op: conv_transpose1d, out: 3, kernel: 2, stride: 2}",
    ),
    "conv_transpose3d": (
        "[2, 3, 3, 3]",
        "{op: conv3d, out: 4, kernel: 1}",
        "{op: conv_transpose3d, out: 2, kernel: 2, stride: 2}",
    ),
    "elu": ("[2, 8, 8]", "{op: conv2d, out: 4, kernel: 3}", "elu", "{op: conv2d, out: 2, kernel: 1}"),
    "group_norm": ("[2, 8, 8]", "{op: conv2d, out: 4, kernel: 3}", "{op: group_norm, groups: 2}", "relu"),
    "hardtanh": (
        "[2, 8, 8]",
        "{op: conv2d, out: 4, kernel: 3}",
        "batchnorm2d",
        "hardtanh",
        "{op: conv2d, out: 2, kernel: 1}",
    ),
    "identity": ("[2, 8, 8]", "{op: conv2d, out: 4, kernel: 3}", "identity", "{op: conv2d, out: 2, kernel: 1}"),
    "instance_norm": ("[2, 8, 8]", "{op: conv2d, out: 4, kernel: 3}", "{op: instance_norm, affine: true}", "relu"),
    "leaky_relu": (
        "[2, 8, 8]",
        "{op: conv2d, out: 4, kernel: 3}",
        "batchnorm2d",
        "leaky_relu",
        "{op: conv2d, out: 2, kernel: 1}",
    ),
    "maxpool3d": ("[2, 6, 6, 6]", "{op: conv3d, out: 4, kernel: 1}", "{op: maxpool3d, kernel: 2}"),
    "mish": ("[2, 8, 8]", "{op: conv2d, out: 4, kernel: 3}", "mish", "{op: conv2d, out: 2, kernel: 1}"),
    "pixel_shuffle": (
        "[2, 4, 4]",
        "{op: conv2d, out: 8, kernel: 1}",
        "{op: pixel_shuffle, upscale: 2}",
        "{op: conv2d, out: 2, kernel: 1}",
    ),
    "pixel_unshuffle": (
        "[2, 8, 8]",
        "{op: conv2d, out: 2, kernel: 1}",
        "{op: pixel_unshuffle, downscale: 2}",
        "{op: conv2d, out: 2, kernel: 1}",
    ),
    "prelu": (
        "[2, 8, 8]",
        "{op: conv2d, out: 4, kernel: 3}",
        "{op: prelu, num_parameters: 4}",
        "{op: conv2d, out: 2, kernel: 1}",
    ),
    "softplus": ("[2, 8, 8]", "{op: conv2d, out: 4, kernel: 3}", "softplus", "{op: conv2d, out: 2, kernel: 1}"),
    # views (a conv after a permute or transpose reads a strided input), scales, NFNet's and ConvNeXt V2's ops
    # reshape and permute: vit_b_16 above (its patch embedding)
    "transpose": (
        "[2, 8, 8]",
        "{op: conv2d, out: 4, kernel: 3}",
        "{op: transpose, dim0: 1, dim1: 2}",
        "{op: conv2d, out: 2, kernel: 1}",
    ),
    "scale": ("[2, 8, 8]", "{op: conv2d, out: 4, kernel: 3}", "{op: scale, value: 1.7}", "relu"),
    "scalar_gain": ("[2, 8, 8]", "{op: conv2d, out: 4, kernel: 3}", "scalar_gain", "relu"),
    "std_conv2d": (
        "[2, 16, 16]",  # the standardised weight is left out: a net whose weights are not most of it
        "{op: std_conv2d, out: 4, kernel: 3, scaled: true}",
        "relu",
        "{op: std_conv2d, out: 2, kernel: 1}",
    ),
    "grn": ("[2, 8, 8]", "{op: conv2d, out: 4, kernel: 3}", "grn", "{op: conv2d, out: 2, kernel: 1}"),
    "zeropad2d": (
        "[2, 8, 8]",
        "{op: conv2d, out: 4, kernel: 3}",
        "{op: zeropad2d, padding: 1}",
        "{op: conv2d, out: 2, kernel: 3}",
    ),
    # attention: a product of two activations, and the fused kernels (their log-sum-exp)
    "matmul": (
        "[2, 6, 8]",
        "{op: conv2d, name: c, out: 4, kernel: 1}",
        "{op: transpose, name: ct, in: c, dim0: 1, dim1: 2}",
        "{op: matmul, in: [c, ct]}",
        "{op: conv2d, out: 2, kernel: 1}",
    ),
    "scaled_dot_product_attention": (
        "[2, 16, 8]",
        "{op: conv2d, name: q, out: 4, kernel: 1}",
        "{op: conv2d, name: k, in: input, out: 4, kernel: 1}",
        "{op: conv2d, name: v, in: input, out: 4, kernel: 1}",
        "{op: scaled_dot_product_attention, in: [q, k, v], causal: true}",
        "relu",  # not in place: attention keeps its output
        "{op: conv2d, out: 2, kernel: 1}",
    ),
    # multihead_attention: vit_b_16 above (the fast path at inference: even heads, biases)
}


def test_the_networks_use_every_op_a_bundled_spec_uses():
    used = {node.op for spec in archscope.list_specs() for node in archscope.analyze(spec.name).graph.nodes}
    covered = {
        node.op for name, res in NETWORKS.items() for node in archscope.analyze(name, resolution=res).graph.nodes
    }
    assert sorted(used - covered) == []


def test_the_op_networks_cover_every_op_no_bundled_spec_uses():
    from archscope.ops import REGISTRY

    used = {node.op for spec in archscope.list_specs() for node in archscope.analyze(spec.name).graph.nodes}
    assert sorted(set(REGISTRY) - used) == sorted(OP_NETWORKS)


def test_multihead_attention_off_the_fast_path():
    """An odd head count: PyTorch's composite path, whose temporaries live while the layer runs."""
    text = "input: [24, 12]\nlayers:\n  - {op: linear, out: 12}\n  - {op: multihead_attention, heads: 3}\n"
    text += "  - {op: linear, out: 4}\n"
    analysis = archscope.analyze("mha.yaml", text=text)
    for batch in (1, 8):
        for mode in MODES:
            static, measured = _check(analysis, batch, mode)
            assert abs(static / measured - 1) <= TOLERANCE, (batch, mode, static, measured)


def test_attention_on_the_math_path():
    """Values of another size than the keys: PyTorch runs the math path, which keeps (L, S) matrices."""
    text = (
        "input: [2, 64, 8]\nlayers:\n  - {op: conv2d, name: q, out: 4, kernel: 1}\n"
        "  - {op: conv2d, name: k, in: input, out: 4, kernel: 1}\n  - {op: concat, name: v, in: [q, k], dim: 2}\n"
        "  - {op: scaled_dot_product_attention, in: [q, k, v]}\n  - {op: conv2d, out: 2, kernel: 1}\n"
    )
    analysis = archscope.analyze("math.yaml", text=text)
    for batch in (1, 8):
        for mode in MODES:
            static, measured = _check(analysis, batch, mode)
            assert abs(static / measured - 1) <= TOLERANCE, (batch, mode, static, measured)


@pytest.mark.parametrize("op", list(OP_NETWORKS))
def test_every_other_op(op: str):
    input_, *layers = OP_NETWORKS[op]
    text = f"input: {input_}\nlayers:\n" + "".join(f"  - {layer}\n" for layer in layers)
    analysis = archscope.analyze(f"{op}.yaml", text=text)
    assert analysis.ok, analysis.errors
    for batch in (1, 8):
        for mode in MODES:
            static, measured = _check(analysis, batch, mode)
            assert abs(static / measured - 1) <= TOLERANCE, (batch, mode, static, measured)


def test_a_frozen_backbone_and_other_optimizers():
    """resnet18 with only `fc` trainable (transfer learning), momentum SGD and AdamW."""
    head = archscope.analyze("resnet18", resolution=32, freeze=["*"], unfreeze=["fc"])
    full = archscope.analyze("resnet18", resolution=32)
    for analysis, mode in ((head, "adam"), (head, "sgd"), (full, "momentum"), (full, "adamw")):
        module = archscope.build(analysis)
        x = torch.randn(8, 3, 32, 32)
        measured = measured_peak(module, [x], mode)
        static = memory(analysis.graph, MemoryOptions(batch=8, train=True, optimizer=mode))
        assert abs(static.peak_bytes / measured["Total"] - 1) <= TOLERANCE, (mode, static.peak_bytes, measured)
        assert static.optimizer_bytes == measured["Optstate"] or mode.startswith(
            "adam"
        )  # Adam's step temporaries count there
