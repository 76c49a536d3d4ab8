"""The table models of `archscope list` (the bundled specs) and `archscope ops` (the ops)."""

from __future__ import annotations

from typing import Any

from archscope.results.table import Column, Table

SPEC_COLUMNS = (
    Column("family_label", "family", show="human"),
    Column("name", "name"),
    Column("title", "title", fit="ellipsis"),
    Column("year", "year"),
    Column("family", "family", show="machine"),
    Column("family_default", "family_default", show="machine"),
    Column("path", "path", show="machine"),
    Column("summary", "notes", show="human", fit="ellipsis"),
)
OTHER = "(examples)"  # the specs of no family: the course's worked examples

OP_COLUMNS = (
    Column("op", "op"),
    Column("summary", "what it does", fit="wrap"),
    Column("inputs", "inputs", show="machine"),
    Column("attrs", "attrs", show="machine"),
    Column("attributes", "attributes (default)", show="human", fit="wrap"),
)


def specs_table(specs: list[Any]) -> Table:
    """One row per bundled spec (:func:`archscope.api.list_specs`), grouped by family: families in
    alphabetical order (the specs of no family last), the family's default first, then by name.
    People read the family once, on its first row."""
    ordered = sorted(specs, key=lambda s: (s.family is None, s.family or "", not s.family_default, s.name))
    rows = []
    previous: object = ()
    for s in ordered:
        label = "" if s.family == previous else (s.family or OTHER)
        previous = s.family
        rows.append((label, s.name, s.title, s.year, s.family, s.family_default, str(s.path), s.summary))
    note = "a family's first spec is its default: what the family's name (`resnet`, `vgg`…) resolves to"
    return Table(SPEC_COLUMNS, tuple(rows), notes=(note,))


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
