"""An Ultralytics model YAML (``yolov8.yaml``, ``yolo11.yaml``…) → an archscope spec, statically.

Ultralytics builds a network from rows ``[from, repeats, module, args]`` with ``parse_model``
(``ultralytics/nn/tasks.py``). This front end applies the same rules without Ultralytics or
torch: the scale's channel and repeat rules (:class:`~.ultralytics_yaml.Scaling`), ``from``
indices, and one translator per module (:mod:`.ultralytics_modules`) that writes it with the
blocks of :mod:`.ultralytics_blocks`. The spec is then analysed by archscope itself, and its
``expect:`` pins the numbers found. A module with no translation is an E301 at its row; every
such row is listed in one run.

>>> imported = import_ultralytics("yolov8.yaml", scale="n")  # doctest: +SKIP
>>> imported.stats["params"]  # doctest: +SKIP
3157200
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

from archscope.diagnostics import Collector, Diagnostic, SpecError
from archscope.lang.importers.result import Imported
from archscope.lang.importers.ultralytics_blocks import ConvFeatures, Layer
from archscope.lang.importers.ultralytics_modules import translate
from archscope.lang.importers.ultralytics_rows import Context, RowError, Skip, Translated
from archscope.lang.importers.ultralytics_text import dfl_layers, header, spec_text
from archscope.lang.importers.ultralytics_yaml import Model, Row, read_model
from archscope.lang.loader import read_source
from archscope.lang.spec_reader import NAME_RE, visible
from archscope.lang.yamlsrc import parse_yaml

DETECT_SIZE = 640  # Ultralytics' default imgsz (cfg/default.yaml), at which it reports FLOPs
CLASSIFY_SIZE = 224  # its classification models' size (docs table, yolov8-cls)


def import_ultralytics(
    path: str | Path,
    *,
    scale: str | None = None,
    name: str | None = None,
    nc: int | None = None,
    text: str | None = None,
) -> Imported:
    """The spec for `path` (an Ultralytics model YAML; `text` is its content when given) at
    `scale` (default: the YAML's `scale:`, else its first scale, as Ultralytics does), with `nc`
    classes (default: the YAML's). Never raises on bad input: problems are located diagnostics."""
    file = str(path)
    d = Collector()
    try:
        source = text if text is not None else read_source(Path(path), file)
        root = parse_yaml(source, file)
    except SpecError as exc:
        return Imported(name or Path(file).stem, file, None, tuple(exc.diagnostics))
    model = read_model(root, source, file, scale, nc, d)
    spec_name = _spec_name(name, file, model.scaling.name if model else None, d)
    if model is None:
        return Imported(spec_name, file, None, tuple(d.items))
    ctx, done = _translate(model, d)
    if d.has_errors:
        return Imported(spec_name, file, None, tuple(d.items))
    return _write(model, ctx, done, spec_name, source)


def _spec_name(name: str | None, file: str, scale: str | None, d: Collector) -> str:
    """Ultralytics' naming: the scale after the version number (yolov8 + n + -p2 = yolov8n-p2)."""
    if name is not None:
        if not NAME_RE.fullmatch(name):
            d.error("E004", f"`{visible(name)}` is not a valid spec name", None, expected="letters, digits, `_`, `-`")
        return name
    stem = Path(file).stem
    if scale is not None:
        match = re.match(r"(.*?\d+)(.*)", stem)
        stem = f"{match.group(1)}{scale}{match.group(2)}" if match else f"{stem}_{scale}"
    stem = re.sub(r"[^A-Za-z0-9_\-]", "_", stem)
    return stem if NAME_RE.fullmatch(stem) else f"m_{stem}"


def _translate(model: Model, d: Collector) -> tuple[Context, list[tuple[Row, Translated]]]:
    """Every row through its translator, in order; every row's error is collected."""
    op, attrs = model.activation
    ctx = Context(model, conv=ConvFeatures(act_op=op, act_attrs=attrs))
    done: list[tuple[Row, Translated]] = []
    for row in model.rows:
        try:
            translated = translate(row, ctx)
        except RowError as exc:
            d.items.append(exc.diagnostic)
            continue
        except Skip:
            continue
        ctx.channels[row.index] = translated.channels
        ctx.names[row.index] = translated.layers[0]["name"]
        done.append((row, translated))
    return ctx, done


def _write(model: Model, ctx: Context, done: list[tuple[Row, Translated]], name: str, source: str) -> Imported:
    """Write the spec, analyse it (twice with a Detect head: the DFL's layout needs the map sizes),
    and pin `expect:` to what archscope finds."""
    from archscope.api import analyze  # the static pipeline (no torch)

    size = CLASSIFY_SIZE if any(r.module == "Classify" for r, _ in done) else DETECT_SIZE
    owner = {layer["name"]: row for row, t in done for layer in t.layers}
    dfl: list[Layer] = []
    if ctx.detect is not None and model.reg_max > 1:
        draft = spec_text(model, ctx, done, name, source, size, [], None)
        analysis = analyze(f"{name}.yaml", text=draft)
        if analysis.errors or analysis.report is None:
            return _failed(name, model, analysis.diagnostics, owner)
        boxes = {row.name: row.output_shape for row in analysis.report.layers if row.name.endswith(".box")}
        try:
            dfl = dfl_layers([(s, boxes[f"{s}.box"]) for s in ctx.detect.scales])
        except ValueError as exc:
            detect_row = owner[ctx.detect.scales[0]]
            message = f"the DFL of `Detect` (row {detect_row.index}) cannot be laid out: {exc}"
            return Imported(name, model.file, None, (Diagnostic("E301", message, detect_row.module_span),))
        owner.update({layer["name"]: owner[ctx.detect.scales[0]] for layer in dfl})
    text = spec_text(model, ctx, done, name, source, size, dfl, None)
    analysis = analyze(f"{name}.yaml", text=text)
    if analysis.errors or analysis.report is None:
        return _failed(name, model, analysis.diagnostics, owner)
    report = analysis.report
    expect = {"params": report.totals.params, "macs": report.totals.macs, "outputs": dict(report.outputs)}
    stats = {
        "scale": model.scaling.name,
        "scale_chosen": model.scaling.chosen,
        "rows": len(done),
        "layers": report.totals.layers,
        "blocks": list(ctx.blocks),
        "input": list(report.input),
        **{k: v for k, v in expect.items() if k != "outputs"},
        "outputs": {k: list(v) for k, v in report.outputs},
    }
    text = header(model, ctx, name, size, dfl) + spec_text(model, ctx, done, name, source, size, dfl, expect)
    return Imported(name, model.file, text, tuple(_relocate(analysis.warnings, owner)), stats)


def _failed(name: str, model: Model, diagnostics: list[Diagnostic], owner: dict[str, Row]) -> Imported:
    """The written spec does not analyse (a Concat of maps of different sizes, say): each problem
    is reported at the row whose layer it is in."""
    return Imported(name, model.file, None, tuple(_relocate(diagnostics, owner)))


def _relocate(diagnostics: list[Diagnostic], owner: dict[str, Row]) -> list[Diagnostic]:
    out = []
    for x in diagnostics:
        row = owner.get((x.layer or "").split(".")[0])
        if row is None:
            out.append(
                replace(x, notes=(*x.notes, "in the spec the importer wrote (an importer bug: please report it)"))
            )
        else:
            note = f"in `{x.layer}`, the archscope layer written for row {row.index} (`{row.module}`)"
            out.append(replace(x, span=row.span, notes=(*x.notes, note)))
    return out
