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
    same name (plain values, not expressions; later ``params`` entries see them).
    ``freeze``/``unfreeze``: layer-name globs appended after the spec's own ``freeze:`` and
    ``unfreeze:`` lists (all ``freeze`` patterns apply first, then all ``unfreeze``: see
    :mod:`archscope.elaborate.freeze`); they change no count, so ``expect:`` is still checked."""

    resolution: int | tuple[int, ...] | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    freeze: tuple[str, ...] = ()
    unfreeze: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if isinstance(self.resolution, list):
            object.__setattr__(self, "resolution", tuple(self.resolution))
        object.__setattr__(self, "params", MappingProxyType(dict(self.params)))
        for key in ("freeze", "unfreeze"):
            patterns = getattr(self, key)
            patterns = (patterns,) if isinstance(patterns, str) else tuple(patterns)
            if not all(isinstance(p, str) for p in patterns):
                raise TypeError(f"`{key}` takes layer-name patterns (strings), not {patterns!r}")
            object.__setattr__(self, key, patterns)

    @property
    def changes_network(self) -> bool:
        """True when the network differs from the spec's own: its ``expect:`` numbers then do not apply."""
        return self.resolution is not None or bool(self.params)


NONE = Overrides()
