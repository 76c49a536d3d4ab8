"""What `archscope verify` shows: per spec a status line with its disagreements and notes,
and with ``--layers`` the table model of every layer's measured numbers. The reports are
:mod:`archscope.torch_backend.verification`'s dataclasses (duck-typed: no torch import here).
"""

from __future__ import annotations

from typing import Any

from archscope.render.grid import DIM, GREEN, RED, style
from archscope.render.numbers import shape
from archscope.results.report import CONVENTION
from archscope.results.table import Column, Table

SOURCES = (
    "sources: shapes from a forward pass of the whole network (meta or cpu, as marked) and of each layer "
    "alone on cpu; params and buffers from the modules' numel; MACs from fvcore (1 multiply-add = 1)"
)
MAX_LISTED = 50

LAYER_COLUMNS = (
    Column("name", "layer", "name"),
    Column("op", "op"),
    Column("shape", "shape", "shape"),
    Column("params", "params", "int"),
    Column("macs", "MACs", "int"),
    Column("fvcore_other", "fvcore apart"),
    Column("fvcore_unsupported", "fvcore skips"),
    Column("check", ""),
)


def layer_table(r: Any) -> Table:
    """Every layer's measured values (a VerifyReport ``r``); ✓ where they equal the static ones."""
    rows = []
    for layer in r.layers:
        bad = layer.mismatches(r.shape_pass)
        rows.append(
            (
                layer.name,
                layer.op,
                layer.static_shape,
                layer.module_params,
                layer.fvcore_macs if layer.fvcore_macs is not None else "?",
                " ".join(f"{op}={n:,}" for op, n in layer.fvcore_other) or "·",
                " ".join(f"{op}×{n}" for op, n in layer.unsupported) or "·",
                "✗ " + "; ".join(m.quantity for m in bad) if bad else "✓",
            )
        )
    return Table(
        LAYER_COLUMNS,
        tuple(rows),
        title=f"{r.name}: measured values (each equals the static one where marked ✓)",
    )


def json_table(reports: list[Any]) -> Table:
    """`verify --format json`: the reports' dicts, each with the counting convention."""
    return Table((), (), convention=CONVENTION, document=[r.to_dict() for r in reports])


def closing_lines(reports: list[Any], files: int, color: bool = False) -> list[str]:
    """Where the measured numbers come from, the counting convention, and how many specs agree."""
    import textwrap

    lines = [style(textwrap.fill(text, 100), DIM, color) for text in (SOURCES, CONVENTION)]
    if files > 1:
        ok = sum(r.ok for r in reports)
        lines.append(f"{ok} of {files} specs verified" + ("" if ok == files else "; see ✗ above"))
    return lines


def status_lines(r: Any, color: bool = False) -> list[str]:
    """``✓ name  numbers · all agree``, or ``✗`` and every disagreement; then fvcore's notes."""
    t = r.totals
    numbers = (
        f"{len(r.layers)} layer{'s' if len(r.layers) != 1 else ''} · input {shape(r.input)} · "
        f"params {t['params']['static']:,} · buffers {t['buffers']['static']:,} · MACs {t['macs']['static']:,}"
    )
    if t.get("frozen", {}).get("static"):  # transfer learning: say what trains
        numbers += f" · trainable {t['trainable']['static']:,} · frozen {t['frozen']['static']:,}"
    if r.ok:
        timing = style(f"{r.shape_pass.split()[0]}, {r.seconds:.1f} s", DIM, color)
        lines = [f"{style('✓', GREEN, color)} {r.name}  {numbers} · all agree  {timing}"]
    else:
        bad = r.mismatches
        s = "s" if len(bad) != 1 else ""
        lines = [f"{style('✗', RED, color)} {r.name}  {numbers} · {len(bad)} disagreement{s}"]
        lines += [f"    {m}" for m in bad[:MAX_LISTED]]
        if len(bad) > MAX_LISTED:
            lines.append(f"    … and {len(bad) - MAX_LISTED} more")
    notes = r.fvcore_notes()
    apart = ", ".join(f"{op} in {n} layer{'s' if n != 1 else ''}" for op, n in notes["counted_apart_layers"].items())
    skipped = ", ".join(f"{op} ×{n}" for op, n in notes["unsupported_calls"].items())
    dim = []
    if apart:
        dim.append(f"    fvcore also counts (not MACs, kept apart): {apart}")
    if skipped:
        dim.append(f"    fvcore skips (unsupported): {skipped}")
    noted: dict[str, list[str]] = {}
    for layer in r.layers:
        for note in layer.notes:
            noted.setdefault(note, []).append(layer.name)
    for note, names in noted.items():
        where = ", ".join(f"`{n}`" for n in names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        dim.append(f"    note ({where}): {note}")
    return lines + [style(line, DIM, color) for line in dim]
