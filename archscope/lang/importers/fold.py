"""Repeated blocks: the module instances of an imported network that repeat become a block used
×N, so that a ResNet-50 reads as a dozen lines, not 175.

The rules, in order:

1. **Instances.** A module path ``P`` owns the layers whose origin lies under it (``P.x`` or a
   call ``P:op``, ``P.x:op``). ``P`` is an instance when it owns a layer other than a single
   module's own call, its layers are contiguous, they read exactly one tensor from outside
   (the block's ``input``), and outside ``P`` only one of them is read, by its main output (the
   block's output: ``output:`` when it is not the last layer). Inside, each layer is named by
   its path below ``P`` (``conv1``, ``downsample_0``, ``add`` for a call, ``relu_2`` for a
   module called again).
2. **Structure.** Two instances have the same structure when their layers have the same names,
   ops, inputs and non-numeric attributes (each op's attributes filled with their defaults).
   Numbers that differ between the instances of a block become its ``args``: equal in every
   instance → one argument; an integer multiple ``k`` of an earlier argument in every instance
   → ``k * c``. An argument is named ``c`` (for ``out``), else the attribute, else
   ``<layer>_<attr>``; a block is named after the source's class (snake_case, ``bottleneck``).
3. **Repeats.** The children ``X.0 … X.(n-1)`` of one module ``X`` that own all of ``X``'s
   layers and chain (each reads the one before) become ONE entry ``{op: b, name: X, n: n}``:
   the spec's names are then the source's paths (``layer1.0.conv1``). An argument's values
   along the repeat are written as a literal (all equal), ``"A if i == 0 else B"`` (the first
   differs) or ``"[a, b, c][i]"``. Children whose structures differ only by layers missing in
   some (ResNet's ``downsample`` in the first block of a stage) share one block in which those
   layers carry ``if: <flag>`` (a skipped layer passes its first input on): allowed only when
   every reference to a missing layer (the block's output too), followed through first
   inputs, is what that child reads.
4. **Choice.** Walking the layers in order, the outermost repeat or instance (of a block with
   at least two instances) that starts at a layer is used; any other layer stays flat, at the
   top level. Blocks are not nested (a block's layers are ops).
5. **Proof.** The folded spec is analysed next to the flat one: the totals, every layer's
   params, MACs, buffers, ops and output shape (matched by qualified name), and the
   diagnostic codes must agree; otherwise the flat spec is written, with a note that says so.

What fold leaves on the network, for the writer and for ``--verify``: each :class:`Layer`'s
``qualified`` is its node's name in the written spec (:func:`names` gives
``{qualified name: origin}``, whose keys are exactly ``analysis.graph`` node names), and
``net.outputs`` names the outputs as the folded spec reaches them (``layer4`` for the last
instance's output, ``layer1.0.relu3`` inside a repeat).
"""

from __future__ import annotations

import keyword
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from archscope.lang.expr import FUNCTIONS
from archscope.lang.importers.network import Layer, Names, Network
from archscope.lang.importers.repeats import (
    BlockType,
    Refs,
    Unit,
    block_types,
    choose,
    full_attrs,
    instances,
    norm_value,
    repeat_runs,
    same_value,
)
from archscope.lang.importers.write import Expr, flat_entries, layer_entry, spec_text
from archscope.lang.spec import RESERVED
from archscope.ops import REGISTRY

_BANNED = {*RESERVED, "i", "in_channels", "input", "ch", "rep", "True", "False", "None", *FUNCTIONS}
_WILD = object()
_FAMILY = {
    "out": "channels",
    "groups": "channels",
}  # attributes whose values may share an argument  # an argument's value in an instance where every layer that uses it is skipped


# -- helpers --------------------------------------------------------------------------------------


def _py(v: Any) -> str:
    """``v`` as an expression literal."""
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_py(x) for x in v) + "]"
    return repr(v)


def _snake(name: str) -> str:
    s = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name)
    s = re.sub(r"[^A-Za-z0-9_]+", "_", s).strip("_").lower()
    return s if s and not s[0].isdigit() else f"b_{s}"


def _free(wanted: str, used: set[str]) -> str:
    base = wanted if wanted.isidentifier() and not keyword.iskeyword(wanted) else f"a_{wanted}"
    name, k = base, 2
    while name in used or name in _BANNED:
        name, k = f"{base}_{k}", k + 1
    used.add(name)
    return name


# -- 1. instances ---------------------------------------------------------------------------------


# -- 2, 3. structures and repeats ---------------------------------------------------------------


# -- emitting -----------------------------------------------------------------------------------


def fold_blocks(net: Network, analyze: Callable[..., Any]) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    """The spec's layer entries and blocks for ``net`` (see the module docstring); sets each
    layer's ``qualified`` name and rewrites ``net.outputs`` to the folded spec's references.
    ``analyze`` is :func:`archscope.analyze` (passed in: the API imports the importers)."""
    for layer in net.layers:
        layer.qualified = layer.name
    original = list(net.outputs)
    flat = analyze(f"{net.name}.yaml", text=spec_text(net, flat_entries(net.layers)))
    try:
        layers, blocks = _fold(net, _channels(flat))
    except KeyError:  # an op the registry lacks: nothing to fold with
        layers, blocks = flat_entries(net.layers), {}
    if blocks:
        problem = _differs(net, flat, layers, blocks, analyze)
        if problem:
            for layer in net.layers:
                layer.qualified = layer.name
            net.outputs = original
            net.notes.append(f"written flat: the folded spec differed from it ({problem})")
            return flat_entries(net.layers), {}
    return layers, blocks


def _channels(flat: Any) -> dict[str, int]:
    """The channel count of every reference of the flat spec (``x``, ``x.1``, an input)."""
    out: dict[str, int] = {}
    if flat.graph is None:
        return out
    for node in [*flat.graph.inputs, *flat.graph.nodes]:
        for k, shape in enumerate([node.shape, *node.extra_shapes]):
            if shape:
                out[f"{node.name}.{k}" if k else node.name] = shape[0]
    return out


def _fold(net: Network, channels: dict[str, int]) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    insts = instances(net)
    runs = repeat_runs(net, insts)
    types = block_types(runs, insts)
    count = Counter(id(types[inst.key]) for inst in insts.values())
    start: dict[int, list[str]] = {}
    for path in set(insts) | set(runs):
        first = runs[path][0].idx[0] if path in runs else insts[path].idx[0]
        start.setdefault(first, []).append(path)
    units: list[Unit | Layer] = []
    pos = 0
    while pos < len(net.layers):
        unit = choose(net.layers[pos], start.get(pos, []), insts, runs, types, count)
        if unit is None:
            units.append(net.layers[pos])
            pos += 1
            continue
        unit.type.insts += unit.chain
        units.append(unit)
        pos = unit.chain[-1].idx[-1] + 1
    used = {id(u.type): u.type for u in units if isinstance(u, Unit)}
    taken = {x.name for x in units if isinstance(x, Layer)} | set(net.inputs)
    blocks = _blocks(net, list(used.values()), taken, channels)
    return _entries(net, units, taken), blocks


def _blocks(
    net: Network, types: list[BlockType], taken: set[str], channels: dict[str, int]
) -> dict[str, dict[str, Any]]:
    blocks: dict[str, dict[str, Any]] = {}
    names: set[str] = set(taken)
    for t in types:
        classes = Counter(net.modules.get(inst.path, "") for inst in t.insts)
        cls = classes.most_common(1)[0][0] or "block"
        wanted = _snake(cls)
        if wanted in REGISTRY:
            wanted += "_block"
        t.name = _free(wanted, names)
        _args(net, t, [channels.get(inst.input) for inst in t.insts])
        blocks[t.name] = _block_text(t, cls)
    return blocks


def _args(net: Network, t: BlockType, in_channels: list[int | None]) -> None:
    """The block's arguments and flags, and each layer's attributes as written (rule 2)."""
    used: set[str] = set()
    family: dict[str, str] = {}
    by_inst = [{inst.rel[net.layers[i].name]: net.layers[i] for i in inst.idx} for inst in t.insts]
    for lk in t.base.layers:
        op = REGISTRY[lk.op]
        attrs: dict[str, Any] = {}
        full = [full_attrs(m[lk.rel]) if lk.rel in m else None for m in by_inst]
        keys = next(f for f in full if f is not None)
        for key in keys:
            vec = [f[key] if f is not None else _WILD for f in full]
            known = [v for v in vec if v is not _WILD]
            attr = op.attr(key)
            if all(same_value(v, known[0]) for v in known):
                if attr is None or attr.required or not same_value(known[0], attr.default):
                    attrs[key] = norm_value(known[0])
                continue
            attrs[key] = _arg_for(t, vec, key, lk.rel, used, family, in_channels)
        t.body[lk.rel] = attrs
    groups: dict[tuple[bool, ...], list[str]] = {}
    for lk in t.base.layers:
        present = tuple(lk.rel in m for m in by_inst)
        if not all(present):
            groups.setdefault(present, []).append(lk.rel)
    for present, rels in groups.items():
        common = _prefix(rels).rstrip("_") if len(rels) > 1 else ""
        flag = _free(common if common else f"has_{rels[0]}", used)
        t.flags[flag] = list(present)
        t.cond.update({r: flag for r in rels})


def _prefix(words: list[str]) -> str:
    out = words[0]
    for w in words[1:]:
        while not w.startswith(out):
            out = out[:-1]
    return out


def _multiple(vec: list[Any], of: Sequence[Any]) -> int | None:
    """``k`` when ``vec`` is ``k`` × ``of`` wherever ``vec`` has a value (whole numbers, one ``k``)."""
    pairs = [(v, a) for v, a in zip(vec, of) if v is not _WILD]
    if not all(_whole(v) and _whole(a) and a > 0 and v % a == 0 for v, a in pairs):
        return None
    ks = {v // a for v, a in pairs}
    return next(iter(ks)) if len(ks) == 1 else None


def _whole(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _arg_for(
    t: BlockType,
    vec: list[Any],
    key: str,
    rel: str,
    used: set[str],
    family: dict[str, str],
    in_channels: list[int | None],
) -> Any:
    """How layer ``rel`` writes attribute ``key`` whose values are ``vec``: an argument shared with
    another attribute of its kind, ``k * in_channels`` or ``k * arg`` for channels, or a new argument."""
    kind = _FAMILY.get(key, key)
    for name, avec in t.args.items():
        if family[name] == kind and all(v is _WILD or a is _WILD or same_value(v, a) for v, a in zip(vec, avec)):
            t.args[name] = [a if a is not _WILD else v for v, a in zip(vec, avec)]
            return name
    if kind == "channels":
        k = _multiple(vec, [c if c is not None else 0 for c in in_channels])
        if k is not None:
            return "in_channels" if k == 1 else Expr(f"{k} * in_channels")
        for name, avec in t.args.items():
            k = _multiple(vec, avec) if family[name] == kind else None
            if k is not None and k > 1:
                return Expr(f"{k} * {name}")
    wanted = [w for w in ("c" if key == "out" else "", key, f"{rel}_{key}") if w]
    free = next((w for w in wanted if w not in used and w not in _BANNED and w.isidentifier()), None)
    name = _free(free or f"{rel}_{key}", used)
    t.args[name] = list(vec)
    family[name] = kind
    return name


def _stand_in(t: BlockType, read: str) -> str:
    """What a skipped layer's readers get instead (its ``else:``): its first input, followed through
    the other layers skipped with it, as the instances without them read (fold merges only then)."""
    first = {lk.rel: lk.reads[0] for lk in t.base.layers}
    while read in t.cond and read in first:
        read = first[read]
    return read


def _block_text(t: BlockType, cls: str) -> dict[str, Any]:
    layers: list[dict[str, Any]] = []
    previous = "input"
    for lk in t.base.layers:
        entry: dict[str, Any] = {"op": lk.op, "name": lk.rel}
        if list(lk.reads) != [previous]:
            entry["in"] = lk.reads[0] if len(lk.reads) == 1 else list(lk.reads)
        entry.update(t.body[lk.rel])
        if lk.rel in t.cond:
            entry["if"] = t.cond[lk.rel]
            entry["else"] = _stand_in(t, lk.reads[0])
        layers.append(entry)
        previous = lk.rel
    paths = [inst.path for inst in t.insts]
    doc = f"`{cls}` in the source, ×{len(paths)}: {', '.join(paths[:3])}{', …' if len(paths) > 3 else ''}"
    block: dict[str, Any] = {"doc": doc, "args": {a: None for a in [*t.args, *t.flags]}, "layers": layers}
    if t.base.output != t.base.layers[-1].rel:
        block["output"] = t.base.output
    return block


def _values(vals: list[Any]) -> Any:
    """An argument's values along a repeat, as one value or an expression of ``i``."""
    known = [v for v in vals if v is not _WILD]
    if all(same_value(v, known[0]) for v in known):
        return norm_value(known[0])
    rest = [v for v in vals[1:] if v is not _WILD]
    vals = [v if v is not _WILD else (rest[0] if rest else known[0]) for v in vals]
    if all(same_value(v, vals[1]) for v in vals[1:]):
        a, b = vals[0], vals[1]
        if a is True and b is False:
            return Expr("i == 0")
        if a is False and b is True:
            return Expr("i != 0")
        return Expr(f"{_py(a)} if i == 0 else {_py(b)}")
    return Expr(f"[{', '.join(_py(v) for v in vals)}][i]")


def _entries(net: Network, units: list[Unit | Layer], taken: set[str]) -> list[dict[str, Any]]:
    names = Names(tuple(taken))
    refs = Refs(net)
    reach: dict[str, str] = {}  # flat name → how the top level reaches it
    out: list[dict[str, Any]] = []
    previous: str | None = list(net.inputs)[0]
    offset: dict[int, int] = {}  # id(type) → instances already given their values
    for unit in units:
        if isinstance(unit, Layer):
            mapped = [_reach(r, refs, reach) for r in unit.inputs]
            out.append(layer_entry(replace(unit, inputs=mapped), previous))
            reach[unit.name] = previous = unit.name
            continue
        t = unit.type
        first = offset.get(id(t), 0)
        offset[id(t)] = first + len(unit.chain)
        name = names.make(unit.path)
        entry: dict[str, Any] = {"op": t.name, "name": name}
        if unit.repeat:
            entry["n"] = len(unit.chain)
        source = _reach(unit.chain[0].input, refs, reach)
        if source != previous:
            entry["in"] = source
        span = slice(first, first + len(unit.chain))
        for arg, vals in [*t.args.items(), *t.flags.items()]:
            entry[arg] = _values(vals[span])
        for j, inst in enumerate(unit.chain):
            at = f"{name}.{j}" if unit.repeat else name
            for i in inst.idx:
                net.layers[i].qualified = f"{at}.{inst.rel[net.layers[i].name]}"
            reach[inst.output] = f"{at}.{inst.rel[inst.output]}"
        reach[unit.chain[-1].output] = name
        out.append(entry)
        previous = name
    net.outputs = [_reach(r, refs, reach) for r in net.outputs]
    return out


def _reach(ref: str, refs: Refs, reach: dict[str, str]) -> str:
    base, port = refs.split(ref)
    if base not in reach:
        return ref  # a network input
    return f"{reach[base]}.{port}" if port else reach[base]


# -- checking -----------------------------------------------------------------------------------


def names(net: Network) -> dict[str, str]:
    """``{qualified name in the written spec: origin in the source}`` for every layer."""
    return {(x.qualified or x.name): x.origin for x in net.layers}


def _differs(
    net: Network,
    flat: Any,
    layers: list[dict[str, Any]],
    blocks: dict[str, dict[str, Any]],
    analyze: Callable[..., Any],
) -> str:
    """Why the folded spec is not the flat one (its analysis ``flat``) (rule 5); "" when it is."""
    folded = analyze(f"{net.name}.yaml", text=spec_text(net, layers, blocks))
    if folded.graph is None or flat.graph is None or folded.report is None or flat.report is None:
        return "it does not analyse"
    if Counter(d.code for d in folded.diagnostics) != Counter(d.code for d in flat.diagnostics):
        return "diagnostics " + ", ".join(sorted({d.code for d in folded.diagnostics}))
    a, b = folded.report.totals, flat.report.totals
    for what in ("params", "buffers", "macs", "ops", "layers"):
        if getattr(a, what) != getattr(b, what):
            return f"{what} {getattr(a, what):,} ≠ {getattr(b, what):,}"
    mine = {n.name: n for n in folded.graph.nodes}
    qualified = {x.name: x.qualified for x in net.layers}
    for node in flat.graph.nodes:
        q = qualified.get(node.name, node.name)
        other = mine.get(q)
        if other is None:
            return f"no layer `{q}`"
        if other.cost != node.cost or other.shape != node.shape:
            return f"`{q}` counts differently"
    return ""
