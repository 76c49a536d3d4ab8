"""`archscope report`: one self-contained HTML file (inline CSS, script and SVG; it fetches nothing).

Per network, the sections of :data:`SECTIONS`, in order: the summary table (sortable; the
``--depth`` groups expand to their layers), the diagram (:mod:`archscope.render.diagram`, SVG
through Graphviz), the per-layer charts (:mod:`archscope.render.plots`) and the receptive field.
A new per-network section is one function ``(NetworkPage) -> str | None`` added to
:data:`SECTIONS` (None: nothing to show for this network). For several networks the page
starts with the comparison table and a params-vs-MACs scatter (and latency, with timings).

A part that needs a missing tool (Graphviz's ``dot``, matplotlib) is replaced by a sentence that
says how to install it, and :attr:`Page.missing` lists it for the command to say so too.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from archscope import __version__
from archscope.api import Analysis
from archscope.render.html_table import _e, _sort_value, table_html
from archscope.render.numbers import compact, exact, shape, size_bytes
from archscope.render.summary import grouped_rows
from archscope.results.report import CONVENTION, LayerRow, Report


@dataclass
class Page:
    """What the sections share: the missing tools met so far (said once, by the command)."""

    missing: list[str] = field(default_factory=list)
    charts: int = 0  # charts made so far: each gets its own SVG id salt

    def lack(self, message: str) -> str:
        if message not in self.missing:
            self.missing.append(message)
        return f'<p class="missing">{_e(message)}</p>'


@dataclass(frozen=True)
class NetworkPage:
    """One network's part of the page: its analysis, the --depth of its table, and the page."""

    analysis: Analysis
    report: Report
    depth: int
    index: int
    page: Page


def _svg_inline(svg: bytes | str, prefix: str) -> str:
    """An SVG file's text as an inline element: no XML prolog, and ids made unique on the page."""
    text = svg.decode("utf-8") if isinstance(svg, bytes) else svg
    text = text[text.index("<svg") :]
    text = re.sub(r'\bid="([^"]+)"', rf'id="{prefix}-\1"', text)
    return re.sub(r"url\(#([^)]+)\)", rf"url(#{prefix}-\1)", text).replace('xlink:href="#', f'xlink:href="#{prefix}-')


# ---- tables -------------------------------------------------------------------------------------


SUMMARY_COLUMNS = (
    ("layer", "name", False),
    ("op", "op", False),
    ("output", "shape", False),
    ("params", "params", True),
    ("MACs", "macs", True),
    ("% MACs", "share", True),
    ("activations", "activations", True),
)


def _summary_cells(
    name: str, op: str, out: tuple[int, ...], params: int, macs: int, acts: int, total: int, lead: str = ""
) -> str:
    share = 100 * macs / total if total else 0.0
    values = (
        (name, name),
        (op, op),
        (shape(out), _sort_value(out)),
        (compact(params) if params else "", str(params)),
        (compact(macs) if macs else "", str(macs)),
        (f"{share:.1f}" if macs else "", repr(share)),
        (compact(acts), str(acts)),
    )
    return "".join(
        f'<td class="{"num" if numeric else ""}" data-v="{_e(v)}">{lead if i == 0 else ""}{_e(text)}</td>'
        for i, ((text, v), (_, _, numeric)) in enumerate(zip(values, SUMMARY_COLUMNS))
    )


def _runs(report: Report, depth: int) -> list[list[LayerRow]]:
    """The layers of each row of ``grouped_rows(report, depth)``: runs of consecutive layers with one key."""
    runs: list[list[LayerRow]] = []
    last = None
    for layer in report.layers:
        key = ".".join(layer.name.split(".")[:depth])
        if key != last:
            runs.append([])
            last = key
        runs[-1].append(layer)
    return runs


def summary_section(net: NetworkPage) -> str:
    """The per-layer table: one row per group of ``depth`` levels, each expanding to its layers."""
    report = net.report
    total = report.totals.macs
    bodies = []
    for group, layers in zip(grouped_rows(report, net.depth), _runs(report, net.depth), strict=True):
        values = (group.name, group.op, group.output_shape, group.params, group.macs, group.activations, total)
        if len(layers) == 1 and layers[0].name == group.name:
            bodies.append(
                f'<tbody><tr class="head" data-layer="{_e(group.name)}">{_summary_cells(*values)}</tr></tbody>'
            )
            continue
        toggle = f'<button class="tog" aria-expanded="false" title="show its {len(layers)} layers">▸</button>'
        rows = [f'<tr class="head group">{_summary_cells(*values, lead=toggle)}</tr>']
        for layer in layers:
            cells = _summary_cells(
                layer.name, layer.op, layer.output_shape, layer.params, layer.macs, layer.activations, total
            )
            rows.append(f'<tr class="child" data-layer="{_e(layer.name)}" hidden>{cells}</tr>')
        bodies.append(f"<tbody>{''.join(rows)}</tbody>")
    t = report.totals
    foot = _summary_cells("total", "", report.output_shape, t.params, t.macs, t.activations, total)
    head = "".join(f'<th class="{"num" if numeric else ""}">{_e(title)}</th>' for title, _, numeric in SUMMARY_COLUMNS)
    levels = f"{net.depth} level{'s' if net.depth > 1 else ''}"
    buttons = (
        '<p class="tools"><button class="expand-all">expand all</button> <button class="collapse-all">collapse all'
        f"</button> {len(report.layers)} layers in {len(bodies)} rows (groups of {levels} of the dotted name); "
        "click a column to sort</p>"
    )
    return (
        f'{buttons}<table class="sortable summary"><thead><tr>{head}</tr></thead>{"".join(bodies)}'
        f"<tfoot><tr>{foot}</tr></tfoot></table>"
    )


def diagram_section(net: NetworkPage) -> str:
    """The diagram of `archscope draw` (repeated blocks collapsed), as inline SVG; left out, with a
    note, when it is too large for Graphviz (:data:`archscope.results.diagram.MAX_NODES`)."""
    from archscope.render.diagram import DrawError, render_dot, to_dot, to_mermaid, too_large
    from archscope.results.diagram import MAX_NODES, build_diagram, layout_size

    assert net.analysis.graph is not None
    diagram = build_diagram(net.analysis.graph)
    nodes = layout_size(diagram)
    if nodes > MAX_NODES:
        return net.page.lack(
            f"{too_large(diagram, nodes, MAX_NODES)}, so the report leaves it out; "
            f"`archscope draw {net.report.file or net.report.name} --format mermaid` gives its text"
        )
    try:
        svg = render_dot(to_dot(diagram), "svg")
    except DrawError as exc:
        return (
            net.page.lack(str(exc))
            + f"<details><summary>Mermaid text</summary><pre>{_e(to_mermaid(diagram))}</pre></details>"
        )
    return f'<div class="diagram">{_svg_inline(svg, f"d{net.index}")}</div>'


def charts_section(net: NetworkPage) -> str:
    """MACs, params and activations per layer (matplotlib)."""
    from archscope.render.plots import PlotError, layer_chart

    net.page.charts += 1
    try:
        svg = layer_chart(net.report, "svg", salt=f"chart{net.page.charts}")
    except PlotError as exc:
        return net.page.lack(str(exc))
    return f'<div class="chart">{_svg_inline(svg, f"c{net.page.charts}")}</div>'


def field_section(net: NetworkPage) -> str | None:
    """The receptive field of the output and of each group (`archscope rf --depth`)."""
    from archscope.render.receptive_field import CONVENTION as FIELD_CONVENTION
    from archscope.render.receptive_field import field_table

    result = net.analysis.passes.get("receptive_field")
    if result is None:
        return None
    table = field_table(net.report, result, net.depth)
    words = table.footer[0] if table.footer else ""
    return f"<p><b>{_e(words)}</b></p>{table_html(table)}<p class=note>{_e(FIELD_CONVENTION)}</p>"


def memory_section(net: NetworkPage) -> str | None:
    """Peak memory at batch 1 and 32: inference, and a training step with Adam (`archscope memory`)."""
    from archscope.passes.memory import MEMORY_PASS, MemoryOptions
    from archscope.render.memory import CONVENTION as MEMORY_CONVENTION

    if net.analysis.graph is None:
        return None
    rows = []
    for batch in (1, 32):
        for train in (False, True):
            m = net.analysis.run_pass(MEMORY_PASS, MemoryOptions(batch=batch, train=train, optimizer="adam"))
            where = "optimizer step" if m.peak_phase == "optimizer step" else f"{m.peak_phase} of {m.peak_layer}"
            rows.append(
                f"<tr><td>{'training step, Adam' if train else 'inference'}</td><td class=num>{batch}</td>"
                f"<td class=num>{_e(size_bytes(m.peak_bytes))}</td><td>{_e(where)}</td>"
                f"<td class=num>{_e(size_bytes(m.activations_bytes))}</td></tr>"
            )
    head = "<tr><th>step</th><th>batch</th><th>peak</th><th>where</th><th>activations (kept for backward)</th></tr>"
    return (
        f"<table class=small><thead>{head}</thead><tbody>{''.join(rows)}</tbody></table>"
        f"<p class=note>float32; `archscope memory {_e(net.report.name)} --train --batch N` has every layer. "
        f"{_e(MEMORY_CONVENTION)}</p>"
    )


Section = Callable[[NetworkPage], "str | None"]

# (id, title, section): each network's part of the page, in order. A new analysis adds one entry.
SECTIONS: tuple[tuple[str, str, Section], ...] = (
    ("summary", "Layers", summary_section),
    ("diagram", "Diagram", diagram_section),
    ("charts", "Per-layer charts", charts_section),
    ("field", "Receptive field", field_section),
    ("memory", "Memory", memory_section),
)


def _network(net: NetworkPage) -> str:
    r, t = net.report, net.report.totals
    meta = " · ".join(str(r.meta[k]) for k in ("paper", "source") if r.meta.get(k))
    ins = ", ".join(f"{name} {shape(s)}" for name, s in r.inputs) if len(r.inputs) > 1 else shape(r.input)
    outs = ", ".join(f"{name} {shape(s)}" for name, s in r.outputs) if len(r.outputs) > 1 else shape(r.output_shape)
    facts = (
        ("params", f"{exact(t.params)} ({compact(t.params)})"),
        ("MACs", f"{exact(t.macs)} ({compact(t.macs)}); FLOPs = 2 × MACs = {compact(t.flops)}"),
        ("activations", f"{exact(t.activations)} ({size_bytes(t.activation_bytes)} at float32, batch 1)"),
        ("model size", f"{size_bytes(t.model_bytes)}; weighted layers (depth) {t.depth}"),
        ("input", ins),
        ("output", outs),
    )
    dl = "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in facts)
    parts = [
        f'<section class="network" id="net{net.index}"><h2>{_e(r.title)} <small>{_e(r.name)}</small></h2>',
        f"<p class=meta>{_e(meta)}</p>" if meta else "",
        f"<p class=note>{_e(net.analysis.note)}</p>" if net.analysis.note else "",
        f"<dl class=facts>{dl}</dl>",
    ]
    for key, title, make in SECTIONS:
        body = make(net)
        if body is not None:
            parts.append(f'<section class="part {key}"><h3>{_e(title)}</h3>{body}</section>')
    parts.append("</section>")
    return "".join(parts)


def _comparison(analyses: Sequence[Analysis], rows: list[dict[str, Any]], timed: Any, page: Page) -> str:
    from archscope.render.compare import compare_table
    from archscope.render.plots import PlotError, scatter

    table = compare_table(rows, [a.note for a in analyses if a.note], timed)
    latency = [t.timings[0].median * 1e3 for t in timed] if timed else None
    try:
        chart = f'<div class="chart">{_svg_inline(scatter(rows, latency, "svg"), "scatter")}</div>'
    except PlotError as exc:
        chart = page.lack(str(exc))
    return f'<section class="comparison" id="comparison"><h2>Comparison</h2>{table_html(table)}{chart}</section>'


STYLE = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;margin:0 auto;max-width:1200px;
padding:1em 2em;color:#1d2330}
h1{margin:.2em 0}h2{border-bottom:2px solid #4a6fa5;padding-bottom:.2em;margin-top:2em}h2 small{color:#777;
font-weight:normal;font-size:60%}h3{margin-top:1.5em;color:#34527f}
.convention,.note,.meta{color:#555;font-size:90%}.missing{background:#fff4e0;border-left:4px solid #e0a030;
padding:.4em .8em}
dl.facts{display:grid;grid-template-columns:max-content auto;gap:.15em 1em}dt{font-weight:600}dd{margin:0}
nav a{margin-right:1em}
table{border-collapse:collapse;margin:.5em 0;font-size:13px}th,td{padding:.2em .6em;border-bottom:1px solid #e3e6eb;
white-space:nowrap}th{background:#f0f3f8;cursor:pointer;user-select:none;text-align:left;position:sticky;top:0}
th.num,td.num{text-align:right}th[aria-sort=ascending]::after{content:" ▲"}th[aria-sort=descending]::after{content:" ▼"}
tr.group td{font-weight:600}tr.child td:first-child{padding-left:2.2em;color:#444}tfoot td{font-weight:700;
border-top:2px solid #999}button.tog{border:none;background:none;cursor:pointer;padding:0 .3em 0 0;font-size:12px}
.diagram,.chart{overflow-x:auto;max-width:100%}.diagram svg{max-width:100%;height:auto}.chart svg{max-width:100%;
height:auto}
"""

SCRIPT = """
(function(){
function key(td){var v=td.getAttribute('data-v');if(v!==null&&v!==''&&!isNaN(Number(v)))return Number(v);
return (v||td.textContent||'').trim().toLowerCase();}
function cmp(a,b,i,dir){var x=key(a.cells[i]),y=key(b.cells[i]);
if(typeof x!==typeof y){x=String(x);y=String(y);}return (x<y?-1:x>y?1:0)*dir;}
function sortBy(t,th,i){var numeric=th.classList.contains('num');var was=th.getAttribute('aria-sort');
var dir=was?(was==='ascending'?-1:1):(numeric?-1:1);
t.querySelectorAll('thead th').forEach(function(h){h.removeAttribute('aria-sort');});
th.setAttribute('aria-sort',dir===1?'ascending':'descending');
var bodies=Array.prototype.slice.call(t.tBodies);bodies.sort(function(a,b){return cmp(a.rows[0],b.rows[0],i,dir);});
bodies.forEach(function(b){var rows=Array.prototype.slice.call(b.rows);var head=rows.shift();
rows.sort(function(x,y){return cmp(x,y,i,dir);});rows.forEach(function(r){b.appendChild(r);});
t.insertBefore(b,t.tFoot);});}
document.querySelectorAll('table.sortable').forEach(function(t){
t.querySelectorAll('thead th').forEach(function(th,i){th.addEventListener('click',function(){sortBy(t,th,i);});});});
function show(b,open){var btn=b.querySelector('button.tog');if(!btn)return;btn.setAttribute('aria-expanded',open);
btn.textContent=open?'▾':'▸';Array.prototype.slice.call(b.rows,1).forEach(function(r){r.hidden=!open;});}
document.querySelectorAll('button.tog').forEach(function(btn){btn.addEventListener('click',function(e){
e.stopPropagation();var b=btn.closest('tbody');show(b,btn.getAttribute('aria-expanded')!=='true');});});
document.querySelectorAll('section.summary').forEach(function(s){var t=s.querySelector('table');
s.querySelector('button.expand-all').addEventListener('click',function(){Array.prototype.forEach.call(t.tBodies,
function(b){show(b,true);});});s.querySelector('button.collapse-all').addEventListener('click',function(){
Array.prototype.forEach.call(t.tBodies,function(b){show(b,false);});});});
})();
"""

# The page may load nothing: a browser refuses (and logs) any fetch, so a test can prove it self-contained.
CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"


def html_report(
    analyses: Sequence[Analysis],
    depth: int = 1,
    rows: list[dict[str, Any]] | None = None,
    timed: Any = None,
    page: Page | None = None,
) -> str:
    """The whole page for ``analyses`` (each with a report); ``rows``: the comparison rows
    (:meth:`Comparison.rows`) when there are several networks; ``timed``: their bench results."""
    page = page or Page()
    reports = [a.report for a in analyses]
    assert all(r is not None for r in reports)
    names = ", ".join(r.name for r in reports if r)
    nav = "".join(f'<a href="#net{i}">{_e(r.title)}</a>' for i, r in enumerate(reports) if r)
    body = []
    if len(analyses) > 1 and rows is not None:
        body.append(_comparison(analyses, rows, timed, page))
    for i, (a, r) in enumerate(zip(analyses, reports)):
        assert r is not None
        body.append(_network(NetworkPage(a, r, depth, i, page)))
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,">'
        f"<title>archscope report: {_e(names)}</title><style>{STYLE}</style></head><body>"
        f"<header><h1>archscope report</h1><nav>{nav}</nav>"
        f'<p class="convention"><b>Convention.</b> {_e(CONVENTION)}</p>'
        f"<p class=note>archscope {_e(__version__)}: static analysis of the specs (no torch)"
        f"{'; latency measured with torch' if timed else ''}.</p></header>"
        + "".join(body)
        + f"<script>{SCRIPT}</script></body></html>\n"
    )
