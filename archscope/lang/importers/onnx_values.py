"""The values of an ONNX graph, as :mod:`archscope.lang.importers.onnx` reads them: the graph's
inputs, its initializers, and every value computed from constants or shapes alone, evaluated
before any layer is made.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from archscope.diagnostics import Diagnostic
from archscope.lang.importers.network import INPUT, Names
from archscope.lang.importers.onnx_file import (
    SMALL,
    Dims,
    Failed,
    attributes,
    dims_text,
    graph_inputs,
    onnx_dtype,
    outer_names,
    size_bound,
    text,
)
from archscope.ops.registry import Shape, numel

META = frozenset({"Shape", "Size"})  # they read a tensor's shape only


FLOATS = frozenset({1, 10, 11, 16})  # TensorProto FLOAT, FLOAT16, DOUBLE, BFLOAT16


@dataclass
class Value:
    """A value of the graph: data (``ref``: the layer output or network input it is) or a constant
    (``array``: its value when small; ``init``: the initializer it is, for weights)."""

    shape: Dims | None  # data: with the batch dimension
    ref: str | None = None
    array: Any = None
    dtype: int = 0
    init: str | None = None


class Unknown(Exception):
    """A data value whose shape ONNX shape inference could not give."""


class GraphValues:
    """The values of one graph; :mod:`archscope.lang.importers.onnx` walks its nodes into layers."""

    def __init__(self, model: Any, shapes: dict[str, Dims], path: str):
        self.model, self.shapes, self.path = model, shapes, path
        self.graph = model.graph
        self.nodes = list(self.graph.node)  # one wrapper per node, kept: ids are stable
        self.values: dict[str, Value] = {}
        self.consumers: dict[str, list[Any]] = {}  # the nodes that read each value, beyond its shape
        self.reads: dict[int, list[str]] = {}  # each node's inputs, with those its subgraphs read
        for node in self.nodes:
            self.reads[id(node)] = list(dict.fromkeys([i for i in node.input if i] + outer_names(node)))
            if node.op_type not in META:
                for name in self.reads[id(node)]:
                    self.consumers.setdefault(name, []).append(node)
        self.graph_outputs = {o.name for o in self.graph.output}
        self.inputs: dict[str, Shape] = {}
        self.inputs_by_name: list[str] = []
        self.batch: int | None = None
        self.data: set[int] | None = None
        self.names = Names()
        self.evaluated = 0  # constant nodes evaluated (a work counter for tests)

    def add_inputs(self) -> None:
        listed = graph_inputs(self.model)
        single = len(listed) == 1
        self.names = Names((INPUT,) if single else ())
        for info in listed:
            shape = self.shapes.get(info.name)
            if not shape or any(d is None or d <= 0 for d in shape[1:]):
                raise Failed(
                    [
                        Diagnostic(
                            "E000",
                            f"the input `{text(info.name)}` has the shape {dims_text(shape)}: a size other than "
                            "the batch is not known; give it with --input C,H,W (without the batch)",
                            expected="--input 3,224,224",
                            found=dims_text(shape),
                        )
                    ]
                )
            self.batch = shape[0]
            ref = INPUT if single else self.names.make(info.name)
            self.inputs[ref] = tuple(shape[1:])
            self.inputs_by_name.append(info.name)
            self.values[info.name] = Value(shape, ref=ref, dtype=info.type.tensor_type.elem_type)
        from onnx import numpy_helper

        for t in self.graph.initializer:
            array = None
            if numel(tuple(t.dims)) <= SMALL and not t.external_data:
                try:
                    array = numpy_helper.to_array(t)
                except Exception:  # noqa: BLE001 - a malformed tensor: its value stays unknown
                    array = None
            self.values[t.name] = Value(tuple(t.dims), array=array, dtype=t.data_type, init=t.name)

    def shape(self, name: str) -> Dims | None:
        return self.shapes.get(name)

    def data_shape(self, name: str, node: Any) -> Shape:
        """A data value's static shape without the batch; E303 where inference left it unknown."""
        shape = self.shapes.get(name)
        if shape is None or not shape or any(d is None for d in shape[1:]):
            raise Unknown(
                f"ONNX shape inference leaves the shape of `{text(name)}` (from node `{text(node.name)}`, "
                f"{node.op_type}) unknown: {dims_text(shape)}"
            )
        if shape[0] != self.batch:
            raise Unknown(
                f"`{text(name)}` (from node `{text(node.name)}`, {node.op_type}) has the shape {dims_text(shape)}: "
                f"its dim 0 is not the batch ({self.batch}); archscope's layers keep the batch apart"
            )
        return tuple(shape[1:])

    def inner_shape(self, name: str) -> Shape | None:
        """The shape of a value inside a pattern, without the batch, or None where unknown."""
        shape = self.shapes.get(name)
        return None if not shape or None in shape else tuple(shape[1:])

    def prepare(self) -> set[int]:
        """Values of the inputs and constants, once: the nodes that read data."""
        if self.data is None:
            self.add_inputs()
            self.data = self.constants()
        return self.data

    def folded(self) -> dict[str, Any]:
        """The constants computed by nodes, by name (for another round of shape inference)."""
        data = self.prepare()
        made = {o for n in self.nodes if id(n) not in data for o in n.output if o}
        inits = {t.name for t in self.graph.initializer}
        return {k: v.array for k, v in self.values.items() if k in made and k not in inits and v.array is not None}

    def unknown_shapes(self) -> bool:
        """Whether shape inference left some data value's shape unknown."""
        data = self.prepare()
        return any(
            o and (not self.shapes.get(o) or None in self.shapes[o])
            for n in self.nodes
            if id(n) in data
            for o in n.output
        )

    def constants(self) -> set[int]:
        """Evaluate every node that reads no data (its inputs are constants, or it reads only a
        shape), in order, before any layer is made: a pattern may read a constant that the file
        computes after the pattern's first node. Returns the nodes that read data."""
        data_values = set(self.inputs_by_name)
        data_nodes: set[int] = set()
        for node in self.nodes:
            reads = [i for i in self.reads[id(node)] if i in data_values]
            if reads and node.op_type in META:
                self.meta(node, self.shapes.get(reads[0]))
            elif reads:
                data_nodes.add(id(node))
                data_values.update(o for o in node.output if o)
            else:
                self.constant(node, [self.values.get(i) if i else None for i in node.input])
        return data_nodes

    def constant(self, node: Any, ins: list[Value | None]) -> None:
        """A node of constants only: evaluated when small (Identity keeps the initializer it copies)."""
        if node.op_type == "Identity" and ins and ins[0] is not None:
            self.values[node.output[0]] = ins[0]
            return
        arrays = self.evaluate(node, ins)
        for k, o in enumerate(node.output):
            if o:
                array = arrays[k] if arrays is not None and k < len(arrays) else None
                shape = tuple(array.shape) if array is not None else self.shape(o)
                dtype = onnx_dtype(array) if array is not None else 0
                self.values[o] = Value(shape, array=array, dtype=dtype)

    def meta(self, node: Any, shape: Dims | None) -> None:
        """``Shape``/``Size`` of a data tensor: a constant (its batch: the one inference used)."""
        import numpy as np

        if not shape or None in shape:
            self.values[node.output[0]] = Value((1,) if node.op_type == "Shape" else ())
            return
        dims = list(shape)
        if node.op_type == "Size":
            array = np.array(numel(tuple(dims)), dtype=np.int64)
        else:
            a = attributes(node)
            start, end = a.get("start", 0), a.get("end", len(dims))
            array = np.array(dims[start:end], dtype=np.int64)
        self.values[node.output[0]] = Value(tuple(array.shape), array=array, dtype=7)

    def evaluate(self, node: Any, ins: list[Value | None]) -> list[Any] | None:
        """The node's outputs, computed by onnx's reference implementation (None: too large, or an
        input's value unknown, or the reference refuses)."""
        if node.op_type == "Constant":
            value = attributes(node)
            for key in ("value", "value_float", "value_floats", "value_int", "value_ints"):
                if key in value and value[key] is not None:
                    import numpy as np

                    return [np.array(value[key])]
            return None
        if any(v is not None and v.array is None for v in ins):
            return None
        bound = size_bound(
            node.op_type, [self.shape(o) for o in node.output if o], [v.array for v in ins if v is not None]
        )
        if bound is None or bound > SMALL:
            return None
        from onnx import helper
        from onnx.reference import ReferenceEvaluator

        names = [f"i{k}" if i else "" for k, i in enumerate(node.input)]
        copy = helper.make_node(node.op_type, names, [f"o{k}" for k in range(len(node.output))], domain=node.domain)
        copy.attribute.extend(node.attribute)
        feeds = {n: v.array for n, v in zip(names, ins) if n and v is not None}
        graph = helper.make_graph(
            [copy],
            "constant",
            [helper.make_tensor_value_info(n, onnx_dtype(a), None) for n, a in feeds.items()],
            [helper.make_tensor_value_info(f"o{k}", 0, None) for k in range(len(node.output))],
        )
        try:
            model = helper.make_model(graph, opset_imports=list(self.model.opset_import))
            self.evaluated += 1
            return list(ReferenceEvaluator(model).run(None, feeds))
        except Exception:  # noqa: BLE001 - an op the reference lacks: the value stays unknown
            return None
