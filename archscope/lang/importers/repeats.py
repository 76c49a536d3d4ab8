"""The module instances of an imported network and their structures, found and chosen: rules 1 to 4 of
:mod:`archscope.lang.importers.fold` (instances, structures, repeats, choice), which then writes
the blocks.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from archscope.lang.importers.network import Layer, Names, Network
from archscope.ops import REGISTRY


@dataclass(frozen=True)
class LayerKey:
    rel: str  # the name inside the block
    op: str
    reads: tuple[str, ...]  # names inside the block, `input`, `x.1` for an extra output
    fixed: tuple[tuple[str, str], ...]  # non-numeric attributes (repr), which every instance shares


@dataclass(frozen=True)
class Key:
    layers: tuple[LayerKey, ...]
    output: str

    def by_rel(self) -> dict[str, LayerKey]:
        return {k.rel: k for k in self.layers}


@dataclass
class Inst:
    path: str
    idx: list[int]  # indices into net.layers, in order
    input: str  # the one tensor read from outside (a ref of the flat network)
    output: str  # the flat name of the layer read outside
    rel: dict[str, str]  # flat name → name inside the block
    key: Key


@dataclass
class BlockType:
    base: Key
    skips: dict[Key, frozenset[str]]  # member structure → its missing layers
    insts: list[Inst] = field(default_factory=list)  # the instances used
    name: str = ""
    args: dict[str, list[Any]] = field(default_factory=dict)  # per used instance (or _WILD)
    flags: dict[str, list[bool]] = field(default_factory=dict)
    body: dict[str, dict[str, Any]] = field(default_factory=dict)  # rel → attributes as written
    cond: dict[str, str] = field(default_factory=dict)  # rel → its flag


def _module_of(origin: str) -> tuple[str, bool]:
    """The module path a layer belongs to, and whether it is a call (``P:op``) rather than ``P`` itself."""
    if ":" in origin:
        return origin.split(":", 1)[0], True
    return origin, False


def owners(origin: str) -> list[str]:
    path, _ = _module_of(origin)
    parts = path.split(".") if path else []
    return [".".join(parts[:k]) for k in range(1, len(parts) + 1)]


def _rel_wanted(origin: str, prefix: str) -> str:
    path, call = _module_of(origin)
    below = path[len(prefix) + 1 :] if path != prefix else ""
    if not call:
        return below
    word = origin.split(":", 1)[1].rsplit(".", 1)[-1].strip("_") or "op"
    return f"{below}.{word}" if below else word


def _argable(v: Any) -> bool:
    if isinstance(v, (bool, int, float)):
        return True
    return isinstance(v, (list, tuple)) and bool(v) and all(isinstance(x, (bool, int, float)) for x in v)


def norm_value(v: Any) -> Any:
    return list(v) if isinstance(v, tuple) else v


def same_value(a: Any, b: Any) -> bool:
    return repr(norm_value(a)) == repr(norm_value(b))


def full_attrs(layer: Layer) -> dict[str, Any]:
    """Every attribute of the layer's op, with the op's default where the layer leaves one out."""
    op = REGISTRY[layer.op]
    out = {a.name: layer.attrs[a.name] if a.name in layer.attrs else a.default for a in op.attrs}
    out.update({k: v for k, v in layer.attrs.items() if k not in out})
    return out


class Refs:
    """Splits a flat network's references into (layer or input, port)."""

    def __init__(self, net: Network):
        self.known = {x.name for x in net.layers} | set(net.inputs)

    def split(self, ref: str) -> tuple[str, str]:
        if ref in self.known:
            return ref, ""
        base, _, port = ref.rpartition(".")
        return (base, port) if base in self.known else (ref, "")


def instances(net: Network) -> dict[str, Inst]:
    """Every module path that is an instance (rule 1), by path."""
    refs = Refs(net)
    owned: dict[str, list[int]] = {}
    for i, layer in enumerate(net.layers):
        for p in owners(layer.origin):
            owned.setdefault(p, []).append(i)
    readers: dict[str, list[tuple[int, str]]] = {}  # layer → (reader index or -1 for an output, port)
    for i, layer in enumerate(net.layers):
        for r in layer.inputs:
            base, port = refs.split(r)
            readers.setdefault(base, []).append((i, port))
    for r in net.outputs:
        base, port = refs.split(r)
        readers.setdefault(base, []).append((-1, port))
    found: dict[str, Inst] = {}
    for path, idx in owned.items():
        inst = _instance(net, refs, readers, path, idx)
        if inst is not None:
            found[path] = inst
    return found


def _instance(
    net: Network, refs: Refs, readers: dict[str, list[tuple[int, str]]], path: str, idx: list[int]
) -> Inst | None:
    layers = [net.layers[i] for i in idx]
    if all(x.origin == path for x in layers) or idx != list(range(idx[0], idx[-1] + 1)):
        return None
    inside = {x.name for x in layers}
    outside_in = {r for x in layers for r in x.inputs if refs.split(r)[0] not in inside}
    if len(outside_in) != 1:
        return None
    read_out = {(x.name, port) for x in layers for (j, port) in readers.get(x.name, []) if j == -1 or j not in idx}
    if len(read_out) > 1 or any(port for _, port in read_out):
        return None
    output = next(iter(read_out))[0] if read_out else layers[-1].name
    names = Names(("input",))
    rel = {x.name: names.make(_rel_wanted(x.origin, path)) for x in layers}

    def inner(r: str) -> str:
        base, port = refs.split(r)
        if base not in inside:
            return "input"
        return f"{rel[base]}.{port}" if port else rel[base]

    keys = []
    for x in layers:
        fixed = tuple((k, repr(v)) for k, v in full_attrs(x).items() if not _argable(v))
        keys.append(LayerKey(rel[x.name], x.op, tuple(inner(r) for r in x.inputs), fixed))
    return Inst(path, idx, next(iter(outside_in)), output, rel, Key(tuple(keys), rel[output]))


def skipped(small: Key, base: Key) -> frozenset[str] | None:
    """The layers of ``base`` that ``small`` lacks, when ``small`` is ``base`` with them skipped
    (each replaced by its first input, as ``if:`` does); None when it is not."""
    b, s = base.by_rel(), small.by_rel()
    if not set(s) <= set(b):
        return None
    skip = set(b) - set(s)
    if any(not b[r].reads for r in skip):
        return None

    def res(ref: str) -> str | None:
        for _ in range(len(b) + 1):
            head, _, port = ref.partition(".")
            if head not in skip:
                return ref
            if port:
                return None  # an extra output of a skipped layer: nothing to pass on
            ref = b[head].reads[0]
        return None

    for r, lk in s.items():
        bk = b[r]
        if lk.op != bk.op or lk.fixed != bk.fixed or tuple(res(x) for x in bk.reads) != lk.reads:
            return None
    return frozenset(skip) if res(base.output) == small.output else None


def repeat_runs(net: Network, insts: dict[str, Inst]) -> dict[str, list[Inst]]:
    """Every module whose numbered children chain through all of its layers (rule 3)."""
    owned: dict[str, list[int]] = {}
    for i, layer in enumerate(net.layers):
        for p in owners(layer.origin):
            owned.setdefault(p, []).append(i)
    kids: dict[str, list[tuple[int, Inst]]] = {}
    for path, inst in insts.items():
        parent, _, last = path.rpartition(".")
        if parent and last.isdigit():
            kids.setdefault(parent, []).append((int(last), inst))
    runs: dict[str, list[Inst]] = {}
    for parent, found in kids.items():
        found.sort(key=lambda t: t[0])
        chain = [inst for _, inst in found]
        if [k for k, _ in found] != list(range(len(found))):
            continue
        if sorted(i for inst in chain for i in inst.idx) != owned.get(parent):
            continue
        if any(b.idx[0] != a.idx[-1] + 1 or b.input != a.output for a, b in zip(chain, chain[1:])):
            continue
        runs[parent] = chain
    return runs


def block_types(runs: dict[str, list[Inst]], insts: dict[str, Inst]) -> dict[Key, BlockType]:
    """One block type per structure, structures merged where a repeat mixes them (rule 3)."""
    parent: dict[Key, Key] = {inst.key: inst.key for inst in insts.values()}

    def find(k: Key) -> Key:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    for chain in runs.values():
        for inst in chain[1:]:
            a, b = find(chain[0].key), find(inst.key)
            if a != b:
                parent[b] = a
    groups: dict[Key, list[Key]] = {}
    for k in parent:
        groups.setdefault(find(k), []).append(k)
    types: dict[Key, BlockType] = {}
    for members in groups.values():
        base = max(members, key=lambda k: (len(k.layers), repr(k)))
        skips = {m: skipped(m, base) for m in members}
        if all(s is not None for s in skips.values()):
            t = BlockType(base, {m: s for m, s in skips.items() if s is not None})
            types.update({m: t for m in members})
        else:  # not one block: each structure on its own
            types.update({m: BlockType(m, {m: frozenset()}) for m in members})
    return types


# -- 4. choice ----------------------------------------------------------------------------------


@dataclass
class Unit:
    path: str
    chain: list[Inst]  # one instance, or a repeat's
    repeat: bool
    type: BlockType


def choose(
    layer: Layer,
    paths: Sequence[str],
    insts: dict[str, Inst],
    runs: dict[str, list[Inst]],
    types: dict[Key, BlockType],
    count: Counter[int],
) -> Unit | None:
    for owner in owners(layer.origin):  # outermost first
        if owner not in paths:
            continue
        chain = runs.get(owner, [])
        if (
            chain
            and len({id(types[i.key]) for i in chain}) == 1
            and (len(chain) > 1 or count[id(types[chain[0].key])] > 1)
        ):
            return Unit(owner, chain, True, types[chain[0].key])
        if owner in insts and count[id(types[insts[owner].key])] > 1:
            return Unit(owner, [insts[owner]], False, types[insts[owner].key])
    return None
