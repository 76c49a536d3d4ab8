"""Training cost, proved exactly: a training step's static MACs (forward + backward, from each op's
declared ``backward`` and passes/training.py) against ``torch.utils.flop_counter.FlopCounterMode``
over a real forward and backward of the built module, for every bundled spec, with and without
freezing. The modules are built on the meta device (no memory, no arithmetic): the counter sees
every aten call, ``convolution_backward`` included, with its ``output_mask``.

The counter counts 2 FLOPs per MAC. Where it counts a layer differently from our convention (a
grouped conv's weight gradient: ``groups`` ×, see ops/conv.py), the op declares what it counts
(``reference.backward``); the static total is compared with that view, and the view differs from
the reported number only on those layers.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # builds and runs networks (or processes): not in the quick subset

torch = pytest.importorskip("torch")

from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

import archscope  # noqa: E402
from archscope.ops import OpDef  # noqa: E402
from archscope.passes.training import Training, declared_backward, training_cost  # noqa: E402

SPECS = sorted((Path(__file__).resolve().parents[2] / "specs").glob("*.yaml"))


def counted_backward(op: OpDef):
    """The backward MACs as torch.utils.flop_counter counts them."""
    return op.reference.backward or declared_backward(op)


BATCH = 2


def measured_flops(source: str | Path, **freezing) -> tuple[int, dict]:
    """FLOPs of one forward and backward per image (on the meta device), and the counts by operator.
    The module is built from the spec's name and the freezing patterns (`build(freeze=...)`).

    It runs at batch 2 and halves the counts: in training mode BatchNorm refuses a single value
    per channel (DeepLabV3's image-pooling branch at batch 1), and every count the counter makes
    (convolutions, matrix products and their backward) is linear in the batch."""
    module = archscope.build(source, device="meta", **freezing)
    analysis = archscope.analyze(source)  # for the input shapes only
    assert analysis.graph is not None
    inputs = [torch.randn(BATCH, *node.shape, device="meta") for node in analysis.graph.inputs]
    with FlopCounterMode(display=False) as counter:
        out = module(*inputs)
        outs = out if isinstance(out, tuple) else (out,)
        loss = sum(o.float().sum() for o in outs if o.is_floating_point())
        if loss.requires_grad:
            loss.backward()
    by_op = {str(op): n // BATCH for op, n in counter.get_flop_counts().get("Global", {}).items()}
    total = counter.get_total_flops()
    assert total % BATCH == 0
    return total // BATCH, by_op


def static_views(source: str | Path, **freezing) -> tuple[Training, Training]:
    """(the reported training cost, the counter's view of it)."""
    analysis = archscope.analyze(source, **freezing)
    assert analysis.ok and analysis.report is not None, analysis.diagnostics
    reported = analysis.passes["training"]
    assert reported is not None and analysis.report.training is reported
    return reported, training_cost(analysis.graph, counted_backward)


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.stem)
def test_training_step_macs_match_the_counter(path: Path):
    reported, counted = static_views(path)
    flops, _ = measured_flops(path)
    assert flops == 2 * (counted.forward_macs + counted.backward_macs)
    assert reported.forward_macs == counted.forward_macs
    assert reported.backward_input_macs == counted.backward_input_macs  # only weight gradients differ


FREEZINGS = [
    ("resnet50", {"freeze": ["*"], "unfreeze": ["fc"]}),  # only the head trains: no input gradient at all
    ("resnet50", {"freeze": ["conv1", "bn1", "layer1*", "layer2*"]}),  # the stem and two stages frozen
    ("resnet50", {"freeze": ["layer3*"]}),  # a frozen middle: input gradients, no weight gradients
    ("mobilenet_v2", {"freeze": ["*"], "unfreeze": ["features.18*", "classifier*"]}),
    ("resnext50_32x4d", {"freeze": ["*"], "unfreeze": ["layer4*", "fc"]}),  # grouped convs, some training
    ("efficientnet_b0", {"freeze": ["*conv*"]}),  # convs frozen, their norms training
    ("googlenet", {"freeze": ["*"]}),  # nothing trains: no backward
]


@pytest.mark.parametrize(("name", "freezing"), FREEZINGS, ids=lambda x: x if isinstance(x, str) else "-")
def test_frozen_training_step_macs_match_the_counter(name: str, freezing: dict):
    reported, counted = static_views(name, **freezing)
    flops, by_op = measured_flops(name, **freezing)
    assert flops == 2 * (counted.forward_macs + counted.backward_macs)
    if not reported.trains:
        assert reported.backward_macs == 0 and not any("backward" in op for op in by_op)


def test_only_fc_trains_in_resnet50():
    reported, _ = static_views("resnet50", freeze=["*"], unfreeze=["fc"])
    assert reported.backward_input_macs == 0
    assert reported.backward_weight_macs == 2048 * 1000  # fc's weight gradient, nothing else


def test_the_counter_counts_conv_backward_on_meta():
    flops, by_op = measured_flops("resnet18")
    assert by_op.get("aten.convolution_backward", 0) > 0
    assert by_op.get("aten.mm", 0) > 0  # linear's two gradients
    assert flops > 2 * by_op.get("aten.convolution", 0)


DEPTHWISE = """input: [8, 6, 6]
layers:
  - {op: conv2d, name: pw, out: 8, kernel: 1}
  - {op: conv2d, name: dw, out: 8, kernel: 3, padding: 1, groups: 8}
  - {op: conv_transpose2d, name: up, out: 4, kernel: 2, stride: 2, groups: 2}
"""


def test_grouped_weight_gradients_are_counted_groups_times_by_the_counter(tmp_path: Path):
    spec = tmp_path / "dw.yaml"
    spec.write_text(DEPTHWISE)
    reported, counted = static_views(spec)
    flops, _ = measured_flops(spec)
    assert flops == 2 * (counted.forward_macs + counted.backward_macs)
    dw, up = reported.layers["dw"], reported.layers["up"]
    assert dw.backward_input_macs == dw.backward_weight_macs == dw.forward_macs == 8 * 9 * 36
    assert counted.layers["dw"].backward_weight_macs == 8 * dw.backward_weight_macs
    assert counted.layers["up"].backward_weight_macs == 2 * up.backward_weight_macs
    assert reported.layers["pw"].backward_input_macs == 0  # the network input needs no gradient
