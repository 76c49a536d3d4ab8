"""A PyTorch ``nn.Module`` → a :class:`~archscope.lang.importers.network.Network` (imports torch).

The module is traced symbolically with ``torch.fx``: a module whose class some op imports
(``nn.Conv2d``, an archscope helper) stays one call, everything else is traced through, so the
functional ops of a ``forward`` (``x + y``, ``torch.cat``, ``x.flatten(1)``) appear as calls.
The traced graph then runs once on a random input (batch 2) and every value is recorded: the
static shapes, and the concrete values of shape arithmetic (``x.size(0)``), which vanishes (the
trace: :mod:`archscope.lang.importers.torch_trace`).

Each call is asked of the ops: the op whose :class:`~archscope.ops.import_rules.Importer` names the
call's target and whose rule accepts its arguments gives the layer. A call no op takes is an
E301 at its place (the module's class or the line of ``forward`` that made it), with every such
call listed in one run; nothing is ever counted as zero because it is unknown. Pure views and
no-ops (``contiguous``, ``x.shape``) are recognised and pass their input through.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from archscope.diagnostics import Diagnostic, Span
from archscope.lang.importers.network import INPUT, Layer, Names, Network, Weight
from archscope.lang.importers.torch_trace import (
    BATCH,
    PASS_THROUGH,
    Failed,
    TensorShape,
    call_target,
    module_target,
    torch_rules,
    trace,
)
from archscope.names import suggest
from archscope.ops import REGISTRY
from archscope.ops.import_rules import Found, Importer, Unsupported
from archscope.ops.registry import OpDef, Shape, numel

_FRAME = re.compile(r'File "(?P<file>[^"]+)", line (?P<line>\d+)')


def _call_span(node: Any) -> Span | None:
    """The line of ``forward`` that made a call (fx's recorded stack: its last frame)."""
    trace = node.meta.get("stack_trace") or ""
    frames = [f for f in _FRAME.finditer(trace) if "/torch/" not in f["file"]]  # the user's code, not torch's
    if not frames:
        return None
    last = frames[-1]
    return Span(last["file"], int(last["line"]), 1)


def _class_span(m: Any) -> Span | None:
    try:
        file = inspect.getsourcefile(type(m))
        _, line = inspect.getsourcelines(type(m))
    except (OSError, TypeError):
        return None
    return Span(file, line, 1) if file else None


def _module_path(node: Any) -> str:
    """The module whose ``forward`` made a call: its qualified name ("" for the root)."""
    stack = node.meta.get("nn_module_stack") or {}
    if not stack:
        return ""
    path = list(stack.values())[-1]
    return path[0] if isinstance(path, tuple) else str(path)


@dataclass
class _Value:
    """What a traced node stands for: a layer's output (``ref``: ``name`` or ``name.k``), a
    constant, or a parameter."""

    ref: str | None = None
    weight: Weight | None = None


def from_module(
    module: Any,
    shapes: Mapping[str, Shape] | Shape,
    *,
    name: str,
    source: str,
) -> tuple[Network, dict[str, str]]:
    """The network ``module`` computes on inputs of ``shapes`` (without the batch dimension),
    and the map from each layer's name to the module path whose parameters it holds.
    Raises :class:`Failed` with every problem found."""
    if not isinstance(shapes, Mapping):
        shapes = {INPUT: tuple(shapes)}
    gm, values, macs = trace(module, shapes)
    walk = _Walk(gm, values, Names(tuple(shapes)))
    inputs = iter(shapes)
    out: Any = None  # the output node's recorded value
    for node in gm.graph.nodes:
        if node.op == "placeholder":
            walk.refs[node] = _Value(ref=next(inputs))
        elif node.op == "get_attr":
            value = values.get(node)
            walk.refs[node] = _Value(weight=Weight(node.target, tuple(value) if isinstance(value, tuple) else ()))
        elif node.op == "output":
            walk.outputs = _outputs(node.args[0], walk.refs)
            out = values.get(node)
        else:
            target = module_target(gm.get_submodule(node.target)) if node.op == "call_module" else call_target(node)
            if not walk.passes_through(node, target):
                walk.layer(node, target)
    if walk.problems:
        raise Failed(walk.problems)
    layers, owner = walk.layers, walk.owner
    net = Network(name=name, inputs=dict(shapes), layers=layers, outputs=walk.outputs, source=source)
    net.expect = {"macs": macs} | ({"output": list(_strip(out))} if _is_shape(out) else {})
    net.weights = [owner[x.name].removeprefix("param:") for x in layers if ":" in x.origin and x.name in owner]
    net.modules = {path: m._get_name() for path, m in module.named_modules() if path}
    return net, owner


class _Walk:
    """The traced graph's nodes, in order, become layers; what each node stands for is in ``refs``."""

    def __init__(self, gm: Any, values: dict[Any, Any], names: Names) -> None:
        self.gm, self.values, self.names = gm, values, names
        self.rules = torch_rules()
        self.refs: dict[Any, _Value] = {}
        self.layers: list[Layer] = []
        self.problems: list[Diagnostic] = []
        self.owner: dict[str, str] = {}  # layer name → module path (or `param:NAME`)
        self.called: dict[str, int] = {}
        self.outputs: list[str] = []

    def tensors(self, node: Any) -> list[Any]:
        """The node's inputs that are layer outputs or network inputs (not parameters, not constants)."""
        return [a for a in node.all_input_nodes if a in self.refs and self.refs[a].ref is not None]

    def passes_through(self, node: Any, target: str) -> bool:
        """Whether ``node`` makes no layer: a view of a parameter, shape arithmetic, an element of
        a multi-output layer's tuple, or a call that changes nothing archscope sees."""
        value = self.values.get(node)
        tensors = self.tensors(node)
        weights = [w for a in node.all_input_nodes if a in self.refs and (w := self.refs[a].weight) is not None]
        if not tensors and weights and isinstance(value, TensorShape):
            # a view or cast of a parameter (`self.gamma.reshape(1, -1, 1, 1)`): still that parameter
            self.refs[node] = _Value(weight=Weight(weights[0].name, tuple(value)))
            return True
        if not (_is_shape(value) or _is_shapes(value)):
            return True  # shape arithmetic (`x.size(0)`, `x.shape[1]`): its concrete value was recorded
        if target == "operator.getitem" and _is_shapes(self.values.get(node.args[0])):
            src = self.refs.get(node.args[0])
            if src is not None and src.ref is not None:
                index = node.args[1]
                self.refs[node] = _Value(ref=src.ref if index == 0 else f"{src.ref}.{index}")
            return True
        if target in PASS_THROUGH and tensors:
            self.refs[node] = self.refs[tensors[0]]
            return True
        return False

    def layer(self, node: Any, target: str) -> None:
        """The layer a call makes, asked of the ops; an E301 when no op takes it."""
        value, tensors = self.values[node], self.tensors(node)
        module_obj = self.gm.get_submodule(node.target) if node.op == "call_module" else None
        found = Found(
            obj=module_obj,
            args=tuple(_arg(a, tensors, self.values, self.refs) for a in node.args),
            kwargs={k: _arg(v, tensors, self.values, self.refs) for k, v in node.kwargs.items()},
            inputs=tuple(_strip(self.values[a]) for a in tensors),
            out=_strip(value if _is_shape(value) else value[0]),
        )
        path = node.target if module_obj is not None else _module_path(node)
        where = _call_span(node) or (_class_span(module_obj) if module_obj is not None else None)
        op, attrs, reasons = _match(self.rules.get(target, []), found)
        if op is None:
            self.problems.append(_no_op(path, target, reasons, where))
            self.refs[node] = _Value(ref=f"?{node.name}")
            return
        weights = found.learned()
        if module_obj is not None:
            n_params = sum(p.numel() for p in module_obj.parameters())
            self._count_call(node.target, target, n_params, where)
            layer_name = self.names.make(node.target)
            if any(True for _ in (*module_obj.parameters(), *module_obj.buffers())):
                self.owner[layer_name] = node.target
            origin = node.target
        else:
            n_params = sum(numel(w.shape) for w in weights)
            layer_name = self.names.make(f"{path}.{_op_word(target)}" if path else _op_word(target))
            origin = f"{path}:{target}"
        if weights:
            self.owner[layer_name] = _weights_owner(weights)
        inputs = [self.refs[a].ref for a in tensors]
        self.layers.append(Layer(layer_name, op.name, attrs, [i for i in inputs if i], origin, n_params))
        self.refs[node] = _Value(ref=layer_name)

    def _count_call(self, path: str, target: str, n_params: int, where: Span | None) -> None:
        """A module with weights may be called once: archscope layers do not share weights."""
        self.called[path] = self.called.get(path, 0) + 1
        if self.called[path] > 1 and n_params:
            self.problems.append(
                Diagnostic(
                    "E301",
                    f"`{path}` ({target}) is called {self.called[path]} times: archscope layers "
                    "do not share weights, so its parameters would be counted twice",
                    where,
                    layer=path,
                    expected="each module with parameters called once",
                    found=f"call {self.called[path]}",
                )
            )


def _weights_owner(weights: list[Weight]) -> str:
    """Where --verify finds a functional layer's weights: the module that holds all of them
    (``bn1`` for ``bn1.weight``, ``bn1.running_mean``…), or the one parameter (``param:gamma``)."""
    parents = {w.name.rpartition(".")[0] for w in weights}
    if len(weights) > 1 and len(parents) == 1 and next(iter(parents)):
        return next(iter(parents))
    return f"param:{weights[0].name}"


def _op_word(target: str) -> str:
    return target.rsplit(".", 1)[-1].strip("_") or "op"


def _is_shape(v: Any) -> bool:
    return isinstance(v, TensorShape) and len(v) >= 1 and _batched(v)


def _batched(v: tuple[int, ...]) -> bool:
    return v[0] == BATCH


def _is_shapes(v: Any) -> bool:
    """Several tensors (a layer's main output first): ``nn.MultiheadAttention`` returns ``(out, None)``
    when its weights are not asked for."""
    return (
        isinstance(v, tuple)
        and len(v) >= 1
        and _is_shape(v[0])
        and all(s is None or (isinstance(s, tuple) and _is_shape(s)) for s in v[1:])
    )


def _strip(shape: Any) -> Shape:
    return tuple(shape[1:])


def _arg(a: Any, tensor_args: Sequence[Any], values: Mapping[Any, Any], refs: Mapping[Any, _Value]) -> Any:
    """A call's argument as a rule sees it: a tensor → its index among the inputs, a parameter →
    a :class:`Weight`, a recorded value (``x.size(0)``) → that value; lists and tuples element by element."""
    import torch.fx as fx

    if isinstance(a, fx.Node):
        if a in tensor_args:
            return tensor_args.index(a)
        r = refs.get(a)
        if r is not None and r.weight is not None:
            return r.weight
        return values.get(a)
    if isinstance(a, (list, tuple)):
        return type(a)(_arg(x, tensor_args, values, refs) for x in a)
    return a


def _match(candidates: list[tuple[OpDef, Importer]], found: Found) -> tuple[OpDef | None, dict[str, Any], list[str]]:
    reasons: list[str] = []
    for op, rule in candidates:
        try:
            return op, rule.attrs(found), []
        except Unsupported as e:
            reasons.append(f"`{op.name}`: {e}")
    return None, {}, reasons


def _no_op(path: str, target: str, reasons: list[str], where: Span | None) -> Diagnostic:
    what = target.rsplit(".", 1)[-1]
    place = path or "(the network's forward)"
    if reasons:
        message = f"`{place}`: {target} has no archscope equivalent with these arguments ({'; '.join(reasons)})"
    else:
        message = f"`{place}`: {target} — no archscope op"
    near = suggest(re.sub(r"(?<!^)(?=[A-Z])", "_", what).lower().strip("_"), REGISTRY)
    notes = (f"the nearest archscope op: `{near}`",) if near else ()
    return Diagnostic(
        "E301",
        message,
        where,
        layer=path or None,
        expected="a module or call some archscope op imports (`archscope list --ops`)",
        found=target,
        notes=notes,
    )


def _outputs(arg: Any, refs: Mapping[Any, _Value]) -> list[str]:
    import torch.fx as fx

    if isinstance(arg, fx.Node):
        r = refs.get(arg)
        return [r.ref] if r is not None and r.ref else []
    if isinstance(arg, (list, tuple)):
        return [o for a in arg for o in _outputs(a, refs)]
    if isinstance(arg, dict):
        return [o for a in arg.values() for o in _outputs(a, refs)]
    return []
