"""What every Ultralytics module translator (:mod:`archscope.lang.importers.ultralytics_modules`)
shares: the state of one translation (:class:`Context`), what a translator returns, the errors of
a row, and the checked reading of a row's arguments, each refused at its place (E004/E005).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from archscope.diagnostics import Diagnostic, Span, brief
from archscope.lang.importers import ultralytics_blocks as blocks
from archscope.lang.importers.ultralytics_blocks import BlockDef, ConvFeatures, Layer
from archscope.lang.importers.ultralytics_yaml import Model, Row
from archscope.limits import max_layers

# ---------------------------------------------------------------- a translation


class RowError(Exception):
    """A row that cannot be translated, with its located diagnostic."""

    def __init__(self, diagnostic: Diagnostic):
        super().__init__(diagnostic.message)
        self.diagnostic = diagnostic


class Skip(Exception):
    """A row whose input did not translate (that row's error is reported already)."""


@dataclass(frozen=True)
class Detect:
    """What the writer needs of the Detect row: its per-scale layers and their channels."""

    row: int
    scales: tuple[str, ...]  # the detect_scale layers, one per input, in Detect's order
    nc: int
    box_c: int
    cls_c: int


@dataclass
class Context:
    """The state of one translation: Ultralytics' `ch` list and the blocks asked for so far."""

    model: Model
    channels: dict[int, int | None] = field(default_factory=dict)  # row → output channels (parse_model's ch)
    names: dict[int, str] = field(default_factory=dict)  # row → its archscope layer
    blocks: dict[str, Callable[[], BlockDef]] = field(default_factory=dict)  # in the order first asked for
    conv: ConvFeatures = ConvFeatures()
    legacy: bool = True  # parse_model's `legacy`: False once a C3k2 row is seen (Detect's cv3 changes)
    detect: Detect | None = None

    def use(self, name: str, make: Callable[[], BlockDef]) -> str:
        self.blocks.setdefault(name, make)
        return name

    def need_conv(self, **features: bool) -> str:
        """The conv block, with each feature a row asks for (they only add arguments)."""
        changes: dict[str, Any] = {k: v or getattr(self.conv, k) for k, v in features.items()}
        self.conv = replace(self.conv, **changes)
        return self.use("conv", lambda: blocks.conv(self.conv))


@dataclass(frozen=True)
class Translated:
    layers: tuple[Layer, ...]  # one, except for Detect (a layer per scale)
    channels: int | None  # the row's output channels, as parse_model records them in `ch`


Translator = Callable[[Row, Context], Translated]


def row_error(code: str, message: str, span: Span, **kw: Any) -> RowError:
    return RowError(Diagnostic(code, message, span, **kw))


def arg(row: Row, j: int, default: Any, what: str, check: Callable[[Any], bool], expected: str) -> Any:
    """Argument j of the row (its default when absent); E004 at the argument when `check` fails."""
    if j >= len(row.args):
        if default is REQUIRED:
            raise row_error(
                "E005", f"`{row.module}` (row {row.index}) needs its {what}", row.args_span, expected=expected
            )
        return default
    value = row.args[j].value
    if not check(value):
        raise row_error(
            "E004",
            f"`{row.module}` (row {row.index}): the {what} must be {expected}",
            row.args[j].span,
            expected=expected,
            found=brief(value),
        )
    return value


REQUIRED = object()


def is_count(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 1


def is_bool(v: Any) -> bool:
    return isinstance(v, bool)


def is_fraction(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and 0 < v <= 1


def at_most(row: Row, n: int, usage: str) -> None:
    if len(row.args) > n:
        raise row_error(
            "E301",
            f"`{row.module}` (row {row.index}) with more than {n} arguments has no translation in the importer",
            row.args[n].span,
            expected=usage,
            found=f"{len(row.args)} arguments",
        )


def out_channels(row: Row, ctx: Context) -> tuple[int, int]:
    """args[0] as written, and as parse_model scales it for a module of `base_modules`."""
    c = arg(row, 0, REQUIRED, "output channels (args[0])", is_count, "a positive whole number")
    return c, ctx.model.scaling.channels(c)


def input_channels(row: Row, ctx: Context) -> int:
    """parse_model's `c1 = ch[f]`: the one input's channels (the image's for row 0)."""
    source = row.sources[0]
    c = ctx.model.image_channels if source == -1 else ctx.channels.get(source)
    if c is None:
        raise Skip
    return c


def repeats(row: Row, ctx: Context) -> int:
    """The row's repeats, scaled (parse_model); more than archscope's layer limit is refused here,
    before a block of that many layers is written."""
    n = ctx.model.scaling.repeats(row.repeats)
    if n > max_layers():
        raise row_error(
            "E011",
            f"row {row.index}: {n:,} repeats of `{row.module}` exceed the layer limit",
            row.repeats_span,
            expected=f"at most {max_layers():,} (`--max-layers` raises it)",
            found=f"{row.repeats:,} × depth {ctx.model.scaling.depth:g}",
        )
    return n


def with_defaults(layer: Layer, **given: tuple[Any, Any]) -> Layer:
    """`layer` with each block argument `name=(value, default)` whose value is not the default
    (types are compared too: in Python True == 1)."""
    layer.update({k: v for k, (v, default) in given.items() if v != default or type(v) is not type(default)})
    return layer


def single(row: Row, ctx: Context, layer: Layer, channels: int | None) -> Translated:
    """A module that is not a `repeat_module`: n > 1 is nn.Sequential of n copies of m(*args),
    which chain only when their input and output channels agree."""
    n = repeats(row, ctx)
    if n > 1:
        c1 = input_channels(row, ctx)
        if channels is not None and c1 != channels:
            raise row_error(
                "E004",
                f"row {row.index}: {n} copies of `{row.module}` from {c1} to {channels} channels do not chain",
                row.span,
                expected=f"repeats 1, or output channels {c1}",
                found=f"repeats {row.repeats} (scaled: {n})",
            )
        layer = {**layer, "n": n}
    return Translated((layer,), channels)
