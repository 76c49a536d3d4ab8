"""`archscope list`: the bundled specs, one line each."""

from __future__ import annotations

from typing import Annotated

from archscope.api import list_specs
from archscope.cli.common import JsonFlag, format_option, handled, write_table
from archscope.render.emit import TABLE_FORMATS, OutputFormat


@handled
def list_(
    fmt: Annotated[OutputFormat, format_option(*TABLE_FORMATS)] = OutputFormat.table,
    as_json: JsonFlag = False,
) -> None:
    """The bundled specs, one line each. Any of them can be passed by name to other commands.

    Example:
      archscope list --format json
    """
    from archscope.render.listing import specs_table

    write_table(specs_table(list_specs()), OutputFormat.json if as_json else fmt)
