"""The nodes of layer entries: an op entry's node with its attributes evaluated and its shape
inferred at once, and a block use's checks (recursion, depth, inputs) and arguments, evaluated
into the block's variables.
"""

from __future__ import annotations

from typing import Any

from archscope.diagnostics import Collector, Span
from archscope.elaborate.ports import input_ports
from archscope.elaborate.references import Scope
from archscope.elaborate.shapes import infer_shape
from archscope.elaborate.values import Skip, TooBig, Values
from archscope.graph import Node, Output
from archscope.lang.specdata import BlockDef, LayerEntry
from archscope.lang.ynodes import YScalar
from archscope.names import suggest
from archscope.ops.registry import OpDef

MAX_BLOCK_DEPTH = 32


class LayerNodes:
    """The node making of :class:`~archscope.elaborate.builder.Builder`, which holds the state below."""

    d: Collector
    values: Values
    nodes: list[Node]
    by_name: dict[str, Node]
    max_nodes: int  # this analysis's layer limit (archscope.limits)

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
