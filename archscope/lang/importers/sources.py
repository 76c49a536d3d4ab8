"""What ``archscope import SOURCE`` can name, and how each is opened (imports torch where needed).

- ``py:PACKAGE.MODULE:CALLABLE`` or ``py:path/to/file.py:CALLABLE``: the callable is called (with
  ``--kwargs``) and must return an ``nn.Module``. Naming it is consent to run that code, as
  ``python -c`` would; the current folder is on the import path.
- ``timm:NAME``: ``timm.create_model(NAME, pretrained=False)`` (no download); the input shape
  from its ``pretrained_cfg``.
- a ``.pt``/``.pth``/``.pkl`` file: a TorchScript archive is not a graph of modules archscope can
  trace (E303 says so); a ``torch.save(model)`` pickle runs code when loaded, so it is opened
  only with ``--trust`` (E304); a ``state_dict`` holds weights, not an architecture (E303).
- a ``.onnx`` file and an Ultralytics model ``.yaml``: their own front ends.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from archscope.diagnostics import Diagnostic
from archscope.ops.registry import Shape

PICKLE_SUFFIXES = (".pt", ".pth", ".pkl", ".bin", ".ckpt")


class SourceError(Exception):
    """The source cannot be opened; ``diagnostic`` says why (E000, E302, E303 or E304)."""

    def __init__(self, diagnostic: Diagnostic):
        super().__init__(diagnostic.message)
        self.diagnostic = diagnostic


@dataclass
class Opened:
    module: Any  # an nn.Module
    name: str  # a spec name for it
    input: Shape | None  # the input shape the source itself states (timm's pretrained_cfg), or None
    notes: list[str]


def kind(source: str) -> str:
    """``py``, ``timm``, ``onnx``, ``ultralytics`` or ``torch`` (a saved file)."""
    if source.startswith("py:"):
        return "py"
    if source.startswith("timm:"):
        return "timm"
    suffix = Path(source).suffix.lower()
    if suffix == ".onnx":
        return "onnx"
    if suffix in (".yaml", ".yml"):
        return "ultralytics"
    return "torch"


def _error(code: str, message: str, **kw: Any) -> SourceError:
    return SourceError(Diagnostic(code, message, **kw))


def _failed(code: str, what: str, e: BaseException, expected: str) -> SourceError:
    """The user's code (or file) raised ``e``: said in its own words, first 300 characters."""
    return _error(
        code, f"{what}: {type(e).__name__}: {str(e).strip()[:300]}", expected=expected, found=type(e).__name__
    )


def open_python(source: str, kwargs: dict[str, Any]) -> Opened:
    spec = source[len("py:") :]
    target, sep, attr = spec.rpartition(":")
    if not sep or not target or not attr:
        raise _error(
            "E000",
            f"`{source}` is not `py:PACKAGE.MODULE:CALLABLE` or `py:FILE.py:CALLABLE`",
            expected="py:package.module:factory",
            found=source,
        )
    try:
        if target.endswith(".py"):
            path = Path(target)
            if not path.is_file():
                raise _error("E000", f"no such Python file: `{target}`", expected="a .py file", found=target)
            name = f"archscope_import_{abs(hash(str(path.resolve())))}"
            loader_spec = importlib.util.spec_from_file_location(name, path)
            if loader_spec is None or loader_spec.loader is None:
                raise _error("E000", f"cannot load `{target}` as Python", found=target)
            mod = importlib.util.module_from_spec(loader_spec)
            sys.modules[name] = mod
            loader_spec.loader.exec_module(mod)
        else:
            if "" not in sys.path and str(Path.cwd()) not in sys.path:
                sys.path.insert(0, str(Path.cwd()))
            mod = importlib.import_module(target)
    except SourceError:
        raise
    except Exception as e:  # noqa: BLE001 - the user's module failed to import: said in its words
        raise _failed("E000", f"importing `{target}` failed", e, "an importable Python module") from None
    factory = getattr(mod, attr, None)
    if factory is None or not callable(factory):
        raise _error("E000", f"`{target}` has no callable `{attr}`", expected="a function or class", found=attr)
    module = _call(factory, kwargs, f"{target}:{attr}")
    return Opened(module, _spec_name(attr), None, [])


def _call(factory: Any, kwargs: dict[str, Any], what: str) -> Any:
    import torch

    try:
        module = factory(**kwargs)
    except Exception as e:  # noqa: BLE001 - the user's factory may raise anything: a diagnostic
        raise _failed("E000", f"calling `{what}` failed", e, "a factory that builds the network") from None
    if not isinstance(module, torch.nn.Module):
        raise _error(
            "E303",
            f"`{what}` returned a {type(module).__name__}, not an nn.Module",
            expected="an nn.Module",
            found=type(module).__name__,
        )
    return module


def open_timm(source: str, kwargs: dict[str, Any]) -> Opened:
    name = source[len("timm:") :]
    if importlib.util.find_spec("timm") is None:
        raise _error("E000", "`timm:` needs timm: pip install timm", expected="timm installed", found="no timm")
    import timm

    if name not in timm.list_models():
        raise _error("E000", f"timm has no model `{name}`", expected="a name from timm.list_models()", found=name)
    module = _call(lambda **kw: timm.create_model(name, pretrained=False, **kw), kwargs, f"timm.create_model({name!r})")
    cfg = getattr(module, "pretrained_cfg", None) or {}
    size = cfg.get("input_size")
    notes = [f"timm {timm.__version__}: create_model({name!r}, pretrained=False)"]
    return Opened(module, _spec_name(name), tuple(size) if size else None, notes)


def open_saved(path: str, trust: bool) -> Opened:
    """A file written by ``torch.save`` (a pickle, or a zip with one) or ``torch.jit.save``."""
    import torch

    p = Path(path)
    if not p.is_file():
        raise _error("E000", f"no such file: `{path}`", expected="a file", found=path)
    if _is_torchscript(p):
        raise _error(
            "E303",
            f"`{path}` is a TorchScript archive: its graph is compiled code, not modules archscope can trace",
            expected="a torch.save(model) file, an ONNX file or py:module:factory",
            found="TorchScript",
            notes=("export the model to ONNX (torch.onnx.export) and import the .onnx file, or import its code",),
        )
    try:  # weights only: runs no code, so it is always safe to look
        obj = torch.load(p, map_location="cpu", weights_only=True)
    except Exception:  # noqa: BLE001 - not weights only: the file holds pickled code
        obj = None
        if not trust:
            raise _error(
                "E304",
                f"`{path}` holds pickled Python objects (a whole model): loading it runs code the file names",
                expected="--trust, if you trust the file's author",
                found="a pickle with code",
            ) from None
    if obj is None:
        try:
            obj = torch.load(p, map_location="cpu", weights_only=False)
        except Exception as e:  # noqa: BLE001 - unpickling may raise anything: a diagnostic
            raise _failed(
                "E303", f"`{path}` cannot be loaded", e, "a torch.save(model) file whose classes import"
            ) from None
    if isinstance(obj, torch.nn.Module):
        return Opened(obj, _spec_name(p.stem), None, [f"loaded from {p.name} with --trust"])
    if isinstance(obj, dict) and obj and all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise _error(
            "E303",
            f"`{path}` is a state_dict ({len(obj)} tensors): weights without an architecture",
            expected="a whole model (torch.save(model)), an ONNX file or py:module:factory",
            found=f"a state_dict of {len(obj)} tensors",
        )
    raise _error(
        "E303",
        f"`{path}` holds a {type(obj).__name__}, not an nn.Module",
        expected="a whole model (torch.save(model))",
        found=type(obj).__name__,
    )


def _is_torchscript(p: Path) -> bool:
    if not zipfile.is_zipfile(p):
        return False
    with zipfile.ZipFile(p) as z:
        return any(n.endswith("/constants.pkl") or n.endswith("/code/__torch__.py") for n in z.namelist()[:200])


def _spec_name(text: str) -> str:
    from archscope.lang.importers.network import Names

    return Names().make(text.rsplit(".", 1)[-1].lower())


def parse_kwargs(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        raise _error(
            "E000", f"--kwargs is not JSON: {e.msg}", expected='a JSON object: {"num_classes": 10}', found=text
        ) from None
    if not isinstance(value, dict):
        raise _error("E000", "--kwargs must be a JSON object", expected='{"num_classes": 10}', found=text)
    return value
