"""The op registry: one :class:`OpDef` per op, registered once.

An op is a name plus its attributes (with types and defaults), a pure *shape rule* over
shapes without the batch dimension, a *cost rule*, and a *lowering* to PyTorch that imports
torch only when it is called. Beside those rules an op declares the facts that passes and the
PyTorch backend need about it (in-place safety, extra outputs, what backward saves, how the
reference counter measures it), so that no code outside the op's family file names the op.
Family files (``conv.py``, ``pool.py``…) define and register their ops; :mod:`archscope.ops`
imports every family explicitly, in one place.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

Shape = tuple[int, ...]
Attrs = Mapping[str, Any]

MAX_DIM = 2**31  # largest size, channel count or kernel we accept


class AttrError(Exception):
    def __init__(self, expected: str, found: Any):
        super().__init__(expected)
        self.expected = expected
        self.found = found


class _Required:
    def __repr__(self) -> str:
        return "required"


REQUIRED: Any = _Required()


# ---- attribute types: each takes a plain value and returns it normalised, or raises AttrError


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


@dataclass(frozen=True)
class Int:
    min: int = 0
    max: int = MAX_DIM
    name: str = "integer"

    def __call__(self, v: Any) -> int:
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        if not _is_int(v):
            raise AttrError(self.describe(), v)
        if not self.min <= v <= self.max:
            raise AttrError(self.describe(), v)
        return v

    def describe(self) -> str:
        return f"an integer ≥ {self.min}" if self.max == MAX_DIM else f"an integer in {self.min}..{self.max}"

    accepts_str = False


@dataclass(frozen=True)
class Float:
    min: float = 0.0
    max: float = float("inf")

    def __call__(self, v: Any) -> float:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not self.min <= v <= self.max:
            raise AttrError(self.describe(), v)
        try:
            return float(v)
        except OverflowError:  # an integer beyond 1.8e308
            raise AttrError("a number below 1.8e308", v) from None

    def describe(self) -> str:
        return f"a number in [{self.min}, {self.max}]"

    accepts_str = False


@dataclass(frozen=True)
class Bool:
    def __call__(self, v: Any) -> bool:
        if not isinstance(v, bool):
            raise AttrError("true or false", v)
        return v

    def describe(self) -> str:
        return "true or false"

    accepts_str = False


@dataclass(frozen=True)
class Sizes:
    """An integer, or a list of integers (one per spatial dimension)."""

    min: int = 1
    length: tuple[int, ...] = (1, 2)
    words: tuple[str, ...] = ()

    def __call__(self, v: Any) -> int | tuple[int, ...] | str:
        if isinstance(v, str) and v in self.words:
            return v
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        if _is_int(v) and self.min <= v <= MAX_DIM:
            return v
        if isinstance(v, (list, tuple)) and len(v) in self.length:
            if all(_is_int(x) and self.min <= x <= MAX_DIM for x in v):
                return tuple(v)
        raise AttrError(self.describe(), v)

    def describe(self) -> str:
        lens = " or ".join(str(n) for n in self.length)
        words = "".join(f", or `{w}`" for w in self.words)
        return f"an integer ≥ {self.min}, or a list of {lens} such integers{words}"

    @property
    def accepts_str(self) -> bool:
        return bool(self.words)


@dataclass(frozen=True)
class Scales:
    """A positive number, or a list of positive numbers (one per spatial dimension)."""

    length: tuple[int, ...] = (1, 2, 3)
    max: float = 1024.0

    def _one(self, v: Any) -> bool:
        return not isinstance(v, bool) and isinstance(v, (int, float)) and 0 < v <= self.max

    def __call__(self, v: Any) -> float | tuple[float, ...]:
        if self._one(v):
            return float(v)
        if isinstance(v, (list, tuple)) and len(v) in self.length and all(self._one(x) for x in v):
            return tuple(float(x) for x in v)
        raise AttrError(self.describe(), v)

    def describe(self) -> str:
        lens = " or ".join(str(n) for n in self.length)
        return f"a number in (0, {self.max:g}], or a list of {lens} such numbers"

    accepts_str = False


@dataclass(frozen=True)
class Choice:
    values: tuple[str, ...]

    def __call__(self, v: Any) -> str:
        if v not in self.values:
            raise AttrError(self.describe(), v)
        return v

    def describe(self) -> str:
        return "one of " + ", ".join(f"`{x}`" for x in self.values)

    accepts_str = True


@dataclass(frozen=True)
class Attr:
    name: str
    type: Callable[[Any], Any]
    default: Any = REQUIRED
    doc: str = ""

    @property
    def required(self) -> bool:
        return self.default is REQUIRED


@dataclass(frozen=True)
class Cost:
    """Cost of one layer for one input (batch 1).

    ``macs``: multiply-accumulates of conv and linear weights only (1 fused multiply-add = 1).
    ``ops``: every other elementary operation (normalisation, activation, pooling, merges,
    bias adds), kept apart so that it is never mixed into MACs silently.
    """

    params: int = 0
    buffers: int = 0
    macs: int = 0
    ops: int = 0


@dataclass(frozen=True)
class ShapeWarning:
    code: str
    message: str


def no_warnings(attrs: Attrs, inputs: Sequence[Shape]) -> list[ShapeWarning]:
    return []


@dataclass(frozen=True)
class ExtraOutput:
    """An output beyond the op's main one; ``itemsize`` is the bytes per element (int64 indices:
    8). ``shape``: its shape rule, given the attributes and input shapes (None: the main
    output's shape). The lowered module then returns the tuple ``(main, *extras)``: extra
    output ``i`` is element ``i + 1`` of it, and a layer references it as ``name.<i + 1>`` or
    ``name.<its name>`` (``name.0`` is the main output)."""

    name: str
    itemsize: int
    shape: Callable[[Attrs, Sequence[Shape]], Shape] | None = None


def no_extra_outputs(attrs: Attrs) -> tuple[ExtraOutput, ...]:
    return ()


@dataclass(frozen=True)
class Saves:
    """What autograd keeps from the forward pass for the backward pass (training memory).

    ``inputs``: which inputs (0-based) are kept; ``output``: whether the output is kept;
    ``per_channel``: float32 values kept per output channel (batch norm's mean and inverse
    std: 2); ``like_output``: bytes per output element of every other tensor kept (max
    pooling's int64 indices: 8, dropout's bool mask: 1, one float32 intermediate: 4).
    Parameters are not listed: they are kept anyway.
    """

    inputs: tuple[int, ...] = ()
    output: bool = False
    per_channel: int = 0
    like_output: tuple[int, ...] = ()


class Backward(NamedTuple):
    """Multiply-accumulates of one layer's backward pass (batch 1), in the convention of ``Cost.macs``.

    ``input_macs``: to compute the gradient with respect to its inputs, paid only when one of
    them requires grad (a trainable parameter lies upstream); ``weight_macs``: with respect to
    its parameters, paid only when the layer trains (it is not frozen).
    """

    input_macs: int
    weight_macs: int


def no_backward_macs(attrs: Attrs, inputs: Sequence[Shape], out: Shape) -> Backward:
    """Declared zero: the op's backward has no conv/linear multiply-accumulates (its work is
    elementwise, like its forward's ``ops``), and ``torch.utils.flop_counter`` counts none."""
    return Backward(0, 0)


@dataclass(frozen=True)
class CounterHandle:
    """A count the reference counter (fvcore) lacks for an aten operator this op calls."""

    operator: str  # `aten::…`
    count: Callable[[list[Any], list[Any]], int]  # fvcore handle: (inputs, outputs) → multiply-adds
    note: str  # said on every layer where it was used


@dataclass(frozen=True)
class Reference:
    """How ``verify`` measures a layer of this op with the reference counter (fvcore).

    ``untraceable``: why fvcore cannot trace the op (then ``torch.utils.flop_counter`` counts
    it); ``handles``: counts fvcore lacks; ``inputs``: makes the layer's input tensors from its
    attributes, static input shapes and a batch size, when random floats are not valid inputs
    (imports torch when called); None: random floats.
    """

    untraceable: str = ""
    handles: tuple[CounterHandle, ...] = ()
    inputs: Callable[[Attrs, Sequence[Shape], int], list[Any]] | None = None
    # what torch.utils.flop_counter counts for the layer's backward, where it differs from the op's
    # `backward` (None: it counts exactly that); the op's docstring says why
    backward: Callable[[Attrs, Sequence[Shape], Shape], Backward] | None = None


TRACED = Reference()  # fvcore traces the op on random float inputs


class Source(NamedTuple):
    """The layer that produces one of an op's inputs, as ``check_inputs`` sees it."""

    op: str
    attrs: Attrs
    inputs: tuple[Shape, ...]  # the source's own input shapes


@dataclass(frozen=True)
class OpDef:
    name: str
    summary: str
    attrs: tuple[Attr, ...]
    shape: Callable[[Attrs, Sequence[Shape]], Shape]
    cost: Callable[[Attrs, Sequence[Shape], Shape], Cost]
    lower: Callable[[Attrs, Sequence[Shape], Shape], Any]
    inputs: tuple[int, int | None] = (1, 1)
    weighted: bool = False  # a conv/linear layer: counts towards a network's depth
    warnings: Callable[[Attrs, Sequence[Shape]], list[ShapeWarning]] = no_warnings
    # optional: checks which layers feed this op, given each input's source (its op, attributes and
    # input shapes)
    check_inputs: Callable[[Attrs, Sequence[Source]], None] | None = None
    # may run in place on its first input (its backward needs its output or nothing); the module
    # the lowering returns then has an `inplace` attribute
    inplace: bool = False
    # an in-place consumer may overwrite its output: autograd saves its inputs, not its output,
    # and the output is a fresh tensor, not a view of an input
    overwritable_output: bool = False
    # outputs beyond the main one, given the attributes
    extra_outputs: Callable[[Attrs], tuple[ExtraOutput, ...]] = no_extra_outputs
    # (input index, extra output name): that input takes the named extra output of its source
    takes: tuple[tuple[int, str], ...] = ()
    saves: Saves | None = None  # None: undeclared (a test requires every op to declare it)
    # the MACs of its backward pass: (input gradient, weight gradient); None: undeclared (a test
    # requires every op to declare it; `no_backward_macs` declares zero)
    backward: Callable[[Attrs, Sequence[Shape], Shape], Backward] | None = None
    reference: Reference = TRACED
    # what each output unit reads, per spatial dim (ops/field.py): attrs → Field; None: undeclared
    # (a test requires every op to declare it)
    receptive_field: Callable[[Attrs], Any] | None = None
    defined_at: str = field(default="", compare=False)

    def attr(self, name: str) -> Attr | None:
        for a in self.attrs:
            if a.name == name:
                return a
        return None


REGISTRY: dict[str, OpDef] = {}


class RegistryError(Exception):
    pass


def register(*ops: OpDef) -> None:
    """Register ops. Registering a name twice is an error that names both places."""
    caller = sys._getframe(1)
    where = f"{caller.f_code.co_filename}:{caller.f_lineno}"
    for op in ops:
        if op.name in REGISTRY:
            raise RegistryError(f"op `{op.name}` registered twice: at {REGISTRY[op.name].defined_at} and at {where}")
        object.__setattr__(op, "defined_at", where)
        REGISTRY[op.name] = op


def suggest(name: str, candidates: Sequence[str]) -> str | None:
    import difflib  # only on the error path: keeps it (and heapq) out of every start-up

    matches = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return matches[0] if matches else None


def numel(shape: Shape) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


def fmt_shape(shape: Shape | None) -> str:
    if shape is None:
        return "?"
    return f"({shape[0]},)" if len(shape) == 1 else "(" + ", ".join(str(d) for d in shape) + ")"
