"""`archscope draw SPEC`: the network as a picture (Mermaid, Graphviz DOT, SVG, PNG)."""

from __future__ import annotations

import enum
import sys
from pathlib import Path
from typing import Annotated

import typer

from archscope.api import analyze
from archscope.cli.common import ExitCode, ExtendsRootOpt, MaxLayersOpt, exit_for, handled, print_diagnostics
from archscope.cli.overrides import InputOpt, ResolutionOpt, SetOpt, overrides_from
from archscope.cli.pictures import ForceOpt, OutputOpt, usage_error


class DrawFormat(str, enum.Enum):
    mermaid = "mermaid"
    dot = "dot"
    svg = "svg"
    png = "png"

    def __str__(self) -> str:
        return self.value


SUFFIXES = {".mmd": DrawFormat.mermaid, ".dot": DrawFormat.dot, ".gv": DrawFormat.dot}
SUFFIXES.update({".svg": DrawFormat.svg, ".png": DrawFormat.png})


def pick_format(fmt: DrawFormat | None, output: str | None) -> DrawFormat:
    """``--format``, else the -o file's suffix, else Mermaid (text on stdout)."""
    if fmt is not None:
        return fmt
    if output is None:
        return DrawFormat.mermaid
    suffix = Path(output).suffix.lower()
    if suffix not in SUFFIXES:
        names = ", ".join(SUFFIXES)
        raise usage_error(f"`{output}`: cannot tell the format from `{suffix or 'no suffix'}` ({names}); give --format")
    return SUFFIXES[suffix]


def emit(data: str | bytes, output: str | None, force: bool) -> None:
    """Write to ``output`` (atomically, via :func:`write_output`) or stdout."""
    if output is not None:
        from archscope.cli.output import write_output

        write_output(output, data, force=force)
        return
    if isinstance(data, bytes):
        if sys.stdout.isatty():
            raise usage_error("a PNG is not for a terminal: give -o FILE.png (or redirect stdout)")
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    sys.stdout.write(data)


@handled
def draw(
    spec: Annotated[str, typer.Argument(help="A spec file, a bundled name (`resnet50`) or a family (`resnet`).")],
    fmt: Annotated[
        DrawFormat | None,
        typer.Option(
            "--format",
            "-f",
            help="mermaid (pastes into GitHub Markdown), dot (Graphviz), svg or png (through Graphviz's `dot`). "
            "Default: from the -o suffix, else mermaid.",
        ),
    ] = None,
    output: OutputOpt = None,
    depth: Annotated[
        int | None,
        typer.Option(
            "--depth",
            "-d",
            min=1,
            help="One box per group of this many levels of the dotted name (as `summary --depth`).",
        ),
    ] = None,
    expand: Annotated[
        bool, typer.Option("--expand", help="Collapse nothing: every layer (or group of --depth) its own box.")
    ] = False,
    force: ForceOpt = False,
    max_nodes: Annotated[
        int | None,
        typer.Option(
            "--max-nodes",
            min=1,
            metavar="N",
            help="SVG and PNG: the most nodes Graphviz may lay out (boxes, and the ranks long arrows cross); "
            "default 3,000. Its time limit grows with it.",
        ),
    ] = None,
    resolution: ResolutionOpt = None,
    input_: InputOpt = None,
    set_: SetOpt = None,
    extends_root: ExtendsRootOpt = None,
    max_layers: MaxLayersOpt = None,
) -> None:
    """Draw the network: one box per block (repeated blocks collapse to one `×N` box) or per layer.

    Each box shows the layer or block, its op (or block type), output shape, params and MACs.
    Skip arrows into a merge (residual sums, concats) are dashed and labelled; every input and
    output is drawn. A spec with errors draws nothing: its diagnostics are printed (exit 1).
    SVG and PNG are laid out by Graphviz within --max-nodes and a time limit (else exit 2, saying how
    to get a smaller picture); mermaid and dot text have no such bound.

    Examples:
      archscope draw resnet50
      archscope draw unet -o unet.svg
    """
    from archscope.render.diagram import DrawError, dot_seconds, render_dot, to_dot, to_mermaid, too_large
    from archscope.results.diagram import MAX_NODES, build_diagram, layout_size

    chosen = pick_format(fmt, output)
    result = analyze(
        spec, overrides=overrides_from(resolution, input_, set_), extends_root=extends_root, max_layers=max_layers
    )
    if result.report is None or result.errors or result.graph is None:
        print_diagnostics(result.diagnostics)
        raise typer.Exit(max(exit_for(result.diagnostics), ExitCode.PROBLEMS))
    print_diagnostics(result.diagnostics)  # warnings, as `summary` shows them
    diagram = build_diagram(result.graph, depth, expand)
    data: str | bytes
    if chosen is DrawFormat.mermaid:
        data = to_mermaid(diagram)
    else:
        data = to_dot(diagram)
        if chosen in (DrawFormat.svg, DrawFormat.png):
            nodes, cap = layout_size(diagram), max_nodes or MAX_NODES
            if nodes > cap:
                raise usage_error(
                    f"{too_large(diagram, nodes, cap)}: draw fewer boxes (without `--expand`, or with `--depth N`), "
                    f"take the text (`--format dot` or `--format mermaid`), or allow it with `--max-nodes {nodes}`"
                )
            try:
                data = render_dot(data, chosen.value, dot_seconds(max_nodes))
            except DrawError as exc:
                raise usage_error(str(exc)) from None
            if chosen is DrawFormat.svg:
                data = data.decode("utf-8")
    emit(data, output, force)
