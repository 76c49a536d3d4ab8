"""What a caller changes about a spec without editing it (``analyze(..., resolution=64)``).

Overrides are an *input* to elaboration, next to the spec: the elaborator reads them where it
would read the spec's own value. Nothing here builds YAML, and the spec is never rewritten.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any


@dataclass(frozen=True)
class Overrides:
    """``resolution``: the input's spatial size, one integer or one per spatial dimension (as
    ``scale.resolution``). ``params``: values that replace the spec's ``params:`` entries of the
    same name (plain values, not expressions; later ``params`` entries see them). ``input``: the
    whole input shape (channels first, no batch), instead of the spec's ``input:`` and its
    ``scale.resolution``; a ``resolution`` given with it still sets the spatial size.
    ``freeze``/``unfreeze``: layer-name globs appended after the spec's own ``freeze:`` and
    ``unfreeze:`` lists (all ``freeze`` patterns apply first, then all ``unfreeze``: see
    :mod:`archscope.elaborate.freeze`); they change no count, so ``expect:`` is still checked."""

    resolution: int | tuple[int, ...] | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    input: tuple[int, ...] | None = None
    freeze: tuple[str, ...] = ()
    unfreeze: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if isinstance(self.resolution, list):
            object.__setattr__(self, "resolution", tuple(self.resolution))
        if isinstance(self.input, list):
            object.__setattr__(self, "input", tuple(self.input))
        object.__setattr__(self, "params", MappingProxyType(dict(self.params)))
        for key in ("freeze", "unfreeze"):
            patterns = getattr(self, key)
            patterns = (patterns,) if isinstance(patterns, str) else tuple(patterns)
            if not all(isinstance(p, str) for p in patterns):
                raise TypeError(f"`{key}` takes layer-name patterns (strings), not {patterns!r}")
            object.__setattr__(self, key, patterns)

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        """Pickle as the constructor's arguments (a MappingProxyType does not pickle; a Ray task
        receives its overrides pickled)."""
        return (Overrides, (self.resolution, dict(self.params), self.input, self.freeze, self.unfreeze))

    @property
    def changes_network(self) -> bool:
        """True when the network differs from the spec's own: its ``expect:`` numbers then do not apply."""
        return self.resolution is not None or bool(self.params) or self.input is not None

    def describe(self) -> dict[str, Any]:
        """What was overridden, as plain data (the ``overrides`` of a JSON report); empty when nothing."""
        out: dict[str, Any] = {}
        if self.input is not None:
            out["input"] = list(self.input)
        if self.resolution is not None:
            out["resolution"] = list(self.resolution) if isinstance(self.resolution, tuple) else self.resolution
        if self.params:
            out["params"] = dict(self.params)
        return out

    def __str__(self) -> str:
        """``input 3×64×64, resolution 288, num_classes=10``: the summary's header line."""
        parts = []
        if self.input is not None:
            parts.append("input " + "×".join(map(str, self.input)))
        if self.resolution is not None:
            res = self.resolution
            parts.append("resolution " + ("×".join(map(str, res)) if isinstance(res, tuple) else str(res)))
        parts.extend(f"{k}={v}" for k, v in self.params.items())
        return ", ".join(parts)


NONE = Overrides()
