"""The modules that hold a built network together: named block containers and the network class.

The modules of single layers come from each op's lowering (those beyond ``torch.nn`` live in
:mod:`archscope.ops.torch_modules`).
"""

from __future__ import annotations

from typing import Any

from torch import fx, nn


def attach(parent: nn.Module, name: str, child: nn.Module) -> None:
    """``parent.add_module(name, child)``, and ``child`` also as a plain instance attribute.

    The generated ``forward`` reaches a leaf as ``getattr(self.layer1, "0").conv1``; through
    ``nn.Module.__getattr__`` (a Python function, called for every level) that cost 1.0 ms per
    MobileNet v2 forward, 3.5% of it. A plain attribute is found by Python's C lookup instead.
    ``nn.Module.__setattr__`` drops the attribute when a child is replaced; the
    ``__delattr__`` below drops it when a child is deleted.
    """
    parent.add_module(name, child)
    parent.__dict__[name] = child


class _FastChildren:
    """Keeps :func:`attach`'s plain attributes consistent when a child is deleted."""

    def __delattr__(self, name: str) -> None:
        if name in self.__dict__.get("_modules", {}):
            self.__dict__.pop(name, None)
        super().__delattr__(name)


class Scope(_FastChildren, nn.Module):
    """A container for the layers of one block instance or one repeated layer.

    It has no ``forward``: the network's generated ``forward`` calls the leaf modules directly.
    ``kind`` is the block's type (``basic``) or ``repeat``; it is what ``print(model)`` shows.
    """

    def __init__(self, kind: str):
        super().__init__()
        self.kind = kind

    def _get_name(self) -> str:
        return self.kind

    def __getitem__(self, key: int | str) -> nn.Module:
        """``net.layer1[0]`` for the instances of a repeated layer, as with ``nn.Sequential``."""
        child = self._modules[str(key)]
        if child is None:  # `nn.Module` allows a None child; attach never makes one
            raise KeyError(key)
        return child


class Network(_FastChildren, fx.GraphModule):
    """The module :func:`archscope.build` returns: a ``torch.fx.GraphModule`` whose top-level
    children are also plain attributes (see :func:`attach`)."""

    def __deepcopy__(self, memo: dict[int, Any]) -> Network:
        copy = super().__deepcopy__(memo)
        assert isinstance(copy, Network)  # fx copies into a new subclass of `type(self)`
        copy.__class__.__name__ = type(self).__name__  # fx's copy would be named `GraphModule`
        for name, child in copy._modules.items():
            copy.__dict__[name] = child
        return copy
