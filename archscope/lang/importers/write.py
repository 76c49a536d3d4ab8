"""Write an imported network as spec YAML that a person would have written: a header that says
where it came from, one flow-style line per layer (``- {op: conv2d, name: conv1, out: 64, kernel: 7}``),
``in:`` only where a layer does not read the one before it, and ``expect:`` pinned to the
source's own counts so that ``archscope lint`` keeps the spec honest after edits.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from archscope import __version__
from archscope.lang.importers.network import INPUT, Layer, Network
from archscope.render.safe import oneline

_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*")
_YAML_WORDS = {"true", "false", "yes", "no", "on", "off", "null", "y", "n", "~"}


@dataclass(frozen=True)
class Expr:
    """A spec expression (``4 * c``, ``2 if i == 0 else 1``): written as a quoted string."""

    text: str


def scalar(v: Any) -> str:
    """``v`` as a YAML flow value that reads back as the same value."""
    if isinstance(v, Expr):
        return json.dumps(v.text, ensure_ascii=not v.text.isprintable())
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return "null"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isinf(v):
            return ".inf" if v > 0 else "-.inf"
        text = repr(v)
        return text if ("." in text or "e" in text) else text + ".0"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(scalar(x) for x in v) + "]"
    if isinstance(v, Mapping):
        return "{" + ", ".join(f"{k}: {scalar(x)}" for k, x in v.items()) + "}"
    text = str(v)
    if _PLAIN.fullmatch(text) and text.lower() not in _YAML_WORDS:
        return text
    return json.dumps(text, ensure_ascii=not text.isprintable())  # a line break or control: escaped


def flow(entry: Mapping[str, Any]) -> str:
    return "{" + ", ".join(f"{k}: {scalar(v)}" for k, v in entry.items()) + "}"


def layer_entry(layer: Layer, previous: str | None) -> dict[str, Any]:
    """A flat layer as a spec entry: ``in:`` left out where it reads the layer before it."""
    entry: dict[str, Any] = {"op": layer.op, "name": layer.name}
    reads = layer.inputs
    if not (len(reads) == 1 and reads[0] == (previous or INPUT)):
        entry["in"] = reads[0] if len(reads) == 1 else list(reads)
    entry.update(layer.attrs)
    return entry


def flat_entries(layers: Iterable[Layer]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    previous: str | None = None
    for layer in layers:
        out.append(layer_entry(layer, previous))
        previous = layer.name
    return out


def header(net: Network, extra: Iterable[str] = ()) -> list[str]:
    lines = [
        f"Imported by archscope {__version__} from {oneline(net.source)}",
        "(`archscope import`): layer names follow the source's module paths.",
        *(oneline(n) for n in net.notes),
        *extra,
    ]
    return lines


def spec_text(
    net: Network,
    layers: list[dict[str, Any]],
    blocks: Mapping[str, Mapping[str, Any]] | None = None,
    comments: Iterable[str] = (),
) -> str:
    """The whole spec as YAML text."""
    out = [f"# {line}".rstrip() for line in header(net, comments)]
    out.append(f"name: {scalar(net.name)}")
    if net.title:
        out.append(f"title: {scalar(oneline(net.title))}")
    out.append(f"source: {scalar(oneline(net.source))}")
    if len(net.inputs) == 1 and INPUT in net.inputs:
        out.append(f"input: {scalar(list(net.inputs[INPUT]))}")
    else:
        out.append("inputs:")
        out += [f"  {scalar(k)}: {scalar(list(v))}" for k, v in net.inputs.items()]
    if blocks:
        out += ["", "blocks:"]
        for bname, block in blocks.items():
            out.append(f"  {scalar(bname)}:")
            if block.get("doc"):
                out.append(f"    doc: {scalar(oneline(block['doc']))}")
            if block.get("args"):
                out.append(f"    args: {scalar(block['args'])}")
            out.append("    layers:")
            out += [f"      - {flow(e)}" for e in block["layers"]]
            if block.get("output"):
                out.append(f"    output: {scalar(block['output'])}")
            out.append("")
    out += ["" if not blocks else "", "layers:"] if not blocks else ["layers:"]
    out += [f"  - {flow(e)}" for e in layers]
    last = layers[-1]["name"] if layers else None
    if net.outputs and net.outputs != [last]:
        if len(net.outputs) == 1:
            out.append(f"output: {scalar(net.outputs[0])}")
        else:
            out.append(f"outputs: {scalar(net.outputs)}")
    if net.expect:
        out += ["", f"expect: {scalar(net.expect)}"]
    return "\n".join(out) + "\n"
