"""How a part of a foreign network (a PyTorch module or call, an ONNX node or pattern) becomes a
layer of an op, for ``archscope import``: the import rules of ops. An op lists its :class:`Importer`
rules in its :class:`~archscope.ops.registry.OpDef`; the front ends in :mod:`archscope.lang.importers`
find the parts and ask the rules.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from archscope.ops.attrs import REQUIRED, Attr
from archscope.ops.registry import Shape


class Unsupported(Exception):
    """A part of a foreign network has arguments its op cannot express; the message says which
    (``archscope import`` reports it as E301 at the part's place)."""


@dataclass(frozen=True)
class Weight:
    """A learned tensor a part of the source reads directly, as an import rule sees it: a
    parameter used in a ``forward`` (``x * self.gamma``), an ONNX initializer (a Conv's ``W``)."""

    name: str
    shape: Shape


@dataclass(frozen=True)
class Found:
    """A part of a foreign network, as an importer found it (``archscope import``).

    ``obj``: the PyTorch module (None for a function or method call) or the ONNX node's attributes
    (a dict); ``args``/``kwargs``: the call's arguments, each tensor replaced by its index among
    ``inputs``; ``inputs``/``out``: static shapes without the batch dimension (``out``: the main
    output); ``weights``: ONNX initializer shapes, by the node's input index.

    For an ONNX node, ``args`` are its inputs in order: a tensor of the network → its index among
    ``inputs``; a learned initializer (a Conv's ``W`` and ``B``, a Mul's per-channel weight) → a
    :class:`Weight`, also in ``weights``; another constant (Clip's
    bounds, Resize's scales, Pad's pads, values computed from shapes alone) → its value as Python
    numbers and lists; an absent optional input or a large constant → None. ``kwargs``: ``opset``,
    ``outputs`` (how many outputs the node has) and ``shapes`` (each node's first output shape). For
    a pattern of several nodes (an :class:`Importer` target ``Div>Erf>Add>Mul>Mul``), ``obj`` and
    ``args`` are tuples with one entry per node, a value made inside the pattern is None, and
    ``weights`` is empty (the weights are in ``args``).
    """

    obj: Any = None
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    inputs: tuple[Shape, ...] = ()
    out: Shape = ()
    weights: Mapping[int, Shape] = field(default_factory=dict)

    def learned(self) -> list[Weight]:
        """The learned tensors among the arguments (``self.gamma`` in ``x * self.gamma``), in order."""
        return [a for a in (*self.args, *self.kwargs.values()) if isinstance(a, Weight)]

    def arg(self, index: int, name: str, default: Any = REQUIRED) -> Any:
        """The argument at position ``index`` or keyword ``name`` (``default`` when absent)."""
        if index < len(self.args):
            return self.args[index]
        if name in self.kwargs:
            return self.kwargs[name]
        if default is REQUIRED:
            raise Unsupported(f"no `{name}` argument")
        return default


@dataclass(frozen=True)
class Importer:
    """How a part of a foreign network becomes a layer of this op (``archscope import``).

    ``front``: ``torch`` or ``onnx``. ``target``, for ``torch``: a module class ``nn.Conv2d`` (its
    exact class: a subclass may change ``forward``), an archscope helper ``archscope:Add`` (a class
    of :mod:`archscope.ops.torch_modules`, or a copy of its source in an exported file), a function
    ``torch.cat`` / ``F.relu`` / ``operator.add``, or a tensor method ``Tensor.flatten``; for
    ``onnx``: the node's ``op_type`` (``Conv``), or a pattern of nodes ``Sigmoid>Mul``: a chain in
    which each node reads the one before it, whose inner values nothing else reads (the importer
    tries the longest patterns at a node first, then its single op_type). ``attrs(found)`` gives the
    layer's attributes, or raises :class:`Unsupported`.
    """

    front: str
    target: str
    attrs: Callable[[Found], dict[str, Any]]


def imports(front: str, *targets: str) -> Callable[[Callable[[Found], dict[str, Any]]], tuple[Importer, ...]]:
    """``imports("torch", "nn.ReLU", "F.relu")(rule)``: one rule for several targets."""
    return lambda rule: tuple(Importer(front, t, rule) for t in targets)


def same_attrs(
    *attrs: Attr, check: Callable[[Found], None] | None = None, first: int = 1
) -> Callable[[Found], dict[str, Any]]:
    """A rule for an op whose attributes are the PyTorch module's attributes of the same names,
    or the function's arguments after its ``first`` tensor ones (``F.leaky_relu(x, 0.2)``), in
    order; an absent argument takes the attribute's default. ``check`` raises :class:`Unsupported`
    for arguments the op cannot express."""

    def rule(found: Found) -> dict[str, Any]:
        if check is not None:
            check(found)
        out: dict[str, Any] = {}
        for i, a in enumerate(attrs):
            if found.obj is not None:
                v = getattr(found.obj, a.name, a.default)
            else:
                v = found.arg(first + i, a.name, a.default)
            if v is REQUIRED:
                raise Unsupported(f"no `{a.name}`")
            if v != a.default or a.required:
                out[a.name] = v
        return out

    return rule


def compact(v: Any) -> Any:
    """A PyTorch size as a spec writes it: ``(3, 3)`` → ``3``; ``[1, 2]`` stays a list."""
    if isinstance(v, (tuple, list)):
        v = [compact(x) for x in v]
        return v[0] if v and all(x == v[0] for x in v) else v
    return v


def no_attrs(found: Found) -> dict[str, Any]:
    """The rule of an op without attributes (relu, add…)."""
    return {}
