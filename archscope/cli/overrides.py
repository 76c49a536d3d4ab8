"""The override options of every command that reads a spec (summary, compare, verify, bench):
``--resolution N`` or ``H,W``, ``--input C,H,W`` and ``--set key=value`` (repeatable), turned
into one :class:`~archscope.overrides.Overrides` for the API. `lint` has none: it checks files
as they are written. A malformed option is a usage error (exit 2); a ``--set`` key that the spec
does not have is the API's E003 with did-you-mean, like any other problem of the spec (exit 1).
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from archscope.overrides import Overrides


def _check_sizes(param: typer.CallbackParam, value: str | None) -> str | None:
    if value is not None:
        _sizes(param.opts[0], value)
    return value


def _check_sets(values: list[str] | None) -> list[str] | None:
    _params(values)
    return values


ResolutionOpt = Annotated[
    str | None,
    typer.Option(
        "--resolution",
        "-r",
        rich_help_panel="Overrides",
        metavar="N|H,W",
        callback=_check_sizes,
        help="The input's spatial size instead of the spec's (one size, or one per spatial dimension).",
    ),
]
InputOpt = Annotated[
    str | None,
    typer.Option(
        "--input",
        rich_help_panel="Overrides",
        metavar="C,H,W",
        callback=_check_sizes,
        help="The whole input shape instead of the spec's `input:`.",
    ),
]
SetOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        rich_help_panel="Overrides",
        metavar="KEY=VALUE",
        callback=_check_sets,
        help="Replace a value of the spec's `params:` (repeatable); VALUE is YAML: `10`, `true`, `[1,1,1,1]`.",
    ),
]


def _sizes(option: str, text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise typer.BadParameter(f"`{text}` is not a comma-separated list of sizes", param_hint=option) from None
    if any(s < 1 for s in sizes):
        raise typer.BadParameter(f"`{text}`: sizes are positive integers", param_hint=option)
    return sizes


def _value(key: str, text: str) -> Any:
    """A YAML scalar or flow list: ``10`` → 10, ``[1,1,1,1]`` → a list, ``relu`` → a string."""
    import yaml

    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        raise typer.BadParameter(f"`{key}={text}`: the value is not YAML", param_hint="--set") from None
    if isinstance(value, dict):
        raise typer.BadParameter(f"`{key}={text}`: a value is a scalar or a list", param_hint="--set")
    return value


def _params(sets: list[str] | None) -> dict[str, Any]:
    params = {}
    for item in sets or ():
        key, eq, text = item.partition("=")
        if not eq or not key.strip():
            raise typer.BadParameter(f"`{item}` is not KEY=VALUE", param_hint="--set")
        params[key.strip()] = _value(key.strip(), text)
    return params


def overrides_from(resolution: str | None, input_: str | None, sets: list[str] | None) -> Overrides:
    """The options (checked by their callbacks: a usage error exits 2 before this) as :class:`Overrides`."""
    res = _sizes("--resolution", resolution) if resolution is not None else None
    return Overrides(
        resolution=res[0] if res is not None and len(res) == 1 else res,
        params=_params(sets),
        input=_sizes("--input", input_) if input_ is not None else None,
    )
