"""`archscope explain CODE`: what a diagnostic code means, a spec that triggers it, and the fix.

The text comes from :mod:`archscope.codes`; the diagnostic shown under "Example" is not written
down anywhere: it is what archscope reports for the example spec right now.
"""

from __future__ import annotations

import json
import sys
import textwrap
from typing import Annotated

import typer

from archscope.cli.common import ExitCode, handled, write
from archscope.codes import TABLE, Code, explain


def _indent(text: str, prefix: str = "    ") -> str:
    return textwrap.indent(text.rstrip("\n"), prefix)


def _wrap(text: str) -> str:
    return textwrap.fill(text, width=88, initial_indent="  ", subsequent_indent="  ")


def live_diagnostics(entry: Code) -> list[str]:
    """What archscope reports for the entry's example now (the concise form, one per line)."""
    from archscope.api import analyze
    from archscope.render.diagnostics import format_text

    if entry.subject == "import":  # the example needs a source file; the README shows real output
        return []
    if entry.subject == "sweep file":
        from archscope.explore.sweepfile import example_diagnostics

        return [format_text(d, with_source=False, hint=False) for d in example_diagnostics(entry.example)]
    if entry.code == "E000":
        result = analyze(entry.example.split()[-1])
    elif entry.subject == "command":  # a sweep: the override's warning, as the spec's analysis gives it
        from archscope.overrides import Overrides

        result = analyze(entry.example.split()[2], overrides=Overrides(width=0.5))
    else:
        result = analyze("example.yaml", text=entry.example)
    return [format_text(d, with_source=False, hint=False) for d in result.diagnostics]


def render_text(entry: Code) -> str:
    out = [f"{entry.code} ({entry.severity}): {entry.summary}", "", _wrap(entry.meaning), "", "Example:"]
    if entry.subject in ("command", "import"):
        out.append(f"    $ {entry.example}")
        if entry.code != "E000" and entry.subject == "command":
            out.append("  gives:")
    else:
        out += [_indent(entry.example), "", "  gives:"]
    out += [_indent(line, "    ") for line in live_diagnostics(entry)]
    out += ["", "Fix:", _wrap(entry.fix)]
    if entry.fixed is not None:
        out += ["", _indent(entry.fixed)]
    return "\n".join(out)


def to_dict(entry: Code) -> dict[str, object]:
    return {
        "code": entry.code,
        "severity": entry.severity,
        "summary": entry.summary,
        "meaning": entry.meaning,
        "example": entry.example,
        "fix": entry.fix,
        "fixed": entry.fixed,
    }


@handled
def explain_command(
    code: Annotated[
        str | None, typer.Argument(help="A diagnostic code such as E104 or W101; none lists them all.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Explain a diagnostic code: what it means, a minimal spec that triggers it, and the fix.

    Every diagnostic archscope prints has a code (`E104`, `W101`); `archscope explain` with no
    code lists them all.

    Examples:
      archscope explain E104
      archscope explain
    """
    if code is None:
        if as_json:
            write(json.dumps([to_dict(e) for e in TABLE], indent=2))
        else:
            write("\n".join(f"{e.code}  {e.severity:<7}  {e.summary}" for e in TABLE))
        return
    entry = explain(code)
    if entry is None:
        from archscope.names import suggest

        near = suggest(code.strip().upper(), [e.code for e in TABLE])
        hint = f"; did you mean `{near}`?" if near else ""
        print(f"archscope: no diagnostic code `{code}`{hint} (`archscope explain` lists them all)", file=sys.stderr)
        raise typer.Exit(ExitCode.USAGE)
    write(json.dumps(to_dict(entry), indent=2) if as_json else render_text(entry))
