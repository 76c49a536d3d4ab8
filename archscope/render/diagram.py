"""A :class:`~archscope.results.diagram.Diagram` as Mermaid or Graphviz text, and as SVG/PNG through Graphviz.

Mermaid pastes into GitHub Markdown as is (inside a ```` ```mermaid ```` fence); the DOT text is
what Graphviz's ``dot`` lays out for SVG and PNG (needs the ``graphviz`` package of the ``draw``
extra and the ``dot`` program), run with a time limit (:func:`render_dot`) and only on a diagram
within :data:`archscope.results.diagram.MAX_NODES`. Each box reads: name, op (or block ``×N``), output
shape, params and MACs (zeros left out); inputs and outputs are rounded; a repeated block has a
double border; a skip arrow into a merge is dashed and labelled (`residual`, `concat`, `scale`, `product`, `attention`).

Text from the spec (the title, names) is one line in both (:func:`~archscope.render.safe.oneline`):
a newline or an escape sequence in a title is drawn as ``\\n`` or ``\\x1b`` and never reaches the
terminal that the text is printed on.
"""

from __future__ import annotations

import math
import shutil
import signal
import subprocess
from collections.abc import Callable

from archscope.render.numbers import compact, shape
from archscope.render.safe import oneline
from archscope.results.diagram import Box, Diagram

DOT_CPU_SECONDS = 5  # a diagram within MAX_NODES takes under 1.5 s here: this stops only a pathological one

_HOW = (
    "install it with `sudo apt-get install graphviz` (Debian, Ubuntu), `brew install graphviz` (macOS) or "
    "`conda install -c conda-forge graphviz`; meanwhile `--format dot` and `--format mermaid` need nothing"
)
INSTALL_DOT = "SVG and PNG need Graphviz's `dot` program, which is not installed: " + _HOW
INSTALL_PACKAGE = (
    "SVG and PNG need the `graphviz` Python package (`pip install 'archscope[draw]'`) and Graphviz's "
    "`dot` program: " + _HOW
)


class DrawError(Exception):
    """An image cannot be made (Graphviz missing, or it failed); ``str()`` says what to do."""


def box_lines(box: Box) -> list[str]:
    """The lines of a box's label."""
    if box.kind in ("input", "output"):
        return [f"{box.kind} {box.name}" if box.name not in ("input", "output") else box.kind, shape(box.shape)]
    name = box.name[len(box.frame) + 1 :] if box.frame and box.name.startswith(box.frame + ".") else box.name
    lines = [name] if name == box.what else [name, box.what]
    lines.append(shape(box.shape))
    cost = " · ".join(f"{compact(n)} {unit}" for n, unit in ((box.params, "params"), (box.macs, "MACs")) if n)
    if cost:
        lines.append(cost)
    return lines


def _mermaid_text(text: str) -> str:
    return oneline(text).replace("&", "#amp;").replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")


def to_mermaid(diagram: Diagram) -> str:
    """A Mermaid flowchart (top to bottom)."""
    out = ["flowchart TD"]

    def node(box: Box, indent: str) -> str:
        label = "<br/>".join(_mermaid_text(line) for line in box_lines(box))
        if box.kind in ("input", "output"):
            return f'{indent}{box.id}(["{label}"])'
        if box.count > 1:
            return f'{indent}{box.id}[["{label}"]]'
        return f'{indent}{box.id}["{label}"]'

    framed: dict[str, list[Box]] = {}
    for box in diagram.boxes:
        framed.setdefault(box.frame, []).append(box)
    labels = dict(diagram.frames)
    done: set[str] = set()
    for box in diagram.boxes:
        if not box.frame:
            out.append(node(box, "  "))
        elif box.frame not in done:
            done.add(box.frame)
            index = len(done) - 1
            out.append(f'  subgraph f{index} ["{_mermaid_text(labels.get(box.frame, box.frame))}"]')
            out.extend(node(b, "    ") for b in framed[box.frame])
            out.append("  end")
    for arrow in diagram.arrows:
        if arrow.skip:
            out.append(f"  {arrow.src} -. {arrow.merge} .-> {arrow.dst}")
        else:
            out.append(f"  {arrow.src} --> {arrow.dst}")
    repeated = [b.id for b in diagram.boxes if b.count > 1]
    if repeated:
        out.append("  classDef repeated stroke-width:3px")
        out.append(f"  class {','.join(repeated)} repeated")
    return "\n".join(out) + "\n"


def _dot_text(text: str) -> str:
    """The inside of a quoted DOT string: one line, then ``\\`` and ``"`` escaped (a ``\\x1b`` is
    drawn as written, not read as an escape of DOT's)."""
    return oneline(text).replace("\\", "\\\\").replace('"', '\\"')


def to_dot(diagram: Diagram) -> str:
    """Graphviz DOT text (``dot -Tsvg`` lays it out)."""
    out = [
        f'digraph "{_dot_text(diagram.name)}" {{',
        f'  graph [rankdir=TB, label="{_dot_text(diagram.title)}", labelloc=t, fontname="Helvetica", '
        "fontsize=14, nodesep=0.25, ranksep=0.3];",
        '  node [shape=box, style="rounded,filled", fillcolor="#eef3fb", color="#4a6fa5", '
        'fontname="Helvetica", fontsize=10];',
        '  edge [color="#555555", fontname="Helvetica", fontsize=9];',
    ]

    def node(box: Box, indent: str) -> str:
        label = "\\n".join(_dot_text(line) for line in box_lines(box))
        extra = ""
        if box.kind in ("input", "output"):
            extra = ', shape=ellipse, fillcolor="#fdf3dc", color="#b08a2e"'
        elif box.count > 1:
            extra = ', peripheries=2, fillcolor="#e3ecf8"'
        elif box.kind == "block":
            extra = ', fillcolor="#e3ecf8"'
        return f'{indent}{box.id} [label="{label}"{extra}];'

    labels = dict(diagram.frames)
    framed: dict[str, list[Box]] = {}
    for box in diagram.boxes:
        framed.setdefault(box.frame, []).append(box)
    done: set[str] = set()
    for box in diagram.boxes:
        if not box.frame:
            out.append(node(box, "  "))
        elif box.frame not in done:
            done.add(box.frame)
            out.append(f"  subgraph cluster_{len(done) - 1} {{")
            out.append(
                f'    label="{_dot_text(labels.get(box.frame, box.frame))}"; style="rounded,dashed"; color="#8899aa";'
            )
            out.extend(node(b, "    ") for b in framed[box.frame])
            out.append("  }")
    for arrow in diagram.arrows:
        if arrow.skip:
            out.append(f'  {arrow.src} -> {arrow.dst} [style=dashed, color="#c0504d", label="{arrow.merge}"];')
        else:
            out.append(f"  {arrow.src} -> {arrow.dst};")
    out.append("}")
    return "\n".join(out) + "\n"


def dot_seconds(max_nodes: int | None = None) -> int:
    """The CPU seconds ``dot`` may take: :data:`DOT_CPU_SECONDS`, scaled up with a raised ``max_nodes``."""
    from archscope.results.diagram import MAX_NODES

    return max(DOT_CPU_SECONDS, math.ceil(DOT_CPU_SECONDS * (max_nodes or MAX_NODES) / MAX_NODES))


def render_dot(dot_text: str, fmt: str, cpu_seconds: int | None = None, wall_seconds: float | None = None) -> bytes:
    """Lay ``dot_text`` out with Graphviz's ``dot`` as ``fmt`` (``svg`` or ``png``); raises DrawError.

    dot runs in a child process limited to ``cpu_seconds`` of CPU (``RLIMIT_CPU``; default
    :func:`dot_seconds`) and ``wall_seconds`` of elapsed time (default three times that, and 5 s
    more for a busy machine); past either it is stopped and the DrawError says so. It is run here
    rather than through the graphviz package, whose ``pipe()`` (0.21) takes no time limit."""
    try:
        import graphviz  # noqa: F401  (the `draw` extra, which is how the dependency is declared)
    except ImportError:
        raise DrawError(INSTALL_PACKAGE) from None
    program = shutil.which("dot")
    if program is None:
        raise DrawError(INSTALL_DOT)
    cpu = cpu_seconds or dot_seconds()
    wall = wall_seconds or 3 * cpu + 5
    try:
        done = subprocess.run(
            [program, f"-T{fmt}"],
            input=dot_text.encode("utf-8"),
            capture_output=True,
            timeout=wall,
            preexec_fn=_limits(cpu),  # only setrlimit, between fork and exec
        )
    except subprocess.TimeoutExpired:
        raise DrawError(_too_slow(f"{wall:g} s")) from None
    except OSError as exc:
        raise DrawError(f"Graphviz's `dot` cannot be run: {exc.strerror or exc}") from None
    if done.returncode in (-signal.SIGXCPU, -signal.SIGKILL):
        raise DrawError(_too_slow(f"{cpu} s of CPU"))
    if done.returncode != 0:  # dot refused the text: a bug here, said plainly
        detail = done.stderr.decode("utf-8", "replace").strip()
        raise DrawError(f"Graphviz's `dot` failed: {detail}")
    return done.stdout


def _limits(cpu_seconds: int) -> Callable[[], None] | None:
    """What the child runs before ``exec``: a CPU limit (SIGXCPU, then SIGKILL a second later) and no core file."""
    try:
        import resource
    except ImportError:  # not a POSIX system: the elapsed-time limit alone
        return None

    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    return apply


def _too_slow(limit: str) -> str:
    return (
        f"Graphviz's `dot` did not lay the diagram out within {limit} and was stopped: draw fewer boxes "
        "(without `--expand`, or with `--depth N`), or take the text (`--format dot` or `--format mermaid`)"
    )


def too_large(diagram: Diagram, nodes: int, max_nodes: int) -> str:
    """Why ``diagram`` is not handed to ``dot``: its size against the cap."""
    return (
        f"the diagram of `{diagram.name}` is too large for Graphviz to lay out: {len(diagram.boxes):,} boxes, "
        f"{nodes:,} nodes to place counting the ranks its arrows cross (at most {max_nodes:,})"
    )
