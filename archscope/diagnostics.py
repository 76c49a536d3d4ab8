"""Diagnostics: located, coded messages for people and machines.

A diagnostic is data. The library collects them and returns them; the CLI picks an
emitter (text, github, json) in :mod:`archscope.render.diagnostics`.
"""

from __future__ import annotations

import enum
import reprlib
from dataclasses import dataclass, field
from typing import NamedTuple

from archscope.codes import CODES  # every code, with a one-line meaning: the one table in codes.py


class Span(NamedTuple):
    """A place in a source file. ``line`` and ``col`` are 1-based, as editors show them.

    A NamedTuple rather than a frozen dataclass: every YAML node gets one, and this is 3×
    cheaper to create (it showed in the profile of a 100,000-layer spec)."""

    file: str
    line: int
    col: int
    end_line: int | None = None
    end_col: int | None = None

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


class Severity(str, enum.Enum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Diagnostic:
    code: str
    message: str
    span: Span | None = None
    severity: Severity = Severity.ERROR
    layer: str | None = None
    expected: str | None = None
    found: str | None = None
    input_shape: str | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if self.code not in CODES:  # a programming error, not user input
            raise ValueError(f"unregistered diagnostic code {self.code!r}")

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def sort_key(self) -> tuple:
        s = self.span
        return (s.file, s.line, s.col, self.code) if s else ("", 0, 0, self.code)

    def to_dict(self) -> dict:
        d: dict = {"code": self.code, "severity": self.severity.value, "message": self.message}
        if self.span:
            d.update(file=self.span.file, line=self.span.line, col=self.span.col)
        for key in ("layer", "expected", "found", "input_shape"):
            value = getattr(self, key)
            if value is not None:
                d[key] = value
        if self.notes:
            d["notes"] = list(self.notes)
        return d


class _Brief(reprlib.Repr):
    def repr_int(self, x: int, level: int) -> str:
        if x.bit_length() > 12_000:  # Python refuses to print an integer of more than 4,300 digits
            return f"{'-' if x < 0 else ''}an integer of {x.bit_length():,} bits"
        return super().repr_int(x, level)


_BRIEF = _Brief()
_BRIEF.maxlevel, _BRIEF.maxlist, _BRIEF.maxtuple, _BRIEF.maxdict = 3, 8, 8, 8
_BRIEF.maxstring = _BRIEF.maxlong = _BRIEF.maxother = 60


def brief(value: object) -> str:
    """A value as a diagnostic's `found` shows it: strings quoted, big or nested values cut short
    (an aliased YAML list can stand for millions of items)."""
    return _BRIEF.repr(value)


class SpecError(Exception):
    """Raised by library entry points when a spec has errors; carries every diagnostic found."""

    def __init__(self, diagnostics: list[Diagnostic]):
        self.diagnostics = diagnostics
        first = diagnostics[0] if diagnostics else None
        super().__init__(f"{first.span}: {first.code} {first.message}" if first else "spec error")


class ShapeError(Exception):
    """Raised by an op's shape rule. The graph pass adds the layer name and the span."""

    def __init__(self, code: str, message: str, expected: object = None, found: object = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.expected = None if expected is None else str(expected)
        self.found = None if found is None else str(found)


class Collector:
    """Accumulates diagnostics while a pass runs, so one run reports every independent error."""

    def __init__(self) -> None:
        self.items: list[Diagnostic] = []

    def error(self, code: str, message: str, span: Span | None, **kw) -> None:
        self.items.append(Diagnostic(code, message, span, Severity.ERROR, **kw))

    def warning(self, code: str, message: str, span: Span | None, **kw) -> None:
        self.items.append(Diagnostic(code, message, span, Severity.WARNING, **kw))

    @property
    def has_errors(self) -> bool:
        return any(d.is_error for d in self.items)
