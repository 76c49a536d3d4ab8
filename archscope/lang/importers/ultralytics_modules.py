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
from typing import Any

from archscope.diagnostics import Diagnostic
from archscope.lang.importers import ultralytics_blocks as blocks
from archscope.lang.importers.ultralytics_blocks import Layer
from archscope.lang.importers.ultralytics_rows import (
    REQUIRED,
    Context,
    Detect,
    RowError,
    Skip,
    Translated,
    Translator,
    arg,
    at_most,
    input_channels,
    is_bool,
    is_count,
    is_fraction,
    out_channels,
    repeats,
    row_error,
    single,
    with_defaults,
)
from archscope.lang.importers.ultralytics_yaml import Row
from archscope.ops.resample import UPSAMPLE_RANKS

# modules whose forward multiplies activations by activations (attention: softmax(q·kᵀ)·v)
ATTENTION = frozenset(
    {"C2PSA", "C2fPSA", "PSA", "PSABlock", "Attention", "C2fAttn", "A2C2f", "AAttn", "ABlock", "AIFI"}
    | {"ImagePoolingAttn", "RTDETRDecoder", "C3TR", "TransformerBlock", "TransformerLayer", "WorldDetect"}
)


LISTED = frozenset({"Concat", "Detect"})  # the modules whose `from` is a list


def translate(row: Row, ctx: Context) -> Translated:
    """The row's layer, or :class:`RowError` / :class:`Skip`."""
    translator = MODULES.get(row.module)
    if translator is None:
        raise RowError(_no_translation(row))
    if row.listed != (row.module in LISTED):  # parse_model: `ch[f]` for one input, `[ch[x] for x in f]` for these
        raise row_error(
            "E108",
            f"`{row.module}` (row {row.index}) takes " + ("a list of inputs" if row.module in LISTED else "one input"),
            row.from_span,
            expected="`from` as a list, such as [-1, 6]" if row.module in LISTED else "`from` as one index, such as -1",
            found=f"{len(row.sources)} inputs" if row.listed else "one index",
        )
    if any(ctx.names.get(s) is None for s in row.sources if s >= 0):
        raise Skip
    if ctx.detect is not None and ctx.detect.row in row.sources:
        raise row_error(
            "E301", f"row {row.index} takes the output of `Detect` (a list of maps) as its input", row.from_span
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


# ---------------------------------------------------------------- arguments


# ---------------------------------------------------------------- the modules


def conv(row: Row, ctx: Context) -> Translated:
    """Conv [c, k=1, s=1, p=None (autopad: k // 2), g=1, d=1, act=True]; d must be 1."""
    at_most(row, 7, "[c, k, s, p, g, d, act]")
    _, c = out_channels(row, ctx)
    k = arg(row, 1, 1, "kernel (args[1])", is_count, "a positive whole number")
    s = arg(row, 2, 1, "stride (args[2])", is_count, "a positive whole number")
    p = arg(
        row, 3, None, "padding (args[3])", lambda p: p is None or is_count(p) or p == 0, "None or a whole number ≥ 0"
    )
    g = arg(row, 4, 1, "groups (args[4])", is_count, "a positive whole number")
    arg(row, 5, 1, "dilation (args[5])", lambda d: d == 1, "1")
    act = arg(row, 6, True, "activation (args[6])", is_bool, "true or false")
    p = k // 2 if p is None else p  # autopad
    op = ctx.need_conv(groups=g != 1, padding=p != k // 2, optional_act=not act)
    layer: Layer = {"op": op, "name": f"conv{row.index}", "c": c}
    return single(row, ctx, with_defaults(layer, k=(k, 1), s=(s, 1), p=(p, k // 2), g=(g, 1), act=(act, True)), c)


def dwconv(row: Row, ctx: Context) -> Translated:
    """DWConv [c, k=1, s=1, d=1, act=True] (conv.py): a Conv with groups gcd(c1, c)."""
    at_most(row, 5, "[c, k, s, d, act]")
    _, c = out_channels(row, ctx)
    k = arg(row, 1, 1, "kernel (args[1])", is_count, "a positive whole number")
    s = arg(row, 2, 1, "stride (args[2])", is_count, "a positive whole number")
    arg(row, 3, 1, "dilation (args[3])", lambda d: d == 1, "1")
    act = arg(row, 4, True, "activation (args[4])", is_bool, "true or false")
    g = math.gcd(input_channels(row, ctx), c)
    layer: Layer = {"op": ctx.need_conv(groups=True, optional_act=not act), "name": f"dwconv{row.index}", "c": c}
    return single(row, ctx, with_defaults(layer, k=(k, 1), s=(s, 1), g=(g, 1), act=(act, True)), c)


def ghostconv(row: Row, ctx: Context) -> Translated:
    """GhostConv [c, k=1, s=1, g=1, act=True]."""
    at_most(row, 5, "[c, k, s, g, act]")
    _, c = out_channels(row, ctx)
    k = arg(row, 1, 1, "kernel (args[1])", is_count, "a positive whole number")
    s = arg(row, 2, 1, "stride (args[2])", is_count, "a positive whole number")
    arg(row, 3, 1, "groups (args[3])", lambda g: g == 1, "1")
    act = arg(row, 4, True, "activation (args[4])", is_bool, "true or false")
    ctx.need_conv(groups=True, optional_act=True)
    layer: Layer = {"op": ctx.use("ghostconv", blocks.ghostconv), "name": f"ghostconv{row.index}", "c": c}
    return single(row, ctx, with_defaults(layer, k=(k, 1), s=(s, 1), act=(act, True)), c)


def bottleneck(row: Row, ctx: Context) -> Translated:
    """Bottleneck [c, shortcut=True, g=1, k=(3, 3), e=0.5], a row of its own (YOLOv3)."""
    at_most(row, 5, "[c, shortcut, g, k, e]")
    _, c = out_channels(row, ctx)
    shortcut = arg(row, 1, True, "shortcut (args[1])", is_bool, "true or false")
    arg(row, 2, 1, "groups (args[2])", lambda g: g == 1, "1")
    k = arg(
        row,
        3,
        [3, 3],
        "kernels (args[3])",
        lambda k: isinstance(k, list) and len(k) == 2 and all(map(is_count, k)),
        "[k1, k2]",
    )
    e = arg(row, 4, 0.5, "expansion (args[4])", is_fraction, "a number in (0, 1]")
    ctx.need_conv()
    layer: Layer = {"op": ctx.use("bottleneck", blocks.bottleneck), "name": f"bottleneck{row.index}", "c": c}
    return single(row, ctx, with_defaults(layer, shortcut=(shortcut, False), k1=(k[0], 3), k2=(k[1], 3), e=(e, 1.0)), c)


def c2f(row: Row, ctx: Context) -> Translated:
    """C2f [c, shortcut=False, g=1, e=0.5], a `repeat_module`: n is its argument, scaled."""
    at_most(row, 4, "[c, shortcut, g, e]")
    _, c = out_channels(row, ctx)
    shortcut = arg(row, 1, False, "shortcut (args[1])", is_bool, "true or false")
    arg(row, 2, 1, "groups (args[2])", lambda g: g == 1, "1")
    e = arg(row, 3, 0.5, "expansion (args[3])", is_fraction, "a number in (0, 1]")
    n = repeats(row, ctx)
    ctx.need_conv()
    ctx.use("bottleneck", blocks.bottleneck)
    layer: Layer = {"op": ctx.use("c2f", blocks.c2f), "name": f"c2f{row.index}", "c": c}
    return Translated((with_defaults(layer, repeats=(n, 1), shortcut=(shortcut, False), e=(e, 0.5)),), c)


def c3k2(row: Row, ctx: Context) -> Translated:
    """C3k2 [c, c3k=False, e=0.5, attn=False, g=1, shortcut=True]; parse_model sets c3k for scales
    m, l and x (`args[3:4] = [True]`) and turns `legacy` off (the Detect head that follows changes)."""
    at_most(row, 6, "[c, c3k, e, attn, g, shortcut]")
    _, c = out_channels(row, ctx)
    c3k = arg(row, 1, False, "c3k (args[1])", is_bool, "true or false") or ctx.model.scaling.name in ("m", "l", "x")
    e = arg(row, 2, 0.5, "expansion (args[2])", is_fraction, "a number in (0, 1]")
    if arg(row, 3, False, "attn (args[3])", is_bool, "true or false"):
        raise row_error(
            "E301", f"`C3k2` with attention (row {row.index}) has no archscope op: {_ATTN}", row.args[3].span
        )
    arg(row, 4, 1, "groups (args[4])", lambda g: g == 1, "1")
    shortcut = arg(row, 5, True, "shortcut (args[5])", is_bool, "true or false")
    n = repeats(row, ctx)
    ctx.legacy = False
    ctx.need_conv()
    ctx.use("bottleneck", blocks.bottleneck)
    if c3k:
        ctx.use("c3k", lambda: blocks.c3("c3k"))
    name = ctx.use("c3k2_c3k" if c3k else "c3k2", lambda: blocks.c3k2(c3k))
    layer: Layer = {"op": name, "name": f"c3k2_{row.index}", "c": c}  # `_`: c3k2_2 is model.2, not c3k model.22
    return Translated((with_defaults(layer, repeats=(n, 1), shortcut=(shortcut, True), e=(e, 0.5)),), c)


_ATTN = "its PSABlock multiplies activations by activations (softmax(q·kᵀ)·v); archscope has no `matmul` op"


def c3(row: Row, ctx: Context) -> Translated:
    """C3 [c, shortcut=True, g=1, e=0.5] and C3Ghost [c, shortcut=True, g=1, e=0.5] (whose
    GhostBottlenecks ignore `shortcut`); `repeat_modules`."""
    at_most(row, 4, "[c, shortcut, g, e]")
    _, c = out_channels(row, ctx)
    shortcut = arg(row, 1, True, "shortcut (args[1])", is_bool, "true or false")
    arg(row, 2, 1, "groups (args[2])", lambda g: g == 1, "1")
    e = arg(row, 3, 0.5, "expansion (args[3])", is_fraction, "a number in (0, 1]")
    n = repeats(row, ctx)
    ghost = row.module == "C3Ghost"
    ctx.need_conv(groups=ghost, optional_act=ghost)
    if ghost:
        ctx.use("ghostconv", blocks.ghostconv)
        ctx.use("ghost_bottleneck", blocks.ghost_bottleneck)
    else:
        ctx.use("bottleneck", blocks.bottleneck)
    kind = "c3ghost" if ghost else "c3"
    layer: Layer = {"op": ctx.use(kind, lambda: blocks.c3(kind)), "name": f"{kind}{row.index}", "c": c, "repeats": n}
    return Translated((with_defaults(layer, shortcut=(shortcut or ghost, True), e=(e, 0.5)),), c)


def sppf(row: Row, ctx: Context) -> Translated:
    """SPPF [c, k=5]: a legacy row (YOLO26's [c, k, n, shortcut] builds another SPPF)."""
    at_most(row, 2, "[c, k] (the legacy SPPF)")
    _, c = out_channels(row, ctx)
    k = arg(row, 1, 5, "kernel (args[1])", lambda k: is_count(k) and k % 2 == 1, "an odd positive whole number")
    ctx.need_conv()
    layer: Layer = {"op": ctx.use("sppf", blocks.sppf), "name": f"sppf{row.index}", "c": c}
    return single(row, ctx, with_defaults(layer, k=(k, 5)), c)


def upsample(row: Row, ctx: Context) -> Translated:
    """nn.Upsample [size=None, scale_factor, mode='nearest']: channels unchanged."""
    at_most(row, 3, "[None, scale, mode]")
    arg(row, 0, None, "size (args[0])", lambda v: v is None, "None (a scale factor is given instead)")
    scale = arg(
        row,
        1,
        REQUIRED,
        "scale factor (args[1])",
        lambda v: is_count(v) or isinstance(v, float) and v > 0,
        "a number > 0",
    )
    mode = arg(row, 2, "nearest", "mode (args[2])", lambda v: v in UPSAMPLE_RANKS, " or ".join(UPSAMPLE_RANKS))
    layer: Layer = {"op": "upsample", "name": f"up{row.index}", "mode": mode, "scale": scale}
    return single(row, ctx, layer, input_channels(row, ctx))


def conv_transpose(row: Row, ctx: Context) -> Translated:
    """nn.ConvTranspose2d [c, k, s=1, p=0] (a `base_module`: c scaled), with its default bias."""
    at_most(row, 4, "[c, k, s, p]")
    _, c = out_channels(row, ctx)
    k = arg(row, 1, REQUIRED, "kernel (args[1])", is_count, "a positive whole number")
    s = arg(row, 2, 1, "stride (args[2])", is_count, "a positive whole number")
    p = arg(row, 3, 0, "padding (args[3])", lambda p: is_count(p) or p == 0, "a whole number ≥ 0")
    layer: Layer = {"op": "conv_transpose2d", "name": f"convt{row.index}", "out": c, "kernel": k, "stride": s}
    return single(row, ctx, with_defaults(layer, padding=(p, 0)), c)


def maxpool(row: Row, ctx: Context) -> Translated:
    """nn.MaxPool2d [k, s=k, p=0]: channels unchanged."""
    at_most(row, 3, "[k, s, p]")
    k = arg(row, 0, REQUIRED, "kernel (args[0])", is_count, "a positive whole number")
    s = arg(row, 1, k, "stride (args[1])", is_count, "a positive whole number")
    p = arg(row, 2, 0, "padding (args[2])", lambda p: is_count(p) or p == 0, "a whole number ≥ 0")
    layer = with_defaults({"op": "maxpool2d", "name": f"pool{row.index}", "kernel": k}, stride=(s, k), padding=(p, 0))
    return single(row, ctx, layer, input_channels(row, ctx))


def zeropad(row: Row, ctx: Context) -> Translated:
    """nn.ZeroPad2d [p] with p one size or [left, right, top, bottom]: channels unchanged."""
    at_most(row, 1, "[[left, right, top, bottom]]")

    def sizes(p: Any) -> bool:
        return is_count(p) or p == 0 or isinstance(p, list) and len(p) == 4 and all(is_count(x) or x == 0 for x in p)

    p = arg(row, 0, REQUIRED, "padding (args[0])", sizes, "a size or [left, right, top, bottom]")
    return single(row, ctx, {"op": "zeropad2d", "name": f"pad{row.index}", "padding": p}, input_channels(row, ctx))


def concat(row: Row, ctx: Context) -> Translated:
    """Concat [dimension=1] along channels (archscope's dim 0: shapes have no batch); c2 = Σ ch[f]."""
    at_most(row, 1, "[1]")
    arg(row, 0, 1, "dimension (args[0])", lambda d: d == 1, "1 (channels)")
    channels = [ctx.model.image_channels if s == -1 else ctx.channels.get(s) for s in row.sources]
    names = [ctx.names[s] if s >= 0 else "input" for s in row.sources]
    total = None if None in channels else sum(channels)  # type: ignore[arg-type]
    if row.repeats > 1:
        raise row_error("E004", f"row {row.index}: `Concat` cannot repeat", row.span, expected="repeats 1")
    return Translated(({"op": "concat", "name": f"cat{row.index}", "in": names},), total)


def classify(row: Row, ctx: Context) -> Translated:
    """Classify [c, k=1, s=1]: c is the class count, not scaled (parse_model's exception)."""
    at_most(row, 3, "[c, k, s]")
    c = arg(row, 0, REQUIRED, "class count (args[0])", is_count, "a positive whole number")
    k = arg(row, 1, 1, "kernel (args[1])", is_count, "a positive whole number")
    s = arg(row, 2, 1, "stride (args[2])", is_count, "a positive whole number")
    ctx.need_conv()
    layer = with_defaults(
        {"op": ctx.use("classify", blocks.classify), "name": f"classify{row.index}", "c": c}, k=(k, 1), s=(s, 1)
    )
    return single(row, ctx, layer, c)


def detect(row: Row, ctx: Context) -> Translated:
    """Detect [nc] (parse_model appends reg_max, end2end and the input channels): per input a
    detect_scale layer, with c2 = max(16, ch[0] // 4, 4·reg_max) and c3 = max(ch[0], min(nc, 100))."""
    at_most(row, 1, "[nc]")
    nc = arg(row, 0, REQUIRED, "class count (args[0])", is_count, "a positive whole number")
    if ctx.detect is not None:
        raise row_error("E301", "a second `Detect` head has no translation in the importer", row.module_span)
    channels = [ctx.channels.get(s) for s in row.sources]
    if -1 in row.sources:
        raise row_error("E108", "`Detect` takes feature maps, not the image", row.from_span)
    reg_max, c0 = ctx.model.reg_max, channels[0]
    if c0 is None:  # as `input_channels`: an input whose channels are not known
        raise Skip
    box_c, cls_c = max(16, c0 // 4, reg_max * 4), max(c0, min(nc, 100))
    legacy = ctx.legacy
    scale = ctx.use("detect_scale", lambda: blocks.detect_scale(legacy))
    ctx.need_conv(groups=not legacy)
    names = tuple(f"det{s}" for s in row.sources)
    if len(set(names)) != len(names):
        raise row_error("E301", "`Detect` of the same row twice has no translation in the importer", row.from_span)
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
