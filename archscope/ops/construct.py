"""A layer's PyTorch module as data (:class:`Construct`): the class and constructor arguments an op
declares once, built into a module by the lowering and written as Python source by
``archscope export --to pytorch`` (imports torch only when a module is built or its signature read).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any


@dataclass(frozen=True)
class Construct:
    """One layer's PyTorch module, as data: a class and the arguments of its constructor.

    An op declares it once (``OpDef.module``); :meth:`build` makes the module (``OpDef.lower``)
    and :meth:`source` writes the same call as Python (``nn.Conv2d(3, 64, 7, stride=2)``), so a
    built network and its exported source cannot disagree. ``cls`` names a ``torch.nn`` class,
    or, with ``helper``, a class of :mod:`archscope.ops.torch_modules` (an exported file carries
    that class's source).
    """

    cls: str
    args: tuple[Any, ...] = ()
    kwargs: tuple[tuple[str, Any], ...] = ()
    helper: bool = False

    def module_class(self) -> type[Any]:
        """The class (imports torch)."""
        if self.helper:
            from archscope.ops import torch_modules

            helper: type[Any] = getattr(torch_modules, self.cls)
            return helper
        from torch import nn

        cls: type[Any] = getattr(nn, self.cls)
        return cls

    def build(self) -> Any:
        return self.module_class()(*self.args, **dict(self.kwargs))

    def with_kwargs(self, **kwargs: Any) -> Construct:
        return replace(self, kwargs=tuple({**dict(self.kwargs), **kwargs}.items()))

    def source(self) -> str:
        """The constructor call as Python source; keyword arguments equal to the constructor's
        defaults are left out (imports torch, to read the signature)."""
        import inspect

        params = inspect.signature(self.module_class().__init__).parameters
        shown = [
            f"{k}={python_literal(v)}"
            for k, v in self.kwargs
            if k not in params or params[k].default is inspect.Parameter.empty or not _same_value(params[k].default, v)
        ]
        prefix = "" if self.helper else "nn."
        return f"{prefix}{self.cls}(" + ", ".join([python_literal(a) for a in self.args] + shown) + ")"


def module(cls: str, *args: Any, **kwargs: Any) -> Construct:
    """A ``torch.nn`` module: ``module("Conv2d", 3, 64, 7, stride=2)``."""
    return Construct(cls, args, tuple(kwargs.items()))


def helper_module(cls: str, *args: Any, **kwargs: Any) -> Construct:
    """A module of :mod:`archscope.ops.torch_modules`: ``helper_module("Add")``."""
    return Construct(cls, args, tuple(kwargs.items()), helper=True)


def _same_value(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b or (a is None and b is None)


_LITERAL_ESCAPES = {"\\": "\\\\", '"': '\\"'}


def _char_literal(c: str) -> str:
    return c if c.isprintable() else c.encode("unicode_escape").decode("ascii")


def python_literal(v: Any) -> str:
    """``v`` (a number, string, boolean, None, or a tuple or list of them) as Python source that
    evaluates to it: a string's quote, backslash and unprintable characters are escaped, an
    infinite or NaN float is ``float("inf")``."""
    if isinstance(v, str):  # every character that could end the literal or the line, escaped
        return '"' + "".join(_LITERAL_ESCAPES.get(c) or _char_literal(c) for c in v) + '"'
    if isinstance(v, float) and not math.isfinite(v):  # repr gives `inf`, a name in Python source
        return f'float("{v!r}")'
    if isinstance(v, tuple):
        inner = ", ".join(python_literal(x) for x in v)
        return f"({inner},)" if len(v) == 1 else f"({inner})"
    if isinstance(v, list):
        return "[" + ", ".join(python_literal(x) for x in v) + "]"
    if v is None or isinstance(v, (bool, int, float)):
        return repr(v)
    raise TypeError(f"no Python literal for {v!r}")
