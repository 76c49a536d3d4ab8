"""The node builders: layer entries → graph nodes, scope by scope.

A scope (the network's layer list, or one block instance) is named and ordered by
:mod:`.scopes`, then walked in that order. An op entry becomes one node (per repeat), its
attributes evaluated by :mod:`.values` and its shape inferred at once (:mod:`..passes.shapes`);
a block entry is expanded when its input shape is known, so block expressions can use
``in_channels``. What a reference reads is found by :mod:`.references`; an op's node is made, and
a block's use checked, by :mod:`.layer_nodes`.
"""

from __future__ import annotations

from typing import Any

from archscope.diagnostics import Collector, Span, brief
from archscope.elaborate.layer_nodes import LayerNodes
from archscope.elaborate.references import References, Scope, Skipped, condition_text
from archscope.elaborate.scopes import Links, layer_names, links, toposort
from archscope.elaborate.values import Skip, TooBig, Values
from archscope.graph import Node, Output
from archscope.lang.specdata import BlockDef, LayerEntry, NetworkSpec
from archscope.limits import max_layers
from archscope.names import Names, suggest
from archscope.ops import REGISTRY


def _block_inputs(block: BlockDef, ins: list[Output | None]) -> tuple[tuple[str, Output], ...]:
    """The inputs a block instance's layers may name: for a block with ``inputs: [x, skip]``,
    ``input`` (the first), ``input.0``, ``input.1``, … and ``x``, ``skip``; none (just ``input``)
    for a block of one input."""
    if not block.inputs:
        return ()
    outs = [n for n in ins if n is not None]
    return (("input", outs[0]), *((f"input.{k}", n) for k, n in enumerate(outs)), *zip(block.inputs, outs))


class Builder(References, LayerNodes):
    """Builds a network's nodes scope by scope; resolving references is :class:`References`' part,
    making an op's node and checking a block's use :class:`LayerNodes`'."""

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
