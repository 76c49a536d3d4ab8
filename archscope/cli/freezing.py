"""`--freeze`/`--unfreeze` (transfer learning), shared by every command that reads a spec."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

import typer

from archscope.overrides import Overrides

FreezeOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--freeze",
        rich_help_panel="Transfer learning",
        metavar="PATTERN",
        help="Freeze the layers this glob names (`layer1`, `layer4.*`, `*`); repeatable; after the spec's `freeze:`.",
    ),
]
UnfreezeOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--unfreeze",
        rich_help_panel="Transfer learning",
        metavar="PATTERN",
        help="Train these layers again (`fc`); repeatable; applied after every freeze pattern.",
    ),
]


def freezing(freeze: list[str] | None, unfreeze: list[str] | None, base: Overrides | None = None) -> Overrides:
    """The overrides of ``--freeze``/``--unfreeze`` (patterns after the spec's own lists), added to
    ``base`` (the command's other overrides)."""
    return replace(base or Overrides(), freeze=tuple(freeze or ()), unfreeze=tuple(unfreeze or ()))
