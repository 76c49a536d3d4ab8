"""Counting conventions: a network's total as each popular counting tool counts it.

``torchvision`` is archscope's own convention (``Cost.macs``: conv and linear multiply-adds, bias
excluded; torchvision's model cards print these as "GFLOPS"). The others are peer tools, each
summed from the rule every op declares for it (``OpDef.counted``, in the op's family file): the
total equals the tool's headline number on the network :func:`archscope.build` makes
(tests/passes/test_torch_conventions.py, and bench/conventions_check.py over every bundled spec).

:data:`CONVENTIONS` says, per tool, what it counts (the table of ``archscope conventions``). The
words summarise the op rules, which are the facts; a test checks the words against the rules.
Static: imports no torch and no tool.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, fields
from fractions import Fraction

from archscope.diagnostics import Collector
from archscope.graph import Graph
from archscope.ops import REGISTRY
from archscope.ops.registry import Attrs, Count, Counted, CountRule, Shape
from archscope.passes.manager import Pass

DEFAULT = "torchvision"


@dataclass(frozen=True)
class Convention:
    name: str
    tool: str  # the tool and the release whose numbers the rules reproduce
    unit: str  # "MACs" or "FLOPs"
    headline: str  # the call whose number the total equals
    conv: str  # conv and linear weights
    bias: str
    batch_norm: str
    activations: str
    pooling: str
    upsample: str
    merges: str  # elementwise add, mul, concat (archscope modules)
    norms: str  # layer, group, instance norm
    unknown: str  # modules or ops the tool has no rule for

    def statement(self) -> str:
        """The convention line printed under every table counted this way."""
        if self.name == DEFAULT:
            return ""
        return (
            f"{self.unit} as {self.tool} counts them ({self.headline}; `--convention {self.name}`): conv/linear "
            f"{self.conv}; bias {self.bias}; BN {self.batch_norm}; activations {self.activations}; pooling "
            f"{self.pooling}; upsample {self.upsample}; add/mul/concat {self.merges}; LN/GN/IN {self.norms}. "
            "params, `ops` and activations are archscope's own. Batch 1; `archscope conventions` compares the tools."
        )


CONVENTIONS: tuple[Convention, ...] = (
    Convention(
        name="torchvision",
        tool="archscope",
        unit="MACs",
        headline="archscope summary (torchvision's model cards: GFLOPS)",
        conv="multiply-adds",
        bias="no (`ops`)",
        batch_norm="no (`ops`)",
        activations="no (`ops`)",
        pooling="no (`ops`)",
        upsample="no (`ops`)",
        merges="no (`ops`)",
        norms="no (`ops`)",
        unknown="none: every op has a rule",
    ),
    Convention(
        name="fvcore",
        tool="fvcore 0.1.5",
        unit="MACs",
        headline="FlopCountAnalysis(model, x).total()",
        conv="multiply-adds; 0 with `padding: same`/`valid`",
        bias="no",
        batch_norm="2/element (1 without affine)",
        activations="no",
        pooling="adaptive avg 2-D 1/input element, others no",
        upsample="nearest 2-D 1, bilinear 4 /element, others no",
        merges="no",
        norms="5/element (4 without affine)",
        unknown="0, with a warning",
    ),
    Convention(
        name="ptflops",
        tool="ptflops 0.7.5",
        unit="MACs",
        headline="get_model_complexity_info(model, shape, as_strings=False, backend='pytorch')[0]",
        conv="multiply-adds",
        bias="1/element",
        batch_norm="2/element (1 without affine)",
        activations="ReLU, ELU, GELU, PReLU 2/element (hook + F.*); ReLU6, LeakyReLU, SiLU, softmax 1; others no",
        pooling="2/input element, every pool (hook + F.*)",
        upsample="1/element + F.interpolate: the output (size) or input × scale^rank",
        merges="no (`+`, `*` are not its torch.add, Tensor.mul)",
        norms="GN, IN 2/element (1 without affine); nn.LayerNorm 1; channel LN 0",
        unknown="0 (exact module type)",
    ),
    Convention(
        name="thop",
        tool="thop 0.1.1",
        unit="MACs",
        headline="profile(model, inputs=(x,))[0]",
        conv="multiply-adds (transposed: output positions × C_in/groups × K)",
        bias="no",
        batch_norm="4/element (2 without affine)",
        activations="PReLU 1/element, softmax 3n − 1 per n; others no",
        pooling="avg 1/element, adaptive avg window + 1 /element, max no",
        upsample="nearest 1, bilinear 11, bicubic 259 /element",
        merges="no",
        norms="nn.LayerNorm, IN 4/element (2 without affine); GN, channel LN no",
        unknown="0 (no rule for the type)",
    ),
    Convention(
        name="torchinfo",
        tool="torchinfo 1.8.0",
        unit="MACs",
        headline="summary(model, input_data=x).total_mult_adds",
        conv="weights × output positions (transposed too)",
        bias="1/element (linear: 1/output)",
        batch_norm="2·C (γ, β)",
        activations="no (PReLU: its slopes)",
        pooling="no",
        upsample="no",
        merges="no",
        norms="2·features (γ, β)",
        unknown="its `weight`/`bias` parameters",
    ),
    Convention(
        name="flop_counter",
        tool="torch FlopCounterMode",
        unit="FLOPs",
        headline="FlopCounterMode(display=False).get_total_flops()",
        conv="2 × multiply-adds",
        bias="no",
        batch_norm="no",
        activations="no",
        pooling="no",
        upsample="no",
        merges="no",
        norms="no",
        unknown="only matmul, conv, attention count",
    ),
)
BY_NAME = {c.name: c for c in CONVENTIONS}
NAMES = tuple(BY_NAME)
assert NAMES[1:] == tuple(f.name for f in fields(Counted)), "one convention per Counted field, in order"


@dataclass(frozen=True)
class ConventionCount:
    """A network counted under one convention: ``total`` as the tool reports it (an integer,
    truncated as the tool truncates its floating-point sum) and each layer's count."""

    convention: Convention
    total: int
    layers: dict[str, Count]

    def to_dict(self) -> dict[str, object]:
        return {"name": self.convention.name, "unit": self.convention.unit, "total": self.total}


def layer_count(op: str, attrs: Attrs, inputs: Sequence[Shape], out: Shape, name: str, macs: int) -> Count:
    """One layer's count under convention ``name`` (``macs``: its ``Cost.macs``, the default's)."""
    if name == DEFAULT:
        return macs
    counted = REGISTRY[op].counted
    assert counted is not None, f"`{op}` declares no `counted` rules"
    rule: CountRule = getattr(counted, name)
    return rule(attrs, inputs, out)


def count(graph: Graph, name: str) -> ConventionCount:
    """Every costed node of ``graph`` counted under convention ``name`` (a complete graph: the
    caller has its totals)."""
    convention = BY_NAME[name]
    layers: dict[str, Count] = {}
    for node in graph.nodes:
        if node.shape is None or node.cost is None:
            continue
        inputs = node.known_input_shapes()
        layers[node.name] = layer_count(node.op, node.attrs, inputs, node.shape, name, node.cost.macs)
    total = sum(layers.values(), Fraction(0))
    return ConventionCount(convention, math.floor(total), layers)


@dataclass(frozen=True)
class ConventionOptions:
    """Which convention the ``conventions`` pass counts under (one of :data:`NAMES`)."""

    name: str = DEFAULT

    def __post_init__(self) -> None:
        if self.name not in BY_NAME:
            raise ValueError(f"unknown convention `{self.name}`: one of {', '.join(NAMES)}")


def conventions_pass(graph: Graph, diags: Collector, options: ConventionOptions) -> ConventionCount:
    """The registered pass: :func:`count` under ``options.name`` (it reports nothing)."""
    return count(graph, options.name)


# on demand: a caller asks for the convention it prints (`--convention`, `archscope conventions`)
CONVENTIONS_PASS = Pass(
    "conventions", conventions_pass, requires=frozenset({"costs"}), options=ConventionOptions, on_demand=True
)


def cell(value: Count) -> int | float:
    """A layer's count for a table or JSON: an integer, or a float where the tool's is fractional."""
    return int(value) if Fraction(value).denominator == 1 else float(value)
