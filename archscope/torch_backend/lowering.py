"""Lowering: an elaborated graph → a ``torch.fx.GraphModule``.

Each node becomes one ``call_module`` to the module its op's ``lower`` returns, in the
graph's topological order; fx generates a plain Python ``forward`` from that, so a call costs
what a hand-written ``forward`` costs (no interpreter loop). Submodules sit at the spec's
qualified layer names (``layer1.0.conv1``); block instances and repeated layers become
:class:`~archscope.torch_backend.modules.Scope` containers that print as their block type.

Conventions:
- the module takes and returns tensors with a leading batch dimension; static shapes have none;
- it is returned in training mode, like any new ``nn.Module``: call ``.eval()`` for inference;
- a frozen layer (``freeze:``, ``build(freeze=...)``) has ``requires_grad=False`` parameters;
- a name that would shadow an ``nn.Module`` attribute (a layer called ``forward``, ``to`` or
  ``training``) or is a Python keyword (``lambda``: fx's generated ``forward`` would not
  compile) gets a trailing ``_``, and so do the forward's parameter and value of an input or layer
  called ``self`` (or ``getattr``, ``def``: see :func:`_parameters`);
  ``module.meta["archscope"]["modules"]`` maps every layer name to its module's qualified name;
- the lowering names no op: what it needs to know about one, it reads from the op's declared
  facts on its :class:`~archscope.ops.registry.OpDef`, as below;
- a layer whose op declares ``extra_outputs`` (for these attributes) returns the tuple
  ``(main, *extras)``; each input takes element ``port`` of it, as the graph records for that
  input (``Node.ports``: 0, the main output, unless the spec named another, ``name.1``, or the
  consumer's op declares it in ``takes``, as max unpooling does for pooling switches);
- a network with several inputs takes them as positional arguments in declared order (the fx
  placeholders are named after them; a single input is ``x``); one with several outputs
  returns them as a tuple in declared order (a single output is returned as it is);
- a layer whose op declares ``inplace`` runs in place on its first input, as torchvision's
  modules do, when that input feeds nothing else and comes from a layer whose op declares
  ``overwritable_output`` (its backward does not need its output, which is not a view). Fresh
  large tensors cost page faults: out of place, ResNet-50 at batch 8 ran 4% slower than
  torchvision's code. ``build(..., inplace=False)`` turns it off.
"""

from __future__ import annotations

import builtins
import keyword
import operator
import re
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

from archscope.api import Analysis, analyze
from archscope.diagnostics import SpecError
from archscope.graph import Graph, Node
from archscope.ops import REGISTRY
from archscope.passes.memory import inplace_nodes
from archscope.results.report import Report
from archscope.torch_backend.errors import LoweringError, require_torch


def checked_analysis(
    source: str | Path | Analysis,
    *,
    text: str | None = None,
    resolution: int | list[int] | None = None,
    freeze: Iterable[str] = (),
    unfreeze: Iterable[str] = (),
) -> Analysis:
    """Analyse ``source`` (or take an :class:`Analysis`); raise :class:`SpecError` if it has errors."""
    freezing: dict[str, Any] = {"freeze": tuple(freeze), "unfreeze": tuple(unfreeze)} if freeze or unfreeze else {}
    if isinstance(source, Analysis):
        if resolution is not None or freezing:
            raise ValueError("`resolution`, `freeze` and `unfreeze` need a spec name or path, not an Analysis")
        result = source
    else:
        result = analyze(source, text=text, resolution=resolution, **freezing)
    if result.report is None or result.graph is None or result.errors:
        raise SpecError(result.errors or result.diagnostics)
    return result


def report_of(analysis: Analysis) -> Report:
    """The report of an analysis :func:`checked_analysis` passed (which has one)."""
    if analysis.report is None:
        raise SpecError(analysis.errors or analysis.diagnostics)
    return analysis.report


def graph_of(analysis: Analysis) -> Graph:
    """The graph of an analysis :func:`checked_analysis` passed (which has one)."""
    if analysis.graph is None:
        raise SpecError(analysis.errors or analysis.diagnostics)
    return analysis.graph


def build(
    source: str | Path | Analysis,
    *,
    text: str | None = None,
    resolution: int | list[int] | None = None,
    device: Any = None,
    inplace: bool = True,
    freeze: Iterable[str] = (),
    unfreeze: Iterable[str] = (),
) -> Any:
    """Build the PyTorch network of a spec: a ``torch.fx.GraphModule``.

    ``source`` is a path, a bundled name (``resnet50``), a family, or an :class:`Analysis`;
    ``text`` gives the spec's YAML in memory. ``resolution`` overrides the input's spatial size
    (as ``scale.resolution`` does). ``device`` creates the parameters there directly
    (``"meta"`` builds without allocating). ``inplace=False`` keeps every activation out of
    place. ``freeze``/``unfreeze`` add layer-name globs after the spec's own ``freeze:`` and
    ``unfreeze:`` (see :mod:`archscope.elaborate.freeze`): a frozen layer's parameters get
    ``requires_grad=False`` (its buffers are never parameters). Raises :class:`SpecError` when
    the spec has errors.
    """
    torch = require_torch("`build`")
    analysis = checked_analysis(source, text=text, resolution=resolution, freeze=freeze, unfreeze=unfreeze)
    assert analysis.graph is not None
    if device is None:
        return lower_graph(analysis.graph, inplace=inplace)
    with torch.device(device):
        return lower_graph(analysis.graph, inplace=inplace)


@lru_cache(maxsize=1)
def _reserved() -> frozenset[str]:
    """Attribute names a submodule may not take (they belong to nn.Module or GraphModule)."""
    from torch import fx, nn

    from archscope.torch_backend.modules import Network, Scope

    probe = Network(nn.Module(), fx.Graph())
    return frozenset(dir(probe)) | frozenset(dir(Scope("x")))


def module_names(graph: Graph) -> dict[str, str]:
    """Spec layer name → module qualified name (the same, but for names that shadow attributes)."""
    reserved = _reserved()
    taken: dict[str, set[str]] = {}
    renamed: dict[str, str] = {}  # spec prefix → module prefix
    out: dict[str, str] = {}
    for node in graph.nodes:
        spec_prefix, module_prefix = "", ""
        for part in node.name.split("."):
            spec_key = f"{spec_prefix}.{part}" if spec_prefix else part
            if spec_key not in renamed:
                siblings = taken.setdefault(module_prefix, set())
                name = part
                while name in reserved or name in siblings or keyword.iskeyword(name):
                    name += "_"
                siblings.add(name)
                renamed[spec_key] = f"{module_prefix}.{name}" if module_prefix else name
            spec_prefix, module_prefix = spec_key, renamed[spec_key]
        out[node.name] = module_prefix
    return out


def lower_graph(g: Graph, *, inplace: bool = True) -> Any:
    """Lower every node with its op's ``lower`` and wire them into one ``GraphModule``."""
    from torch import fx, nn

    from archscope.torch_backend.modules import Network, Scope, attach

    names = module_names(g)
    in_place = inplace_nodes(g) if inplace else set()
    fx_graph = fx.Graph()
    names_of_inputs = ["x"] if len(g.inputs) == 1 else _parameters([n.name for n in g.inputs])
    values: dict[tuple[Node, int], fx.Node] = {
        (node, 0): fx_graph.placeholder(name) for node, name in zip(g.inputs, names_of_inputs, strict=True)
    }
    root = nn.Module()
    for node in g.nodes:
        op = REGISTRY[node.op]
        try:
            module = op.lower(node.attrs, [n.known_shape() for n in node.inputs], node.known_shape())
        except (ValueError, TypeError, RuntimeError) as exc:
            raise LoweringError(
                f"`{node.name}` ({node.op}) at {node.span}: torch rejects the layer that the static rules accept: {exc}"
            ) from exc
        if node in in_place:
            module.inplace = True
        if not node.trainable:
            module.requires_grad_(False)
        qualname = names[node.name]
        _place(root, qualname, module, node, Scope, attach)
        args = tuple(values[(src, node.port(i))] for i, src in enumerate(node.inputs))
        out = fx_graph.create_node("call_module", qualname, args, name=_fx_name(qualname))
        produced = op.extra_outputs(node.attrs)
        if produced:
            for port in range(len(produced) + 1):
                values[(node, port)] = fx_graph.call_function(operator.getitem, (out, port))
        else:
            values[(node, 0)] = out
    outs = [values[(out, 0)] for out in g.outputs if out is not None]
    assert len(outs) == len(g.outputs)
    fx_graph.output(outs[0] if len(outs) == 1 else tuple(outs))
    class_name = re.sub(r"\W", "_", g.name) or "Network"
    gm = Network(nn.Module(), fx.Graph(), class_name=class_name)
    for child_name, child in root.named_children():  # keep the Scope containers (fx would flatten them)
        attach(gm, child_name, child)
    gm.graph = fx_graph
    gm.meta["archscope"] = {
        "name": g.name,
        "input": tuple(g.input.shape or ()),
        "inputs": {node.name: tuple(node.shape or ()) for node in g.inputs},
        "outputs": list(g.output_names),
        "modules": names,
    }
    return gm


# what fx's generated forward refers to besides builtins: its first parameter and its globals
_FX_NAMES = frozenset({"self", "torch", "inf", "nan", "NoneType", "device", "fx_pytree", "pytree"})


def _parameters(names: list[str]) -> list[str]:
    """The generated ``forward``'s parameters, one per input, named after them (fx writes each
    placeholder's name as it is): ``-`` as ``_``, and a trailing ``_`` where that is a keyword, a
    builtin, a name fx's code uses (``def forward(self, self)``; an input ``getattr`` hid the
    builtin the code calls) or a name taken."""
    taken = set(_FX_NAMES)
    out = []
    for name in names:
        name = re.sub(r"\W", "_", name)
        while name in taken or keyword.iskeyword(name) or hasattr(builtins, name):
            name += "_"
        taken.add(name)
        out.append(name)
    return out


def _fx_name(qualname: str) -> str | None:
    """A name for a layer's value in fx's generated ``forward`` where fx's own could be ``self``
    (a layer called ``self`` made ``self = self.self(x)``); None: fx's own, which keeps clear of
    keywords, builtins and fx's globals."""
    return "self_" if re.sub(r"[\W_]", "", qualname).lower() == "self" else None


def _place(root: Any, qualname: str, module: Any, node: Node, scope_cls: type, attach: Any) -> None:
    """Put ``module`` at ``qualname`` under ``root``, creating the Scope containers on the way."""
    *parents, leaf = qualname.split(".")
    spec_parts = node.name.split(".")
    block_of = dict(zip(node.path, node.blocks, strict=True))
    here = root
    for depth, part in enumerate(parents):
        child = here._modules.get(part)
        if child is None:
            spec_prefix = ".".join(spec_parts[: depth + 1])
            child = scope_cls(block_of.get(spec_prefix, "repeat"))
            attach(here, part, child)
        here = child
    attach(here, leaf, module)


def layer_modules(module: Any) -> dict[str, Any]:
    """Spec layer name → its submodule, for a module made by :func:`build`."""
    names = module.meta["archscope"]["modules"]
    return {layer: module.get_submodule(q) for layer, q in names.items()}
