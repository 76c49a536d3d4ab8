"""An ONNX file → a :class:`~archscope.lang.importers.network.Network` (needs the ``onnx`` package).

Reading. ``onnx.load`` (external data is not read: only its shapes matter), ``onnx.checker`` and
``onnx.shape_inference.infer_shapes(strict_mode=True, data_prop=True)``; any failure is an E303
naming the file. Dim 0 of every graph input is the batch (``inputs=`` replaces the other dims).
Shape inference runs on a light copy in which each large initializer is a graph input of the
same type and shape, and a symbolic batch is :data:`~.onnx_file.BATCH`: a model whose batch is a symbol bakes
no batch size into its shape arithmetic, and with a number ONNX can size a ``Reshape`` whose
target comes from ``Shape`` (``x.view(x.size(0), -1)``), which it cannot with a symbol. Every data
value must keep the batch as its dim 0, which every shape then leaves out, as a spec does.

Values. A value is *data* when it depends on a graph input through anything but its shape, else a
*constant*: initializers, ``Constant`` nodes, and nodes that read only constants or shapes
(``Shape``/``Size`` of a data tensor are constants). Constant nodes never
become layers, so the shape arithmetic of an exporter (``Shape → Gather → Unsqueeze → Concat`` into
a ``Reshape``) vanishes; small constants are evaluated with onnx's reference implementation and
handed to the rules as Python values (Clip's bounds, Pad's pads, Resize's scales). ``Identity``
and ``Dropout`` (at inference: its output is its input) pass their input through.

Layers. Every node that reads data is asked of the ops, through the ``Importer("onnx", …)``
entries each op declares in its family file: first the *patterns* that start with the node's
op_type, longest first, then the op_type alone; the first rule that accepts gives the layer. A
pattern target is a chain ``Div>Erf>Add>Mul>Mul`` (gelu as the TorchScript exporter writes it):
each node reads the output of the one before (an If reads what its branches read); the inner values
have that one reader besides ``Shape`` nodes and are no graph outputs; the network tensors the
chain reads are its inputs. The rule sees every node's
attributes and inputs, and raises ``Unsupported`` unless the chain computes its op (silu's
``Sigmoid>Mul`` must multiply by the Sigmoid's own input, else the two nodes are a sigmoid and a
mul). A node no op takes is an E301 naming it, its op_type and the nearest op, every such node in
one run; nothing is counted as zero because it is unknown.

Names. From a weight's initializer ``layer1.0.conv1.weight`` → ``layer1_0_conv1``, else from the
node's module scope: the TorchScript exporter's ``/layer1/layer1.0/conv1/Conv`` or the
``torch.export`` exporter's ``pkg.torch.onnx.name_scopes``, else the op's name.

Counting. ``expect: params`` is the file's own count: the elements of every layer's learned
initializers (:data:`WEIGHT_INPUTS`, from the ONNX operator specs: Conv's W and B, Gemm's B and C, a
normalisation's scale and B; BatchNormalization's running mean and variance are statistics, not
parameters), an initializer that several layers read counted for each (exporters store equal
tensors once). The TorchScript exporter folds a BatchNormalization into the Conv before it: the
conv gains a bias, and the network loses that BN's 2·C parameters (gaining C where the conv had
no bias); the header says how many BatchNormalization nodes the file kept.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from archscope.diagnostics import Diagnostic
from archscope.lang.importers.network import INPUT, Layer, Network, Weight
from archscope.lang.importers.onnx_file import (
    Dims,
    Failed,
    attributes,
    infer,
    read_model,
    scope_path,
    text,
)
from archscope.lang.importers.onnx_values import FLOATS, GraphValues, Unknown, Value
from archscope.lang.importers.result import Imported
from archscope.names import suggest
from archscope.ops import REGISTRY
from archscope.ops.import_rules import Found, Importer, Unsupported
from archscope.ops.registry import OpDef, Shape, numel

INSTALL = "pip install 'archscope[export]'"
PASS_THROUGH = frozenset({"Identity", "Dropout"})
# the inputs that hold learned tensors, per the ONNX operator specs (by input index)
WEIGHT_INPUTS: dict[str, Dims] = {
    "Conv": (1, 2),
    "ConvTranspose": (1, 2),
    "Gemm": (1, 2),
    "MatMul": (0, 1),
    "BatchNormalization": (1, 2),
    "InstanceNormalization": (1, 2),
    "LayerNormalization": (1, 2),
    "GroupNormalization": (1, 2),
    "PRelu": (1,),
    "Add": (0, 1),
    "Mul": (0, 1),
}
REFOLDS = 3  # the most rounds of constant folding and shape inference


def onnx_rules() -> tuple[
    dict[str, list[tuple[OpDef, Importer]]], dict[str, list[tuple[tuple[str, ...], OpDef, Importer]]]
]:
    """Every op's ONNX rules: single op_types, and patterns by their first op_type (longest first)."""
    single: dict[str, list[tuple[OpDef, Importer]]] = {}
    patterns: dict[str, list[tuple[tuple[str, ...], OpDef, Importer]]] = {}
    for op in REGISTRY.values():
        for rule in op.imports:
            if rule.front != "onnx":
                continue
            types = tuple(rule.target.split(">"))
            if len(types) == 1:
                single.setdefault(types[0], []).append((op, rule))
            else:
                patterns.setdefault(types[0], []).append((types, op, rule))
    for entries in patterns.values():
        entries.sort(key=lambda e: -len(e[0]))
    return single, patterns


class _Walk(GraphValues):
    """One pass over the graph's nodes, in their (topological) order."""

    def __init__(self, model: Any, shapes: dict[str, Dims], path: str):
        super().__init__(model, shapes, path)
        self.opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 1)
        self.single, self.patterns = onnx_rules()
        self.done: set[int] = set()
        self.layers: list[Layer] = []
        self.problems: list[Diagnostic] = []

    # -- the walk -------------------------------------------------------------------------------

    def run(self) -> None:
        data = self.prepare()
        for node in self.nodes:
            if id(node) in self.done or id(node) not in data:
                continue
            ins = [self.values.get(i) if i else None for i in node.input]
            try:
                if node.op_type in PASS_THROUGH:
                    self.values[node.output[0]] = ins[0] if ins[0] is not None else self.values[node.input[0]]
                else:
                    self.layer(node)
            except Unknown as e:
                self.problems.append(Diagnostic("E303", str(e), layer=text(node.name) or None, found=node.op_type))
                for o in node.output:
                    self.values[o] = Value(self.shape(o), ref=f"?{o}")

    # -- layers ---------------------------------------------------------------------------------

    def layer(self, node: Any) -> None:
        tried: list[str] = []
        for types, op, rule in self.patterns.get(node.op_type, []):
            chain = self.chain(node, types)
            if chain is None:
                continue
            found, refs, weights = self.found(chain)
            try:
                attrs = rule.attrs(found)
            except Unsupported as e:
                tried.append(f"`{op.name}` as {rule.target}: {e}")
                continue
            self.add_layer(chain, op, attrs, refs, weights)
            return
        reasons: list[str] = []
        found, refs, weights = self.found([node])
        for op, rule in self.single.get(node.op_type, []):
            try:
                attrs = rule.attrs(found)
            except Unsupported as e:
                reasons.append(f"`{op.name}`: {e}")
                continue
            self.add_layer([node], op, attrs, refs, weights)
            return
        self.problems.append(self.no_op(node, reasons, tried))
        for o in node.output:
            if o:
                self.values[o] = Value(self.shape(o), ref=f"?{o}")

    def chain(self, first: Any, types: tuple[str, ...]) -> list[Any] | None:
        """The nodes from ``first`` that form the pattern ``types``, or None."""
        chain = [first]
        for t in types[1:]:
            last = chain[-1]
            if any(o in self.graph_outputs for o in last.output):
                return None
            if any(self.consumers.get(o) for o in last.output[1:] if o):
                return None
            users = self.consumers.get(last.output[0], [])
            if len(users) != 1 or users[0].op_type != t or id(users[0]) in self.done:
                return None
            chain.append(users[0])
        inner = {o for n in chain[:-1] for o in n.output}
        for n in chain:
            for i in n.input:
                if i and i not in inner and i not in self.values:
                    return None  # reads a value made later in the file
        return chain

    def found(self, chain: list[Any]) -> tuple[Found, list[str], list[Weight]]:
        """What the rules see of ``chain`` (see :class:`~archscope.ops.import_rules.Found`)."""
        inner = {o for n in chain[:-1] for o in n.output}
        refs: list[str] = []
        shapes: list[Shape] = []
        weights: list[Weight] = []
        per_node: list[tuple[Any, ...]] = []
        for n in chain:
            args: list[Any] = []
            for k, name in enumerate(n.input):
                v = self.values.get(name) if name and name not in inner else None
                if v is None:
                    args.append(None)
                elif v.ref is not None:
                    if v.ref not in refs:
                        refs.append(v.ref)
                        shapes.append(self.data_shape(name, n))
                    args.append(refs.index(v.ref))
                elif k in WEIGHT_INPUTS.get(n.op_type, ()) and v.dtype in FLOATS and v.shape:
                    # an initializer's dims are all known; a computed weight's may hold a None (shape
                    # inference left it open): passed on as it is, for the rules to refuse
                    w = Weight(v.init or name, tuple(v.shape))
                    weights.append(w)
                    args.append(w)
                elif v.array is not None:
                    args.append(v.array.tolist())
                else:
                    args.append(None)
            per_node.append(tuple(args))
        last = chain[-1]
        insides = tuple(self.inner_shape(n.output[0]) for n in chain[:-1])
        out = self.data_shape(last.output[0], last)
        outs = (*insides, out)
        kwargs = {
            "opset": self.opset,
            "op_type": chain[0].op_type,
            "outputs": sum(1 for o in last.output if o),
            "shapes": outs,
        }
        if len(chain) == 1:
            node_args = per_node[0]
            found = Found(
                obj=attributes(chain[0]),
                args=node_args,
                kwargs=kwargs,
                inputs=tuple(shapes),
                out=out,
                weights={k: a.shape for k, a in enumerate(node_args) if isinstance(a, Weight)},
            )
        else:
            found = Found(
                obj=tuple(attributes(n) for n in chain),
                args=tuple(per_node),
                kwargs=kwargs,
                inputs=tuple(shapes),
                out=out,
            )
        return found, refs, weights

    def add_layer(
        self, chain: list[Any], op: OpDef, attrs: dict[str, Any], refs: list[str], weights: list[Weight]
    ) -> None:
        refs = list(refs)
        for index, _ in op.takes:  # that input is a layer's extra output, named by the layer
            if index < len(refs) and "." in refs[index]:
                refs[index] = refs[index].rsplit(".", 1)[0]
        name = self.names.make(self.wanted_name(chain, op, weights))
        params = sum(numel(w.shape) for w in weights)
        origin = text(chain[0].name) or chain[0].op_type
        self.layers.append(Layer(name, op.name, attrs, refs, origin, params))
        for n in chain:
            self.done.add(id(n))
        for k, o in enumerate(chain[-1].output):
            if o:
                self.values[o] = Value(self.shape(o), ref=name if k == 0 else f"{name}.{k}")

    @staticmethod
    def wanted_name(chain: list[Any], op: OpDef, weights: list[Weight]) -> str:
        for w in weights:
            if w.name.endswith(".weight") and not w.name.startswith("onnx::"):
                return w.name[: -len(".weight")]
        return scope_path(chain[0]) or op.name

    def no_op(self, node: Any, reasons: list[str], tried: list[str]) -> Diagnostic:
        where = text(node.name) or f"(unnamed {node.op_type} node)"
        if reasons:
            message = f"`{where}`: ONNX {node.op_type} has no archscope equivalent here ({'; '.join(reasons)})"
        else:
            message = f"`{where}`: ONNX {node.op_type} — no archscope op"
        if tried:
            message += f" (tried the patterns {'; '.join(tried)})"
        near = suggest(re.sub(r"(?<=[a-z])(?=[A-Z])", "_", node.op_type).lower(), REGISTRY)
        return Diagnostic(
            "E301",
            message,
            layer=text(node.name) or None,
            expected="an ONNX node some archscope op imports (`archscope list --ops`)",
            found=text(node.op_type),
            notes=(f"the nearest archscope op: `{near}`",) if near else (),
        )

    def outputs(self) -> list[str]:
        refs = []
        for o in self.graph.output:
            v = self.values.get(o.name)
            if v is None or v.ref is None:
                self.problems.append(
                    Diagnostic(
                        "E303",
                        f"the graph output `{text(o.name)}` does not depend on the input",
                        expected="outputs computed from the network's input",
                        found="a constant",
                    )
                )
            elif v.ref.startswith("?"):
                continue
            else:
                refs.append(v.ref)
        return refs


def from_onnx(
    path: str, *, name: str, inputs: Mapping[str, Shape] | Shape | None = None, net_stats: dict[str, Any] | None = None
) -> Network:
    """The network of the ONNX file ``path``. Raises :class:`Failed` with every problem found;
    ``net_stats`` gets work counters (``constants_evaluated``)."""
    net_stats = net_stats if net_stats is not None else {}
    model, shapes = read_model(path, inputs)
    walk = _Walk(model, shapes, path)
    for _ in range(REFOLDS):  # shape arithmetic ONNX cannot follow: fold what it computes, infer again
        folded = walk.folded()
        if not walk.unknown_shapes() or not folded:
            break
        walk = _Walk(model, infer(model, path, folded), path)
    walk.run()
    net_stats["constants_evaluated"] = walk.evaluated
    outputs = walk.outputs()
    if walk.problems:
        raise Failed(walk.problems)
    net = Network(name=name, inputs=walk.inputs, layers=walk.layers, outputs=outputs, source=path)
    kept = sum(1 for n in model.graph.node if n.op_type == "BatchNormalization")
    net.notes += [
        f"input {_shape_text(net.inputs)} (batch excluded); ONNX opset {walk.opset}, "
        f"producer {text(model.producer_name) or '?'} {text(model.producer_version)}".rstrip(),
        f"exported graph: {kept} BatchNormalization nodes kept, conv biases as exported.",
        "expect.params: the elements of every layer's learned initializers (BN statistics excluded; "
        "a shared initializer counted for each layer that reads it).",
    ]
    net.expect = {"params": sum(layer.params for layer in net.layers)}
    if len(outputs) == 1:
        out = walk.values[model.graph.output[0].name]
        net.expect["output"] = list(out.shape[1:]) if out.shape else []
    return net


def _shape_text(inputs: Mapping[str, Shape]) -> str:
    if list(inputs) == [INPUT]:
        return "×".join(str(d) for d in inputs[INPUT])
    return ", ".join(f"{k} {'×'.join(str(d) for d in v)}" for k, v in inputs.items())


def import_onnx(
    path: str | Path,
    *,
    name: str | None = None,
    inputs: Mapping[str, Shape] | Shape | None = None,
    fold: bool = True,
) -> Imported:
    """Import the ONNX file ``path`` as a spec (never raises on a bad file: every problem is a
    diagnostic)."""
    from archscope.lang.importers.finish import checked
    from archscope.lang.importers.text import write_spec

    path = str(path)
    started = time.perf_counter()
    name = name or _spec_name(path)
    try:
        import onnx  # noqa: F401
    except ImportError as e:
        return Imported(
            name,
            path,
            None,
            (
                Diagnostic(
                    "E000",
                    f"importing an ONNX file needs the onnx package, which is not installed ({e}); install it "
                    f"with `{INSTALL}`",
                    expected="the onnx package",
                    found="not installed",
                ),
            ),
        )
    try:
        stats: dict[str, Any] = {}
        net = from_onnx(path, name=name, inputs=inputs, net_stats=stats)
    except Failed as e:
        return Imported(name, path, None, tuple(e.diagnostics))
    from archscope.api import analyze

    text = write_spec(net, fold, analyze)
    return checked(net, text, {**stats, "seconds": time.perf_counter() - started})


def _spec_name(path: str) -> str:
    stem = re.sub(r"[^A-Za-z0-9_]+", "_", Path(path).stem).strip("_") or "imported"
    return stem if not stem[0].isdigit() else f"m_{stem}"
