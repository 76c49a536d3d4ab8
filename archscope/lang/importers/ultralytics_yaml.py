"""An Ultralytics model YAML, read into located rows and the chosen scale.

The file's keys are those ``parse_model`` (``ultralytics/nn/tasks.py``) reads: ``nc``,
``scales`` (or ``depth_multiple`` / ``width_multiple``), ``scale``, ``reg_max``, ``channels``,
``activation``, ``end2end`` and the rows ``[from, repeats, module, args]`` of ``backbone`` and
``head``. Every problem is a located diagnostic; nothing here raises on bad input.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from archscope.diagnostics import Collector, Span, brief
from archscope.lang.spec_reader import visible
from archscope.lang.ynodes import YMap, YNode, YScalar, YSeq, to_python

# Ultralytics' `activation:` values that archscope has as ops (nn.Name(args) → op, its attribute)
ACTIVATIONS: dict[str, tuple[str, str | None]] = {
    "SiLU": ("silu", None),
    "ReLU": ("relu", None),
    "ReLU6": ("relu6", None),
    "Hardswish": ("hardswish", None),
    "Mish": ("mish", None),
    "GELU": ("gelu", None),
    "Sigmoid": ("sigmoid", None),
    "Tanh": ("tanh", None),
    "LeakyReLU": ("leaky_relu", "negative_slope"),
}
_ACTIVATION = re.compile(r"(?:torch\.)?nn\.(\w+)\(\s*([-+0-9.eE]*)\s*\)")


@dataclass(frozen=True)
class Arg:
    value: Any  # after parse_model's resolution of strings (`nc` → the class count, `None` → None)
    span: Span


@dataclass(frozen=True)
class Row:
    """One `[from, repeats, module, args]` row; `index` is Ultralytics' module index (model.i)."""

    index: int
    sources: tuple[int, ...]  # absolute row indices; -1 is the image
    listed: bool  # `from` was a list
    repeats: int  # as written
    module: str
    args: tuple[Arg, ...]
    span: Span
    from_span: Span
    repeats_span: Span
    module_span: Span
    args_span: Span


def make_divisible(x: float, divisor: int = 8) -> int:
    """Ultralytics' make_divisible (ultralytics/utils/ops.py): the smallest multiple of `divisor`
    that is ≥ x, ``math.ceil(x / divisor) * divisor`` (not archscope's `make_divisible`, which
    rounds to the nearest)."""
    return math.ceil(x / divisor) * divisor


@dataclass(frozen=True)
class Scaling:
    """Ultralytics' compound scaling: `scales: {name: [depth, width, max_channels]}`."""

    name: str | None
    depth: float
    width: float
    max_channels: float  # inf without `scales:`
    chosen: str  # how the scale was chosen, for the header
    comment: str | None  # the YAML's own comment on that scale's line (its published summary)

    def channels(self, c: int) -> int:
        """parse_model: ``c2 = make_divisible(min(c2, max_channels) * width, 8)``."""
        return make_divisible(min(c, self.max_channels) * self.width, 8)

    def repeats(self, n: int) -> int:
        """parse_model: ``n = max(round(n * depth), 1) if n > 1 else n`` (Python's round: half to even)."""
        return max(round(n * self.depth), 1) if n > 1 else n


@dataclass(frozen=True)
class Model:
    file: str
    rows: tuple[Row, ...]
    scaling: Scaling
    nc: int
    reg_max: int
    image_channels: int
    activation: tuple[str, tuple[tuple[str, Any], ...]]  # archscope op, its attributes


def read_model(root: YNode, text: str, file: str, scale: str | None, nc: int | None, d: Collector) -> Model | None:
    """The model a YAML describes; None (with diagnostics in `d`) when it cannot be read."""
    if not isinstance(root, YMap) or (root.get("backbone") is None and root.get("head") is None):
        found = "a mapping without `backbone:` or `head:`" if isinstance(root, YMap) else f"a YAML {root.kind}"
        d.error(
            "E303",
            "the file holds no Ultralytics model: no `backbone:` and `head:` rows",
            root.span,
            expected="a model YAML (`backbone:` and `head:` lists of [from, repeats, module, args])",
            found=found,
        )
        return None
    scaling = _scaling(root, text, file, scale, d)
    classes = nc if nc is not None else _int_key(root, "nc", None, d)
    if nc is not None and nc < 1:  # the caller's value: no place in the file to point at
        d.error("E004", f"`nc` must be at least 1, not {nc}", None, expected="a class count ≥ 1")
    reg_max = _int_key(root, "reg_max", 16, d)
    channels = _int_key(root, "channels", 3, d)
    activation = _activation(root, d)
    end2end = root.get("end2end")
    if isinstance(end2end, YScalar) and end2end.value:
        d.error(
            "E301",
            "`end2end: true` (a second, one-to-one Detect head) has no translation in the Ultralytics importer",
            end2end.span,
        )
    # a value that could not be read is reported; the rows are still translated (with a stand-in),
    # so that one run lists every row that has no archscope translation
    classes = classes if classes is not None and classes >= 1 else None
    names: dict[str, Any] = {"nc": classes or 1, "reg_max": reg_max or 16}
    used: set[str] = set()
    rows = _rows(root, names, used, d)
    if "nc" in used and "nc" not in root.items and nc is None:
        d.error("E005", "a row names `nc`, and the model has no `nc:`", root.span, expected="`nc: 80`, or `--nc`")
    return Model(
        file,
        rows,
        scaling or Scaling(None, 1.0, 1.0, math.inf, "", None),
        classes or 1,
        reg_max or 16,
        channels or 3,
        activation or ("silu", ()),
    )


def _key_span(root: YMap, key: str, file: str) -> Span:
    return root.key_span(key) if key in root.items else Span(file, 1, 1)


def _int_key(root: YMap, key: str, default: int | None, d: Collector) -> int | None:
    node = root.get(key)
    if node is None:
        return default
    value = node.value if isinstance(node, YScalar) else None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        d.error(
            "E004", f"`{key}` must be a positive whole number", node.span, expected="an integer ≥ 1", found=_found(node)
        )
        return None
    return value


def _found(node: YNode) -> str:
    return brief(node.value) if isinstance(node, YScalar) else f"a {node.kind}"


def _scaling(root: YMap, text: str, file: str, scale: str | None, d: Collector) -> Scaling | None:
    """parse_model: without `scales:`, depth_multiple and width_multiple (default 1.0) and no
    channel cap; with it, the scale asked for, else the YAML's `scale:`, else the first listed
    (Ultralytics warns "no model scale passed. Assuming scale='n'")."""
    scales = root.get("scales")
    if scales is None:
        if scale is not None:
            d.error("E004", f"no scale `{visible(scale)}`: the file has no `scales:`", root.span, found=visible(scale))
            return None
        depth, width = (_number(root.get(k), 1.0, d) for k in ("depth_multiple", "width_multiple"))
        if depth is None or width is None:
            return None
        return Scaling(None, depth, width, math.inf, "no `scales:`: depth_multiple and width_multiple", None)
    if not isinstance(scales, YMap) or not scales.items:
        d.error(
            "E004", "`scales:` must map scale names to [depth, width, max_channels]", scales.span, found=_found(scales)
        )
        return None
    written = root.get("scale")
    if scale is not None:
        chosen = "the one asked for"
    elif isinstance(written, YScalar) and written.value:
        scale, chosen = str(written.value), "the file's `scale:`"
    else:
        scale = next(iter(scales.items))
        chosen = (
            f"NOTE: no scale was named, so the first listed (of {', '.join(map(visible, scales.items))}), "
            "as Ultralytics assumes; `--scale` picks another"
        )
    if scale not in scales.items:
        d.error(
            "E004",
            f"no scale `{visible(scale)}` in `scales:`",
            _key_span(root, "scales", file),
            expected="one of " + ", ".join(f"`{k}`" for k in scales.items),
            found=visible(scale),
        )
        return None
    node = scales.items[scale][1]
    values = [_number(v, None, d) for v in node.items] if isinstance(node, YSeq) and len(node.items) == 3 else None
    if values is None:
        d.error("E004", f"scale `{visible(scale)}` must be [depth, width, max_channels]", node.span, found=_found(node))
        return None
    if None in values:
        return None
    depth, width, max_channels = values
    line = text.splitlines()[node.span.line - 1] if node.span.line <= text.count("\n") + 1 else ""
    comment = visible(line.split("#", 1)[1].strip()) if "#" in line else None
    return Scaling(scale, depth, width, max_channels, chosen, comment or None)  # type: ignore[arg-type]


def _number(node: YNode | None, default: float | None, d: Collector) -> float | None:
    if node is None:
        return default
    value = node.value if isinstance(node, YScalar) else None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < math.inf:
        d.error(
            "E004", "a scale factor must be a positive number", node.span, expected="a number > 0", found=_found(node)
        )
        return None
    return value


def _activation(root: YMap, d: Collector) -> tuple[str, tuple[tuple[str, Any], ...]] | None:
    """`activation: nn.ReLU()` replaces Conv's default SiLU (parse_model sets Conv.default_act)."""
    node = root.get("activation")
    if node is None:
        return "silu", ()
    match = _ACTIVATION.fullmatch(str(node.value)) if isinstance(node, YScalar) else None
    known = ACTIVATIONS.get(match.group(1)) if match else None
    if match is None or known is None or (match.group(2) and known[1] is None):
        d.error(
            "E301",
            f"the activation {_found(node)} has no archscope op",
            node.span,
            expected="one of " + ", ".join(f"`nn.{k}()`" for k in ACTIVATIONS),
            found=_found(node),
        )
        return None
    op, attr = known
    try:
        attrs = ((attr, float(match.group(2))),) if attr and match.group(2) else ()
    except ValueError:
        d.error("E004", f"`{visible(match.group(2))}` is not a number", node.span)
        return None
    return op, attrs


def _rows(root: YMap, names: dict[str, Any], used: set[str], d: Collector) -> tuple[Row, ...]:
    """`backbone + head`, numbered from 0 as Ultralytics numbers its modules; a malformed row is
    reported and left out (its index stays taken)."""
    nodes: list[YNode] = []
    for key in ("backbone", "head"):
        part = root.get(key)
        if part is None:
            d.error("E005", f"the model has no `{key}:` rows", root.span, expected=f"`{key}:` a list of rows")
        elif not isinstance(part, YSeq):
            d.error("E004", f"`{key}:` must be a list of rows", part.span, found=_found(part))
        else:
            nodes.extend(part.items)
    rows = (_row(i, node, names, used, d) for i, node in enumerate(nodes))
    return tuple(r for r in rows if r is not None)


def _row(i: int, node: YNode, names: dict[str, Any], used: set[str], d: Collector) -> Row | None:
    if not isinstance(node, YSeq) or len(node.items) != 4:
        found = f"{len(node.items)} items" if isinstance(node, YSeq) else _found(node)
        d.error("E004", f"row {i} must be [from, repeats, module, args]", node.span, expected="4 items", found=found)
        return None
    f_node, n_node, m_node, a_node = node.items
    sources = _sources(i, f_node, d)
    n = n_node.value if isinstance(n_node, YScalar) else None
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        d.error(
            "E004",
            f"row {i}: repeats must be a whole number ≥ 1",
            n_node.span,
            expected="1, 2, 3…",
            found=_found(n_node),
        )
        n = None
    module = m_node.value if isinstance(m_node, YScalar) else None
    if not isinstance(module, str) or not module:
        d.error(
            "E004", f"row {i}: the module must be a name", m_node.span, expected="`Conv`, `C2f`…", found=_found(m_node)
        )
        module = None
    if not isinstance(a_node, YSeq):
        d.error(
            "E004",
            f"row {i}: args must be a list",
            a_node.span,
            expected="a list such as [64, 3, 2]",
            found=_found(a_node),
        )
        return None
    if sources is None or n is None or module is None:
        return None
    args = tuple(Arg(_resolve(to_python(a), names, used), a.span) for a in a_node.items)
    listed = isinstance(f_node, YSeq)
    return Row(i, sources, listed, n, module, args, node.span, f_node.span, n_node.span, m_node.span, a_node.span)


def _sources(i: int, node: YNode, d: Collector) -> tuple[int, ...] | None:
    """`from`: an index or a list of them; -1 the row before, -k the k-th before (y[-k] in
    BaseModel._predict_once), k ≥ 0 the row k. Only earlier rows exist; row 0's -1 is the image."""
    items = node.items if isinstance(node, YSeq) else [node]
    if not items:
        d.error("E008", f"row {i}: `from` lists no input", node.span, expected="an index such as -1")
        return None
    out: list[int] = []
    for item in items:
        f = item.value if isinstance(item, YScalar) else None
        if isinstance(f, bool) or not isinstance(f, int):
            d.error(
                "E004", f"row {i}: `from` must be a row index", item.span, expected="an integer", found=_found(item)
            )
            return None
        source = i + f if f < 0 else f
        if (f, i) != (-1, 0) and not 0 <= source < i:
            d.error(
                "E008",
                f"row {i}: `from` {f} names no earlier row",
                item.span,
                expected=f"-1 … -{i} or 0 … {i - 1}" if i else "-1 (the image)",
                found=str(f),
            )
            return None
        out.append(source if (f, i) != (-1, 0) else -1)
    return tuple(out)


def _resolve(value: Any, names: dict[str, Any], used: set[str]) -> Any:
    """parse_model's strings in args: a local name (`nc`) is its value, `None` is None, the rest stay."""
    if isinstance(value, str):
        if value in names:
            used.add(value)
            return names[value]
        if value == "None":
            return None
    return value
