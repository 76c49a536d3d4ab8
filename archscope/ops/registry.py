"""The op registry: one :class:`OpDef` per op, registered once.

An op is a name plus its attributes (with types and defaults), a pure *shape rule* over
shapes without the batch dimension, a *cost rule*, and a *lowering* to PyTorch, declared as
data (a :class:`Construct`: the module's class and constructor arguments) so that the same
declaration builds the module (imports torch only then) and writes it as Python source
(``archscope export --to pytorch``). Beside those rules an op declares the facts that passes and the
PyTorch backend need about it (in-place safety, extra outputs, what backward saves, how the
reference counter measures it), so that no code outside the op's family file names the op.
Family files (``conv.py``, ``pool.py``…) define and register their ops; :mod:`archscope.ops`
imports every family explicitly, in one place. The parts of an op's declaration that stand on
their own live beside this file: its attribute types (:mod:`archscope.ops.attrs`), its module
as data (:mod:`archscope.ops.construct`) and its import rules (:mod:`archscope.ops.import_rules`).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING, Any, NamedTuple

from archscope.ops.attrs import Attr
from archscope.ops.construct import Construct

if TYPE_CHECKING:  # the import rules read `Shape` from here
    from archscope.ops.import_rules import Importer

Shape = tuple[int, ...]
Attrs = Mapping[str, Any]


@dataclass(frozen=True)
class Cost:
    """Cost of one layer for one input (batch 1).

    ``macs``: multiply-accumulates of conv and linear weights and of matrix products of activations
    (attention's Q·Kᵀ and A·V) only (1 fused multiply-add = 1).
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
    # inputs kept only when the layer's own parameters train (a linear layer's input serves its
    # weight gradient alone; PyTorch skips saving it when the weight is frozen)
    inputs_for_weights: tuple[int, ...] = ()
    # run in place, it keeps a copy of its input (made before it is overwritten) rather than the
    # shared tensor: `hardtanh_` (relu6) does; `relu_` and `leaky_relu_` keep their output instead
    copies_in_place: bool = False
    # float32 values kept beyond the above, per sample, from (attrs, input shapes, output shape), where
    # their count is no multiple of the output's: attention's log-sum-exp, one per query row and head
    values: Callable[[Attrs, Sequence[Shape], Shape], int] | None = None


def never(attrs: Attrs, training: bool) -> bool:
    return False


def always(attrs: Attrs, training: bool) -> bool:
    return True


@dataclass(frozen=True)
class MemoryFacts:
    """What an op allocates beyond its outputs and what it keeps, for the memory model
    (passes/memory.py); measured for every op against PyTorch's MemTracker.

    ``view(attrs, training)``: the main output is a view of the first input, or the input itself
    (flatten, identity, split's chunks; dropout at inference): it takes no new memory and keeps
    the input's alive. ``grad_view``: the gradient it passes to its inputs is its output's
    gradient itself or a view of it (add passes it through, concat narrows it), not a new tensor.
    ``transient(attrs)``: bytes per output element of tensors alive only while the op runs when it keeps
    nothing for backward (adaptive max pooling computes its int64 indices even at inference, and
    discards them; in training they are what it keeps, ``Saves.like_output``). The default: a fresh output,
    fresh input gradients, nothing else.
    """

    view: Callable[[Attrs, bool], bool] = never
    grad_view: bool = False
    transient: Callable[[Attrs], int] = lambda attrs: 0
    # float32 values alive only while it runs (as ``transient``), from (attrs, input shapes, output
    # shape), where their count is no multiple of the output's: attention's (L, S) score matrices
    transient_values: Callable[[Attrs, Sequence[Shape], Shape], int] | None = None
    # tensors the size of its output, in the dtype, alive only while its backward runs (beyond
    # the gradients it returns): instance norm's backward copies the reshaped gradient
    backward_temporaries: int = 0


FRESH = MemoryFacts()


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


# The kinds of kernel a layer runs at inference, for the roofline and `predict` (archscope/perf/roofline.py):
# calibration fits how close each kind comes to the device's roofs, on synthetic layers.
KERNELS: dict[str, str] = {
    "gemm": "a dense convolution or matrix product (one GEMM-like kernel)",
    "grouped": "a grouped or depthwise convolution",
    "pool": "a sliding-window or global pooling",
    "norm": "a normalisation (at inference: per-channel statistics or a reduction)",
    "elementwise": "an elementwise map or merge (activations, add, mul)",
    "copy": "moves data without arithmetic (concat, padding, upsampling, shuffles)",
    "view": "moves no data: its output is a view of its input (flatten, identity, dropout at inference)",
}


def kernel_is(kind: str) -> Callable[[Attrs], str]:
    """The ``kernel`` fact of an op whose kind does not depend on its attributes."""
    if kind not in KERNELS:
        raise ValueError(f"unknown kernel kind `{kind}`: one of {', '.join(KERNELS)}")
    return lambda attrs: kind


Count = int | Fraction  # a tool's count for one layer; a Fraction where the tool's own arithmetic is fractional
CountRule = Callable[[Attrs, Sequence[Shape], Shape], Count]


@dataclass(frozen=True)
class Counted:
    """What each peer counting tool counts for one layer of this op (batch 1), on the module the op's
    ``lower`` builds: the rules ``--convention`` sums (:mod:`archscope.passes.conventions`). One field
    per tool, each ``(attrs, input shapes, output shape) -> count`` in the tool's unit (MACs, or
    FLOPs for ``flop_counter``); the op's docstring says why. ``torchvision``, archscope's own
    convention, is ``Cost.macs`` and is not repeated here. Proven against each tool's headline
    number on every bundled spec (tests/passes/test_torch_conventions.py).
    """

    fvcore: CountRule  # FlopCountAnalysis(...).total()
    ptflops: CountRule  # get_model_complexity_info(...)'s MACs, pytorch backend
    thop: CountRule  # profile(...)'s MACs
    torchinfo: CountRule  # summary(...).total_mult_adds
    flop_counter: CountRule  # torch.utils.flop_counter.FlopCounterMode: FLOPs


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
    # its PyTorch module for one layer, as data: built by `lower`, written as source by `export`
    module: Callable[[Attrs, Sequence[Shape], Shape], Construct]
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
    memory: MemoryFacts = FRESH  # views, pass-through gradients, transient tensors: for the memory model
    # the MACs of its backward pass: (input gradient, weight gradient); None: undeclared (a test
    # requires every op to declare it; `no_backward_macs` declares zero)
    backward: Callable[[Attrs, Sequence[Shape], Shape], Backward] | None = None
    reference: Reference = TRACED
    # what each output unit reads, per spatial dim (ops/receptive_field.py): attrs → Field; None: undeclared
    # (a test requires every op to declare it)
    receptive_field: Callable[[Attrs], Any] | None = None
    # how it combines several inputs, as a diagram labels the edges into it (`archscope draw`):
    # `residual` (a sum), `concat`, `scale` (a product); "" for an op that does not merge inputs
    # (an op of several inputs declares it, or takes an extra output: tests/ops/test_op_facts.py)
    merge: str = ""
    # which kind of kernel the layer runs at inference (a key of KERNELS): attrs → kind; None:
    # undeclared (a test requires every op to declare it). A `view` moves no data (roofline bytes 0)
    kernel: Callable[[Attrs], str] | None = None
    # what each peer counting tool counts for a layer (--convention); None: undeclared (a test requires
    # every op to declare it)
    counted: Counted | None = None
    # how parts of foreign networks (PyTorch modules and calls, ONNX nodes) become layers of this op
    imports: tuple[Importer, ...] = ()
    defined_at: str = field(default="", compare=False)

    def lower(self, attrs: Attrs, inputs: Sequence[Shape], out: Shape) -> Any:
        """The layer's PyTorch module (imports torch): its declared ``module``, built."""
        return self.module(attrs, inputs, out).build()

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


def numel(shape: Shape) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


def broadcast(*shapes: Shape) -> Shape | None:
    """NumPy broadcasting: the shapes right-aligned, each size equal or 1 (a missing leading dim
    counts as 1); None where they do not broadcast. An op that needs equal ranks checks that first."""
    out = []
    for i in range(1, max(map(len, shapes)) + 1):
        sizes = [s[-i] for s in shapes if i <= len(s)]
        big = max(sizes)
        if any(d not in (1, big) for d in sizes):
            return None
        out.append(big)
    return tuple(reversed(out))


def fmt_shape(shape: tuple[int | str, ...] | None) -> str:
    """``(1, 3, 224, 224)``; ``?`` for no shape; a ``*`` in it stands for any size."""
    if shape is None:
        return "?"
    return f"({shape[0]},)" if len(shape) == 1 else "(" + ", ".join(str(d) for d in shape) + ")"


def fmt_shapes(shapes: Sequence[Shape | None]) -> str:
    """Several shapes, as a diagnostic's ``found``: ``(8, 4, 4), (16, 4, 4)``."""
    return ", ".join(fmt_shape(s) for s in shapes)
