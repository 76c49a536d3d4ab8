"""`--convention X` equals tool X's own headline number on the built network, exactly.

The tools themselves are the oracle (fvcore, ptflops, thop, torchinfo, PyTorch's FlopCounterMode,
run by :mod:`archscope.torch_backend.peers` as their READMEs say), never a second copy of the
rules. Running every tool on all 95 bundled specs takes about 20 minutes here (fvcore's trace
alone takes 33 s on resnet1202), so the suite checks :data:`SUBSET`: 16 specs that between them
hold every op configuration of the bundled specs (op, rank, and every attribute that is not a
size: bias, affine, `padding: same`, upsample mode, size or scale…; a test keeps that true), at a
small input size (the smallest of 32, 64, 96… at which the spec is valid: the rules are functions
of the shapes), with every installed tool; and resnet50 and efficientnet_b0 at their own size.
``bench/conventions_check.py`` checks every bundled spec at its own size (README: all equal).
Every registered op, in each case of tests/ops/test_torch_lowering.py (attribute variants included:
`padding: same`, bicubic, 3-D, PReLU…, most absent from the bundled specs), is checked with every
tool as a one-layer network too. A tool that is not installed skips its tests.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # builds and runs networks (or processes): not in the quick subset

pytest.importorskip("torch")

import archscope  # noqa: E402
from archscope.ops import REGISTRY  # noqa: E402
from archscope.passes.conventions import count  # noqa: E402
from archscope.torch_backend.peers import MODULES, TOOLS, built, count_built, installed  # noqa: E402

SPECS = sorted(p.stem for p in (Path(__file__).resolve().parents[2] / "specs").glob("*.yaml"))
SIZES = (32, 64, 96, 128, 160)
# a cheapest cover of every op configuration in the bundled specs (see configuration())
SUBSET = [
    "alexnet",
    "convnext_tiny",
    "deconvnet",
    "googlenet_paper",
    "inception_module",
    "inception_v3",
    "lenet5",
    "lraspp_mobilenet_v3_large",
    "mobilenet_v2",
    "mobilenet_v3_small",
    "shufflenet_v2_x0_5",
    "squeezenet1_0",
    "tcn1d",
    "unet",
    "vit_b_32",
    "yolov8n",
    "zfnet",
]


def _needs(tool: str) -> None:
    pytest.importorskip(MODULES[tool], reason=f"{tool} is not installed")


@cache
def small(spec: str) -> archscope.Analysis:
    """The spec at the smallest input size it is valid at (its `image_size` param, for the
    segmentation specs that take their size from it), or at its own size."""
    for size in SIZES:
        for how in ({"resolution": size}, {"params": {"image_size": size}}):
            try:
                analysis = archscope.analyze(spec, **how)
            except Exception:  # noqa: BLE001 - an override the spec does not take: try the next
                continue
            if analysis.report is not None and not analysis.errors:
                return analysis
    return archscope.analyze(spec)


@cache
def network(spec: str, native: bool = False):
    analysis = archscope.analyze(spec) if native else small(spec)
    return analysis, built(analysis)


@cache
def tool_count(spec: str, tool: str, native: bool = False) -> int | Exception:
    _, (net, inputs) = network(spec, native)
    try:
        return count_built(net, inputs, tool)
    except Exception as exc:  # noqa: BLE001 - a tool failing is a finding the test reports
        return exc


def untraceable(analysis: archscope.Analysis) -> str:
    """Why fvcore cannot trace the network ('' when it can), as the ops declare it."""
    assert analysis.graph is not None
    return next(
        (REGISTRY[n.op].reference.untraceable for n in analysis.graph.nodes if REGISTRY[n.op].reference.untraceable), ""
    )


def configuration(node) -> tuple:
    """What a layer's counts can depend on besides its sizes: its op, its rank, and every attribute
    that is not a number (a bool, a string, None), with the type of those that are."""
    attrs = tuple(
        sorted((k, v if isinstance(v, (bool, str)) or v is None else type(v).__name__) for k, v in node.attrs.items())
    )
    return (node.op, len(node.shape), attrs)


def test_the_subset_holds_every_op_configuration_of_the_bundled_specs():
    def configurations(spec: str) -> set[tuple]:
        return {configuration(node) for node in archscope.analyze(spec).graph.nodes}

    covered = set().union(*(configurations(spec) for spec in SUBSET))
    for spec in SPECS:
        missing = configurations(spec) - covered
        assert not missing, f"add `{spec}` to SUBSET: it has layers no spec of SUBSET has: {sorted(missing)}"


@pytest.mark.parametrize("tool", TOOLS)
@pytest.mark.parametrize("spec", SUBSET)
def test_the_subset_counts_as_each_tool(spec: str, tool: str):
    _needs(tool)
    analysis, _ = network(spec)
    measured = tool_count(spec, tool)
    if tool == "fvcore" and untraceable(analysis):
        # fvcore's jit trace stops at the op (max unpooling): the tool has no number to equal
        assert isinstance(measured, Exception) and untraceable(analysis).split(":")[0] in repr(measured)
        return
    assert not isinstance(measured, Exception), measured
    assert count(analysis.graph, tool).total == measured


@pytest.mark.parametrize("tool", TOOLS)
@pytest.mark.parametrize("spec", ["resnet50", "efficientnet_b0"])
def test_at_the_specs_own_size(spec: str, tool: str):
    _needs(tool)
    analysis, _ = network(spec, native=True)
    assert count(analysis.graph, tool).total == tool_count(spec, tool, native=True)


def test_resnet50_under_each_convention():
    """The README's numbers: the same network, six totals (4.09G to 4.13G MACs, 8.18G FLOPs)."""
    analysis = archscope.analyze("resnet50")
    totals = {name: count(analysis.graph, name).total for name in ("torchvision", *TOOLS)}
    assert totals == {
        "torchvision": 4_089_184_256,
        "fvcore": 4_111_512_576,
        "ptflops": 4_132_436_968,
        "thop": 4_133_742_592,
        "torchinfo": 4_089_238_376,
        "flop_counter": 8_178_368_512,
    }
    for tool in TOOLS:
        if installed(tool):
            assert tool_count("resnet50", tool, native=True) == totals[tool], tool


def _op_cases():
    from test_torch_lowering import CASES

    for op in sorted(REGISTRY):
        for i, (shape, layers, _) in enumerate(CASES.get(op, [])):
            yield pytest.param(
                f"input: {shape}\nlayers:\n" + "".join(f"  - {line}\n" for line in layers), id=f"{op}-{i}"
            )


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize("text", list(_op_cases()))
def test_every_op_counts_as_each_tool(text: str):
    analysis = archscope.analyze("t.yaml", text=text)
    net, inputs = built(analysis)
    for tool in TOOLS:
        if not installed(tool) or (tool == "fvcore" and untraceable(analysis)):
            continue
        assert count(analysis.graph, tool).total == count_built(net, inputs, tool), tool
