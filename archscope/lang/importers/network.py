"""The network an importer found, before it is written as a spec: layers in order, each an
archscope op with attributes and named inputs, and where in the source it came from.

Importers (PyTorch, ONNX) build a :class:`Network`; :func:`archscope.lang.importers.fold.fold` finds
the repeated blocks and :func:`archscope.lang.importers.write.spec_text` writes the YAML.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from archscope.lang.spec_reader import NAME_RE
from archscope.ops.import_rules import Weight
from archscope.ops.registry import Shape

__all__ = ["INPUT", "Layer", "Names", "Network", "Weight"]  # Weight: the ops' type, re-exported

INPUT = "input"  # the name a single-input network's first layer reads


@dataclass
class Layer:
    """One layer: ``inputs`` name layers of the network (``name.1`` for an extra output) or its
    inputs; ``origin`` is the part of the source it stands for (a module path ``layer1.0.conv1``,
    a call in a module's forward ``layer1.0:add``, an ONNX node name)."""

    name: str
    op: str
    attrs: dict[str, Any]
    inputs: list[str]
    origin: str
    params: int = 0  # the source's own parameter count for this part (0 for calls)
    qualified: str = ""  # its node's name in the written spec (`layer1.0.conv1`); set by fold ("" = ``name``)


@dataclass
class Network:
    name: str
    inputs: dict[str, Shape]  # input name → shape without the batch dimension, in order
    layers: list[Layer]
    outputs: list[str]  # the layers the network returns, in order
    source: str  # as the user named it
    notes: list[str] = field(default_factory=list)  # said in the spec's header
    title: str = ""
    expect: dict[str, Any] = field(default_factory=dict)  # the source's own counts
    weights: list[str] = field(default_factory=list)  # parameters (or their modules) read directly by calls
    modules: dict[str, str] = field(default_factory=dict)  # module path → its class's name (names blocks)

    def layer(self, name: str) -> Layer:
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise KeyError(name)


_UNSAFE = re.compile(r"[^A-Za-z0-9_]+")


class Names:
    """Unique spec names made from source names (``layer1.0.conv1`` → ``layer1_0_conv1``)."""

    def __init__(self, taken: tuple[str, ...] = ()) -> None:
        self.used: set[str] = set(taken)

    def make(self, wanted: str) -> str:
        base = _UNSAFE.sub("_", wanted).strip("_") or "layer"
        if not NAME_RE.fullmatch(base):  # starts with a digit
            base = f"l{base}"
        name, k = base, 2
        while name in self.used:
            name, k = f"{base}_{k}", k + 1
        self.used.add(name)
        return name
