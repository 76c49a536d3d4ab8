"""Tracing a PyTorch ``nn.Module`` for :mod:`archscope.lang.importers.pytorch` (imports torch when
run): ``torch.fx`` keeps as one call every module some op imports, the traced graph runs once on a
random input (batch :data:`BATCH`), and every node's value is recorded (shapes for tensors).
"""

from __future__ import annotations

import contextlib
import inspect
import operator
from collections.abc import Iterator, Mapping
from typing import Any

from archscope.diagnostics import Diagnostic, Span
from archscope.ops import REGISTRY
from archscope.ops.import_rules import Importer
from archscope.ops.registry import OpDef, Shape

BATCH = 2  # the batch the trace runs at: a size that is also the batch is told apart from a 1


class Failed(Exception):
    """The module cannot be imported; ``diagnostics`` say why."""

    def __init__(self, diagnostics: list[Diagnostic]):
        super().__init__("; ".join(d.message for d in diagnostics))
        self.diagnostics = diagnostics


# calls that move no data and change nothing archscope sees: their output is their first input
PASS_THROUGH = frozenset(
    {
        "Tensor.contiguous",
        "Tensor.clone",
        "Tensor.detach",
        "Tensor.float",
        "Tensor.to",
        "Tensor.type_as",
        "Tensor.requires_grad_",
        "nn.Identity",
    }
)


def torch_rules() -> dict[str, list[tuple[OpDef, Importer]]]:
    """Every op's torch import rules, by target."""
    rules: dict[str, list[tuple[OpDef, Importer]]] = {}
    for op in REGISTRY.values():
        for rule in op.imports:
            if rule.front == "torch":
                rules.setdefault(rule.target, []).append((op, rule))
    return rules


_HELPERS: dict[str, str] | None = None


def _helper_sources() -> dict[str, str]:
    from archscope.ops import torch_modules

    return {
        name: inspect.getsource(cls)
        for name, cls in vars(torch_modules).items()
        if inspect.isclass(cls) and cls.__module__ == torch_modules.__name__
    }


def module_target(m: Any) -> str:
    """The target an op's rule names for module ``m``: ``nn.Conv2d`` for a class of ``torch.nn``
    (exactly: a subclass may change ``forward``), ``archscope:Add`` for an archscope helper or a
    copy of its source (an exported file), else the class's qualified name."""
    cls = type(m)
    target = _TARGETS.get(cls)
    if target is None:
        target = _TARGETS[cls] = _class_target(cls)
    return target


_TARGETS: dict[type, str] = {}  # a class's target, found once (inspect.getsource parses the whole file)


def _class_target(cls: type) -> str:
    global _HELPERS
    import torch

    if cls.__module__.startswith("torch.nn.modules.") and getattr(torch.nn, cls.__name__, None) is cls:
        return f"nn.{cls.__name__}"
    if _HELPERS is None:
        _HELPERS = _helper_sources()
    if cls.__name__ in _HELPERS:
        if cls.__module__ == "archscope.ops.torch_modules":
            return f"archscope:{cls.__name__}"
        try:
            if inspect.getsource(cls) == _HELPERS[cls.__name__]:
                return f"archscope:{cls.__name__}"
        except (OSError, TypeError):
            pass
    return f"{cls.__module__}.{cls.__qualname__}"


def call_target(node: Any) -> str:
    """The target of a ``call_function``/``call_method`` node: ``torch.cat``, ``F.relu``,
    ``operator.add``, ``Tensor.flatten``."""
    if node.op == "call_method":
        return f"Tensor.{node.target}"
    fn = node.target
    if fn is getattr and len(node.args) > 1 and isinstance(node.args[1], str):
        return f"Tensor.{node.args[1]}"  # an attribute of a tensor that is a tensor (`x.real`, `x.T`)
    mod = getattr(fn, "__module__", None) or ""
    name = getattr(fn, "__name__", repr(fn))
    if fn in vars(operator).values() and getattr(operator, name, None) is fn:
        return f"operator.{name}"
    if mod.startswith("torch.nn.functional"):
        return f"F.{name}"
    if mod in ("torch", "torch.functional", "torch._C._VariableFunctions") or mod.startswith("torch._"):
        import torch

        if getattr(torch, name, None) is fn:
            return f"torch.{name}"
        if getattr(torch.nn.functional, name, None) is fn:
            return f"F.{name}"
    if mod == "builtins" or mod == "_operator":
        return f"builtins.{name}" if mod == "builtins" else f"operator.{name}"
    return f"{mod}.{name}" if mod else name


class TensorShape(tuple[int, ...]):
    """The recorded shape of a tensor value (a ``torch.Size`` value is recorded as a plain tuple)."""


def _shape_of(value: Any) -> Any:
    """A recorded value: a tensor → its :class:`TensorShape`; a tuple/list of tensors → a tuple of them
    (a tensor then None, as ``nn.MultiheadAttention`` returns without its weights: kept as None)."""
    import torch

    if isinstance(value, torch.Tensor):
        return TensorShape(value.shape)
    if isinstance(value, (tuple, list)) and value and isinstance(value[0], torch.Tensor):
        if all(v is None or isinstance(v, torch.Tensor) for v in value):
            return tuple(None if v is None else TensorShape(v.shape) for v in value)
    if isinstance(value, torch.Size):
        return tuple(value)
    return value


class _Tracer:
    """An ``fx.Tracer`` that keeps as one call every module some op imports, and every standard
    ``torch.nn`` module (one no op imports is then reported, not traced into)."""

    def __new__(cls, rules: Mapping[str, Any]) -> Any:
        import torch.fx as fx

        class Tracer(fx.Tracer):
            def is_leaf_module(self, m: Any, qualname: str) -> bool:  # noqa: ARG002  fx.Tracer's signature
                target = module_target(m)
                if target in rules or target in PASS_THROUGH:
                    return True
                return target.startswith("nn.") and target not in ("nn.Sequential", "nn.ModuleList", "nn.ModuleDict")

        tracer = Tracer()
        tracer.record_stack_traces = True
        return tracer


def trace(module: Any, shapes: Mapping[str, Shape]) -> tuple[Any, dict[Any, Any], int]:
    """The traced ``GraphModule``, every node's recorded value (shapes for tensors), and the MACs
    of one sample: ``torch.utils.flop_counter.FlopCounterMode``'s FLOPs of the recorded forward
    pass / 2 / the batch (every operator it counts is linear in the batch)."""
    import torch
    import torch.fx as fx
    from torch.utils.flop_counter import FlopCounterMode

    rules = torch_rules()
    tracer = _Tracer(rules)
    try:
        graph = tracer.trace(module)
    except Exception as e:  # noqa: BLE001 - fx raises TraceError, TypeError… from user code
        raise Failed([_trace_error(e)]) from None
    gm = fx.GraphModule(tracer.root, graph)
    placeholders = [n for n in graph.nodes if n.op == "placeholder"]
    if len(placeholders) != len(shapes):
        raise Failed(
            [
                Diagnostic(
                    "E302",
                    f"the module's forward takes {len(placeholders)} input(s) "
                    f"({', '.join(p.name for p in placeholders)}), but {len(shapes)} input shape(s) were given",
                    expected=f"{len(placeholders)} input shape(s)",
                    found=str(len(shapes)),
                )
            ]
        )
    values: dict[Any, Any] = {}

    class Recorder(fx.Interpreter):
        def run_node(self, n: Any) -> Any:
            out = super().run_node(n)
            values[n] = _shape_of(out)
            return out

    example = [torch.randn(BATCH, *shape) for shape in shapes.values()]
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad(), composite_attention(torch), FlopCounterMode(display=False) as counter:
            Recorder(gm).run(*example)
    except Exception as e:  # noqa: BLE001 - the user's forward may raise anything: a diagnostic
        raise Failed(
            [
                Diagnostic(
                    "E302",
                    f"the traced module failed on a random input of shape(s) "
                    f"{', '.join(str([BATCH, *s]) for s in shapes.values())}: {type(e).__name__}: {_first_line(e)}",
                    expected="a forward pass that runs on the given input shape",
                    found=type(e).__name__,
                )
            ]
        ) from None
    finally:
        module.train(was_training)
    return gm, values, counter.get_total_flops() // (2 * BATCH)


@contextlib.contextmanager
def composite_attention(torch: Any) -> Iterator[None]:
    """Attention on PyTorch's composite paths, which FlopCounterMode counts (``bmm``, ``addmm``): its
    fused kernels (``_native_multi_head_attention``, the CPU flash kernel) have no formula in it."""
    from torch.nn.attention import SDPBackend, sdpa_kernel

    fast = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)
    try:
        with sdpa_kernel(SDPBackend.MATH):
            yield
    finally:
        torch.backends.mha.set_fastpath_enabled(fast)


def _first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return text[0][:300] if text else ""


def _trace_error(e: BaseException) -> Diagnostic:
    import traceback

    frames = [f for f in traceback.extract_tb(e.__traceback__) if "/torch/" not in f.filename]
    span = Span(frames[-1].filename, frames[-1].lineno or 1, 1) if frames else None
    return Diagnostic(
        "E302",
        f"torch.fx cannot trace the module: {type(e).__name__}: {_first_line(e)}",
        span,
        expected="a forward whose control flow depends on constructor arguments, not on tensor values",
        found=type(e).__name__,
    )
