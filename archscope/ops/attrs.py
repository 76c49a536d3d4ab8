"""The attribute types of ops (``Int``, ``Sizes``, ``Choice``…), each of which takes a value as
a spec writes it and returns it normalised, or raises :class:`AttrError` that says in words what
it accepts. An op lists its :class:`Attr` entries in its :class:`~archscope.ops.registry.OpDef`;
the schema (:mod:`archscope.lang.schema`) and the elaborator read them from there.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Protocol

MAX_DIM = 2**31  # largest size, channel count or kernel we accept
FLOAT32_MAX = 3.4028234663852886e38  # the largest finite float32


class AttrError(Exception):
    def __init__(self, expected: str, found: Any):
        super().__init__(expected)
        self.expected = expected
        self.found = found


class _Required:
    def __repr__(self) -> str:
        return "required"


REQUIRED: Any = _Required()


# ---- attribute types: each takes a plain value and returns it normalised, or raises AttrError


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


@dataclass(frozen=True)
class Int:
    min: int = 0
    max: int = MAX_DIM
    name: str = "integer"

    def __call__(self, v: Any) -> int:
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        if not _is_int(v):
            raise AttrError(self.describe(), v)
        if not self.min <= v <= self.max:
            raise AttrError(self.describe(), v)
        checked: int = v
        return checked

    def describe(self) -> str:
        return f"an integer ≥ {self.min}" if self.max == MAX_DIM else f"an integer in {self.min}..{self.max}"

    accepts_str = False


@dataclass(frozen=True)
class Float:
    """A number in [min, max]; with ``above_min``, in (min, max] (batch norm's ``eps`` > 0). A
    finite one is at most :data:`FLOAT32_MAX` in size: torch takes it as a float32."""

    min: float = 0.0
    max: float = float("inf")
    above_min: bool = False

    def __call__(self, v: Any) -> float:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not self.min <= v <= self.max:
            raise AttrError(self.describe(), v)
        if self.above_min and v == self.min:
            raise AttrError(self.describe(), v)
        try:
            value = float(v)
        except OverflowError:  # an integer beyond 1.8e308
            raise AttrError("a number below 1.8e308", v) from None
        if math.isfinite(value) and abs(value) > FLOAT32_MAX:
            # torch makes it a float32 scalar: "value cannot be converted to type float without overflow"
            raise AttrError("a number of at most 3.4e38 in size, or infinite (torch keeps it as a float32)", v)
        return value

    def describe(self) -> str:
        return f"a number in {'(' if self.above_min else '['}{self.min}, {self.max}]"

    accepts_str = False


@dataclass(frozen=True)
class Bool:
    def __call__(self, v: Any) -> bool:
        if not isinstance(v, bool):
            raise AttrError("true or false", v)
        return v

    def describe(self) -> str:
        return "true or false"

    accepts_str = False


@dataclass(frozen=True)
class Sizes:
    """An integer, or a list of integers (one per spatial dimension)."""

    min: int = 1
    length: tuple[int, ...] = (1, 2)
    words: tuple[str, ...] = ()

    def __call__(self, v: Any) -> int | tuple[int, ...] | str:
        if isinstance(v, str) and v in self.words:
            return v
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        if _is_int(v) and self.min <= v <= MAX_DIM:
            size: int = v
            return size
        if isinstance(v, (list, tuple)) and len(v) in self.length:
            if all(_is_int(x) and self.min <= x <= MAX_DIM for x in v):
                return tuple(v)
        raise AttrError(self.describe(), v)

    def describe(self) -> str:
        lens = " or ".join(str(n) for n in self.length)
        words = "".join(f", or `{w}`" for w in self.words)
        return f"an integer ≥ {self.min}, or a list of {lens} such integers{words}"

    @property
    def accepts_str(self) -> bool:
        return bool(self.words)


@dataclass(frozen=True)
class Scales:
    """A positive number, or a list of positive numbers (one per spatial dimension)."""

    length: tuple[int, ...] = (1, 2, 3)
    max: float = 1024.0

    def _one(self, v: Any) -> bool:
        return not isinstance(v, bool) and isinstance(v, (int, float)) and 0 < v <= self.max

    def __call__(self, v: Any) -> float | tuple[float, ...]:
        if self._one(v):
            return float(v)
        if isinstance(v, (list, tuple)) and len(v) in self.length and all(self._one(x) for x in v):
            return tuple(float(x) for x in v)
        raise AttrError(self.describe(), v)

    def describe(self) -> str:
        lens = " or ".join(str(n) for n in self.length)
        return f"a number in (0, {self.max:g}], or a list of {lens} such numbers"

    accepts_str = False


@dataclass(frozen=True)
class Choice:
    values: tuple[str, ...]

    def __call__(self, v: Any) -> str:
        if v not in self.values:
            raise AttrError(self.describe(), v)
        chosen: str = v
        return chosen

    def describe(self) -> str:
        return "one of " + ", ".join(f"`{x}`" for x in self.values)

    accepts_str = True


class AttrType(Protocol):
    """An attribute's checker (``Int``, ``Sizes``, …): converts a written value or raises
    :class:`AttrError`, and says in words what it accepts."""

    def __call__(self, v: Any) -> Any: ...

    def describe(self) -> str: ...


@dataclass(frozen=True)
class Attr:
    name: str
    type: AttrType
    default: Any = REQUIRED
    doc: str = ""

    @property
    def required(self) -> bool:
        return self.default is REQUIRED
