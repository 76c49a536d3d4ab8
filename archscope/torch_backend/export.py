"""Export a spec's network: a standalone PyTorch source file, or an ONNX file.

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

``onnx_model``: ``torch.onnx.export`` of the built network in eval mode, with a dynamic batch
dimension and the spec's title, paper and source in the model's metadata. The TorchScript
exporter (``dynamo=False``, deprecated but shipped by torch 2.13) is fast and needs nothing
more; where it fails, the ``torch.export``-based one (onnxscript). ``onnx.checker`` and strict
shape inference must accept the result.

Like the lowering, this module names no op: what it needs, it reads from the op's facts.
"""

from __future__ import annotations

import builtins
import contextlib
import inspect
import io
import keyword
import os
import re
import sys
import warnings
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

from archscope.api import Analysis
from archscope.graph import Graph, Node
from archscope.ops import REGISTRY
from archscope.ops.construct import Construct, python_literal
from archscope.render.safe import oneline
from archscope.torch_backend.errors import BackendError, require_torch

EXPORT_HINT = "pip install 'archscope[export]'"
OPSET = 17  # ONNX opset: supported by torch 2.13's TorchScript exporter and by onnxruntime ≥ 1.14


class OnnxMissing(BackendError):
    pass


class ExportFailed(BackendError):
    """The exporter refused the network (an operator without an ONNX form, say)."""

    exit_code = 1


def require_onnx() -> Any:
    """Import and return ``onnx``, or raise :class:`OnnxMissing` with the install command."""
    try:
        import onnx
    except ImportError as exc:
        raise OnnxMissing(
            f"`export --to onnx` needs the onnx package, which is not installed ({exc.msg}); "
            f"install archscope's export extra: {EXPORT_HINT}"
        ) from None
    return onnx


# ---- pytorch -------------------------------------------------------------------------------

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
    ins = ", ".join(f"`{name}` {_batched(n.shape)}" for name, n in zip(_input_names(g), g.inputs))
    outs = ", ".join(f"`{name}` {_batched(n.shape if n else None)}" for name, n in zip(g.output_names, g.outputs))
    lines += [
        "",
        f"Input {ins}; output {outs}; {params:,} parameters.",
        f"Generated by `archscope export {oneline(source_name)} --to pytorch` from {oneline(Path(g.file).name)}: "
        "it needs only",
        "PyTorch. Edit the spec and export again rather than editing this file.",
    ]
    return "\n".join(lines)


def _input_names(g: Graph) -> list[str]:
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
    inputs = [variables.new(n) for n in _input_names(g)]
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


# ---- onnx ----------------------------------------------------------------------------------


def onnx_model(analysis: Analysis, source_name: str | None = None, *, model: Any = None, opset: int = OPSET) -> bytes:
    """The network of ``analysis`` (without errors) as a checked ONNX model's bytes: ``model``
    (a module ``build`` made from it, with trained weights, say) or a newly built one.

    The TorchScript exporter first (seconds for ResNet-50); where it refuses the network, or its
    model fails the checks (``onnx.checker`` and strict shape inference: it writes
    ``aten::channel_shuffle`` nowhere and cannot trace ``F.max_unpool2d``'s checks), the
    ``torch.export``-based exporter (onnxscript; ten times slower). Raises :class:`ExportFailed`
    when neither gives a model that passes."""
    torch = require_torch("`export --to onnx`")
    onnx = require_onnx()
    from archscope.torch_backend.lowering import lower_graph

    g = analysis.graph
    assert g is not None
    model = (model if model is not None else lower_graph(g)).eval()
    example = tuple(torch.randn(2, *n.known_shape()) for n in g.inputs)  # batch 2: 1 would be specialised
    names = (_input_names(g), list(g.output_names))
    failures = []
    for exporter in (_torchscript_export, _dynamo_export):
        try:
            proto = exporter(torch, model, example, names, opset)
            _check(onnx, proto)
        except _Refused as exc:
            failures.append(str(exc))
            continue
        _describe(proto, g, source_name)
        return proto.SerializeToString()
    raise ExportFailed(f"cannot export `{g.name}` to ONNX: " + "; ".join(failures))


class _Refused(Exception):
    pass


def _torchscript_export(torch: Any, model: Any, example: tuple, names: tuple[list[str], list[str]], opset: int) -> Any:
    import onnx

    inputs, outputs = names
    buffer = io.BytesIO()
    try:
        with warnings.catch_warnings(), torch.no_grad(), _c_output_silenced():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                model,
                example,
                buffer,
                dynamo=False,
                opset_version=opset,
                input_names=inputs,
                output_names=outputs,
                dynamic_axes={name: {0: "batch"} for name in inputs + outputs},
            )
    except Exception as exc:  # noqa: BLE001 - the exporter's many error types, for people
        raise _Refused(f"the TorchScript exporter: {type(exc).__name__}: {_first_line(exc)}") from None
    return onnx.load_from_string(buffer.getvalue())


@contextlib.contextmanager
def _c_output_silenced() -> Iterator[None]:
    """Standard output and error closed at the file descriptors: when the TorchScript exporter
    fails, its C++ log prints the whole TorchScript graph (torch 2.13 turns that log on for every
    export, and C's stdio buffer may hold it until the process exits: flushed here, while closed)."""
    import ctypes

    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    try:
        saved = [os.dup(1), os.dup(2)]
    except OSError:
        yield
        return
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 1)
        os.dup2(null, 2)
        yield
    finally:
        try:
            ctypes.CDLL(None).fflush(None)
        except (OSError, AttributeError):
            pass
        for fd, copy in zip((1, 2), saved):
            os.dup2(copy, fd)
            os.close(copy)
        os.close(null)


def _dynamo_export(torch: Any, model: Any, example: tuple, names: tuple[list[str], list[str]], opset: int) -> Any:
    try:
        import onnxscript  # noqa: F401
    except ImportError:
        raise _Refused(f"the torch.export-based exporter needs onnxscript: {EXPORT_HINT}") from None
    import logging

    inputs, outputs = names
    batch = torch.export.Dim("batch")
    quiet = [logging.getLogger(name) for name in ("torch.onnx", "torch.export", "onnx_ir", "onnxscript")]
    levels = [logger.level for logger in quiet]
    try:
        for logger in quiet:
            logger.setLevel(logging.ERROR)
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            program = torch.onnx.export(
                model,
                example,
                dynamo=True,
                opset_version=max(opset, 18),  # its lowest
                input_names=inputs,
                output_names=outputs,
                dynamic_shapes=tuple({0: batch} for _ in example),
                verbose=False,
            )
    except Exception as exc:  # noqa: BLE001 - the exporter's many error types, for people
        raise _Refused(f"the torch.export-based exporter: {type(exc).__name__}: {_first_line(exc)}") from None
    finally:
        for logger, level in zip(quiet, levels):
            logger.setLevel(level)
    return program.model_proto


def _check(onnx: Any, proto: Any) -> None:
    """onnx.checker, and strict shape inference (it finds what onnxruntime would refuse to load,
    an invalid Transpose, which the checker lets pass)."""
    try:
        onnx.checker.check_model(proto)
        onnx.shape_inference.infer_shapes(proto, check_type=True, strict_mode=True)
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as exc:
        raise _Refused(f"its model fails onnx's checks: {_first_line(exc)}") from None


def _describe(proto: Any, g: Graph, source_name: str | None) -> None:
    """The spec's title, paper and source in the model's doc string and metadata (Netron shows them)."""
    proto.doc_string = str(g.meta.get("title") or g.name)
    for key in ("title", "paper", "year", "source", "url"):
        if g.meta.get(key):
            entry = proto.metadata_props.add()
            entry.key, entry.value = key, str(g.meta[key])
    entry = proto.metadata_props.add()
    entry.key, entry.value = "archscope_spec", f"{source_name or g.name} ({Path(g.file).name})"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else "(no message)"
