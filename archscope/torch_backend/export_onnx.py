"""Export a spec's network as an ONNX file (``archscope export --to onnx``).

``onnx_model``: ``torch.onnx.export`` of the built network in eval mode, with a dynamic batch
dimension and the spec's title, paper and source in the model's metadata. The TorchScript
exporter (``dynamo=False``, deprecated but shipped by torch 2.13) is fast and needs nothing
more; where it fails, the ``torch.export``-based one (onnxscript). ``onnx.checker`` and strict
shape inference must accept the result. Like the lowering, this module names no op.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from archscope.api import Analysis
from archscope.graph import Graph
from archscope.torch_backend.errors import BackendError, require_torch
from archscope.torch_backend.export import input_names

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
    names = (input_names(g), list(g.output_names))
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
