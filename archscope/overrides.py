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
    same name (plain values, not expressions; later ``params`` entries see them)."""

    resolution: int | tuple[int, ...] | None = None
    params: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if isinstance(self.resolution, list):
            object.__setattr__(self, "resolution", tuple(self.resolution))
        object.__setattr__(self, "params", MappingProxyType(dict(self.params)))

    @property
    def changes_network(self) -> bool:
        """True when the network differs from the spec's own: its ``expect:`` numbers then do not apply."""
        return self.resolution is not None or bool(self.params)


NONE = Overrides()
