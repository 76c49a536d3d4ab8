"""`archscope ops`: every op the spec language knows, with its attributes and defaults."""

from __future__ import annotations

from typing import Annotated

from archscope.cli.common import JsonFlag, format_option, handled, write_table
from archscope.render.emit import OutputFormat


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
    from archscope.ops import REGISTRY
    from archscope.render.listing import ops_table

    write_table(ops_table(REGISTRY), OutputFormat.json if as_json else fmt)
