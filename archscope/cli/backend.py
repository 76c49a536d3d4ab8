"""What the torch-backed commands (verify, bench, compare --bench) share: their error exits.

``BackendError`` is an expected failure with a message for people (torch missing, device
unavailable, a configuration that would not fit in memory): it is printed without a
traceback and exits 2 (1 for a lowering that torch rejects). Imports no torch.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import typer

from archscope.torch_backend.errors import BackendError

P = ParamSpec("P")
R = TypeVar("R")


def backend_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """Turn a :class:`BackendError` into ``archscope: message`` on stderr and its exit code."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except BackendError as exc:
            print(f"archscope: {exc}", file=sys.stderr)
            raise typer.Exit(exc.exit_code) from None

    return wrapper


def parse_batches(text: str) -> list[int]:
    """``"1,8,32"`` → ``[1, 8, 32]``; raises ``typer.BadParameter`` on anything else."""
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise typer.BadParameter(f"`{text}` is not a comma-separated list of batch sizes") from None
    if not values or any(v < 1 for v in values):
        raise typer.BadParameter(f"`{text}`: batch sizes are positive integers, e.g. 1,8,32")
    return values
