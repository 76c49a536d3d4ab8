"""The table model of `archscope rf`, and the receptive field in words (summary's footer, compare's column)."""

from __future__ import annotations

from typing import Any

from archscope.passes.receptive_field import FieldResult, LayerField, dims, field_words, final_dict, layer_dict
from archscope.render.numbers import shape
from archscope.render.summary import grouped_rows
from archscope.results.report import Report
from archscope.results.table import Column, Table

CONVENTION = (
    "receptive field per spatial dim, in input units: size = the input units one output unit sees "
    "(unclipped: near a border part of it is padding; the largest over units when neighbours differ), "
    "stride = the distance in input units between neighbouring units' fields, centre = where output "
    "unit 0's field is centred (input unit 0 is centred at 0). global: every unit sees the whole input."
)


COLUMNS = (
    Column("name", "layer", "name"),
    Column("op", "op"),
    Column("output_shape", "output", "shape"),
    Column("size_text", "size", align="right", show="human"),
    Column("stride_text", "stride", align="right", show="human"),
    Column("center_text", "centre of unit 0", align="right", show="human"),
    Column("size", "size", "list", show="machine"),
    Column("stride", "stride", "list", show="machine"),
    Column("center", "center", "list", show="machine"),
    Column("global", "global", show="machine"),
)


def _row(name: str, op: str, layer: LayerField) -> tuple[Any, ...]:
    d = layer_dict(layer)
    if layer.unknown:
        text = ("unknown", "", "")
    elif layer.is_global:
        text = ("global", "", "")
    elif layer.flat:
        text = ("(flat)", "", "")
    else:
        centre = ", ".join("—" if c is None else f"{float(c):g}" for c in layer.center)
        text = (dims(layer.size), dims(layer.stride), f"({centre})")
    local = not (layer.is_global or layer.flat or layer.unknown)
    machine = (d["size"], d["stride"], d["center"]) if local else (None, None, None)
    return (name, op, layer.shape, *text, *machine, layer.is_global)


def _grouped(report: Report, result: FieldResult, depth: int | None) -> list[tuple[str, str, LayerField]]:
    """(name, op, field of the group's last layer): the rows of `summary --depth`, each with the field of its output."""
    if not depth:
        return [(layer.name, layer.op, layer) for layer in result.layers]
    last: dict[str, LayerField] = {}
    for layer in result.layers:
        last[".".join(layer.name.split(".")[:depth])] = layer
    return [(row.name, row.op, last[row.name]) for row in grouped_rows(report, depth)]


def field_table(report: Report, result: FieldResult, depth: int | None = None, note: str | None = None) -> Table:
    """One row per layer (or per group of ``depth``: the field of the group's output); JSON has every layer."""
    rows = tuple(_row(name, op, layer) for name, op, layer in _grouped(report, result, depth))
    final = final_dict(result)
    notes = result.notes
    document = {
        "name": report.name,
        "title": report.title,
        "input": list(report.input),
        "receptive_field": final,
        "layers": [layer_dict(layer) for layer in result.layers],
        "notes": list(notes),
    }
    return Table(
        COLUMNS,
        rows,
        title=f"{report.title}: receptive field",
        preamble=tuple(line for line in (note, f"input {shape(report.input)}") if line),
        footer=(f"receptive field {field_words(final)}",),
        notes=notes,
        convention=CONVENTION,
        document=document,
    )
