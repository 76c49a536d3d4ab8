"""Every op with a shape rule, differential-tested against PyTorch with random attributes and shapes.

For random attribute values (drawn from each attribute's declared type and range) and random input
shapes (ranks 1 to 5, unusual ones included), archscope's static analysis and a real PyTorch forward
of the op's lowering must agree: both accept with the same output shape, or both refuse, archscope
with a located error. Ops of one input go through a whole spec (so the error's location is checked);
merges (several inputs) call the shape rule directly, and `max_unpool2d` runs behind the
`maxpool2d` whose switches it uses.

Hypothesis runs derandomised (a fixed seed) with a bounded number of examples per op, so CI is
repeatable; `HYPOTHESIS_PROFILE=long` runs many more.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

torch = pytest.importorskip("torch")
hypothesis = pytest.importorskip("hypothesis")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import archscope  # noqa: E402
from archscope.diagnostics import ShapeError  # noqa: E402
from archscope.ops import REGISTRY  # noqa: E402
from archscope.ops.attrs import Bool, Choice, Float, Int, Scales, Sizes  # noqa: E402
from archscope.ops.split import Sections  # noqa: E402
from archscope.ops.view import Permutation, TargetShape  # noqa: E402

settings.register_profile(
    "ci", max_examples=40, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck)
)
settings.register_profile(
    "long", max_examples=1000, derandomize=False, deadline=None, suppress_health_check=list(HealthCheck)
)
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")

SINGLE = sorted(name for name, op in REGISTRY.items() if op.inputs == (1, 1))
MERGES = sorted(name for name, op in REGISTRY.items() if op.inputs != (1, 1) and op.check_inputs is None)
PAIRED = sorted(name for name, op in REGISTRY.items() if op.check_inputs is not None)

SMALL = 6  # largest size drawn for kernels, strides, channels: keeps every forward tiny


def attr_values(attr: Any) -> st.SearchStrategy:
    """Values of one attribute, drawn from its declared type (never outside what it accepts)."""
    kind = attr.type
    if isinstance(kind, Bool):
        return st.booleans()
    if isinstance(kind, Choice):
        return st.sampled_from(kind.values)
    if isinstance(kind, Int):
        return st.integers(kind.min, min(kind.max, kind.min + SMALL))
    if isinstance(kind, Float):
        if kind.min == float("-inf"):  # any number (scale's value): small ones of either sign
            return st.floats(-2.0, 2.0, allow_nan=False).map(lambda v: round(v, 3))
        low = kind.min + 0.001 if kind.above_min else kind.min  # above it after rounding (batch norm's eps > 0)
        high = min(kind.max, kind.min + 2.0)
        return st.floats(low, high, allow_nan=False, allow_infinity=False).map(lambda v: round(v, 3))
    if isinstance(kind, Sizes):
        one = st.integers(kind.min, kind.min + SMALL // 2)
        options = [one] + [st.lists(one, min_size=n, max_size=n) for n in kind.length if n > 1]
        options += [st.sampled_from(kind.words)] if kind.words else []
        return st.one_of(*options)
    if isinstance(kind, Sections):
        size = st.integers(1, SMALL // 2)
        return st.one_of(size, st.lists(size, min_size=1, max_size=4))
    if isinstance(kind, TargetShape):  # sizes that often fit the drawn input (1, 2, 3 and -1)
        return st.lists(st.sampled_from([-1, 1, 2, 3, 4, 6]), min_size=1, max_size=4).filter(lambda v: v.count(-1) <= 1)
    if isinstance(kind, Permutation):
        return st.integers(1, 4).flatmap(lambda n: st.permutations(list(range(n))))
    if isinstance(kind, Scales):
        one = st.sampled_from([0.25, 0.5, 0.7, 1.0, 1.5, 2.0, 2.5, 3.0, 1 / 3])
        return st.one_of(one, *[st.lists(one, min_size=n, max_size=n) for n in kind.length if n > 1])
    raise AssertionError(f"no strategy for attribute type {kind!r} of `{attr.name}`: add one here")


@st.composite
def attributes(draw: Any, op_name: str) -> dict[str, Any]:
    """Required attributes always, optional ones half the time (else the default applies)."""
    out = {}
    for attr in REGISTRY[op_name].attrs:
        if attr.required or draw(st.booleans()):
            out[attr.name] = draw(attr_values(attr))
    return out


# ranks 1 to 4: every rank a spec's `input:` can have ((C,), (C, L), (C, H, W), (C, D, H, W))
shapes = st.lists(st.integers(1, 9), min_size=1, max_size=4).map(tuple)


def yaml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(yaml_value(x) for x in v) + "]"
    return str(v)


def layer_text(op: str, attrs: dict[str, Any], name: str = "t", extra: str = "") -> str:
    parts = (
        [f"op: {op}", f"name: {name}"]
        + [f"{k}: {yaml_value(v)}" for k, v in attrs.items()]
        + ([extra] if extra else [])
    )
    return "{" + ", ".join(parts) + "}"


def torch_output(module: Any, *inputs: torch.Tensor) -> tuple[int, ...] | Exception:
    """The batch-free output shape of a real forward pass (batch 1), or the exception torch raised."""
    module.eval()
    try:
        with torch.no_grad():
            out = module(*inputs)
    except (RuntimeError, ValueError, IndexError, TypeError, AssertionError) as exc:  # nn.MultiheadAttention asserts
        return exc
    if isinstance(out, tuple):
        out = out[0]
    return tuple(out.shape[1:])


def torch_single(op: str, attrs: dict[str, Any], shape: tuple[int, ...]) -> tuple[int, ...] | Exception:
    """PyTorch's verdict on one op, with the attributes normalised as archscope normalises them."""
    definition = REGISTRY[op]
    full = {a.name: (a.type(attrs[a.name]) if a.name in attrs else a.default) for a in definition.attrs}
    static = static_single(op, attrs, shape)
    out = tuple(static.report.layers[-1].output_shape) if static.report else shape
    try:
        module = definition.lower(full, [shape], out)
    except (RuntimeError, ValueError, TypeError, ZeroDivisionError, AssertionError) as exc:  # torch refused the layer
        return exc
    return torch_output(module, torch.randn((1, *shape)))


def static_single(op: str, attrs: dict[str, Any], shape: tuple[int, ...]) -> archscope.Analysis:
    text = f"input: {yaml_value(shape)}\nlayers:\n  - {layer_text(op, attrs)}\n"
    return archscope.analyze("diff.yaml", text=text)


def assert_agree(analysis: archscope.Analysis, torch_result: Any, context: str) -> None:
    """Both accept with the same shape, or both refuse, archscope with a located shape error.

    One asymmetry, on purpose: archscope refuses (E106) a rank that an op does not define for a
    batched tensor, where PyTorch's module reads it another way: `Conv2d` and the 2-D poolings take
    (C, H, W) as one *unbatched* image, so a (N, C, L) batch is read with N as channels; adaptive
    pooling pools any last two dims, so (N, C) pools over the batch; `Linear` maps the last dim of
    any rank, where a CNN spec needs `flatten` first. Accepting those would compute shapes of a
    different network. Everything else (a shape PyTorch refuses, or a different output shape) fails.
    """
    errors = analysis.errors
    if isinstance(torch_result, Exception):
        assert errors, f"{context}: archscope accepts, PyTorch refuses: {torch_result}"
        assert all(d.span is not None and d.span.file == "diff.yaml" and d.span.line >= 1 for d in errors), context
        assert all(d.code.startswith("E1") for d in errors), [f"{d.code} {d.message}" for d in errors]
        return
    if errors and all(d.code == "E106" for d in errors):
        return  # archscope is stricter about rank than PyTorch's unbatched reading (see above)
    assert not errors, f"{context}: PyTorch gives {torch_result}, archscope refuses: " + "; ".join(
        f"{d.code} {d.message}" for d in errors
    )
    static = analysis.report.layers[-1].output_shape
    assert tuple(static) == torch_result, f"{context}: archscope {tuple(static)}, PyTorch {torch_result}"


@pytest.mark.parametrize("op", SINGLE)
def test_single_input_op_agrees_with_pytorch(op: str):
    @settings(settings.get_profile(PROFILE))
    @given(attrs=attributes(op), shape=shapes)
    def check(attrs: dict[str, Any], shape: tuple[int, ...]) -> None:
        context = f"{op} {attrs} on {shape}"
        assert_agree(static_single(op, attrs, shape), torch_single(op, attrs, shape), context)

    check()


@pytest.mark.parametrize("op", MERGES)
def test_merge_op_agrees_with_pytorch(op: str):
    definition = REGISTRY[op]
    low, high = definition.inputs
    count = st.integers(low, high if high is not None else low + 2)

    @settings(settings.get_profile(PROFILE))
    @given(attrs=attributes(op), first=shapes, data=st.data(), n=count)
    def check(attrs: dict[str, Any], first: tuple[int, ...], data: Any, n: int) -> None:
        # the other inputs: mostly variations of the first (equal, one size changed, a size of 1)
        variant = st.lists(
            st.one_of(st.just(first), shapes, st.tuples(*[st.sampled_from([d, 1, d + 1]) for d in first])),
            min_size=n - 1,
            max_size=n - 1,
        )
        inputs = [first, *data.draw(variant)]
        full = {a.name: (a.type(attrs[a.name]) if a.name in attrs else a.default) for a in definition.attrs}
        try:
            static: Any = tuple(definition.shape(full, inputs))
        except ShapeError as exc:
            static = exc
        result = torch_output(definition.lower(full, inputs, None), *[torch.randn((1, *s)) for s in inputs])
        if len({len(s) for s in inputs}) > 1 and not isinstance(result, Exception) and isinstance(static, ShapeError):
            # PyTorch broadcasts tensors of different ranks by aligning them on the right, so with a
            # batch in front one input's batch meets another's channels: only batch 1 runs. Not a
            # network: archscope refuses it (`matmul`'s module aligns the samples' dims after the
            # batch, and archscope accepts what it computes)
            result = RuntimeError("ranks differ: broadcasting would align a batch with channels")
        context = f"{op} {attrs} on {inputs}"
        if isinstance(static, ShapeError) and static.code == "E106":
            return  # archscope is stricter about rank than PyTorch's reading (see assert_agree)
        if isinstance(result, Exception):
            assert isinstance(static, ShapeError), f"{context}: archscope {static}, PyTorch refuses: {result}"
        else:
            assert static == result, f"{context}: archscope {static}, PyTorch {result}"

    check()


@pytest.mark.parametrize("op", PAIRED)
def test_unpooling_behind_its_pooling_agrees_with_pytorch(op: str):
    """`max_unpool2d` takes its switches from a `maxpool2d` with `return_indices`, with the pooling's
    own window as DeconvNet uses it. The input increases, so each switch is its window's furthest
    position: the case archscope's static check must cover whatever the data."""

    @settings(settings.get_profile(PROFILE))
    @given(
        shape=st.tuples(st.integers(1, 4), st.integers(2, 12), st.integers(2, 12)),
        kernel=st.integers(1, 4),
        stride=st.integers(1, 4),
    )
    def check(shape: tuple[int, ...], kernel: int, stride: int) -> None:
        window = {"kernel": kernel, "stride": stride}
        pool = layer_text("maxpool2d", {**window, "return_indices": True}, name="p")
        unpool = layer_text(op, window, extra="in: [p, p]")
        text = f"input: {yaml_value(shape)}\nlayers:\n  - {pool}\n  - {unpool}\n"
        analysis = archscope.analyze("diff.yaml", text=text)
        # increasing values: every window's maximum is its last position, the furthest switch
        x = torch.arange(float(torch.tensor(shape).prod())).reshape((1, *shape))
        pooled = torch.nn.MaxPool2d(kernel, stride, return_indices=True)
        try:
            values, indices = pooled(x)
        except RuntimeError as exc:
            assert_agree(analysis, exc, f"{op} {window} on {shape}")
            return
        result = torch_output(torch.nn.MaxUnpool2d(kernel, stride), values, indices)
        assert_agree(analysis, result, f"{op} {window} on {shape}")

    check()


def test_the_op_lists_cover_the_registry():
    assert sorted(SINGLE + MERGES + PAIRED) == sorted(REGISTRY)
    assert len(SINGLE) >= 25 and MERGES == ["add", "concat", "matmul", "mul", "scaled_dot_product_attention"]
