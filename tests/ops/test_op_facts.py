"""What the backend knows about an op, it learns from the op's declared facts.

Two guarantees: the PyTorch backend names no op (an AST scan of its source, so it can fail),
and every registered op declares the facts that are not defaulted for it (what its backward
saves), consistently with its other facts.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from archscope.ops import REGISTRY
from archscope.ops.attrs import REQUIRED, Bool
from archscope.ops.receptive_field import Field
from archscope.ops.registry import ExtraOutput, Saves, no_backward_macs

BACKEND = Path(__file__).resolve().parents[2] / "archscope" / "torch_backend"


def op_name_uses(source: str, names: set[str]) -> list[str]:
    """Where ``source`` names an op: a string literal that is an op name or quotes one in backticks
    (docstrings included), or a comparison that tests a node's ``.op`` (dispatch on the name)."""
    quoted = re.compile(r"`+([A-Za-z0-9_]+)`+")
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if node.value in names:
                found.append(f"line {node.lineno}: the literal {node.value!r}")
            found += [f"line {node.lineno}: `{m}` in a string" for m in quoted.findall(node.value) if m in names]
        elif isinstance(node, ast.Compare):
            for side in [node.left, *node.comparators]:
                if isinstance(side, ast.Attribute) and side.attr == "op":
                    found.append(f"line {node.lineno}: a comparison of `.op`")
    return found


def test_the_scan_finds_op_names():
    names = {"relu", "maxpool2d"}
    old = 'INPLACE = frozenset({"relu"})\nif node.op == "maxpool2d": pass\n'
    assert len(op_name_uses(old, names)) == 3  # two literals and the comparison
    assert op_name_uses('"""A ``maxpool2d`` gives indices."""', names) == ["line 1: `maxpool2d` in a string"]
    assert op_name_uses("if src.op in SOME_SET: pass", names) == ["line 1: a comparison of `.op`"]
    assert op_name_uses('"""Returns a relu-free value; op facts."""\nx = REGISTRY[node.op]\n', names) == []


@pytest.mark.parametrize("path", sorted(BACKEND.rglob("*.py")), ids=lambda p: p.name)
def test_the_torch_backend_names_no_op(path: Path):
    uses = op_name_uses(path.read_text(encoding="utf-8"), set(REGISTRY))
    assert not uses, f"{path.name} names ops (declare the fact on the OpDef instead): {uses}"


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_op_declares_what_backward_saves(name: str):
    op = REGISTRY[name]
    assert isinstance(op.saves, Saves), f"`{name}` does not declare `saves` (what autograd keeps for backward)"
    low, high = op.inputs
    assert all(0 <= i < low for i in op.saves.inputs), "saves an input the op may not have"
    assert all(size in (1, 2, 4, 8) for size in op.saves.like_output)
    if op.overwritable_output:  # an in-place consumer may overwrite it: backward must not need it
        assert not op.saves.output


# values of the required attributes that an op's facts read (a view's field depends on its dims)
GIVEN = {"reshape": {"shape": (4, -1)}, "permute": {"dims": (0, 2, 1)}, "transpose": {"dim0": 1, "dim1": 2}}


def attr_variants(name: str) -> list[dict]:
    """The op's defaults (and the values of GIVEN), and those with every boolean attribute set
    (facts may depend on them)."""
    op = REGISTRY[name]
    defaults = {a.name: a.default for a in op.attrs if a.default is not REQUIRED} | GIVEN.get(name, {})
    return [defaults, {**defaults, **{a.name: True for a in op.attrs if isinstance(a.type, Bool)}}]


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_declared_wiring_is_consistent(name: str):
    op = REGISTRY[name]
    low, _ = op.inputs
    for index, extra in op.takes:
        assert 0 < index < low, "an extra output can only feed a required input other than the first"
        producers = [
            other
            for other in REGISTRY.values()
            for attrs in attr_variants(other.name)
            if extra in {e.name for e in other.extra_outputs(attrs)}
        ]
        assert producers, f"no op gives the `{extra}` that `{name}` takes"
    for attrs in attr_variants(name):
        assert all(isinstance(e, ExtraOutput) and e.itemsize > 0 for e in op.extra_outputs(attrs))
    if op.reference.untraceable:
        assert op.reference.inputs is not None or not op.takes, "untraceable op with extra inputs needs `inputs`"


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_op_declares_its_backward_macs(name: str):
    op = REGISTRY[name]
    assert op.backward is not None, f"`{name}` does not declare `backward` (its backward MACs; zero: no_backward_macs)"
    if not op.weighted and op.kernel is not None and op.kernel({}) == "gemm":
        # a product of two activations (matmul, attention): its input gradients are matrix products
        assert op.backward is not no_backward_macs, f"`{name}` multiplies matrices: its gradients cost MACs"
        assert op.backward({}, [(4, 4)] * op.inputs[0], (4, 4)).weight_macs == 0, f"`{name}` has no weights"
    elif not op.weighted:  # MACs are conv/linear work: every other op declares zero on purpose
        assert op.backward is no_backward_macs, f"`{name}` has no weights but declares backward MACs"
    else:
        assert op.backward is not no_backward_macs, f"`{name}` has weights: its gradients cost MACs"


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_op_declares_its_receptive_field(name: str):
    op = REGISTRY[name]
    assert op.receptive_field is not None, f"`{name}` does not declare `receptive_field` (ops/field.py)"
    for attrs in attr_variants(name):
        fact = op.receptive_field(attrs)
        assert isinstance(fact, Field) and fact.kind in ("same", "taps", "global", "flat", "permuted", "unknown")
        assert (fact.taps is not None) == (fact.kind == "taps")
        assert (fact.axes is not None) == (fact.kind == "permuted")
        assert bool(fact.reason) == (fact.kind == "unknown")


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_merge_says_how_it_merges(name: str):
    """`archscope draw` labels the edges into a merge (a residual sum, a concat) from this fact."""
    op = REGISTRY[name]
    low, high = op.inputs
    several = high is None or high > 1
    if several and not op.takes:
        assert op.merge in ("residual", "concat", "scale", "product", "attention"), (
            f"`{name}` takes several inputs: declare `merge`"
        )
    else:
        assert op.merge == "", f"`{name}` does not merge inputs but declares `merge`"
