"""Splitting one input into several outputs: ``split``.

split: ``sections`` equal chunks along ``dim`` (0 = channels), or chunks of the listed sizes
(which must sum to the size), as ``torch.split`` / ``torch.chunk`` make them. The main output
(``name`` or ``name.0``) is the first chunk; chunk ``k`` is extra output ``part<k>``, referenced
as ``name.<k>`` or ``name.part<k>``; each has its own shape. Free on purpose: the chunks are
views of the input (no copy, no arithmetic); backward saves nothing.
Backward MACs: declared zero (the gradients are concatenated or permuted);
torch.utils.flop_counter counts none of it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache
from typing import Any

from archscope.diagnostics import ShapeError
from archscope.ops.attrs import MAX_DIM, Attr, AttrError, Int
from archscope.ops.construct import Construct, helper_module
from archscope.ops.counting import NOTHING
from archscope.ops.import_rules import Found, Importer, Unsupported, imports
from archscope.ops.receptive_field import SAME, unknown
from archscope.ops.registry import (
    Attrs,
    Cost,
    ExtraOutput,
    MemoryFacts,
    OpDef,
    Saves,
    Shape,
    always,
    fmt_shape,
    kernel_is,
    no_backward_macs,
    register,
)

MAX_SECTIONS = 4096


class Sections:
    """A number of equal chunks (an integer ≥ 1), or the chunk sizes (a list of integers ≥ 1)."""

    accepts_str = False

    def __call__(self, v: Any) -> int | tuple[int, ...]:
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        if isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= MAX_SECTIONS:
            return v
        if isinstance(v, (list, tuple)) and 1 <= len(v) <= MAX_SECTIONS:
            if all(isinstance(x, int) and not isinstance(x, bool) and 1 <= x <= MAX_DIM for x in v):
                return tuple(v)
        raise AttrError(self.describe(), v)

    def describe(self) -> str:
        return f"a number of equal chunks (1..{MAX_SECTIONS}), or a list of chunk sizes"

    def json_schema(self) -> dict[str, Any]:
        return {
            "anyOf": [
                {"type": "integer", "minimum": 1, "maximum": MAX_SECTIONS},
                {"type": "array", "items": {"type": "integer", "minimum": 1}, "minItems": 1},
            ]
        }


def _count(a: Attrs) -> int:
    sections = a.get("sections", 1)
    return sections if isinstance(sections, int) else len(sections)


def chunk_sizes(a: Attrs, x: Shape) -> tuple[int, ...]:
    """The size of each chunk along ``dim``; a ShapeError when they do not fit ``x``."""
    dim = a["dim"]
    if dim >= len(x):
        raise ShapeError(
            "E105",
            f"`split` dim {dim} does not exist in a rank-{len(x)} input",
            expected=f"dim < {len(x)}",
            found=fmt_shape(x),
        )
    size, sections = x[dim], a["sections"]
    if isinstance(sections, int):
        if size % sections:
            raise ShapeError(
                "E105",
                f"`split` cannot cut size {size} (dim {dim}) into {sections} equal chunks",
                expected=f"a number of chunks that divides {size}",
                found=str(sections),
            )
        return (size // sections,) * sections
    if sum(sections) != size:
        raise ShapeError(
            "E105",
            f"`split` sizes {list(sections)} sum to {sum(sections)}, not to size {size} (dim {dim})",
            expected=f"sizes that sum to {size}",
            found=f"{list(sections)} (sum {sum(sections)})",
        )
    return tuple(sections)


def _chunk(k: int) -> Callable[[Attrs, Sequence[Shape]], Shape]:
    """The shape rule of chunk ``k``."""

    def shape(a: Attrs, inputs: Sequence[Shape]) -> Shape:
        x = inputs[0]
        return x[: a["dim"]] + (chunk_sizes(a, x)[k],) + x[a["dim"] + 1 :]

    return shape


@cache
def _part(k: int) -> ExtraOutput:
    return ExtraOutput(f"part{k}", 4, _chunk(k))


def _parts(a: Attrs) -> tuple[ExtraOutput, ...]:
    return tuple(_part(k) for k in range(1, _count(a)))


def _free(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Cost:
    return Cost()


SPATIAL_SPLIT = unknown("a split along a spatial dim shifts each chunk's positions")


def _lower(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Construct:
    sections = a["sections"]
    return helper_module("Split", sections if isinstance(sections, int) else list(sections), a["dim"] + 1)


def _split_attrs(sections: Any, dim: int, found: Found) -> dict[str, Any]:
    rank = len(found.inputs[0]) + 1
    dim = dim + rank if dim < 0 else dim
    if dim == 0:
        raise Unsupported("a split of the batch")
    sections = list(sections) if isinstance(sections, (list, tuple)) else sections
    return {"sections": sections} | ({"dim": dim - 1} if dim != 1 else {})


def _chunk_import(found: Found) -> dict[str, Any]:
    """``x.chunk(n, dim)``: n chunks; torch makes the last one smaller when n does not divide the
    size, archscope refuses that (the shape rule says so)."""
    return _split_attrs(found.arg(1, "chunks"), found.arg(2, "dim", 0), found)


def _split_import(found: Found) -> dict[str, Any]:
    """``x.split(size, dim)``: chunks of ``size`` (a list: those sizes)."""
    size, dim = found.arg(1, "split_size_or_sections"), found.arg(2, "dim", 0)
    if isinstance(size, int):
        rank = len(found.inputs[0]) + 1
        total = found.inputs[0][(dim + rank if dim < 0 else dim) - 1]
        if total % size:
            raise Unsupported(f"chunks of {size} do not tile size {total}")
        size = total // size
    return _split_attrs(size, dim, found)


def _onnx_split(found: Found) -> dict[str, Any]:
    """ONNX Split along ``axis`` (default 0): sizes from input 1 (opset 13 on) or the ``split``
    attribute, else equal parts, one per output."""
    axis = found.obj.get("axis", 0)
    sizes = found.obj.get("split", found.args[1] if len(found.args) > 1 else None)
    parts = found.kwargs.get("outputs", 1)
    if sizes is None:
        return _split_attrs(parts, axis, found)
    if not isinstance(sizes, list) or len(found.inputs) != 1:
        raise Unsupported("split sizes that are not constants")
    return _split_attrs(len(sizes) if len(set(sizes)) == 1 else sizes, axis, found)


register(
    OpDef(
        name="split",
        summary="split into chunks along a dimension (0 = channels): outputs `name.0`, `name.1`…",
        attrs=(
            Attr("sections", Sections(), doc="a number of equal chunks, or a list of chunk sizes"),
            Attr("dim", Int(0, 8), 0),
        ),
        shape=_chunk(0),
        cost=_free,
        module=_lower,
        extra_outputs=_parts,
        saves=Saves(),
        memory=MemoryFacts(view=always),  # every chunk is a view; backward concatenates (a new tensor)
        backward=no_backward_macs,
        receptive_field=lambda a: SAME if a["dim"] == 0 else SPATIAL_SPLIT,
        kernel=kernel_is("view"),
        counted=NOTHING,
        imports=(
            *imports("torch", "archscope:Split")(lambda f: _split_attrs(f.obj.sections, f.obj.dim, f)),
            *imports("torch", "torch.chunk", "Tensor.chunk")(_chunk_import),
            *imports("torch", "torch.split", "Tensor.split")(_split_import),
            Importer("onnx", "Split", _onnx_split),
        ),
    )
)
