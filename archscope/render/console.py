"""The rich consoles, honouring NO_COLOR, --no-color and non-terminal output."""

from __future__ import annotations

import os
import sys

from rich.console import Console

_state = {"no_color": False}


def set_no_color(value: bool) -> None:
    _state["no_color"] = value


def console(stderr: bool = False) -> Console:
    stream = sys.stderr if stderr else sys.stdout
    no_color = _state["no_color"] or bool(os.environ.get("NO_COLOR"))
    width = None if stream.isatty() else int(os.environ.get("COLUMNS", "160"))
    return Console(file=stream, no_color=no_color, highlight=False, width=width, soft_wrap=False,
                   color_system=None if no_color else "auto")
