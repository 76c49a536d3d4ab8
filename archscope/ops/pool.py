"""Pooling over a sliding window: max/avg pool 1-D, 2-D and 3-D, and max unpooling (the adaptive
and global pools are :mod:`archscope.ops.adaptive_pool`).

Shape: the window rule of :mod:`archscope.ops.window` (shared with convolution), with
``ceil_mode`` as in PyTorch. Unpooling (Zeiler & Fergus' switches): O = (W − 1)·S − 2P + K.
Cost: no MACs (no weights). ``ops`` = K_h·K_w comparisons or adds per output element.
Max pooling with ``return_indices`` has an extra output, ``indices`` (int64, the output's
shape), which ``max_unpool2d`` takes as its second input. Backward: every pool saves its input,
max pooling also its indices, unpooling the indices it was given. Average pools' outputs are
fresh and may be overwritten in place.
Backward MACs: declared zero (pooling backward scatters or spreads the gradient: no
multiply-accumulates of weights); torch.utils.flop_counter counts none of it.
Peer tools (``counted``): ptflops counts every max/avg/adaptive pool twice its input's
elements (its module hook counts the input, and the module's call of the F.*pool* function it
patches counts it again); fvcore counts 1 per input element of ``adaptive_avg_pool2d`` (global
average pooling of a (C, H, W) map) and nothing else here (no handle for the other pools, nor for
``adaptive_avg_pool1d``/``3d``); thop counts average pooling 1 per output element and adaptive
average pooling ``int((∏ in/out + 1) · out)`` in float64 (window + 1 divide), max pooling 0;
torchinfo and flop_counter count no pool; max unpooling counts 0 in every tool (fvcore cannot
trace it: see ``reference``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from archscope.diagnostics import ShapeError
from archscope.ops.attrs import Attr, Bool, Sizes
from archscope.ops.construct import Construct, module
from archscope.ops.counting import NOTHING, only, per_input, per_output
from archscope.ops.import_rules import Found, Importer, Unsupported, compact, imports
from archscope.ops.receptive_field import Window, transposed, window
from archscope.ops.registry import (
    Attrs,
    Cost,
    ExtraOutput,
    MemoryFacts,
    OpDef,
    Reference,
    Saves,
    Shape,
    ShapeWarning,
    Source,
    fmt_shape,
    kernel_is,
    no_backward_macs,
    numel,
    register,
)
from archscope.ops.window import SPATIAL_NAMES, drop_warnings, onnx_window, per_dim, require_rank, window_output


def _window(a: Attrs, rank: int) -> Window:
    kernel = per_dim(a["kernel"], rank, "kernel")
    stride = per_dim(a["stride"] if a["stride"] is not None else a["kernel"], rank, "stride")
    pads = per_dim(a["padding"], rank, "padding")
    dilation = per_dim(a.get("dilation", 1), rank, "dilation")
    return kernel, stride, pads, dilation


INDICES = ExtraOutput("indices", 8)  # int64 argmax positions (the switches)


def _indices(a: Attrs) -> tuple[ExtraOutput, ...]:
    return (INDICES,) if a.get("return_indices") else ()


def _pool_family(kind: str, rank: int) -> OpDef:
    name = f"{kind}pool{rank}d"
    # PyTorch's avg_pool3d (pool3d_shape_check with check_input_size) also requires the input
    # itself, without padding, to be at least the kernel in every dim; the other pools do not
    unpadded_fits = kind == "avg" and rank == 3

    def shape(a: Attrs, inputs: Sequence[Shape]) -> Shape:
        x = require_rank(inputs, rank, name)
        kernel, stride, pads, dilation = _window(a, rank)
        for k, p in zip(kernel, pads):
            if 2 * p > k:
                raise ShapeError(
                    "E107",
                    "padding must be at most half the kernel (as in PyTorch)",
                    expected=f"padding ≤ {k // 2}",
                    found=p,
                )
        dims = SPATIAL_NAMES[rank]
        if unpadded_fits:
            for size, k, dim in zip(x[1:], kernel, dims):
                if size < k:
                    raise ShapeError(
                        "E102",
                        f"{dim}: kernel {k} is larger than the input {size} (padding does not count here)",
                        expected=f"{dim} ≥ {k}",
                        found=size,
                    )
        return (
            x[0],
            *(
                window_output(x[1 + i], kernel[i], stride[i], pads[i], dilation[i], a["ceil_mode"], dims[i])
                for i in range(rank)
            ),
        )

    def cost(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Cost:
        return Cost(ops=numel(per_dim(a["kernel"], rank, "kernel")) * numel(out))

    def warnings(a: Attrs, inputs: Sequence[Shape]) -> list[ShapeWarning]:
        if a["ceil_mode"]:
            return []
        return drop_warnings(inputs[0], *_window(a, rank))

    def lower(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Construct:
        stride = a["stride"] if a["stride"] is not None else a["kernel"]
        if kind == "max":
            return module(
                f"MaxPool{rank}d",
                a["kernel"],
                stride=stride,
                padding=a["padding"],
                dilation=a["dilation"],
                ceil_mode=a["ceil_mode"],
                return_indices=a["return_indices"],
            )
        return module(
            f"AvgPool{rank}d",
            a["kernel"],
            stride=stride,
            padding=a["padding"],
            ceil_mode=a["ceil_mode"],
            count_include_pad=a["count_include_pad"],
        )

    attrs = [
        Attr("kernel", Sizes(1, (rank,))),
        Attr("stride", Sizes(1, (rank,)), None, "defaults to the kernel size"),
        Attr("padding", Sizes(0, (rank,)), 0),
        Attr("ceil_mode", Bool(), False),
    ]
    if kind == "max":
        attrs += [
            Attr("dilation", Sizes(1, (rank,)), 1),
            Attr("return_indices", Bool(), False, "keep the argmax switches for `max_unpool2d`"),
        ]
    else:
        attrs += [Attr("count_include_pad", Bool(), True)]
    if kind == "max":
        facts: dict[str, Any] = {"extra_outputs": _indices, "saves": Saves(inputs=(0,), like_output=(8,))}
        # on CPU every max pooling computes int64 indices even at inference (measured with MemTracker:
        # 12 bytes per output element at float32), and drops them unless they are returned
        facts["memory"] = MemoryFacts(transient=lambda a: 0 if a["return_indices"] else 8)
    else:
        facts = {"overwritable_output": True, "saves": Saves(inputs=(0,))}
    counted = only(ptflops=per_input(2), thop=per_output(1)) if kind == "avg" else only(ptflops=per_input(2))
    return OpDef(
        name=name,
        summary=f"{rank}-D {kind} pooling",
        attrs=tuple(attrs),
        shape=shape,
        cost=cost,
        module=lower,
        warnings=warnings,
        backward=no_backward_macs,
        receptive_field=window(_window),
        kernel=kernel_is("pool"),
        counted=counted,
        imports=(
            *imports("torch", f"nn.{kind.capitalize()}Pool{rank}d", f"F.{kind}_pool{rank}d")(_pool_import(kind)),
            Importer("onnx", "MaxPool" if kind == "max" else "AveragePool", _onnx_pool(kind, rank)),
        ),
        **facts,
    )


def _input_adds(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Cost:
    return Cost(ops=numel(inputs[0]))


def _unpool_shape(a: Attrs, inputs: Sequence[Shape]) -> Shape:
    x = require_rank(inputs, 2, "max_unpool2d")
    switches = inputs[1]
    if tuple(switches) != tuple(x):
        raise ShapeError(
            "E107",
            "the unpooled input must have the shape of the pooling layer's output",
            expected=fmt_shape(switches),
            found=fmt_shape(x),
        )
    kernel, stride, pads, _ = _window(a, 2)
    dims = []
    for i, dim in enumerate(SPATIAL_NAMES[2]):
        o = (x[1 + i] - 1) * stride[i] - 2 * pads[i] + kernel[i]
        if o <= 0:
            raise ShapeError("E101", f"{dim}: output size {o}", expected="≥ 1", found=o)
        dims.append(o)
    return (x[0], *dims)


def _unpool_sources(a: Attrs, inputs: Sequence[Source]) -> None:
    source = inputs[1]
    if source.op != "maxpool2d" or not source.attrs.get("return_indices"):
        raise ShapeError(
            "E107",
            "the second input of `max_unpool2d` must be the `maxpool2d` whose switches "
            "it uses, with `return_indices: true`",
            expected="a maxpool2d with return_indices: true",
            found=f"{source.op}" + (" without return_indices" if source.op == "maxpool2d" else ""),
        )
    if source.inputs and len(source.inputs[0]) == 3:
        _check_switches_fit(a, source)


def _check_switches_fit(a: Attrs, source: Source) -> None:
    """A switch is a flat position h·W + w in the pooling layer's *input*; PyTorch refuses one that
    is not below the unpooled output's H_out·W_out ("Found an invalid max index"). Which position
    holds a window's maximum depends on the data, so the check takes the furthest one any window
    reaches: the last window's last row and column inside the input."""
    _, h_in, w_in = source.inputs[0]
    kernel, stride, pads, dilation = _window(source.attrs, 2)
    last = []
    unpooled = []
    u_kernel, u_stride, u_pads, _ = _window(a, 2)
    for i, size in enumerate((h_in, w_in)):
        pooled = window_output(
            size, kernel[i], stride[i], pads[i], dilation[i], source.attrs["ceil_mode"], SPATIAL_NAMES[2][i]
        )
        last.append(min(size - 1, (pooled - 1) * stride[i] - pads[i] + (kernel[i] - 1) * dilation[i]))
        unpooled.append((pooled - 1) * u_stride[i] - 2 * u_pads[i] + u_kernel[i])
    furthest = last[0] * w_in + last[1]
    if min(unpooled) >= 1 and furthest >= unpooled[0] * unpooled[1]:
        raise ShapeError(
            "E107",
            f"the switches of the pooling layer reach position {furthest} of its {h_in}×{w_in} input, past the "
            f"{unpooled[0]}×{unpooled[1]} unpooled output",
            expected=f"an unpooled output of more than {furthest} positions (the pooling input's size, usually)",
            found=f"{unpooled[0]}×{unpooled[1]} = {unpooled[0] * unpooled[1]}",
        )


def _unpool_geometry(a: Attrs, rank: int) -> Window:
    kernel, stride, pads, _ = _window(a, rank)
    return kernel, stride, pads, (1,) * rank


def _unpool_reference_inputs(a: Attrs, inputs: Sequence[Shape], batch: int) -> list[Any]:
    """Random values and, as the switches, zeros: any valid indices give the same counts."""
    import torch

    return [torch.randn(batch, *inputs[0]), torch.zeros(batch, *inputs[1], dtype=torch.long)]


def _unpool_lower(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Construct:
    stride = a["stride"] if a["stride"] is not None else a["kernel"]
    return module("MaxUnpool2d", a["kernel"], stride=stride, padding=a["padding"])


def _unpool_import(found: Found) -> dict[str, Any]:
    m = found.obj
    kernel, stride = compact(m.kernel_size), compact(m.stride)
    attrs: dict[str, Any] = {"kernel": kernel}
    if stride != kernel:
        attrs["stride"] = stride
    if compact(m.padding) != 0:
        attrs["padding"] = compact(m.padding)
    return attrs


def _pool_import(kind: str) -> Callable[[Found], dict[str, Any]]:
    """``nn.MaxPoolNd``/``nn.AvgPoolNd`` or ``F.max_poolNd``/``F.avg_poolNd``: kernel, stride
    (default: the kernel), padding, dilation and return_indices (max), ceil_mode, count_include_pad
    (avg; ``divisor_override`` has no archscope form)."""
    names = ["kernel_size", "stride", "padding"] + (
        ["dilation", "ceil_mode", "return_indices"] if kind == "max" else ["ceil_mode", "count_include_pad"]
    )
    ours = {"kernel_size": "kernel", "stride": "stride", "padding": "padding"}
    defaults = {"stride": None, "padding": 0, "dilation": 1, "ceil_mode": False, "return_indices": False}
    defaults["count_include_pad"] = True

    def rule(found: Found) -> dict[str, Any]:
        m = found.obj
        values = {}
        for i, n in enumerate(names):
            values[n] = getattr(m, n) if m is not None else found.arg(i + 1, n, defaults.get(n))
        divisor = getattr(m, "divisor_override", None) if m is not None else found.kwargs.get("divisor_override")
        if divisor is not None:
            raise Unsupported(f"divisor_override={divisor}")
        kernel = compact(values["kernel_size"])
        stride = compact(values["stride"]) if values["stride"] not in (None, []) else None
        attrs: dict[str, Any] = {"kernel": kernel}
        if stride is not None and stride != kernel:
            attrs["stride"] = stride
        for n in names[2:]:
            v = compact(values[n])
            if v != defaults[n]:
                attrs[ours.get(n, n)] = v
        return attrs

    return rule


def _onnx_pool(kind: str, rank: int) -> Callable[[Found], dict[str, Any]]:
    """ONNX MaxPool/AveragePool: the window (stride defaults to 1 in ONNX, to the kernel in
    PyTorch), ``ceil_mode``; MaxPool's ``dilations`` and second output (the indices);
    AveragePool's ``count_include_pad`` (ONNX default 0, PyTorch's True: it matters only with
    padding)."""

    def rule(found: Found) -> dict[str, Any]:
        attrs = onnx_window(found, rank, default_stride="kernel")
        if kind == "avg" and "dilation" in attrs:
            raise Unsupported("a dilated average pool")
        if found.obj.get("ceil_mode", 0):
            attrs["ceil_mode"] = True
        if kind == "max" and found.kwargs.get("outputs", 1) > 1:
            attrs["return_indices"] = True
        if kind == "max" and found.obj.get("storage_order", 0):
            raise Unsupported("storage_order=1 (column-major indices)")
        if kind == "avg" and "padding" in attrs and not found.obj.get("count_include_pad", 0):
            attrs["count_include_pad"] = False
        return attrs

    return rule


def _onnx_unpool(found: Found) -> dict[str, Any]:
    """ONNX MaxUnpool of a 2-D map by the indices of a MaxPool's second output (an
    ``output_shape`` input has no archscope form)."""
    if len(found.inputs) != 2 or (len(found.args) > 2 and found.args[2] is not None):
        raise Unsupported("not X and the indices of a max pool, or an output_shape")
    attrs = onnx_window(found, 2, default_stride="kernel")
    if "dilation" in attrs:
        raise Unsupported("dilations")
    return attrs


register(
    *(_pool_family(kind, rank) for kind in ("max", "avg") for rank in (1, 2, 3)),
    OpDef(
        name="max_unpool2d",
        summary="max unpooling: `in: [x, pool]`, where `pool` is a maxpool2d with `return_indices: true`",
        attrs=(
            Attr("kernel", Sizes(1, (2,))),
            Attr("stride", Sizes(1, (2,)), None),
            Attr("padding", Sizes(0, (2,)), 0),
        ),
        shape=_unpool_shape,
        cost=_input_adds,
        module=_unpool_lower,
        inputs=(2, 2),
        check_inputs=_unpool_sources,
        takes=((1, INDICES.name),),
        saves=Saves(inputs=(1,)),
        backward=no_backward_macs,
        # an output unit holds the value of the pooled unit whose window covers it, when the
        # switch points there: every unit a window covers, as a transposed conv with the pool's window
        receptive_field=transposed(_unpool_geometry),
        kernel=kernel_is("copy"),
        reference=Reference(
            untraceable="TypeError: cond must be a bool, but got a Tensor",  # the jit tracer, in F.max_unpool2d's checks
            inputs=_unpool_reference_inputs,
        ),
        counted=NOTHING,
        imports=(*imports("torch", "nn.MaxUnpool2d")(_unpool_import), Importer("onnx", "MaxUnpool", _onnx_unpool)),
    ),
)
