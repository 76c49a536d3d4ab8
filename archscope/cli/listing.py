"""`archscope list`, `archscope ops` and `archscope schema`: what is bundled and what can be written."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from ..api import list_specs
from ..render.emit import TABLE_FORMATS, OutputFormat
from .common import format_option, handled, write, write_table

JsonFlag = Annotated[bool, typer.Option("--json", help="Same as --format json.")]


@handled
def list_(
    fmt: Annotated[OutputFormat, format_option(*TABLE_FORMATS)] = OutputFormat.table,
    as_json: JsonFlag = False,
) -> None:
    """The bundled specs, one line each. Any of them can be passed by name to other commands.

    Example:
      archscope list --format json
    """
    from ..render.listing import specs_table

    write_table(specs_table(list_specs()), OutputFormat.json if as_json else fmt)


@handled
def ops(
    fmt: Annotated[
        OutputFormat, format_option(OutputFormat.table, OutputFormat.json, OutputFormat.markdown)
    ] = OutputFormat.table,
    as_json: JsonFlag = False,
) -> None:
    """Every op the spec language knows, with its attributes and defaults.

    Example:
      archscope ops --format markdown
    """
    from ..ops import REGISTRY
    from ..render.listing import ops_table

    write_table(ops_table(REGISTRY), OutputFormat.json if as_json else fmt)


@handled
def schema() -> None:
    """Print the JSON Schema of the spec language (for editors; generated from the op registry).

    Example:
      archscope schema > archscope.schema.json
    """
    from ..schema import json_schema

    write(json.dumps(json_schema(), indent=2))
