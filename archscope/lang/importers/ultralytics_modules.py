"""Ultralytics modules → archscope layers: one translator per module name, in one table.

A translator reads one row (its args after parse_model's rules: channels scaled, repeats
scaled, strings resolved) and returns the archscope layer that stands for it, asking for the
blocks it uses. A module without a translator is an E301 at the row's module name; a bad
argument is an E004 at the argument. The rules are parse_model's (ultralytics/nn/tasks.py)
and the modules' own (ultralytics/nn/modules/{conv,block,head}.py, Ultralytics 8.4).
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from archscope.diagnostics import Diagnostic, Span, brief
from archscope.lang.importers import ultralytics_blocks as blocks
from archscope.lang.importers.ultralytics_blocks import BlockDef, ConvFeatures, Layer
from archscope.lang.importers.ultralytics_yaml import Model, Row
from archscope.limits import max_layers
from archscope.ops.resample import UPSAMPLE_RANKS

# modules whose forward multiplies activations by activations (attention: softmax(q·kᵀ)·v)
ATTENTION = frozenset(
    {"C2PSA", "C2fPSA", "PSA", "PSABlock", "Attention", "C2fAttn", "A2C2f", "AAttn", "ABlock", "AIFI"}
    | {"ImagePoolingAttn", "RTDETRDecoder", "C3TR", "TransformerBlock", "TransformerLayer", "WorldDetect"}
)


LISTED = frozenset({"Concat", "Detect"})  # the modules whose `from` is a list


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


def translate(row: Row, ctx: Context) -> Translated:
    """The row's layer, or :class:`RowError` / :class:`Skip`."""
    translator = MODULES.get(row.module)
    if translator is None:
        raise RowError(_no_translation(row))
    if row.listed != (row.module in LISTED):  # parse_model: `ch[f]` for one input, `[ch[x] for x in f]` for these
        raise _error(
            row,
            "E108",
            f"`{row.module}` (row {row.index}) takes " + ("a list of inputs" if row.module in LISTED else "one input"),
            row.from_span,
            expected="`from` as a list, such as [-1, 6]" if row.module in LISTED else "`from` as one index, such as -1",
            found=f"{len(row.sources)} inputs" if row.listed else "one index",
        )
    if any(ctx.names.get(s) is None for s in row.sources if s >= 0):
        raise Skip
    if ctx.detect is not None and ctx.detect.row in row.sources:
        raise _error(
            row, "E301", f"row {row.index} takes the output of `Detect` (a list of maps) as its input", row.from_span
        )
    done = translator(row, ctx)
    source = row.sources[0]
    if not row.listed and source not in (row.index - 1, -1):  # -1 (the row before) needs no `in:`
        done.layers[0]["in"] = ctx.names[source]
    return done


def _no_translation(row: Row) -> Diagnostic:
    name, where = row.module, f"row {row.index}, model.{row.index}"
    if name in ATTENTION:
        message = (
            f"`{name}` ({where}) has no archscope op: its attention multiplies activations by activations "
            "(softmax(q·kᵀ)·v), and archscope has `softmax` but no `matmul` or attention op"
        )
    else:
        close = difflib.get_close_matches(name, MODULES, n=1)
        message = f"`{name}` ({where}) has no archscope translation in the Ultralytics importer" + (
            f" (did you mean `{close[0]}`?)" if close else ""
        )
    return Diagnostic(
        "E301",
        message,
        row.module_span,
        expected="a module the importer translates: " + ", ".join(MODULES),
        found=name,
    )


def _error(row: Row, code: str, message: str, span: Span, **kw: Any) -> RowError:  # noqa: ARG001  unused: to remove after the module split
    return RowError(Diagnostic(code, message, span, **kw))


# ---------------------------------------------------------------- arguments


def _arg(row: Row, j: int, default: Any, what: str, check: Callable[[Any], bool], expected: str) -> Any:
    """Argument j of the row (its default when absent); E004 at the argument when `check` fails."""
    if j >= len(row.args):
        if default is _REQUIRED:
            raise _error(
                row, "E005", f"`{row.module}` (row {row.index}) needs its {what}", row.args_span, expected=expected
            )
        return default
    value = row.args[j].value
    if not check(value):
        raise _error(
            row,
            "E004",
            f"`{row.module}` (row {row.index}): the {what} must be {expected}",
            row.args[j].span,
            expected=expected,
            found=brief(value),
        )
    return value


_REQUIRED = object()


def _count(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 1


def _bool(v: Any) -> bool:
    return isinstance(v, bool)


def _fraction(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and 0 < v <= 1


def _at_most(row: Row, n: int, usage: str) -> None:
    if len(row.args) > n:
        raise _error(
            row,
            "E301",
            f"`{row.module}` (row {row.index}) with more than {n} arguments has no translation in the importer",
            row.args[n].span,
            expected=usage,
            found=f"{len(row.args)} arguments",
        )


def _out(row: Row, ctx: Context) -> tuple[int, int]:
    """args[0] as written, and as parse_model scales it for a module of `base_modules`."""
    c = _arg(row, 0, _REQUIRED, "output channels (args[0])", _count, "a positive whole number")
    return c, ctx.model.scaling.channels(c)


def _c1(row: Row, ctx: Context) -> int:
    """parse_model's `c1 = ch[f]`: the one input's channels (the image's for row 0)."""
    source = row.sources[0]
    c = ctx.model.image_channels if source == -1 else ctx.channels.get(source)
    if c is None:
        raise Skip
    return c


def _repeats(row: Row, ctx: Context) -> int:
    """The row's repeats, scaled (parse_model); more than archscope's layer limit is refused here,
    before a block of that many layers is written."""
    n = ctx.model.scaling.repeats(row.repeats)
    if n > max_layers():
        raise _error(
            row,
            "E011",
            f"row {row.index}: {n:,} repeats of `{row.module}` exceed the layer limit",
            row.repeats_span,
            expected=f"at most {max_layers():,} (`--max-layers` raises it)",
            found=f"{row.repeats:,} × depth {ctx.model.scaling.depth:g}",
        )
    return n


def _with(layer: Layer, **given: tuple[Any, Any]) -> Layer:
    """`layer` with each block argument `name=(value, default)` whose value is not the default
    (types are compared too: in Python True == 1)."""
    layer.update({k: v for k, (v, default) in given.items() if v != default or type(v) is not type(default)})
    return layer


def _single(row: Row, ctx: Context, layer: Layer, channels: int | None) -> Translated:
    """A module that is not a `repeat_module`: n > 1 is nn.Sequential of n copies of m(*args),
    which chain only when their input and output channels agree."""
    n = _repeats(row, ctx)
    if n > 1:
        c1 = _c1(row, ctx)
        if channels is not None and c1 != channels:
            raise _error(
                row,
                "E004",
                f"row {row.index}: {n} copies of `{row.module}` from {c1} to {channels} channels do not chain",
                row.span,
                expected=f"repeats 1, or output channels {c1}",
                found=f"repeats {row.repeats} (scaled: {n})",
            )
        layer = {**layer, "n": n}
    return Translated((layer,), channels)


# ---------------------------------------------------------------- the modules


def conv(row: Row, ctx: Context) -> Translated:
    """Conv [c, k=1, s=1, p=None (autopad: k // 2), g=1, d=1, act=True]; d must be 1."""
    _at_most(row, 7, "[c, k, s, p, g, d, act]")
    _, c = _out(row, ctx)
    k = _arg(row, 1, 1, "kernel (args[1])", _count, "a positive whole number")
    s = _arg(row, 2, 1, "stride (args[2])", _count, "a positive whole number")
    p = _arg(
        row, 3, None, "padding (args[3])", lambda p: p is None or _count(p) or p == 0, "None or a whole number ≥ 0"
    )
    g = _arg(row, 4, 1, "groups (args[4])", _count, "a positive whole number")
    _arg(row, 5, 1, "dilation (args[5])", lambda d: d == 1, "1")
    act = _arg(row, 6, True, "activation (args[6])", _bool, "true or false")
    p = k // 2 if p is None else p  # autopad
    op = ctx.need_conv(groups=g != 1, padding=p != k // 2, optional_act=not act)
    layer: Layer = {"op": op, "name": f"conv{row.index}", "c": c}
    return _single(row, ctx, _with(layer, k=(k, 1), s=(s, 1), p=(p, k // 2), g=(g, 1), act=(act, True)), c)


def dwconv(row: Row, ctx: Context) -> Translated:
    """DWConv [c, k=1, s=1, d=1, act=True] (conv.py): a Conv with groups gcd(c1, c)."""
    _at_most(row, 5, "[c, k, s, d, act]")
    _, c = _out(row, ctx)
    k = _arg(row, 1, 1, "kernel (args[1])", _count, "a positive whole number")
    s = _arg(row, 2, 1, "stride (args[2])", _count, "a positive whole number")
    _arg(row, 3, 1, "dilation (args[3])", lambda d: d == 1, "1")
    act = _arg(row, 4, True, "activation (args[4])", _bool, "true or false")
    g = math.gcd(_c1(row, ctx), c)
    layer: Layer = {"op": ctx.need_conv(groups=True, optional_act=not act), "name": f"dwconv{row.index}", "c": c}
    return _single(row, ctx, _with(layer, k=(k, 1), s=(s, 1), g=(g, 1), act=(act, True)), c)


def ghostconv(row: Row, ctx: Context) -> Translated:
    """GhostConv [c, k=1, s=1, g=1, act=True]."""
    _at_most(row, 5, "[c, k, s, g, act]")
    _, c = _out(row, ctx)
    k = _arg(row, 1, 1, "kernel (args[1])", _count, "a positive whole number")
    s = _arg(row, 2, 1, "stride (args[2])", _count, "a positive whole number")
    _arg(row, 3, 1, "groups (args[3])", lambda g: g == 1, "1")
    act = _arg(row, 4, True, "activation (args[4])", _bool, "true or false")
    ctx.need_conv(groups=True, optional_act=True)
    layer: Layer = {"op": ctx.use("ghostconv", blocks.ghostconv), "name": f"ghostconv{row.index}", "c": c}
    return _single(row, ctx, _with(layer, k=(k, 1), s=(s, 1), act=(act, True)), c)


def bottleneck(row: Row, ctx: Context) -> Translated:
    """Bottleneck [c, shortcut=True, g=1, k=(3, 3), e=0.5], a row of its own (YOLOv3)."""
    _at_most(row, 5, "[c, shortcut, g, k, e]")
    _, c = _out(row, ctx)
    shortcut = _arg(row, 1, True, "shortcut (args[1])", _bool, "true or false")
    _arg(row, 2, 1, "groups (args[2])", lambda g: g == 1, "1")
    k = _arg(
        row,
        3,
        [3, 3],
        "kernels (args[3])",
        lambda k: isinstance(k, list) and len(k) == 2 and all(map(_count, k)),
        "[k1, k2]",
    )
    e = _arg(row, 4, 0.5, "expansion (args[4])", _fraction, "a number in (0, 1]")
    ctx.need_conv()
    layer: Layer = {"op": ctx.use("bottleneck", blocks.bottleneck), "name": f"bottleneck{row.index}", "c": c}
    return _single(row, ctx, _with(layer, shortcut=(shortcut, False), k1=(k[0], 3), k2=(k[1], 3), e=(e, 1.0)), c)


def c2f(row: Row, ctx: Context) -> Translated:
    """C2f [c, shortcut=False, g=1, e=0.5], a `repeat_module`: n is its argument, scaled."""
    _at_most(row, 4, "[c, shortcut, g, e]")
    _, c = _out(row, ctx)
    shortcut = _arg(row, 1, False, "shortcut (args[1])", _bool, "true or false")
    _arg(row, 2, 1, "groups (args[2])", lambda g: g == 1, "1")
    e = _arg(row, 3, 0.5, "expansion (args[3])", _fraction, "a number in (0, 1]")
    n = _repeats(row, ctx)
    ctx.need_conv()
    ctx.use("bottleneck", blocks.bottleneck)
    layer: Layer = {"op": ctx.use("c2f", blocks.c2f), "name": f"c2f{row.index}", "c": c}
    return Translated((_with(layer, repeats=(n, 1), shortcut=(shortcut, False), e=(e, 0.5)),), c)


def c3k2(row: Row, ctx: Context) -> Translated:
    """C3k2 [c, c3k=False, e=0.5, attn=False, g=1, shortcut=True]; parse_model sets c3k for scales
    m, l and x (`args[3:4] = [True]`) and turns `legacy` off (the Detect head that follows changes)."""
    _at_most(row, 6, "[c, c3k, e, attn, g, shortcut]")
    _, c = _out(row, ctx)
    c3k = _arg(row, 1, False, "c3k (args[1])", _bool, "true or false") or ctx.model.scaling.name in ("m", "l", "x")
    e = _arg(row, 2, 0.5, "expansion (args[2])", _fraction, "a number in (0, 1]")
    if _arg(row, 3, False, "attn (args[3])", _bool, "true or false"):
        raise _error(
            row, "E301", f"`C3k2` with attention (row {row.index}) has no archscope op: {_ATTN}", row.args[3].span
        )
    _arg(row, 4, 1, "groups (args[4])", lambda g: g == 1, "1")
    shortcut = _arg(row, 5, True, "shortcut (args[5])", _bool, "true or false")
    n = _repeats(row, ctx)
    ctx.legacy = False
    ctx.need_conv()
    ctx.use("bottleneck", blocks.bottleneck)
    if c3k:
        ctx.use("c3k", lambda: blocks.c3("c3k"))
    name = ctx.use("c3k2_c3k" if c3k else "c3k2", lambda: blocks.c3k2(c3k))
    layer: Layer = {"op": name, "name": f"c3k2_{row.index}", "c": c}  # `_`: c3k2_2 is model.2, not c3k model.22
    return Translated((_with(layer, repeats=(n, 1), shortcut=(shortcut, True), e=(e, 0.5)),), c)


_ATTN = "its PSABlock multiplies activations by activations (softmax(q·kᵀ)·v); archscope has no `matmul` op"


def c3(row: Row, ctx: Context) -> Translated:
    """C3 [c, shortcut=True, g=1, e=0.5] and C3Ghost [c, shortcut=True, g=1, e=0.5] (whose
    GhostBottlenecks ignore `shortcut`); `repeat_modules`."""
    _at_most(row, 4, "[c, shortcut, g, e]")
    _, c = _out(row, ctx)
    shortcut = _arg(row, 1, True, "shortcut (args[1])", _bool, "true or false")
    _arg(row, 2, 1, "groups (args[2])", lambda g: g == 1, "1")
    e = _arg(row, 3, 0.5, "expansion (args[3])", _fraction, "a number in (0, 1]")
    n = _repeats(row, ctx)
    ghost = row.module == "C3Ghost"
    ctx.need_conv(groups=ghost, optional_act=ghost)
    if ghost:
        ctx.use("ghostconv", blocks.ghostconv)
        ctx.use("ghost_bottleneck", blocks.ghost_bottleneck)
    else:
        ctx.use("bottleneck", blocks.bottleneck)
    kind = "c3ghost" if ghost else "c3"
    layer: Layer = {"op": ctx.use(kind, lambda: blocks.c3(kind)), "name": f"{kind}{row.index}", "c": c, "repeats": n}
    return Translated((_with(layer, shortcut=(shortcut or ghost, True), e=(e, 0.5)),), c)


def sppf(row: Row, ctx: Context) -> Translated:
    """SPPF [c, k=5]: a legacy row (YOLO26's [c, k, n, shortcut] builds another SPPF)."""
    _at_most(row, 2, "[c, k] (the legacy SPPF)")
    _, c = _out(row, ctx)
    k = _arg(row, 1, 5, "kernel (args[1])", lambda k: _count(k) and k % 2 == 1, "an odd positive whole number")
    ctx.need_conv()
    layer: Layer = {"op": ctx.use("sppf", blocks.sppf), "name": f"sppf{row.index}", "c": c}
    return _single(row, ctx, _with(layer, k=(k, 5)), c)


def upsample(row: Row, ctx: Context) -> Translated:
    """nn.Upsample [size=None, scale_factor, mode='nearest']: channels unchanged."""
    _at_most(row, 3, "[None, scale, mode]")
    _arg(row, 0, None, "size (args[0])", lambda v: v is None, "None (a scale factor is given instead)")
    scale = _arg(
        row,
        1,
        _REQUIRED,
        "scale factor (args[1])",
        lambda v: _count(v) or isinstance(v, float) and v > 0,
        "a number > 0",
    )
    mode = _arg(row, 2, "nearest", "mode (args[2])", lambda v: v in UPSAMPLE_RANKS, " or ".join(UPSAMPLE_RANKS))
    layer: Layer = {"op": "upsample", "name": f"up{row.index}", "mode": mode, "scale": scale}
    return _single(row, ctx, layer, _c1(row, ctx))


def conv_transpose(row: Row, ctx: Context) -> Translated:
    """nn.ConvTranspose2d [c, k, s=1, p=0] (a `base_module`: c scaled), with its default bias."""
    _at_most(row, 4, "[c, k, s, p]")
    _, c = _out(row, ctx)
    k = _arg(row, 1, _REQUIRED, "kernel (args[1])", _count, "a positive whole number")
    s = _arg(row, 2, 1, "stride (args[2])", _count, "a positive whole number")
    p = _arg(row, 3, 0, "padding (args[3])", lambda p: _count(p) or p == 0, "a whole number ≥ 0")
    layer: Layer = {"op": "conv_transpose2d", "name": f"convt{row.index}", "out": c, "kernel": k, "stride": s}
    return _single(row, ctx, _with(layer, padding=(p, 0)), c)


def maxpool(row: Row, ctx: Context) -> Translated:
    """nn.MaxPool2d [k, s=k, p=0]: channels unchanged."""
    _at_most(row, 3, "[k, s, p]")
    k = _arg(row, 0, _REQUIRED, "kernel (args[0])", _count, "a positive whole number")
    s = _arg(row, 1, k, "stride (args[1])", _count, "a positive whole number")
    p = _arg(row, 2, 0, "padding (args[2])", lambda p: _count(p) or p == 0, "a whole number ≥ 0")
    layer = _with({"op": "maxpool2d", "name": f"pool{row.index}", "kernel": k}, stride=(s, k), padding=(p, 0))
    return _single(row, ctx, layer, _c1(row, ctx))


def zeropad(row: Row, ctx: Context) -> Translated:
    """nn.ZeroPad2d [p] with p one size or [left, right, top, bottom]: channels unchanged."""
    _at_most(row, 1, "[[left, right, top, bottom]]")

    def sizes(p: Any) -> bool:
        return _count(p) or p == 0 or isinstance(p, list) and len(p) == 4 and all(_count(x) or x == 0 for x in p)

    p = _arg(row, 0, _REQUIRED, "padding (args[0])", sizes, "a size or [left, right, top, bottom]")
    return _single(row, ctx, {"op": "zeropad2d", "name": f"pad{row.index}", "padding": p}, _c1(row, ctx))


def concat(row: Row, ctx: Context) -> Translated:
    """Concat [dimension=1] along channels (archscope's dim 0: shapes have no batch); c2 = Σ ch[f]."""
    _at_most(row, 1, "[1]")
    _arg(row, 0, 1, "dimension (args[0])", lambda d: d == 1, "1 (channels)")
    channels = [ctx.model.image_channels if s == -1 else ctx.channels.get(s) for s in row.sources]
    names = [ctx.names[s] if s >= 0 else "input" for s in row.sources]
    total = None if None in channels else sum(channels)  # type: ignore[arg-type]
    if row.repeats > 1:
        raise _error(row, "E004", f"row {row.index}: `Concat` cannot repeat", row.span, expected="repeats 1")
    return Translated(({"op": "concat", "name": f"cat{row.index}", "in": names},), total)


def classify(row: Row, ctx: Context) -> Translated:
    """Classify [c, k=1, s=1]: c is the class count, not scaled (parse_model's exception)."""
    _at_most(row, 3, "[c, k, s]")
    c = _arg(row, 0, _REQUIRED, "class count (args[0])", _count, "a positive whole number")
    k = _arg(row, 1, 1, "kernel (args[1])", _count, "a positive whole number")
    s = _arg(row, 2, 1, "stride (args[2])", _count, "a positive whole number")
    ctx.need_conv()
    layer = _with(
        {"op": ctx.use("classify", blocks.classify), "name": f"classify{row.index}", "c": c}, k=(k, 1), s=(s, 1)
    )
    return _single(row, ctx, layer, c)


def detect(row: Row, ctx: Context) -> Translated:
    """Detect [nc] (parse_model appends reg_max, end2end and the input channels): per input a
    detect_scale layer, with c2 = max(16, ch[0] // 4, 4·reg_max) and c3 = max(ch[0], min(nc, 100))."""
    _at_most(row, 1, "[nc]")
    nc = _arg(row, 0, _REQUIRED, "class count (args[0])", _count, "a positive whole number")
    if ctx.detect is not None:
        raise _error(row, "E301", "a second `Detect` head has no translation in the importer", row.module_span)
    channels = [ctx.channels.get(s) for s in row.sources]
    if -1 in row.sources:
        raise _error(row, "E108", "`Detect` takes feature maps, not the image", row.from_span)
    reg_max, c0 = ctx.model.reg_max, channels[0]
    if c0 is None:  # as `_c1`: an input whose channels are not known
        raise Skip
    box_c, cls_c = max(16, c0 // 4, reg_max * 4), max(c0, min(nc, 100))
    legacy = ctx.legacy
    scale = ctx.use("detect_scale", lambda: blocks.detect_scale(legacy))
    ctx.need_conv(groups=not legacy)
    names = tuple(f"det{s}" for s in row.sources)
    if len(set(names)) != len(names):
        raise _error(row, "E301", "`Detect` of the same row twice has no translation in the importer", row.from_span)
    ctx.detect = Detect(row.index, names, nc, box_c, cls_c)
    return Translated(
        tuple({"op": scale, "name": name, "in": ctx.names[s]} for name, s in zip(names, row.sources)), None
    )


MODULES: dict[str, Translator] = {
    "Conv": conv,
    "DWConv": dwconv,
    "GhostConv": ghostconv,
    "Bottleneck": bottleneck,
    "C2f": c2f,
    "C3k2": c3k2,
    "C3": c3,
    "C3Ghost": c3,
    "SPPF": sppf,
    "nn.Upsample": upsample,
    "nn.ConvTranspose2d": conv_transpose,
    "nn.MaxPool2d": maxpool,
    "nn.ZeroPad2d": zeropad,
    "Concat": concat,
    "Classify": classify,
    "Detect": detect,
}
