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
    """``resolution``: the input's spatial size (as ``scale.resolution``): one integer, the height
    and width (the last two dims; a video input's frames stay; a 1-D input's length), or one size
    per spatial dimension (for a (C, T, H, W) input also two: height and width). ``params``: values that replace the spec's ``params:`` entries of the
    same name (plain values, not expressions; later ``params`` entries see them). ``input``: the
    whole input shape (channels first, no batch), instead of the spec's ``input:`` and its
    ``scale.resolution``; a ``resolution`` given with it still sets the spatial size.
    ``freeze``/``unfreeze``: layer-name globs appended after the spec's own ``freeze:`` and
    ``unfreeze:`` lists (all ``freeze`` patterns apply first, then all ``unfreeze``: see
    :mod:`archscope.elaborate.freeze`); they change no count, so ``expect:`` is still checked.
    ``width``/``depth``: the network's ``scale.width``/``scale.depth`` instead of the spec's (the
    multipliers that ``ch()`` and ``rep()`` apply; a spec that calls neither is unchanged, W104)."""

    resolution: int | tuple[int, ...] | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    input: tuple[int, ...] | None = None
    freeze: tuple[str, ...] = ()
    unfreeze: tuple[str, ...] = ()
    width: float | None = None
    depth: float | None = None

    def __post_init__(self) -> None:
        for key in ("width", "depth"):
            value = getattr(self, key)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1e300
            ):
                raise ValueError(f"`{key}` is a positive number, not {value!r}")
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

    def __reduce__(self) -> tuple[Any, ...]:
        """Picklable (the params' read-only view is not): a sweep sends overrides to worker processes."""
        return (
            type(self),
            (self.resolution, dict(self.params), self.input, self.freeze, self.unfreeze, self.width, self.depth),
        )

    @property
    def changes_network(self) -> bool:
        """True when the network differs from the spec's own: its ``expect:`` numbers then do not apply."""
        return (
            self.resolution is not None
            or bool(self.params)
            or self.input is not None
            or self.width is not None
            or self.depth is not None
        )

    def describe(self) -> dict[str, Any]:
        """What was overridden, as plain data (the ``overrides`` of a JSON report); empty when nothing."""
        out: dict[str, Any] = {}
        if self.input is not None:
            out["input"] = list(self.input)
        if self.resolution is not None:
            out["resolution"] = list(self.resolution) if isinstance(self.resolution, tuple) else self.resolution
        for key in ("width", "depth"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        if self.params:
            out["params"] = dict(self.params)
        return out

    def __str__(self) -> str:
        """``input 3×64×64, resolution 288, width 1.2, num_classes=10``: the summary's header line."""
        parts = []
        if self.input is not None:
            parts.append("input " + "×".join(map(str, self.input)))
        if self.resolution is not None:
            res = self.resolution
            parts.append("resolution " + ("×".join(map(str, res)) if isinstance(res, tuple) else str(res)))
        parts.extend(f"{key} {getattr(self, key):g}" for key in ("width", "depth") if getattr(self, key) is not None)
        parts.extend(f"{k}={v}" for k, v in self.params.items())
        return ", ".join(parts)


NONE = Overrides()
