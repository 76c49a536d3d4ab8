"""The table models of `archscope list` (the bundled specs) and `archscope ops` (the ops)."""

from __future__ import annotations

from typing import Any

from ..table import Column, Table

SPEC_COLUMNS = (
    Column("name", "name"),
    Column("title", "title", fit="ellipsis"),
    Column("year", "year"),
    Column("family", "family", show="machine"),
    Column("family_default", "family_default", show="machine"),
    Column("family_label", "family", show="human"),
    Column("path", "path", show="machine"),
    Column("summary", "notes", show="human", fit="ellipsis"),
)

OP_COLUMNS = (
    Column("op", "op"),
    Column("summary", "what it does", fit="wrap"),
    Column("inputs", "inputs", show="machine"),
    Column("attrs", "attrs", show="machine"),
    Column("attributes", "attributes (default)", show="human", fit="wrap"),
)


def specs_table(specs: list[Any]) -> Table:
    """One row per bundled spec (:func:`archscope.api.list_specs`)."""
    rows = tuple(
        (
            s.name,
            s.title,
            s.year,
            s.family,
            s.family_default,
            f"{s.family}{' (default)' if s.family_default else ''}" if s.family else "",
            str(s.path),
            s.summary,
        )
        for s in specs
    )
    return Table(SPEC_COLUMNS, rows)


def ops_table(registry: dict[str, Any]) -> Table:
    """One row per registered op, with its attributes and their defaults."""
    rows = []
    for name in sorted(registry):
        op = registry[name]
        attrs = [
            {
                "name": a.name,
                "type": a.type.describe(),
                "default": None if a.required else a.default,
                "required": a.required,
                "doc": a.doc,
            }
            for a in op.attrs
        ]
        label = ", ".join(a["name"] if a["required"] else f"{a['name']}={a['default']}" for a in attrs)
        rows.append((name, op.summary, list(op.inputs), attrs, label))
    return Table(OP_COLUMNS, tuple(rows))
