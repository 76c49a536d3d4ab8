"""Export a spec's network as a standalone PyTorch source file (the ONNX file:
:mod:`archscope.torch_backend.export_onnx`).

``pytorch_source``: a Python file that defines the network as an ``nn.Module`` and needs only
torch. Each layer's constructor is its op's declared :class:`~archscope.ops.construct.Construct`
(the one :func:`~archscope.torch_backend.lowering.build` instantiates), written as source; the
modules sit at the names ``build`` gives them (block instances and repeated layers as ``Block``
containers), so the ``state_dict`` of a built network loads into it with ``strict=True``; the
``forward`` calls the layers in the graph's order, one line each, with the static output shape
in a comment. The spec's title, paper and source go into docstrings only, each on one line
(:func:`~archscope.render.safe.oneline`), with ``\\`` and ``"`` escaped: a newline or an escape
sequence in them is written as ``\\n`` or ``\\x1b``, so it can neither end a docstring nor start
a line of the printed file. Classes beyond ``torch.nn`` (the merges, ConvNeXt's channel layer norm…) are
copied from :mod:`archscope.ops.torch_modules`. In place and frozen layers are as ``build``
makes them.

Like the lowering, this module names no op: what it needs, it reads from the op's facts.
"""

from __future__ import annotations

import builtins
import inspect
import keyword
import re
from functools import lru_cache
from pathlib import Path

from archscope.api import Analysis
from archscope.graph import Graph, Node
from archscope.ops import REGISTRY
from archscope.ops.construct import Construct, python_literal
from archscope.render.safe import oneline
from archscope.torch_backend.errors import require_torch

BLOCK_SOURCE = '''class Block(nn.Module):
    """The layers of one block instance (or of one repeated layer), under its name: a container
    without a forward of its own (the network's forward calls its layers). ``kind`` is the
    block's type (``repeat`` for a repeated layer); ``block[0]`` is child ``"0"``."""

    def __init__(self, kind: str):
        super().__init__()
        self.kind = kind

    def _get_name(self) -> str:
        return self.kind

    def __getitem__(self, key: int | str) -> nn.Module:
        return self._modules[str(key)]
'''


def class_name(g: Graph) -> str:
    """From the spec's title where it gives a short name (``LeNet-5`` → ``LeNet5``,
    ``ConvNeXt-T`` → ``ConvNeXtT``, ``AlexNet (torchvision)`` → ``AlexNet``), else from its name
    (``mobilenet_v2`` → ``MobilenetV2``); with a trailing ``_`` where that is a name the file
    defines or uses otherwise (``Block``, a copied class such as ``Add``, ``None``, a builtin such
    as ``ValueError``)."""
    name = "Network"
    for text in (str(g.meta.get("title") or "").split("(")[0], g.name):
        words = [w for w in re.split(r"[\W_]+", text, flags=re.ASCII) if w]
        candidate = "".join(w[:1].upper() + w[1:] for w in words)
        if candidate and candidate[0].isalpha() and len(candidate) <= 32:
            name = candidate
            break
    while name in _module_names():
        name += "_"
    return name


@lru_cache(maxsize=1)
def _module_names() -> frozenset[str]:
    """The names an exported file's code refers to: keywords, builtins, its imports, ``Block`` and
    every class it may copy from :mod:`archscope.ops.torch_modules`."""
    from archscope.ops import torch_modules

    return frozenset(
        {*keyword.kwlist, *keyword.softkwlist, *dir(builtins), *dir(torch_modules), "Block", "annotations"}
    )


def _attribute(part: str) -> bool:
    """Whether ``self.part`` reaches attribute ``part``: an identifier, not a keyword, and not
    ``__name`` (Python mangles that to ``_Class__name`` inside a class)."""
    mangled = part.startswith("__") and not part.endswith("__")
    return part.isidentifier() and not keyword.iskeyword(part) and not mangled


def _access(qualname: str) -> str:
    """``layer1.0.conv1`` → ``self.layer1[0].conv1`` (a Block is indexed by its children's
    numbers; any other name that is not an attribute is reached with ``getattr``)."""
    out = "self"
    for depth, part in enumerate(qualname.split(".")):
        if _attribute(part):
            out += f".{part}"
        elif depth > 0 and part.isdigit() and str(int(part)) == part:
            out += f"[{part}]"
        else:
            out = f"getattr({out}, {python_literal(part)})"
    return out


def _assign(qualname: str, value: str) -> str:
    """The statement that puts ``value`` at ``qualname`` under ``self``."""
    parent, _, leaf = qualname.rpartition(".")
    owner = _access(parent) if parent else "self"
    if _attribute(leaf):
        return f"{owner}.{leaf} = {value}"
    return f"{owner}.add_module({python_literal(leaf)}, {value})"


class _Names:
    """Python variable names for the forward's values, unique, and never a keyword or a name the
    file uses (``getattr``, ``torch``, a class; see :func:`_module_names`)."""

    def __init__(self, taken: set[str]):
        self.taken = set(taken)

    def new(self, name: str) -> str:
        base = re.sub(r"\W", "_", name)
        if not base or base[0].isdigit():
            base = f"_{base}"
        candidate = base
        while keyword.iskeyword(candidate) or candidate in self.taken:
            candidate += "_"
        self.taken.add(candidate)
        return candidate


def _batched(shape: tuple[int, ...] | None) -> str:
    return "(N, " + ", ".join(str(d) for d in shape or ()) + ")"


def _docstring(g: Graph, source_name: str, params: int) -> str:
    meta = g.meta
    lines = [oneline(meta.get("title") or g.name), ""]
    for key in ("paper", "year", "source", "url"):
        if meta.get(key):
            lines.append(f"{key.capitalize()}: {oneline(meta[key])}")
    ins = ", ".join(f"`{name}` {_batched(n.shape)}" for name, n in zip(input_names(g), g.inputs))
    outs = ", ".join(f"`{name}` {_batched(n.shape if n else None)}" for name, n in zip(g.output_names, g.outputs))
    lines += [
        "",
        f"Input {ins}; output {outs}; {params:,} parameters.",
        f"Generated by `archscope export {oneline(source_name)} --to pytorch` from {oneline(Path(g.file).name)}: "
        "it needs only",
        "PyTorch. Edit the spec and export again rather than editing this file.",
    ]
    return "\n".join(lines)


def input_names(g: Graph) -> list[str]:
    return ["x"] if len(g.inputs) == 1 else [n.name for n in g.inputs]


def pytorch_source(analysis: Analysis, source_name: str | None = None) -> str:
    """The network of ``analysis`` (without errors) as a standalone PyTorch file's source."""
    require_torch("`export --to pytorch`")
    from archscope.torch_backend.lowering import inplace_nodes, module_names

    g = analysis.graph
    assert g is not None and analysis.report is not None
    names = module_names(g)
    in_place = inplace_nodes(g)
    helpers: dict[str, type] = {}
    init: list[str] = []
    forward: list[str] = []
    made: set[str] = set()
    cls = class_name(g)
    variables = _Names({"self", "torch", "nn", cls, *_module_names()})
    inputs = [variables.new(n) for n in input_names(g)]
    values: dict[Node, str] = dict(zip(g.inputs, inputs))
    tuples: set[Node] = set()  # layers that return (main, *extras)
    scope = ""
    for node in g.nodes:
        op = REGISTRY[node.op]
        construct: Construct = op.module(node.attrs, [n.known_shape() for n in node.inputs], node.known_shape())
        if node in in_place:
            construct = construct.with_kwargs(inplace=True)
        if construct.helper:
            helpers[construct.cls] = construct.module_class()
        qualname = names[node.name]
        where = ".".join(node.path)
        if where != scope:
            scope = where
            init.append("")
            if where:
                init.append(f"# {where}: {node.blocks[-1]}")
                forward.append(f"# {where}: {node.blocks[-1]}")
        parts = qualname.split(".")
        block_of = dict(zip(node.path, node.blocks))
        spec_parts = node.name.split(".")
        for depth in range(1, len(parts)):
            container = ".".join(parts[:depth])
            if container not in made:
                made.add(container)
                kind = block_of.get(".".join(spec_parts[:depth]), "repeat")
                init.append(_assign(container, f"Block({python_literal(kind)})"))
        init.append(_assign(qualname, construct.source()))
        if not node.trainable:
            init.append(f"{_access(qualname)}.requires_grad_(False)  # frozen (`freeze:` in the spec)")
        args = ", ".join(_value(values, tuples, src, node.port(i)) for i, src in enumerate(node.inputs))
        var = variables.new(node.name)
        values[node] = var
        if op.extra_outputs(node.attrs):
            tuples.add(node)
        forward.append(f"{var} = {_access(qualname)}({args})  # {_batched(node.shape)}")
    outs = [_value(values, tuples, out, 0) for out in g.outputs if out is not None]
    forward.append("return " + ", ".join(outs))
    params = analysis.report.totals.params
    doc = _string_body(_docstring(g, source_name or g.name, params))
    signature = ", ".join(f"{name}: torch.Tensor" for name in inputs)
    returns = "torch.Tensor" if len(outs) == 1 else "tuple[torch.Tensor, ...]"
    pieces = [
        f'"""{doc}\n"""',
        "",
        "from __future__ import annotations",
        "",
        "import torch",
        "from torch import nn",
    ]
    for helper in helpers.values():
        pieces += ["", "", inspect.getsource(helper).rstrip()]
    if made:
        pieces += ["", "", BLOCK_SOURCE.rstrip()]
    title = _string_body(oneline(g.meta.get("title") or g.name))
    pieces += [
        "",
        "",
        f"class {cls}(nn.Module):",
        f'    """{title}: {len(g.nodes)} layers, {params:,} parameters (see the module docstring)."""',
        "",
        "    def __init__(self) -> None:",
        "        super().__init__()",
        *[f"        {line}" if line else "" for line in init],
        "",
        f"    def forward(self, {signature}) -> {returns}:",
        *[f"        {line}" for line in forward],
        "",
    ]
    return "\n".join(pieces)


def _string_body(text: str) -> str:
    """``text`` for the inside of a triple-quoted string: backslashes and quotes escaped, and every
    character that is not printable (a NUL, a carriage return, a lone surrogate) but the newline."""
    return "".join("\n" if c == "\n" else python_literal(c)[1:-1] for c in text)


def _value(values: dict[Node, str], tuples: set[Node], src: Node, port: int) -> str:
    """The expression for output ``port`` of ``src``: a layer whose op has extra outputs (in
    ``tuples``) returns the tuple ``(main, *extras)`` (as in the lowering), indexed here."""
    return f"{values[src]}[{port}]" if src in tuples else values[src]
