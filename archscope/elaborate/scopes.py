"""Scopes: the layer list of the network or of one block instance, before any node is made.

Each entry gets a name (its own, or ``op_k``), its ``in:`` references are resolved to entries of
the same list, and the entries are ordered so that every layer comes after its inputs. Cycles,
duplicate names and references to no layer are reported here.
"""

from __future__ import annotations

from dataclasses import dataclass

from archscope.diagnostics import Collector, Span
from archscope.lang.specdata import LayerEntry
from archscope.names import Names

# An `in:` reference as resolved within its scope: None for "the previous entry"; `("!", span)`
# for a reference to no layer (already reported); otherwise the name as written and its span.
Ref = tuple[str, Span] | None
DANGLING = "!"


@dataclass(frozen=True)
class Links:
    """The entries an entry depends on (indices into the scope), and its references in order."""

    deps: tuple[int, ...]
    refs: tuple[Ref, ...]
    dangling: bool = False  # a reference named no layer: it may have meant any unused one
    otherwise: tuple[str, Span] | None = None  # the `else:` reference, resolved as the `in:` ones are


def layer_names(
    entries: list[LayerEntry], diags: Collector, notes: tuple[str, ...], inputs: tuple[str, ...] = ("input",)
) -> list[str]:
    """One unique name per entry: its own, or `op_k` for the k-th unnamed entry of that op.
    ``inputs``: the names of the scope's inputs, which no layer may take."""
    taken = _explicit_names(entries, diags, notes, inputs)
    counters: dict[str, int] = {}
    names = []
    for entry in entries:
        if entry.name is not None and entry.name not in inputs:
            names.append(entry.name)
            continue
        k = counters.get(entry.op, 0)
        while True:
            k += 1
            auto = f"{entry.op}_{k}"
            if auto not in taken:
                break
        counters[entry.op] = k
        taken[auto] = entry
        names.append(auto)
    # a duplicate explicit name keeps its position but gets a unique internal name
    seen: set[str] = set()
    for i, n in enumerate(names):
        if n in seen:
            names[i] = f"{n}#{i}"
        seen.add(names[i])
    return names


def _explicit_names(
    entries: list[LayerEntry], diags: Collector, notes: tuple[str, ...], inputs: tuple[str, ...]
) -> dict[str, LayerEntry]:
    taken: dict[str, LayerEntry] = {}
    for entry in entries:
        if entry.name is None:
            continue
        if entry.name in inputs:
            diags.error("E007", f"`{entry.name}` is reserved for the scope's input", entry.name_span, notes=notes)
        elif entry.name in taken:
            first = taken[entry.name].name_span
            assert first is not None  # a named entry has its name's span
            diags.error(
                "E007",
                f"layer name `{entry.name}` is used twice (first at line {first.line})",
                entry.name_span,
                expected="unique names",
                found=entry.name,
                notes=notes,
            )
        else:
            taken[entry.name] = entry
    return taken


def links(
    i: int,
    entry: LayerEntry,
    index: dict[str, int],
    diags: Collector,
    notes: tuple[str, ...],
    inputs: tuple[str, ...] = ("input",),
    hints: Names | None = None,
) -> Links:
    """Resolve the ``in:`` references of entry ``i``, and its ``else:``; a reference to no layer or
    input is reported (E008). ``inputs``: the names of the scope's inputs; ``hints``: the scope's
    "did you mean" index (``Names(index, inputs)``), made once for all its entries. The ``else:``
    layer is a dependency as an input is: whether the entry is skipped is known only when it is built."""
    wanted = entry.inputs if entry.inputs is not None else [None]
    deps: list[int] = []
    refs: list[Ref] = []
    for ref in wanted:
        if ref is None:  # implicit: the previous entry in the list
            refs.append(None)
            if i:
                deps.append(i - 1)
            continue
        refs.append(_link(ref, index, diags, notes, inputs, hints, deps))
    otherwise = None
    if entry.otherwise is not None:
        otherwise = _link(entry.otherwise, index, diags, notes, inputs, hints, deps)
    dangling = any(r is not None and r[0] == DANGLING for r in (*refs, otherwise))
    return Links(tuple(deps), tuple(refs), dangling, otherwise)


def _link(
    ref: tuple[str, Span],
    index: dict[str, int],
    diags: Collector,
    notes: tuple[str, ...],
    inputs: tuple[str, ...],
    hints: Names | None,
    deps: list[int],
) -> tuple[str, Span]:
    """One named reference: itself (its layer appended to ``deps``), or ``(DANGLING, span)`` after E008."""
    head = ref[0].split(".")[0]
    if ref[0] in inputs:
        return ref
    if head in index:
        deps.append(index[head])
        return ref
    hint = (hints if hints is not None else Names(index, inputs)).near(head)
    diags.error(
        "E008",
        f"`{ref[0]}` names no layer in this scope" + (f"; did you mean `{hint}`?" if hint else ""),
        ref[1],
        expected="a layer defined in the same list, or " + ", ".join(f"`{n}`" for n in inputs),
        found=ref[0],
        notes=notes,
    )
    return (DANGLING, ref[1])


def toposort(
    entries: list[LayerEntry], names: list[str], deps: list[tuple[int, ...]], diags: Collector, notes: tuple[str, ...]
) -> list[int]:
    """Entry indices, each after the entries it depends on; each cycle is reported once (E009)."""
    state = [0] * len(entries)  # 0 new, 1 on stack, 2 done
    order: list[int] = []
    bad: set[int] = set()
    for start in range(len(entries)):
        if state[start]:
            continue
        stack = [(start, iter(deps[start]))]
        state[start] = 1
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                stack.pop()
                state[node] = 2
                order.append(node)
            elif state[nxt] == 0:
                state[nxt] = 1
                stack.append((nxt, iter(deps[nxt])))
            elif state[nxt] == 1 and nxt not in bad:
                cycle = [s for s, _ in stack][[s for s, _ in stack].index(nxt) :]
                bad.update(cycle)
                loop = " → ".join(names[c] for c in cycle + [nxt])
                diags.error(
                    "E009",
                    f"layers form a cycle: {loop}",
                    entries[nxt].span,
                    expected="references to layers that do not depend on this one",
                    found=loop,
                    notes=notes,
                )
    return order
