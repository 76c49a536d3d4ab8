"""What every importer returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from archscope.diagnostics import Diagnostic


@dataclass(frozen=True)
class Imported:
    """An imported network: ``text`` is the spec (YAML, ready to write) or None when
    ``diagnostics`` hold errors; ``stats`` are facts for the user (layers, blocks, seconds…)."""

    name: str
    source: str  # what was imported, as the user named it (`py:pkg.mod:fn`, a file path, `timm:name`)
    text: str | None
    diagnostics: tuple[Diagnostic, ...] = ()
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.is_error]
