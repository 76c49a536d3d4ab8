"""Charts through matplotlib (the ``plot`` extra, imported only when a chart is made).

``layer_chart``: MACs, params and activations per layer (one bar per layer, the top-level
groups named under the axis); ``scatter``: networks by params and MACs, and by MACs and measured
latency when there are timings; ``sweep_plot``: a sweep's Pareto front. All return the file's bytes (SVG or PNG). No pyplot: each chart
is its own :class:`~matplotlib.figure.Figure`, so nothing global is touched.

Text is text: every chart is drawn with mathtext and TeX off (``text.parse_math``,
``text.usetex``), so a `$` in a title or a name is a dollar sign, never a formula to parse (a
title ``$\\frac{$`` made matplotlib raise).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from io import BytesIO
from typing import Any, ParamSpec

from archscope.render.safe import oneline
from archscope.results.report import Report

FORMATS = ("svg", "png")
INSTALL = "charts need matplotlib: `pip install 'archscope[plot]'`"


class PlotError(Exception):
    """A chart cannot be made (matplotlib missing); ``str()`` says what to do."""


def _matplotlib() -> Any:
    try:
        import matplotlib
        from matplotlib.figure import Figure
        from matplotlib.ticker import FuncFormatter
    except ImportError:
        raise PlotError(INSTALL) from None
    return matplotlib, Figure, FuncFormatter


LABEL_CHARS = 120  # a title or name longer than this is cut (matplotlib lays a 1 MB title out for minutes)


def _text(value: object) -> str:
    """Spec text for a chart: one line, its control characters shown as escapes, at most
    :data:`LABEL_CHARS` characters (cut with `…`)."""
    text = oneline(value)
    return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1] + "…"


P = ParamSpec("P")
PLAIN_TEXT = {"text.parse_math": False, "text.usetex": False}


def _plain_text(chart: Callable[P, bytes]) -> Callable[P, bytes]:
    """``chart`` made and saved with mathtext and TeX off: every label is shown as written."""

    @functools.wraps(chart)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> bytes:
        matplotlib = _matplotlib()[0]
        with matplotlib.rc_context(PLAIN_TEXT):  # read when each Text is made, ticks at savefig too
            return chart(*args, **kwargs)

    return wrapper


def _tick(value: float, _pos: object = None) -> str:
    """An axis label: 2.5M, 10G (fewer digits than the tables' 2.50M, so that ticks do not collide)."""
    for factor, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "K")):
        if abs(value) >= factor:
            return f"{value / factor:.3g}{suffix}"
    return f"{value:.3g}"


def _save(fig: Any, fmt: str, salt: str) -> bytes:
    import matplotlib

    out = BytesIO()
    # svg.hashsalt: the ids inside the SVG are stable (reproducible files) and differ between charts
    # (several inline in one HTML page); fonttype none keeps text as text (smaller, selectable)
    with matplotlib.rc_context({"svg.hashsalt": salt, "svg.fonttype": "none"}):
        fig.savefig(out, format=fmt, dpi=110, metadata={"Date": None} if fmt == "svg" else None)
    return out.getvalue()


@_plain_text
def layer_chart(report: Report, fmt: str = "svg", salt: str = "") -> bytes:
    """Three bar charts over the layers, in network order: MACs, params, activations."""
    _, Figure, FuncFormatter = _matplotlib()
    layers = report.layers
    count = len(layers)
    fig = Figure(figsize=(min(max(6.0, 0.05 * count + 4), 14.0), 6.0), layout="constrained")
    axes = fig.subplots(3, 1, sharex=True)
    series = (
        ("MACs", [r.macs for r in layers], "#4a6fa5"),
        ("params", [r.params for r in layers], "#c0504d"),
        ("activations", [r.activations for r in layers], "#9bbb59"),
    )
    edges = [i - 0.5 for i in range(count + 1)]
    for ax, (label, values, color) in zip(axes, series):
        ax.stairs(values, edges, fill=True, color=color)  # one path, not a patch per bar: fast to draw
        ax.set_ylabel(label)
        ax.yaxis.set_major_formatter(FuncFormatter(_tick))
        ax.grid(axis="y", alpha=0.3)
        ax.set_xlim(-1, count)
    starts: list[tuple[int, str, int]] = []  # (first bar, top-level name, bars)
    for i, r in enumerate(layers):
        top = r.name.split(".")[0]
        if not starts or starts[-1][1] != top:
            starts.append((i, top, 0))
        starts[-1] = (starts[-1][0], top, starts[-1][2] + 1)
    gap = count / 40  # names at least this many bars apart, so that they do not overlap
    shown: list[tuple[int, str]] = []
    for i, name, _ in sorted(starts, key=lambda s: (s[2] == 1, s[0])):  # blocks first, then single layers
        if all(abs(i - j) >= gap for j, _ in shown):
            shown.append((i, name))
    shown.sort()
    axes[-1].set_xticks([i for i, _ in shown], [_text(name) for _, name in shown], rotation=60, ha="right", fontsize=7)
    axes[-1].set_xlabel("layer (in network order; the name is where each top-level layer or block starts)")
    fig.suptitle(f"{_text(report.title)}: per layer (batch 1)")
    return _save(fig, fmt, salt or report.name)


@_plain_text
def scatter(rows: Sequence[dict[str, Any]], latency_ms: Sequence[float] | None = None, fmt: str = "svg") -> bytes:
    """Params vs MACs of each network (``rows``: :meth:`Comparison.rows`); with ``latency_ms`` (one
    per network), a second panel: MACs vs measured latency."""
    _, Figure, FuncFormatter = _matplotlib()
    panels = 2 if latency_ms is not None else 1
    fig = Figure(figsize=(5.5 * panels, 4.5), layout="constrained")
    axes = fig.subplots(1, panels, squeeze=False)[0]
    names = [r["name"] for r in rows]
    pairs = [("params", [r["params"] for r in rows], "MACs", [r["macs"] for r in rows])]
    if latency_ms is not None:
        pairs.append(("MACs", [r["macs"] for r in rows], "latency (ms, batch 1)", list(latency_ms)))
    for ax, (xlabel, xs, ylabel, ys) in zip(axes, pairs):
        ax.scatter(xs, ys, color="#4a6fa5", zorder=3)
        for name, xv, yv in zip(names, xs, ys):
            ax.annotate(_text(name), (xv, yv), textcoords="offset points", xytext=(5, 4), fontsize=8)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        for axis, values in ((ax.set_xscale, xs), (ax.set_yscale, ys)):
            positive = [v for v in values if v > 0]
            if positive and max(positive) > 20 * min(positive):  # over decades: a log axis
                axis("log")
        ax.xaxis.set_major_formatter(FuncFormatter(_tick))
        if not ylabel.startswith("latency"):
            ax.yaxis.set_major_formatter(FuncFormatter(_tick))
        ax.grid(alpha=0.3, zorder=0)
        ax.margins(0.15)
    fig.suptitle("params vs MACs" + (", and MACs vs latency" if latency_ms is not None else "") + " (batch 1)")
    return _save(fig, fmt, "scatter-" + "-".join(names))


@_plain_text
def sweep_plot(sweep: Any, references: Sequence[tuple[str, float, float]] = (), fmt: str = "svg") -> bytes:
    """A sweep's variants on its two Pareto metrics (:class:`archscope.explore.sweep.Sweep`): every valid
    variant a dot, the front joined by a staircase, and ``references`` (bundled nets, as
    ``(name, x, y)``) as labelled diamonds."""
    _, Figure, FuncFormatter = _matplotlib()
    x, y = sweep.pareto_metrics
    valid = [r for r in sweep.results if r.error is None and r.metric(x) is not None and r.metric(y) is not None]
    fig = Figure(figsize=(6.5, 4.8), layout="constrained")
    ax = fig.subplots()
    ax.scatter([r.metric(x) for r in valid], [r.metric(y) for r in valid], s=12, color="#9aaed0", label="variants")
    front = sorted((r.metric(x), r.metric(y)) for r in valid if r.variant.index in sweep.front)
    if front:
        ax.step([p[0] for p in front], [p[1] for p in front], where="post", color="#c0504d", zorder=3)
        ax.scatter([p[0] for p in front], [p[1] for p in front], s=22, color="#c0504d", zorder=4, label="Pareto front")
    for name, rx, ry in references:
        ax.scatter([rx], [ry], marker="D", s=30, color="#333333", zorder=5)
        ax.annotate(_text(name), (rx, ry), textcoords="offset points", xytext=(5, 4), fontsize=8)
    xs = [r.metric(x) for r in valid] + [r[1] for r in references]
    ys = [r.metric(y) for r in valid] + [r[2] for r in references]
    for axis, values in ((ax.set_xscale, xs), (ax.set_yscale, ys)):
        positive = [v for v in values if v > 0]
        if positive and max(positive) > 20 * min(positive):
            axis("log")
    for name, target in ((x, ax.xaxis), (y, ax.yaxis)):
        if not name.endswith("_ms"):
            target.set_major_formatter(FuncFormatter(_tick))
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    ax.grid(alpha=0.3, zorder=0)
    ax.legend(fontsize=8)
    fig.suptitle(f"sweep of {_text(sweep.source)}: {len(valid)} variants, {len(sweep.front)} on the front")
    return _save(fig, fmt, f"sweep-{sweep.source}")


def plot_format(path: str) -> str:
    """``svg`` or ``png`` from a file name; raises PlotError otherwise."""
    suffix = path.rpartition(".")[2].lower() if "." in path else ""
    if suffix not in FORMATS:
        raise PlotError(f"`{path}`: --plot writes .svg or .png files")
    return suffix
