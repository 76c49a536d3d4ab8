"""`archscope schema`: the JSON Schema of the spec language, for editors."""

from __future__ import annotations

import json

from archscope.cli.common import handled, write


@handled
def schema() -> None:
    """Print the JSON Schema of the spec language (for editors; generated from the op registry).

    Example:
      archscope schema > archscope.schema.json
    """
    from archscope.lang.schema import json_schema

    write(json.dumps(json_schema(), indent=2))
