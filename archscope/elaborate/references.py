"""What a layer's references read: a layer of its scope, a layer inside a block instance or a
repeat (``layer1.0.conv1``, ``conv.0``, ``conv.*``), an input of the scope, or one output of a
multi-output layer (``split.1``, ``pool.indices``); and the errors when they name nothing, or a layer
whose ``if:`` left it out.
"""

from __future__ import annotations

from dataclasses import dataclass

from archscope.diagnostics import Collector, Span, brief
from archscope.elaborate.ports import select_output
from archscope.elaborate.scopes import DANGLING, Ref
from archscope.graph import Node, Output
from archscope.lang.specdata import LayerEntry
from archscope.lang.ynodes import YNode, YScalar


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


class References:
    """The reference resolution of :class:`~archscope.elaborate.builder.Builder`, which holds the state below."""

    d: Collector
    by_name: dict[str, Node]  # every node built so far, by qualified name
    dangling: bool  # a reference named no layer: it may have meant any unused one
    skipped: dict[str, Skipped]  # by qualified name: the layers whose `if:` was false
    repeats: dict[str, list[Output | None]]  # by qualified name: a repeated entry's output per instance

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
