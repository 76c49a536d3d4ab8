"""The node builders: layer entries → graph nodes, scope by scope.

A scope (the network's layer list, or one block instance) is named and ordered by
:mod:`.scopes`, then walked in that order. An op entry becomes one node (per repeat), its
attributes evaluated by :mod:`.values` and its shape inferred at once (:mod:`..passes.shapes`);
a block entry is expanded when its input shape is known, so block expressions can use
``in_channels``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from archscope.diagnostics import Collector, Span, brief
from archscope.elaborate.ports import input_ports, select_output
from archscope.elaborate.scopes import DANGLING, Links, Ref, layer_names, links, toposort
from archscope.elaborate.shapes import infer_shape
from archscope.elaborate.values import Skip, TooBig, Values
from archscope.graph import Node, Output
from archscope.lang.specdata import BlockDef, LayerEntry, NetworkSpec
from archscope.lang.yamlsrc import YNode, YScalar
from archscope.limits import max_layers
from archscope.names import Names, suggest
from archscope.ops import REGISTRY
from archscope.ops.registry import OpDef

MAX_BLOCK_DEPTH = 32


@dataclass(frozen=True)
class Scope:
    """Where entries are being built: the name prefix, the scope's input, and the enclosing blocks."""

    prefix: str  # `layer1.0.` inside block instance `layer1.0`; empty at the top
    input: Output  # the scope's (first) input
    path: tuple[str, ...] = ()  # enclosing block instances, outermost first
    blocks: tuple[str, ...] = ()  # their block types
    output: tuple[str, Span] | None = None  # the scope's `output:`, if named
    notes: tuple[str, ...] = ()  # where each enclosing block was used
    inputs: tuple[tuple[str, Output], ...] = ()  # named inputs (`inputs:` of the network or block); empty: `input`
    ignore: frozenset[str] = frozenset()  # the `ignore:` codes of the enclosing block instances

    def named_inputs(self) -> dict[str, Output]:
        return dict(self.inputs) if self.inputs else {"input": self.input}


@dataclass(frozen=True)
class Skipped:
    """A layer left out because its ``if:`` is false, and what stands in for it."""

    cond: str  # its `if:`, as written
    span: Span  # where its `if:` is
    has_else: bool  # an `else:` says what stands in for it
    stand_in: Output | None  # what the `else:` names (None: no `else:`, or a failed layer)


def condition_text(node: YNode) -> str:
    """An ``if:`` as a message shows it: ``false``, ``stride == 1``; long or odd text cut short and escaped."""
    value = node.value if isinstance(node, YScalar) else None
    if isinstance(value, bool):
        return str(value).lower()
    return brief(value)[1:-1] if isinstance(value, str) else brief(value)


def _block_inputs(block: BlockDef, ins: list[Output | None]) -> tuple[tuple[str, Output], ...]:
    """The inputs a block instance's layers may name: for a block with ``inputs: [x, skip]``,
    ``input`` (the first), ``input.0``, ``input.1``, … and ``x``, ``skip``; none (just ``input``)
    for a block of one input."""
    if not block.inputs:
        return ()
    outs = [n for n in ins if n is not None]
    return (("input", outs[0]), *((f"input.{k}", n) for k, n in enumerate(outs)), *zip(block.inputs, outs))


class Builder:
    def __init__(self, spec: NetworkSpec, values: Values, globals_: dict[str, Any], diags: Collector):
        self.spec = spec
        self.values = values
        self.globals = globals_
        self.d = diags
        self.nodes: list[Node] = []
        self.by_name: dict[str, Node] = {}
        self.dangling = False  # a reference named no layer: it may have meant any unused one
        self.skipped: dict[str, Skipped] = {}  # by qualified name: the layers whose `if:` was false
        self.repeats: dict[str, list[Output | None]] = {}  # by qualified name: a repeated entry's output per instance
        self.max_nodes = max_layers()  # this analysis's layer limit (archscope.limits)

    # -- scopes -----------------------------------------------------------------------
    def scope(self, entries: list[LayerEntry], env: dict[str, Any], at: Scope) -> Output | None:
        """Build every entry of a scope; return the scope's output (None if unknown)."""
        if not entries:
            return None
        names, outputs = self._build(entries, env, at)
        if at.output is None:
            last = outputs.get(len(entries) - 1)
            if last is None:
                self._skipped_output(names[-1], at)
            return last
        return self._resolve(at.output, "output: ", {n: i for i, n in enumerate(names)}, outputs, at)

    def scope_outputs(
        self, entries: list[LayerEntry], env: dict[str, Any], at: Scope, refs: list[tuple[str, Span]]
    ) -> list[Output | None]:
        """Build every entry of a scope; return the outputs that ``refs`` (``outputs:``) name."""
        if not entries:
            return [None] * len(refs)
        names, outputs = self._build(entries, env, at)
        index = {n: i for i, n in enumerate(names)}
        return [self._resolve(ref, "outputs: ", index, outputs, at) for ref in refs]

    def _build(
        self, entries: list[LayerEntry], env: dict[str, Any], at: Scope
    ) -> tuple[list[str], dict[int, Output | None]]:
        """Build the entries in dependency order; return their names and their outputs by index."""
        inputs = at.named_inputs()
        names = layer_names(entries, self.d, at.notes, tuple(inputs))
        index = {n: i for i, n in enumerate(names)}
        hints = Names(index, inputs)
        linked = [links(i, entry, index, self.d, at.notes, tuple(inputs), hints) for i, entry in enumerate(entries)]
        self.dangling = self.dangling or any(lk.dangling for lk in linked)
        order = toposort(entries, names, [lk.deps for lk in linked], self.d, at.notes)
        outputs: dict[int, Output | None] = {}
        for i in order:
            kept = self._kept(entries[i], env, at)
            if kept is False:
                outputs[i] = self._skip(entries[i], names[i], linked[i], index, outputs, at, inputs)
                continue
            ins: list[Output | None] = []
            for ref in linked[i].refs:
                if ref is not None and ref[0].endswith(".*"):
                    ins += self._every(ref, index, entries, at)
                else:
                    ins.append(self._input(ref, i, index, outputs, at, inputs, names, entries[i].span))
            if kept:
                outputs[i] = self.entry(entries[i], names[i], env, ins, at)
            else:
                self._consumed(ins)
                outputs[i] = None
        return names, outputs

    def _kept(self, entry: LayerEntry, env: dict[str, Any], at: Scope) -> bool | None:
        """Whether an entry is built: it has no ``if:`` or its ``if:`` is true (an unknown op is
        built, to be reported); None when the ``if:`` cannot be evaluated (reported)."""
        if entry.cond is None or (entry.op not in REGISTRY and entry.op not in self.spec.blocks):
            return True
        try:
            return bool(self.values.value(entry.cond, env, at.notes))
        except Skip:
            return None

    def _skip(
        self,
        entry: LayerEntry,
        name: str,
        link: Links,
        index: dict[str, int],
        outputs: dict[int, Output | None],
        at: Scope,
        inputs: dict[str, Output],
    ) -> Output | None:
        """A layer whose ``if:`` is false is left out: its ``else:`` (a layer or input of the scope)
        stands in for it. Without one, nothing does, and a layer that reads it is an error (E016):
        falling through to its first input silently dropped a sum whose `if:` was meant for a branch."""
        assert entry.cond is not None  # (checked by _kept)
        stand_in = None
        if link.otherwise is not None:
            stand_in = self._input(link.otherwise, 0, index, outputs, at, inputs, [], entry.span)
        self.skipped[at.prefix + name] = Skipped(
            condition_text(entry.cond), entry.cond.span, link.otherwise is not None, stand_in
        )
        return stand_in

    def _consumed(self, ins: list[Output | None]) -> None:
        """A layer that failed still consumes its inputs: no bogus "never used"."""
        for n in ins:
            if n is not None:
                n.node.users += 1
        return None

    def _unread(self, shown: str, full: str, span: Span, at: Scope) -> None:
        """E016: a reference (written ``shown``) to the skipped layer ``full`` that has no ``else:``."""
        skipped = self.skipped[full]
        self.dangling = True  # the fix may read any layer left unused
        self.d.error(
            "E016",
            f"`{shown}` is skipped here (its `if: {skipped.cond}` is false) and has no `else:` "
            "to say what stands in for it",
            span,
            expected=f"`else: <layer or input>` on `{full[len(at.prefix) :]}`, or a reference to a layer that is built",
            found=f"if: {skipped.cond} (line {skipped.span.line})",
            notes=at.notes,
        )

    def _skipped_output(self, name: str, at: Scope) -> None:
        """E016 when the last entry of a scope, its output, is skipped with no ``else:``."""
        skipped = self.skipped.get(at.prefix + name)
        if skipped is None or skipped.has_else:
            return  # a failed layer: its error is already reported
        whose = f"block `{at.blocks[-1]}`" if at.blocks else "the network"
        self.dangling = True
        self.d.error(
            "E016",
            f"`{name}` is skipped here (its `if: {skipped.cond}` is false) and has no `else:`, "
            f"yet it is the output of {whose}",
            skipped.span,
            expected=f"`else: <layer>` on `{name}`, or a layer after it",
            found=f"if: {skipped.cond}",
            notes=at.notes,
        )

    def _input(
        self,
        ref: Ref,
        i: int,
        index: dict[str, int],
        outputs: dict[int, Output | None],
        at: Scope,
        inputs: dict[str, Output],
        names: list[str],
        reader: Span,
    ) -> Output | None:
        """What the reference ``ref`` of entry ``i`` (at ``reader``) reads; None: its error is reported."""
        if ref is None:
            if not i:
                return at.input
            found = outputs.get(i - 1)
            if found is None and self._unread_at(at.prefix + names[i - 1]):
                self._unread(names[i - 1], at.prefix + names[i - 1], reader, at)
            return found
        if ref[0] == DANGLING:
            return None
        if ref[0] in inputs:
            return inputs[ref[0]]
        return self._resolve(ref, "", index, outputs, at)

    def _resolve(
        self, ref: tuple[str, Span], what: str, index: dict[str, int], outputs: dict[int, Output | None], at: Scope
    ) -> Output | None:
        """What a reference names: a layer of this scope (`conv`), a layer inside one of its block
        instances or repeats (`layer1.0.conv1`, `conv.0`); failing that, one output of a
        multi-output layer, by index (`split.1`; 0 is the main output) or by name (`pool.indices`)."""
        if ref[0] in index:
            found = outputs.get(index[ref[0]])
            if found is None and self._unread_at(at.prefix + ref[0]):
                self._unread(what + ref[0], at.prefix + ref[0], ref[1], at)
            return found
        target = self.by_name.get(at.prefix + ref[0])
        if target is not None:
            return Output(target)
        skipped = self.skipped.get(at.prefix + ref[0])  # a layer inside a block instance, skipped there
        if skipped is not None:
            if not skipped.has_else:
                self._unread(what + ref[0], at.prefix + ref[0], ref[1], at)
            return skipped.stand_in
        base, _, suffix = ref[0].rpartition(".")
        if base in index and suffix.isdigit() and at.prefix + base in self.repeats:
            return self._instance(ref, base, int(suffix), what, at)
        if base and at.prefix + base in self.skipped:
            self._skipped_port(ref, base, what, at)
            return None
        if base in index:
            source = outputs.get(index[base])
        else:
            layer = self.by_name.get(at.prefix + base) if base else None
            if layer is None:
                self._no_layer(ref, what, at)
                return None
            source = Output(layer)
        if source is None or source.shape is None:
            return None  # a failed layer: its error is already reported
        if source.node.name != at.prefix + base or source.port:  # a block instance, a repeat: no outputs
            self._no_layer(ref, what, at)
            return None
        found = select_output(source.node, base, suffix, ref, what, self.d, at.notes)
        self.dangling = self.dangling or found is None
        return found

    def _instance(self, ref: tuple[str, Span], base: str, k: int, what: str, at: Scope) -> Output | None:
        """``name.k``: the output of instance ``k`` of a repeated entry (``n:``)."""
        outs = self.repeats[at.prefix + base]
        if k < len(outs):
            return outs[k]
        self.dangling = True
        self.d.error(
            "E008",
            f"`{what}{ref[0]}` names instance {k} of `{base}`, which has {len(outs)}",
            ref[1],
            expected=f"an instance 0 … {len(outs) - 1} of `{base}`, or `{base}.*` for all of them",
            found=ref[0],
            notes=at.notes,
        )
        return None

    def _every(
        self, ref: tuple[str, Span], index: dict[str, int], entries: list[LayerEntry], at: Scope
    ) -> list[Output | None]:
        """``name.*``: the outputs of every instance of a repeated entry, in order (none for ``n: 0``).
        A concat of a variable number of branches (C2f's bottlenecks, MixNet's kernels) is written once."""
        base = ref[0][:-2]
        outs = self.repeats.get(at.prefix + base)
        if outs is not None:
            return list(outs)
        if base in index and entries[index[base]].repeat is None:
            self.d.error(
                "E008",
                f"`{ref[0]}` needs a repeated layer (`n:`): `{base}` has no instances",
                ref[1],
                expected=f"`n:` on `{base}`, or `in: {base}`",
                found=ref[0],
                notes=at.notes,
            )
            self.dangling = True
            return [None]
        return []  # `n: 0`, or a layer that failed (reported)

    def _unread_at(self, full: str) -> bool:
        """Whether ``full`` is a skipped layer with no ``else:`` (not merely a failed one)."""
        skipped = self.skipped.get(full)
        return skipped is not None and not skipped.has_else

    def _skipped_port(self, ref: tuple[str, Span], base: str, what: str, at: Scope) -> None:
        """E008: ``base.k`` names an output of a layer that exists but is skipped here."""
        skipped = self.skipped[at.prefix + base]
        self.dangling = True
        self.d.error(
            "E008",
            f"`{what}{ref[0]}` names an output of `{base}`, which is skipped here (its `if: {skipped.cond}` is false)",
            ref[1],
            expected=f"an output of a layer that is built, or an `if:` that keeps `{base}`",
            found=f"if: {skipped.cond} (line {skipped.span.line})",
            notes=at.notes,
        )

    def _no_layer(self, ref: tuple[str, Span], what: str, at: Scope) -> None:
        self.dangling = True
        self.d.error("E008", f"`{what}{ref[0]}` names no layer", ref[1], found=ref[0], notes=at.notes)

    # -- one entry ----------------------------------------------------------------------
    def entry(
        self, entry: LayerEntry, name: str, env: dict[str, Any], ins: list[Output | None], at: Scope
    ) -> Output | None:
        result = self._entry(entry, name, env, ins, at)
        if result is None:
            self._consumed(ins)
        return result

    def _entry(
        self, entry: LayerEntry, name: str, env: dict[str, Any], ins: list[Output | None], at: Scope
    ) -> Output | None:
        op = REGISTRY.get(entry.op)
        block = self.spec.blocks.get(entry.op)
        if op is None and block is None:
            hint = suggest(entry.op, REGISTRY, self.spec.blocks)
            self.d.error(
                "E006",
                f"unknown op or block `{entry.op}`" + (f"; did you mean `{hint}`?" if hint else ""),
                entry.op_span,
                expected="an op (see `archscope ops`) or a block in `blocks:`",
                found=entry.op,
                notes=at.notes,
            )
            return None
        try:  # (an `if:` is evaluated before: see `_kept`)
            n = self._repeats(entry, name, env, ins, at)
        except Skip:
            return None
        current = ins
        out: Output | None = None if n else ins[0]  # `n: 0`: the layer is left out
        per = 1 if op is not None else None  # layers each repeat adds: known for an op, after one instance for a block
        for i in range(n):
            if per is not None and len(self.nodes) + per * (n - i) > self.max_nodes:
                self._too_many(entry, n, per, at)  # refused now, not after building a quarter-million layers
            full = f"{at.prefix}{name}.{i}" if entry.repeat is not None else f"{at.prefix}{name}"
            env_i = {**env, "i": i}
            before = len(self.nodes)
            if op is not None:
                out = Output(self.op_node(entry, op, full, env_i, current, at))
            else:
                assert block is not None  # `_entry` returned early when the name is neither op nor block
                out = self.block_instance(entry, block, full, env_i, current, at)
                per = max(1, len(self.nodes) - before) if per is None else per
            current = [out]
            if entry.repeat is not None:
                self.repeats.setdefault(f"{at.prefix}{name}", []).append(out)
        return out

    def _too_many(self, entry: LayerEntry, n: int, per: int, at: Scope) -> None:
        where = entry.repeat.span if entry.repeat is not None else entry.span
        self.d.error(
            "E011",
            f"the network has more than {self.max_nodes:,} layers",
            where,
            expected=f"at most {self.max_nodes:,} layers (raise it with `--max-layers`)",
            found=f"{len(self.nodes):,} so far, and {n:,} × {per:,} more here" if n > 1 else "more",
            notes=at.notes,
        )
        raise TooBig

    def _repeats(self, entry: LayerEntry, name: str, env: dict[str, Any], ins: list[Output | None], at: Scope) -> int:
        if entry.repeat is None:
            return 1
        n = self.values.value(entry.repeat, env, at.notes)
        if isinstance(n, int) and not isinstance(n, bool) and n > self.max_nodes:
            self._too_many(entry, n, 1, at)
        if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= self.max_nodes:
            self.d.error(
                "E004",
                "`n` must be a whole number of repeats",
                entry.repeat.span,
                expected=f"an integer in 0..{self.max_nodes}",
                found=brief(n),
                notes=at.notes,
            )
            raise Skip
        if n == 0 and len(ins) != 1:
            self.d.error(
                "E108",
                f"`n: 0` leaves `{name}` out and passes its input on, so it needs exactly one input",
                entry.repeat.span,
                layer=name,
                expected="1",
                found=str(len(ins)),
                notes=at.notes,
            )
            raise Skip
        return n

    # -- an op node ---------------------------------------------------------------------
    def op_node(
        self, entry: LayerEntry, op: OpDef, name: str, env: dict[str, Any], ins: list[Output | None], at: Scope
    ) -> Node:
        if len(self.nodes) >= self.max_nodes:
            self.d.error(
                "E011",
                f"the network has more than {self.max_nodes:,} layers",
                entry.span,
                expected=f"at most {self.max_nodes:,} layers (raise it with `--max-layers`)",
                notes=at.notes,
            )
            raise TooBig
        attrs, ok = self._attrs(entry, op, env, at.notes)
        inputs = [n for n in ins if n is not None]
        node = Node(name, op.name, attrs, [n.node for n in inputs], entry.span, at.path, at.blocks, notes=at.notes)
        node.ports = input_ports(op, inputs)
        node.ignore = at.ignore.union(entry.ignore) if entry.ignore else at.ignore
        for n in inputs:
            n.node.users += 1
        self.nodes.append(node)
        self.by_name[name] = node
        lo, hi = op.inputs
        if not lo <= len(ins) <= (hi if hi is not None else len(ins)):
            want = f"{lo}" if lo == hi else f"{lo} or more" if hi is None else f"{lo}..{hi}"
            self.d.error(
                "E108",
                f"`{op.name}` takes {want} inputs",
                entry.span,
                layer=name,
                expected=want,
                found=str(len(ins)),
                notes=at.notes,
            )
        elif ok and all(n is not None and n.shape is not None for n in ins):
            infer_shape(node, op, self.d)
        return node

    def _attrs(
        self, entry: LayerEntry, op: OpDef, env: dict[str, Any], notes: tuple[str, ...]
    ) -> tuple[dict[str, Any], bool]:
        """The op's attributes, with defaults; ``ok`` is False when one is unknown, bad or missing."""
        attrs: dict[str, Any] = {}
        ok = True
        misspelt: set[str] = set()  # attributes a typo stands for: not reported missing as well
        for key, (kspan, vnode) in entry.args.items():
            if op.attr(key) is None:
                misspelt.add(self._unknown_attr(op, key, kspan, notes))
                ok = False
                continue
            try:
                attrs[key] = self.values.attr_value(op, key, vnode, env, notes)
            except Skip:
                ok = False
        for attr in op.attrs:
            if attr.name in attrs or attr.name in entry.args:
                continue
            if not attr.required:
                attrs[attr.name] = attr.default
                continue
            ok = False
            if attr.name not in misspelt:
                self.d.error(
                    "E005",
                    f"`{op.name}` needs `{attr.name}` ({attr.doc or attr.type.describe()})",
                    entry.span,
                    expected=f"`{attr.name}: …`",
                    found="nothing",
                    notes=notes,
                )
        return attrs, ok

    def _unknown_attr(self, op: OpDef, key: str, kspan: Span, notes: tuple[str, ...]) -> str:
        """Report an attribute the op does not have; return the attribute it may stand for ("")."""
        known = [a.name for a in op.attrs] + ["name", "in", "n", "if", "else"]
        hint = suggest(key, known)
        self.d.error(
            "E003",
            f"`{op.name}` has no attribute `{key}`" + (f"; did you mean `{hint}`?" if hint else ""),
            kspan,
            expected=", ".join(f"`{k}`" for k in known),
            found=key,
            notes=notes,
        )
        return hint or ""

    # -- a block instance ------------------------------------------------------------
    def block_instance(
        self, entry: LayerEntry, block: BlockDef, name: str, env: dict[str, Any], ins: list[Output | None], at: Scope
    ) -> Output | None:
        if not self._can_expand(entry, block, name, ins, at):
            return None
        known = self._known_args(entry, block, at.notes)  # reported even when the input is unknown
        x = ins[0]
        if any(n is None or n.shape is None for n in ins) or x is None or x.shape is None or not known:
            return None  # the cause upstream is already reported
        inner = Scope(
            name + ".",
            x,
            at.path + (name,),
            at.blocks + (block.name,),
            block.output,
            at.notes + (f"in `{name}` (block `{block.name}` used at {entry.span})",),
            inputs=_block_inputs(block, ins),
            ignore=at.ignore.union(entry.ignore) if entry.ignore else at.ignore,
        )
        benv = self._block_env(entry, block, env, {**self.globals, "in_channels": x.shape[0]}, at.notes, inner.notes)
        if benv is None:
            return None
        return self.scope(block.layers, benv, inner)

    def _can_expand(self, entry: LayerEntry, block: BlockDef, name: str, ins: list[Output | None], at: Scope) -> bool:
        blocks, notes = at.blocks, at.notes
        if block.name in blocks:
            chain = " → ".join(blocks[blocks.index(block.name) :] + (block.name,))
            self.d.error(
                "E009", f"block `{block.name}` instantiates itself ({chain})", entry.op_span, found=chain, notes=notes
            )
            return False
        if len(blocks) >= MAX_BLOCK_DEPTH:
            self.d.error(
                "E011",
                f"blocks are nested deeper than {MAX_BLOCK_DEPTH} levels",
                entry.op_span,
                expected=f"at most {MAX_BLOCK_DEPTH} levels",
                found=" → ".join(blocks + (block.name,)),
                notes=notes[-1:],
            )
            return False
        want = max(1, len(block.inputs))
        if len(ins) != want:
            names = ", ".join(f"`{n}`" for n in block.inputs)
            self.d.error(
                "E108",
                f"block `{block.name}` takes " + (f"{want} inputs ({names})" if block.inputs else "one input"),
                entry.span,
                layer=name,
                expected=str(want),
                found=str(len(ins)),
                notes=notes,
            )
            return False
        return True

    def _known_args(self, entry: LayerEntry, block: BlockDef, notes: tuple[str, ...]) -> bool:
        """Report each argument the block does not have; True if there is none."""
        ok = True
        for key, (kspan, _) in entry.args.items():
            if key not in block.args:
                hint = suggest(key, block.args)
                self.d.error(
                    "E003",
                    f"block `{block.name}` has no argument `{key}`" + (f"; did you mean `{hint}`?" if hint else ""),
                    kspan,
                    expected=", ".join(f"`{k}`" for k in block.args) or "no arguments",
                    found=key,
                    notes=notes,
                )
                ok = False
        return ok

    def _block_env(
        self,
        entry: LayerEntry,
        block: BlockDef,
        env: dict[str, Any],
        benv: dict[str, Any],
        notes: tuple[str, ...],
        inner_notes: tuple[str, ...],
    ) -> dict[str, Any] | None:
        """The block's variables: its arguments as given at the use (evaluated there), then its
        defaults (evaluated inside the block); None if one is unknown, bad or missing."""
        ok = True
        for key, (_, vnode) in entry.args.items():
            if key not in block.args:  # reported by _known_args
                ok = False
                continue
            try:
                benv[key] = self.values.value(vnode, env, notes)
            except Skip:
                ok = False
        for key, (_, default) in block.args.items():
            if key in benv and key in entry.args:
                continue
            if isinstance(default, YScalar) and default.value is None:
                self.d.error(
                    "E005",
                    f"block `{block.name}` needs argument `{key}`",
                    entry.span,
                    expected=f"`{key}: …`",
                    found="nothing",
                    notes=notes,
                )
                ok = False
                continue
            try:
                benv[key] = self.values.value(default, benv, inner_notes)
            except Skip:
                ok = False
        return benv if ok else None
