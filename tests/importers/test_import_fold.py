"""``archscope import`` folds repeated module instances into blocks used ×N
(archscope/lang/importers/fold.py, repeats.py): the folded spec is short, and counts exactly what the flat one does."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from archscope.api import analyze  # noqa: E402
from archscope.lang.importers import fold, repeats  # noqa: E402
from archscope.lang.importers.pytorch import from_module  # noqa: E402
from archscope.lang.importers.sources import open_python  # noqa: E402
from archscope.lang.importers.write import flat_entries, spec_text  # noqa: E402

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


def _folded(module: nn.Module, shape: tuple[int, ...]) -> tuple[str, str, object]:
    """(folded text, flat text, network) of ``module``."""
    net, _ = from_module(module, shape, name="net", source="test")
    flat = spec_text(net, flat_entries(net.layers))
    layers, blocks = fold.fold_blocks(net, analyze)
    return spec_text(net, layers, blocks), flat, net


def _same_numbers(folded_text: str, flat_text: str, net: object) -> None:
    """The folded spec counts what the flat one does: totals, and each layer under its qualified name."""
    folded, flat = analyze("f.yaml", text=folded_text), analyze("f.yaml", text=flat_text)
    assert [d.code for d in folded.diagnostics] == [d.code for d in flat.diagnostics]
    assert folded.ok and flat.ok
    a, b = folded.report.totals, flat.report.totals
    assert (a.params, a.buffers, a.macs, a.ops, a.layers) == (b.params, b.buffers, b.macs, b.ops, b.layers)
    names = fold.names(net)
    assert set(names) == {n.name for n in folded.graph.nodes}
    origin_of_flat = {x.name: x.origin for x in net.layers}
    mine = {n.name: n for n in folded.graph.nodes}
    by_origin = {origin: mine[q] for q, origin in names.items()}
    for node in flat.graph.nodes:
        other = by_origin[origin_of_flat[node.name]]
        assert (other.cost, other.shape) == (node.cost, node.shape), node.name


def _entries(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip().startswith("- {")]


# -- hand-written modules: the rules ------------------------------------------------------------


class Unit(nn.Module):
    def __init__(self, c_in: int, c: int):
        super().__init__()
        self.conv = nn.Conv2d(c_in, c, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(c)
        self.relu = nn.ReLU()

    def forward(self, x):
        return self.relu(self.bn(self.conv(x)))


class Chain(nn.Module):
    def __init__(self, widths: list[int]):
        super().__init__()
        self.stem = nn.Conv2d(3, widths[0], 1)
        self.stage = nn.Sequential(*[Unit(a, b) for a, b in zip(widths, widths[1:])])
        self.pool = nn.AdaptiveAvgPool2d(1)

    def forward(self, x):
        return self.pool(self.stage(self.stem(x)))


def test_a_sequential_of_three_identical_units_is_one_entry_n_3():
    text, flat, net = _folded(Chain([8, 8, 8, 8]), (3, 16, 16))
    assert "  - {op: unit, name: stage, n: 3}" in text.splitlines()
    assert "      - {op: conv2d, name: conv, out: 8, kernel: 3, padding: 1, bias: false}" in text.splitlines()
    assert len(_entries(text)) == 3 + 3  # the block's 3 layers, then stem, stage, pool
    # the spec's names are the source's module paths
    assert fold.names(net)["stage.2.conv"] == "stage.2.conv"
    _same_numbers(text, flat, net)


def test_differing_channels_become_an_argument_written_per_repeat():
    text, flat, net = _folded(Chain([8, 8, 16, 32]), (3, 16, 16))
    assert "    args: {c: null}" in text.splitlines()
    assert "      - {op: conv2d, name: conv, out: c, kernel: 3, padding: 1, bias: false}" in text.splitlines()
    assert '  - {op: unit, name: stage, n: 3, c: "[8, 16, 32][i]"}' in text.splitlines()
    _same_numbers(text, flat, net)


def test_the_first_value_differing_is_written_if_i_equals_0():
    text, flat, net = _folded(Chain([8, 16, 16, 16]), (3, 16, 16))
    assert '  - {op: unit, name: stage, n: 3, c: "16 if i == 0 else 16"}' not in text  # not a fake difference
    assert "  - {op: unit, name: stage, n: 3}" in text.splitlines()  # out is 16 in every repeat
    text, flat, net = _folded(Chain([8, 32, 16, 16]), (3, 16, 16))
    assert '  - {op: unit, name: stage, n: 3, c: "32 if i == 0 else 16"}' in text.splitlines()
    _same_numbers(text, flat, net)


class Leak(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = Unit(4, 4)
        self.b = Unit(4, 4)
        self.c = Unit(4, 4)
        self.head = nn.Conv2d(8, 4, 1)

    def forward(self, x):
        a_bn = self.a.bn(self.a.conv(x))
        a = self.a.relu(a_bn)
        b = self.c(self.b(a))
        return self.head(torch.cat([b, a_bn], 1))


def test_an_instance_read_from_outside_at_an_inner_layer_is_not_folded():
    net, _ = from_module(Leak(), (4, 8, 8), name="net", source="test")
    found = repeats.instances(net)
    assert "a" not in found  # `a.bn` is read by the concat, outside `a`
    assert {"b", "c"} <= set(found)
    text, flat = spec_text(net, *fold.fold_blocks(net, analyze)), spec_text(net, flat_entries(net.layers))
    assert "  - {op: conv2d, name: a_conv, out: 4, kernel: 3, padding: 1, bias: false}" in text.splitlines()
    assert "  - {op: unit, name: b}" in text.splitlines()
    assert "  - {op: unit, name: c}" in text.splitlines()
    _same_numbers(text, flat, net)


class Res(nn.Module):
    """A ResNet basic block: a 1×1 projection only where the shape changes."""

    def __init__(self, c_in: int, c: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(c, c, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c)
        self.down = None
        if stride != 1 or c_in != c:
            self.down = nn.Sequential(nn.Conv2d(c_in, c, 1, stride, bias=False), nn.BatchNorm2d(c))

    def forward(self, x):
        y = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
        return self.relu(y + (self.down(x) if self.down is not None else x))


class ResNetLike(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.layer1 = nn.Sequential(Res(8, 16, 2), Res(16, 16, 1), Res(16, 16, 1))
        self.layer2 = nn.Sequential(Res(16, 32, 2), Res(32, 32, 1))

    def forward(self, x):
        return self.layer2(self.layer1(self.stem(x)))


def test_a_stage_whose_first_unit_has_a_projection_is_one_entry_with_an_if_flag():
    text, flat, net = _folded(ResNetLike(), (3, 16, 16))
    lines = text.splitlines()
    assert "    args: {c: null, stride: null, down: null}" in lines
    assert (
        "      - {op: conv2d, name: down_0, in: input, out: c, kernel: 1, stride: 2, bias: false, if: down, else: input}"
        in lines
    )
    assert "      - {op: batchnorm2d, name: down_1, if: down, else: input}" in lines  # what `add` reads without it
    assert "      - {op: add, name: add, in: [bn2, down_1]}" in lines
    assert '  - {op: res, name: layer1, n: 3, c: 16, stride: "2 if i == 0 else 1", down: "i == 0"}' in lines
    assert '  - {op: res, name: layer2, n: 2, c: 32, stride: "2 if i == 0 else 1", down: "i == 0"}' in lines
    assert fold.names(net)["layer2.1.relu_2"] == "layer2.1.relu"  # the second call of `relu`
    _same_numbers(text, flat, net)


# -- the bundled specs, exported to PyTorch and imported back --------------------------------------

# name → (module class, the most layer lines (`- {…}`) the folded spec may have; flat has the first)
BUNDLED = {
    "resnet18": ("ResNet18", 69, 20),
    "resnet50": ("ResNet50", 175, 23),
    "mobilenet_v2": ("MobileNetV2", 153, 27),
    "efficientnet_b0": ("EfficientNetB0", 240, 40),
    "densenet121": ("DenseNet121", 427, 27),
    "vgg16": ("VGG16", 40, 16),
    "convnext_tiny": ("ConvNeXtT", 156, 23),
    "squeezenet1_0": ("SqueezeNet10", 66, 25),
    "yolov8n": ("YOLOv8n", 221, 111),
    "vit_b_16": ("ViTB16", 141, 21),  # the 12 encoder blocks fold into one block ×12
}


@pytest.mark.parametrize("name", sorted(BUNDLED))
def test_an_exported_bundled_spec_imports_folded_and_counts_as_flat(name, tmp_path):
    cls, flat_lines, most = BUNDLED[name]
    out = tmp_path / f"{name}.py"
    done = subprocess.run(
        [sys.executable, "-m", "archscope", "export", name, "--to", "pytorch", "-o", str(out)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    shape = re.search(r"Input `\w+` \(N, ([\d, ]+)\)", out.read_text()).group(1)
    module = open_python(f"py:{out}:{cls}", {}).module
    text, flat, net = _folded(module, tuple(int(d) for d in shape.split(",")))
    assert "written flat" not in text
    assert len(_entries(flat)) == flat_lines
    assert len(_entries(text)) <= most
    _same_numbers(text, flat, net)
