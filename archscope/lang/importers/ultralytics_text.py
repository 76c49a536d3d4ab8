"""The imported spec as YAML text: a header that says where it came from and which rules made
it, the blocks, one layer per Ultralytics row (with the row, as written, in a comment), the DFL,
and ``expect:``.

Every value comes from the importer's own data (numbers, names it made, validated choices);
strings are written plain only when they are simple names, else quoted, and text taken from the
source file (its path, its comments) only ever lands in a comment, with control characters
escaped: a source file cannot add a key or a line to the spec.
"""

from __future__ import annotations

import json
import math
from typing import Any

from archscope import __version__
from archscope.lang.importers.ultralytics_blocks import BlockDef, Layer
from archscope.lang.importers.ultralytics_rows import Context, Translated
from archscope.lang.importers.ultralytics_yaml import Model, Row
from archscope.lang.importers.write import flow, scalar
from archscope.lang.spec_reader import visible


def _block(name: str, block: BlockDef) -> list[str]:
    lines = [f"  {name}:", f"    doc: {json.dumps(block.doc, ensure_ascii=False)}"]
    if block.args:
        lines.append(f"    args: {flow(block.args)}")
    lines.append("    layers:")
    lines.extend(f"      - {flow(layer)}" for layer in block.layers)
    return [*lines, ""]


def _row_comment(row: Row, source: str) -> str:
    """`model.i: [from, n, module, args]` as the row is written (one line), and scaled repeats."""
    lines = source.splitlines()
    written = ""
    if row.span.end_line == row.span.line and row.span.line <= len(lines):
        written = lines[row.span.line - 1][row.span.col - 1 : (row.span.end_col or 0) - 1]
    return f"# model.{row.index}: {visible(written)}" if written else f"# model.{row.index}"


def _layers(model: Model, done: list[tuple[Row, Translated]], source: str) -> list[str]:
    entries: list[tuple[str, str]] = []
    for row, translated in done:
        comment = _row_comment(row, source)
        n = model.scaling.repeats(row.repeats)
        if n != row.repeats and "n" not in translated.layers[0]:
            comment += f"  (repeats {row.repeats} → {n})"
        for j, layer in enumerate(translated.layers):
            entries.append((f"  - {flow(layer)}", comment if j == 0 else ""))
    width = min(max(len(text) for text, _ in entries), 78) + 2
    return [f"{text:<{width}}{comment}".rstrip() for text, comment in entries]


def dfl_layers(boxes: list[tuple[str, tuple[int, ...]]]) -> list[Layer]:
    """DFL(reg_max) (head.py) on every anchor: softmax over the reg_max bins of each side, then a
    1×1 conv (reg_max → 1, weights 0 … reg_max − 1). As specs/yolov8n.yaml does (it was
    written before archscope had `reshape`), each scale's box map (4·reg_max × H × W) is cut into columns as wide
    as the smallest map and the columns stacked along the height; the four sides are stacked too.
    A 1×1 conv and a channel softmax do not care where a position sits. ValueError when a width
    is not a multiple of the smallest."""
    column = min(shape[2] for _, shape in boxes)
    parts: list[str] = []
    layers: list[Layer] = []
    for scale, shape in boxes:
        if shape[2] % column:
            raise ValueError(f"its maps are {shape[2]} and {column} wide, and {column} does not divide {shape[2]}")
        cuts = shape[2] // column
        if cuts == 1:
            parts.append(f"{scale}.box")
            continue
        layers.append({"op": "split", "name": f"dfl_{scale}", "in": f"{scale}.box", "sections": cuts, "dim": 2})
        pieces = [f"dfl_{scale}.{j}" for j in range(cuts)]
        layers.append({"op": "concat", "name": f"dfl_{scale}_rows", "in": pieces, "dim": 1})
        parts.append(f"dfl_{scale}_rows")
    if len(parts) > 1:
        layers.append({"op": "concat", "name": "dfl_boxes", "in": parts, "dim": 1})
    boxes_name = "dfl_boxes" if len(parts) > 1 else parts[0]
    sides = [f"dfl_sides.{j}" for j in range(4)]
    return [
        *layers,
        {"op": "split", "name": "dfl_sides", "in": boxes_name, "sections": 4},
        {"op": "concat", "name": "dfl_bins", "in": sides, "dim": 1},
        {"op": "softmax", "name": "dfl_softmax", "dim": 0},
        {"op": "conv2d", "name": "dfl", "out": 1, "kernel": 1, "bias": False},
    ]


def _params(ctx: Context) -> list[str]:
    entries: list[tuple[str, str]] = []
    if ctx.detect is not None:
        entries += [
            (f"nc: {ctx.detect.nc}", ""),
            (f"reg_max: {ctx.model.reg_max}", ""),
            (f"box_c: {ctx.detect.box_c}", "Detect's c2 = max(16, c_P // 4, 4 · reg_max), c_P: its first input's"),
            (f"cls_c: {ctx.detect.cls_c}", "Detect's c3 = max(c_P, min(nc, 100))"),
        ]
    entries += [("bn_eps: 0.001", "BatchNorm2d eps and momentum (initialize_weights)"), ("bn_momentum: 0.03", "")]
    return ["params:", *(f"  {text:<20}# {comment}" if comment else f"  {text}" for text, comment in entries)]


def spec_text(
    model: Model,
    ctx: Context,
    done: list[tuple[Row, Translated]],
    name: str,
    source: str,
    size: int,
    dfl: list[Layer],
    expect: dict[str, Any] | None,
) -> str:
    """The spec's body (no header): keys, blocks, layers, outputs and, when known, `expect:`."""
    scale = model.scaling.name
    origin = f"{visible(model.file)}, scale {visible(scale)}" if scale else visible(model.file)
    lines = [
        f"name: {scalar(name)}",
        f"source: {json.dumps(f'{origin} (archscope {__version__} import)')}",
        "tags: [yolo, ultralytics, imported]",
        f"input: [{model.image_channels}, {size}, {size}]",
        *_params(ctx),
        "",
        "blocks:",
    ]
    for block_name, make in ctx.blocks.items():
        lines += _block(block_name, make())
    lines += ["layers:", *_layers(model, done, source)]
    if ctx.detect is not None:
        if dfl:
            lines += [f"  # DFL (model.{ctx.detect.row}.dfl) on the box maps of every scale"]
            lines += [f"  - {flow(layer)}" for layer in dfl]
        outputs = [*ctx.detect.scales, *(["dfl"] if dfl else [])]
        lines += ["", f"outputs: {scalar(outputs)}"]
        lines += ["freeze: [dfl]                   # DFL's conv has requires_grad False"] if dfl else []
    elif done:
        lines += ["", f"output: {scalar(done[-1][1].layers[-1]['name'])}"]  # the last row's module
    if expect is not None:
        lines += ["", "expect:", f"  params: {expect['params']:_}", f"  macs: {expect['macs']:_}"]
        outs = expect["outputs"]
        if len(outs) == 1:
            lines.append(f"  output: {scalar(list(next(iter(outs.values()))))}")
        else:
            lines += ["  outputs:", *(f"    {k}: {scalar(list(v))}" for k, v in outs.items())]
    return "\n".join(lines) + "\n"


def header(model: Model, ctx: Context, name: str, size: int, dfl: list[Layer]) -> str:
    """The comment that opens the spec: the source, the scale and how it was chosen, the rules."""
    s = model.scaling
    max_channels = "none" if math.isinf(s.max_channels) else f"{s.max_channels:g}"
    scale = f"scale {visible(s.name)}" if s.name else "no scales"
    lines = [
        f"{name}: imported by archscope {__version__} (`archscope import`) from the Ultralytics model YAML",
        f"{visible(model.file)}, {scale} (depth {s.depth:g}, width {s.width:g}, max_channels {max_channels}),",
        f"input {model.image_channels}×{size}×{size} (Ultralytics' {'classification' if size == 224 else 'default'} image size).",
    ]
    if s.name:
        lines.append(f"Scale {visible(s.name)}: {s.chosen}.")
    if s.comment:
        lines.append(f'The YAML\'s comment on this scale: "{s.comment}".')
    lines += [
        "",
        "Rules applied (parse_model, ultralytics/nn/tasks.py, Ultralytics 8.4):",
        "- rows: backbone + head, numbered from 0; a layer's name carries its row (conv0 is model.0);",
        "  `from` -1 is the row before, -k the k-th before, a list feeds Concat or Detect.",
        "- channels: make_divisible(min(c, max_channels) · width, 8), rounded up to a multiple of 8",
        "  (Classify's class count is not scaled).",
        "- repeats: max(round(n · depth), 1) when n > 1 (Python's round, half to even); C2f, C3k2, C3",
        "  and C3Ghost take them as an argument (C2f and C3k2 concatenate every repeat: `m.*`).",
        "- modules: as ultralytics/nn/modules/{conv,block,head}.py build them (each block's `doc`);",
        "  Conv = conv (no bias) + BatchNorm (eps 0.001, momentum 0.03: initialize_weights) + " + ctx.conv.act_op + ".",
    ]
    if ctx.detect is not None:
        lines += [
            f"- Detect (model.{ctx.detect.row}): per scale, the box ‖ class maps (outputs "
            + ", ".join(ctx.detect.scales)
            + ")"
            + ("; dfl: the DFL's" if dfl else "."),
        ]
        if dfl:
            lines += [
                "  softmax over the reg_max bins and its 1×1 conv (frozen: no grad in Ultralytics) on every",
                "  anchor, the maps cut into columns, as specs/yolov8n.yaml does. Left out: the anchor decode",
                "  and the class sigmoid (no parameters).",
            ]
    lines += [
        "",
        "expect: the numbers archscope computes for this file. Ultralytics' own count needs its package",
        "and torch, so the importer does not compute it; bench/ultralytics_check.py compares the two.",
    ]
    return "".join(f"# {line}".rstrip() + "\n" for line in lines)
