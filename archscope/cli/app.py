"""The `archscope` command: typer wiring only; each subcommand lives in its own module.

The command line imports only the module of the command it runs (``archscope summary`` never
imports `bench`'s or `report`'s): :func:`main` registers that one command, or all of them when
no known command is named (``--help``, a typo). ``app``, the whole application, is built on
first use (``from archscope.cli.app import app``, as the tests do)."""

from __future__ import annotations

import importlib
import inspect
import sys
from collections.abc import Iterable
from typing import Annotated, Any

import typer
from typer.core import TyperGroup, TyperOption

from archscope import __version__
from archscope.cli.common import set_debug

# name → (module in archscope.cli.commands, function, panel of `archscope --help`): the order of `archscope --help`,
# each panel's commands together (a panel is listed where its first command is)
COMMANDS = {
    "summary": ("summary", "summary", "Analyse"),
    "lint": ("lint", "lint", "Analyse"),
    "compare": ("compare", "compare", "Analyse"),
    "rf": ("rf", "rf", "Analyse"),
    "memory": ("memory", "memory", "Analyse"),
    "predict": ("predict", "predict", "Analyse"),
    "conventions": ("conventions", "conventions", "Analyse"),
    "draw": ("draw", "draw", "Pictures"),
    "report": ("report", "report", "Pictures"),
    "verify": ("verify", "verify", "PyTorch"),
    "bench": ("bench", "bench", "PyTorch"),
    "calibrate": ("calibrate", "calibrate", "PyTorch"),
    "export": ("export", "export", "PyTorch"),
    "import": ("import_", "import_", "PyTorch"),
    "sweep": ("sweep", "sweep", "Explore"),
    "list": ("list_", "list_", "Reference"),
    "ops": ("ops", "ops", "Reference"),
    "schema": ("schema", "schema", "Reference"),
    "explain": ("explain", "explain_command", "Reference"),
}

# A command's subcommands: name → (module in archscope.cli.commands, function). The command itself runs
# when the word after it names none of them (`archscope sweep SPEC` is the grid sweep, `archscope sweep
# compound` the subcommand); see :class:`_WithSubcommands`.
SUBCOMMANDS = {
    "sweep": {"compound": ("sweep_compound", "compound")},
}

# Old spellings kept for one release: (command, flag) → the subcommand that now does it. The flag is
# dropped unless the subcommand has it too (`sweep SPEC --coefficients` is `sweep compound SPEC --coefficients`).
MOVED = {
    ("sweep", "--compound"): "compound",
    ("sweep", "--coefficients"): "compound",
}


def _set_no_color(_ctx: Any, _param: Any, value: bool) -> None:
    if value:
        from archscope.render.console import set_no_color

        set_no_color(True)


def _set_debug(_ctx: Any, _param: Any, value: bool) -> None:
    if value:
        set_debug(True)


# The global options, accepted after the command too (`archscope ops --no-color`), as users type them.
GLOBAL_OPTIONS = (
    ("--no-color", "No colours (NO_COLOR is honoured too).", _set_no_color),
    ("--debug", "Show tracebacks of internal errors.", _set_debug),
)


class _Group(TyperGroup):
    """Adds the global options to every command, so they work before or after its name."""

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            have = {opt for p in command.params for opt in getattr(p, "opts", ())}
            for flag, help_text, callback in GLOBAL_OPTIONS:
                if flag not in have:
                    command.params.append(
                        TyperOption(
                            param_decls=[flag],
                            is_flag=True,
                            default=False,
                            expose_value=False,
                            is_eager=True,
                            callback=callback,
                            help=help_text,
                        )
                    )
        return command

    def list_commands(self, ctx: Any) -> list[str]:
        # typer lists a command with subcommands (`sweep`) after the plain ones: keep COMMANDS' order
        order = {name: i for i, name in enumerate(COMMANDS)}
        return sorted(super().list_commands(ctx), key=lambda name: order.get(name, len(order)))


class _WithSubcommands(_Group):
    """A command that is also a group: ``archscope sweep compound ...`` runs the subcommand, and any
    other first word (``archscope sweep SPEC ...``) runs the command itself with its own options, so a
    command line written before the subcommand existed keeps working. ``--help`` shows the command's
    usage, options and its subcommands."""

    allow_extra_args = False  # parsed as the command, not as a group (TyperGroup's are True and False)
    allow_interspersed_args = True

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        first = next((i for i, word in enumerate(args) if word not in _GLOBAL_FLAGS), len(args))
        if first < len(args) and args[first] in self.commands:  # `sweep compound ...`, `sweep --debug compound`
            ctx.meta[_SUBCOMMAND] = [args[first], *args[:first], *args[first + 1 :]]  # run by invoke()
            return []
        moved = self._moved(args)
        if moved != args:  # an old spelling, now naming its subcommand
            return self.parse_args(ctx, moved)
        return super().parse_args(ctx, args)  # the command's own: nothing is left for a subcommand

    def invoke(self, ctx: Any) -> Any:
        args = ctx.meta.pop(_SUBCOMMAND, None)
        if args is None:
            return super().invoke(ctx)  # no subcommand: the command's own callback
        name, command, rest = self.resolve_command(ctx, args)
        assert command is not None
        ctx.invoked_subcommand = name
        with ctx, command.make_context(name, rest, parent=ctx) as sub:
            return command.invoke(sub)

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        return super().collect_usage_pieces(ctx)[:-1]  # `sweep [OPTIONS] SPEC`, without `COMMAND [ARGS]...`

    def get_params(self, ctx: Any) -> list[Any]:
        # asked by a subcommand's context for its usage line: `sweep compound`, not `sweep {spec} compound`
        return super().get_params(ctx) if ctx.command is self else []

    def _moved(self, args: list[str]) -> list[str]:
        """``args`` with an old spelling (:data:`MOVED`) turned into its subcommand, and a note saying so:
        the moved flags the subcommand lacks are dropped (``--compound``), the others kept."""
        name = self.name or ""
        words = args[: args.index("--")] if "--" in args else args
        moved = [w for w in words if (name, w) in MOVED]
        if not moved:
            return args
        sub = MOVED[(name, moved[0])]
        have = {opt for p in self.commands[sub].params for opt in getattr(p, "opts", ())}
        drop = {flag for flag in moved if flag not in have}
        kept = "".join(f" {flag}" for flag in dict.fromkeys(moved) if flag in have)
        typer.echo(
            f"archscope: note: `{name} SPEC {' '.join(dict.fromkeys(moved))}` is now "
            f"`archscope {name} {sub} SPEC{kept}`; the old spelling goes in the next release",
            err=True,
        )
        return [sub, *(a for a in args if a not in drop)]


_SUBCOMMAND = "archscope.subcommand"
_GLOBAL_FLAGS = {flag for flag, _, _ in GLOBAL_OPTIONS}


def _version(value: bool) -> None:
    if value:
        print(f"archscope {__version__}")
        raise typer.Exit()


def main_options(
    no_color: Annotated[bool, typer.Option("--no-color", help="No colours (NO_COLOR is honoured too).")] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks of internal errors.")] = False,
    version: Annotated[  # noqa: ARG001  its eager callback prints the version and exits
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    from archscope.render.console import set_no_color

    set_no_color(no_color)
    set_debug(debug)


def command_help(doc: str) -> str:
    """A command's docstring as its ``--help``: the first line is the summary of the command list;
    each later paragraph becomes one line, for rich to wrap at the terminal's width (typer's rich mode
    keeps a docstring's line breaks, which break mid-sentence on a narrow terminal), except an
    ``Example:`` or ``Examples:`` paragraph, whose lines are commands, kept as written."""
    first, *rest = inspect.cleandoc(doc).split("\n\n")
    flow = [p if p.startswith("Example") else " ".join(line.strip() for line in p.splitlines()) for p in rest]
    return "\n\n".join([first, *flow])


def build_app(names: Iterable[str] | None = None) -> typer.Typer:
    """The application with the commands ``names`` (all of :data:`COMMANDS` when None)."""
    application = typer.Typer(
        name="archscope",
        cls=_Group,
        help="Understand, check and compare convolutional network architectures written as YAML specs.\n\n"
        "Every diagnostic has a code: `archscope explain CODE` says what it means and how to fix it.\n\n"
        "The PyTorch commands need the `torch` extra (`import` only for PyTorch sources); the others never "
        "import torch (`compare`, `report` and `sweep` unless --bench).",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    application.callback()(main_options)
    for name in COMMANDS if names is None else names:
        module, function, panel = COMMANDS[name]
        command = _function(module, function)
        if name not in SUBCOMMANDS:
            application.command(name, help=command_help(command.__doc__ or ""), rich_help_panel=panel)(command)
            continue
        group = typer.Typer(cls=_WithSubcommands, invoke_without_command=True, add_completion=False)
        group.callback()(command)
        for sub, (sub_module, sub_function) in SUBCOMMANDS[name].items():
            subcommand = _function(sub_module, sub_function)
            group.command(sub, help=command_help(subcommand.__doc__ or ""))(subcommand)
        application.add_typer(group, name=name, help=command_help(command.__doc__ or ""), rich_help_panel=panel)
    return application


def _function(module: str, function: str) -> Any:
    return getattr(importlib.import_module(f"{__package__}.commands.{module}"), function)


def requested(argv: list[str]) -> str | None:
    """The command ``argv`` names (its first word that is not a global option), if it is one of ours."""
    for word in argv:
        if word in ("--no-color", "--debug"):
            continue
        return word if word in COMMANDS else None
    return None


def __getattr__(name: str) -> Any:
    if name == "app":  # the whole application, built once, on first use
        application = build_app()
        globals()["app"] = application
        return application
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main() -> None:
    from archscope.cli.interrupt import install

    install()  # again, for callers of this function (the `archscope` command installs it before importing)
    command = requested(sys.argv[1:])
    # the named command alone; none for `--version`; every one for `--help` or an unknown name
    build_app([command] if command else [] if sys.argv[1:2] == ["--version"] else None)()
