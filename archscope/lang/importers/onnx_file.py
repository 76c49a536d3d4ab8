"""Reading an ONNX file for :mod:`archscope.lang.importers.onnx`: load, check, infer every value's
shape (on a light copy: large initializers as inputs, a symbolic batch made :data:`BATCH`, the
file's own constants folded in, an If on a constant replaced by its branch), and the facts of a
node the importer reads (attributes as Python values, the values its subgraphs read, its module
scope). Constants are computed by onnx's reference implementation only within a size bound."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from archscope.diagnostics import Diagnostic
from archscope.ops.registry import Shape, numel
from archscope.render.safe import oneline

# An ONNX value's dims as shape inference gives them: ints, None where a dim is unknown or symbolic
# (Any: the arithmetic on them checks for None where it matters).
Dims = tuple[Any, ...]

LIGHT = 1024  # initializers of more elements are graph inputs in shape inference's copy

SMALL = 4096  # constants of at most this many elements are evaluated and given to rules as values

MAX_NAME = 200  # the most characters of a node name a message quotes

# ops on constants whose output holds no more elements than their inputs together
SHUFFLING = frozenset(
    {"Identity", "Cast", "Concat", "Slice", "Squeeze", "Unsqueeze", "Reshape", "Flatten", "Transpose", "Shape", "Size"}
    | {"ReduceProd", "ReduceSum", "ReduceMin", "ReduceMax", "ReduceMean", "Split"}
)
# elementwise ops on constants: their output has their inputs' broadcast shape
ELEMENTWISE = frozenset(
    {"Add", "Sub", "Mul", "Div", "Mod", "Pow", "Neg", "Abs", "Floor", "Ceil", "Sqrt", "Sign", "Min", "Max", "Where"}
    | {"Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual", "Not", "And", "Or", "Clip"}
)


def size_bound(op_type: str, shapes: list[Dims | None], arrays: list[Any]) -> int | None:
    """At most how many elements a node of constants outputs (None: no bound known, and then it
    is not evaluated): its outputs' inferred ``shapes`` when known, else from its input ``arrays``
    for the ops whose output size they decide. A file cannot make the importer allocate more."""
    import numpy as np

    known = [sh for sh in shapes if sh is not None and None not in sh]
    if shapes and len(known) == len(shapes):
        return sum(numel(tuple(sh)) for sh in known)
    try:
        if op_type in GROWING:
            return GROWING[op_type](arrays)
        if op_type in ELEMENTWISE:
            return numel(tuple(np.broadcast_shapes(*(a.shape for a in arrays))))
    except (ValueError, TypeError, IndexError, OverflowError):
        return None
    return max((int(a.size) for a in arrays), default=0) * max(len(arrays), 1) if op_type in SHUFFLING else None


def _range_size(a: list[Any]) -> int:
    start, limit, delta = (float(x) for x in a[:3])
    return max(int(-(-(limit - start) // delta)), 0)


# ops whose output size the values of their inputs decide: that size, from those values
GROWING: dict[str, Callable[[list[Any]], int]] = {
    "ConstantOfShape": lambda a: numel(tuple(int(d) for d in a[0].reshape(-1))),
    "Range": _range_size,
    "Expand": lambda a: max(int(a[0].size), 1) * numel(tuple(abs(int(d)) for d in a[1].reshape(-1))),
    "Tile": lambda a: int(a[0].size) * numel(tuple(abs(int(d)) for d in a[1].reshape(-1))),
    "Gather": lambda a: int(a[0].size) * max(int(a[1].size), 1),
}

BATCH = 2  # a symbolic batch, for shape inference (a 1 could be squeezed or broadcast away)


class Failed(Exception):
    def __init__(self, diagnostics: list[Diagnostic]):
        super().__init__("; ".join(d.message for d in diagnostics))
        self.diagnostics = diagnostics


def text(s: object) -> str:
    return oneline(str(s)[:MAX_NAME])


def e303(path: str, what: str, e: BaseException | None = None) -> Failed:
    detail = f": {type(e).__name__}: {text(str(e).strip().splitlines()[0] if str(e).strip() else '')}" if e else ""
    return Failed(
        [
            Diagnostic(
                "E303",
                f"`{text(path)}` {what}{detail}",
                expected="an ONNX model that onnx can load, check and infer shapes for",
                found=type(e).__name__ if e else what,
            )
        ]
    )


def read_model(path: str, inputs: Mapping[str, Shape] | Shape | None = None) -> tuple[Any, dict[str, Dims]]:
    """The checked model and every value's inferred shape (dims: ints, None where symbolic)."""
    import onnx

    if not Path(path).is_file():
        raise Failed([Diagnostic("E000", f"no such file: `{text(path)}`", expected="a file", found=text(path))])
    try:
        model = onnx.load(path, load_external_data=False)
    except Exception as e:  # noqa: BLE001 - protobuf's and onnx's many error types, for people
        raise e303(path, "is not an ONNX model", e) from None
    try:
        onnx.checker.check_model(model)
    except Exception as e:  # noqa: BLE001
        raise e303(path, "fails onnx.checker", e) from None
    if inputs is not None:
        _set_inputs(model, inputs, path)
    return model, infer(model, path)


def infer(model: Any, path: str, folded: Mapping[str, Any] | None = None) -> dict[str, Dims]:
    """Every value's shape by ONNX shape inference (dims: ints, None where unknown) on the light
    copy of ``model``, with the constant values ``folded`` (name → array) as initializers."""
    import onnx

    try:
        light = _light(model, BATCH, folded or {})
        inferred = onnx.shape_inference.infer_shapes(light, strict_mode=True, data_prop=True)
    except Exception as e:  # noqa: BLE001
        raise e303(path, "fails ONNX shape inference", e) from None
    shapes: dict[str, Dims] = {}
    g = inferred.graph
    for info in (*g.input, *g.value_info, *g.output):
        t = info.type.tensor_type
        if t.HasField("shape"):
            shapes[info.name] = tuple(d.dim_value if d.HasField("dim_value") else None for d in t.shape.dim)
    for t in model.graph.initializer:
        shapes[t.name] = tuple(t.dims)
    return shapes


def _light(model: Any, batch: int, folded: Mapping[str, Any]) -> Any:
    """A copy of ``model`` for shape inference, its large initializers declared as graph inputs,
    its inputs' symbolic batch made ``batch``, the nodes that make the values ``folded`` replaced
    by initializers of those values."""
    import onnx

    g = model.graph
    light = onnx.ModelProto()
    light.ir_version = model.ir_version
    light.opset_import.extend(model.opset_import)
    light.functions.extend(model.functions)
    lg = light.graph
    lg.name = g.name
    for n in g.node:
        if all(o in folded for o in n.output if o):
            continue
        if n.op_type == "If" and n.input[0] in folded:
            lg.node.extend(_branch(n, bool(folded[n.input[0]])))
        else:
            lg.node.append(n)
    lg.input.extend(g.input)
    inits = {t.name for t in g.initializer}
    for info in lg.input:
        dims = info.type.tensor_type.shape.dim
        if info.name not in inits and len(dims) and not dims[0].dim_value > 0:
            dims[0].Clear()
            dims[0].dim_value = batch
    lg.output.extend(g.output)
    lg.value_info.extend(g.value_info)
    declared = {i.name for i in g.input}
    for t in g.initializer:
        if numel(tuple(t.dims)) <= LIGHT:
            lg.initializer.append(t)
        elif t.name not in declared:
            lg.input.append(onnx.helper.make_tensor_value_info(t.name, t.data_type, list(t.dims)))
    lg.initializer.extend(onnx.numpy_helper.from_array(a, name) for name, a in folded.items())
    return light


def _branch(node: Any, cond: bool) -> list[Any]:
    """The nodes of the branch an If with a known condition takes, writing the If's outputs."""
    import onnx

    attrs = {a.name: a.g for a in node.attribute}
    branch = attrs["then_branch" if cond else "else_branch"]
    rename = {o.name: mine for o, mine in zip(branch.output, node.output)}
    out = []
    for n in branch.node:
        copy = onnx.NodeProto()
        copy.CopyFrom(n)
        copy.input[:] = [rename.get(i, i) for i in n.input]
        copy.output[:] = [rename.get(o, o) for o in n.output]
        out.append(copy)
    return out


def _set_inputs(model: Any, inputs: Mapping[str, Shape] | Shape, path: str) -> None:
    """Give the graph inputs the shapes the user named (without the batch)."""
    listed = graph_inputs(model)
    wanted = inputs if isinstance(inputs, Mapping) else {listed[0].name if listed else "": inputs}
    if len(wanted) != len(listed):
        raise Failed(
            [
                Diagnostic(
                    "E000",
                    f"`{text(path)}` has {len(listed)} input(s), but {len(wanted)} shape(s) were given",
                    expected=f"{len(listed)} input shape(s)",
                    found=str(len(wanted)),
                )
            ]
        )
    for info, shape in zip(listed, wanted.values()):
        dims = info.type.tensor_type.shape.dim
        batch = dims[0] if len(dims) else None
        keep = (batch.dim_param or None, batch.dim_value or None) if batch is not None else ("batch", None)
        del dims[:]
        first = dims.add()
        if keep[1]:
            first.dim_value = keep[1]
        else:
            first.dim_param = keep[0] or "batch"
        for d in shape:
            dims.add().dim_value = int(d)


def graph_inputs(model: Any) -> list[Any]:
    inits = {t.name for t in model.graph.initializer}
    return [i for i in model.graph.input if i.name not in inits]


def attributes(node: Any) -> dict[str, Any]:
    """A node's attributes as Python values (strings decoded, tensors as lists)."""
    from onnx import helper, numpy_helper

    out: dict[str, Any] = {}
    for a in node.attribute:
        v = helper.get_attribute_value(a)
        if isinstance(v, bytes):
            v = v.decode("utf-8", "replace")
        elif hasattr(v, "dims") and hasattr(v, "data_type"):
            v = numpy_helper.to_array(v).tolist() if numel(tuple(v.dims)) <= SMALL else None
        elif isinstance(v, list):
            v = [x.decode("utf-8", "replace") if isinstance(x, bytes) else x for x in v]
        out[a.name] = v
    return out


def outer_names(node: Any) -> list[str]:
    """The values of the enclosing graph that ``node``'s subgraphs (an If's branches, a Loop's
    body) read: inputs of the node as much as its listed ones."""
    from onnx import AttributeProto

    graphs = [a.g for a in node.attribute if a.type == AttributeProto.GRAPH]
    graphs += [g for a in node.attribute if a.type == AttributeProto.GRAPHS for g in a.graphs]
    names: list[str] = []
    for g in graphs:
        inner = {i.name for i in g.input} | {t.name for t in g.initializer}
        for n in g.node:
            names += [i for i in [*n.input, *outer_names(n)] if i and i not in inner]
            inner.update(n.output)
    return list(dict.fromkeys(names))


_SCOPE = re.compile(r"'([^']*)'")


def scope_path(node: Any) -> str:
    """The module path a node came from: ``/layer1/layer1.0/conv1/Conv`` → ``layer1.0.conv1``; the
    ``torch.export`` exporter's ``pkg.torch.onnx.name_scopes`` ``['', 'layer1.0', 'conv1', 'conv2d']``
    likewise; "" when the node names none."""
    parts: list[str] = []
    for p in node.metadata_props:
        if p.key == "pkg.torch.onnx.name_scopes":
            parts = _SCOPE.findall(p.value)[1:-1]
    if not parts and node.name.startswith("/"):
        parts = node.name.strip("/").split("/")[:-1]
    path = ""
    for part in parts:
        if not part:
            continue
        path = part if not path or part.startswith(path + ".") else f"{path}.{part}"
    return path


def dims_text(shape: Dims | None) -> str:
    return "unknown" if shape is None else "(" + ", ".join("?" if d is None else str(d) for d in shape) + ")"


def onnx_dtype(array: Any) -> int:
    from onnx import helper

    try:
        return helper.np_dtype_to_tensor_dtype(array.dtype)
    except Exception:  # noqa: BLE001
        return 0
