"""`archscope list`, `archscope ops` and `archscope schema`: what is bundled and what can be written."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from ..api import list_specs
from .common import handled, write


@handled
def list_(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """The bundled specs, one line each. Any of them can be passed by name to other commands."""
    specs = list_specs()
    if as_json:
        write(
            json.dumps(
                [
                    {
                        "name": s.name,
                        "title": s.title,
                        "year": s.year,
                        "family": s.family,
                        "family_default": s.family_default,
                        "path": str(s.path),
                    }
                    for s in specs
                ],
                indent=2,
            )
        )
        return
    from rich.table import Table

    from ..render.console import console

    table = Table(header_style="bold", box=None)
    for col in ("name", "title", "year", "family"):
        table.add_column(col, no_wrap=True)
    table.add_column("notes", no_wrap=True, overflow="ellipsis")
    for s in specs:
        fam = f"{s.family}{' (default)' if s.family_default else ''}" if s.family else ""
        table.add_row(s.name, s.title, s.year, fam, s.summary)
    console().print(table)


@handled
def ops(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Every op the spec language knows, with its attributes and defaults."""
    from ..ops import REGISTRY

    rows = []
    for name in sorted(REGISTRY):
        op = REGISTRY[name]
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
        rows.append({"op": name, "summary": op.summary, "inputs": list(op.inputs), "attrs": attrs})
    if as_json:
        write(json.dumps(rows, indent=2, default=str))
        return
    from rich.table import Table

    from ..render.console import console

    table = Table(header_style="bold", show_lines=False)
    table.add_column("op")
    table.add_column("what it does")
    table.add_column("attributes (default)")
    for r in rows:
        attrs = ", ".join(a["name"] if a["required"] else f"{a['name']}={a['default']}" for a in r["attrs"])
        table.add_row(r["op"], r["summary"], attrs)
    console().print(table)


@handled
def schema() -> None:
    """Print the JSON Schema of the spec language (for editors; generated from the op registry)."""
    from ..schema import json_schema

    write(json.dumps(json_schema(), indent=2))
