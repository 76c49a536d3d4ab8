"""The rich consoles, honouring NO_COLOR, --no-color and non-terminal output.

rich is imported when a console is first made, not with this module: the global
``--no-color`` option is set on every command, and JSON/CSV output never needs rich
(importing ``rich.console`` costs ≈ 45 ms of a 300 ms start-up budget).
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

_state = {"no_color": False}


def set_no_color(value: bool) -> None:
    _state["no_color"] = value


def colors_disabled() -> bool:
    return _state["no_color"] or bool(os.environ.get("NO_COLOR"))


def console(stderr: bool = False) -> Console:
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    no_color = colors_disabled()
    width = None if stream.isatty() else int(os.environ.get("COLUMNS", "160"))
    return Console(
        file=stream,
        no_color=no_color,
        highlight=False,
        width=width,
        soft_wrap=False,
        color_system=None if no_color else "auto",
    )
