"""Elaboration: a :class:`NetworkSpec` → a :class:`Graph` with static shapes and costs.

Each scope (the network's layer list, or one block instance) is ordered topologically by its
``in:`` references (cycles and dangling references are errors), then walked in that order.
A block is expanded when its input shape is known, so block expressions can use
``in_channels``. Each op node gets its shape and cost from its op's rules the moment it is
made; a rule that fails is reported with the layer, its span and the input shape, the
node's shape becomes unknown, and everything that does not depend on it is still checked.
"""

from __future__ import annotations

import math
from typing import Any

from .diagnostics import Collector, Diagnostic, ShapeError, Span, brief
from .expr import ExprError, Scale, evaluate
from .graph import Graph, Node
from .ops import REGISTRY
from .ops.registry import AttrError, OpDef, fmt_shape, suggest
from .spec import BlockDef, LayerEntry, NetworkSpec
from .yamlsrc import YNode, YScalar, YSeq

MAX_NODES = 250_000  # layers in one graph: ResNet-1202 has ~4,000; a 100,000-layer spec takes ~8 s
MAX_BLOCK_DEPTH = 32


class _Skip(Exception):
    """A value could not be evaluated; the diagnostic is already recorded."""


def _found(value: Any) -> str:
    return brief(value)


class Elaborator:
    def __init__(self, spec: NetworkSpec, diags: Collector):
        self.spec = spec
        self.d = diags
        self.nodes: list[Node] = []
        self.by_name: dict[str, Node] = {}
        self.stack: list[str] = []
        self.globals: dict[str, Any] = {}
        self.scale = Scale()
        self.dangling = False  # a reference named no layer: it may have meant any unused one

    # -- values ---------------------------------------------------------------------
    def value(self, node: YNode, env: dict[str, Any], notes: tuple[str, ...] = ()) -> Any:
        if isinstance(node, YScalar):
            if isinstance(node.value, str):
                try:
                    return evaluate(node.value, env)
                except ExprError as exc:
                    self.d.error("E010", f"cannot evaluate `{node.value}`: {exc}", node.span, notes=notes)
                    raise _Skip from None
            return node.value
        if isinstance(node, YSeq):
            return [self.value(item, env, notes) for item in node.items]
        self.d.error(
            "E004",
            "a mapping is not allowed here",
            node.span,
            expected="a number, string or list",
            found="a mapping",
            notes=notes,
        )
        raise _Skip

    def attr_value(self, op: OpDef, key: str, node: YNode, env: dict[str, Any], notes: tuple[str, ...]) -> Any:
        attr = op.attr(key)
        assert attr is not None
        literal_ok = getattr(attr.type, "accepts_str", False)
        if isinstance(node, YScalar) and isinstance(node.value, str) and literal_ok:
            try:
                return attr.type(node.value)
            except AttrError as exc:
                if node.value.strip().isidentifier() and node.value.strip() not in env:
                    # a word the attribute does not know (`padding: full`), not an expression
                    self.d.error(
                        "E004",
                        f"`{key}` of `{op.name}` must be {exc.expected}",
                        node.span,
                        expected=exc.expected,
                        found=_found(node.value),
                        notes=notes,
                    )
                    raise _Skip from None
        raw = self.value(node, env, notes)
        try:
            return attr.type(raw)
        except AttrError as exc:
            self.d.error(
                "E004",
                f"`{key}` of `{op.name}` must be {exc.expected}",
                node.span,
                expected=exc.expected,
                found=_found(exc.found),
                notes=notes,
            )
            raise _Skip from None

    # -- the network ----------------------------------------------------------------
    def run(self) -> Graph | None:
        spec = self.spec
        self._scale()
        env: dict[str, Any] = {
            "ch": self._checked(self.scale.channels, "ch"),
            "rep": self._checked(self.scale.repeats, "rep"),
        }
        for key, (_, node) in spec.params.items():
            try:
                env[key] = self.value(node, env)
            except _Skip:
                pass
        self.globals = env
        shape = self._input_shape(env)
        span = spec.input.span if spec.input is not None else spec.span
        root = Node("input", "input", {}, [], span, shape=shape)
        out = self.scope(spec.layers, "", env, root, (), (), spec.output, ())
        if out is not None:
            out.users += 1
        for node in self.nodes:
            if node.users == 0 and node is not out and node.shape is not None and not self.dangling:
                # (a failed layer says enough; a reference to no layer may have meant this one)
                self.d.warning("W102", f"the output of `{node.name}` is never used", node.span, layer=node.name)
        return Graph(
            spec.name,
            spec.file,
            spec.meta,
            root,
            self.nodes,
            out,
            spec.expect,
            {"width": self.scale.width, "depth": self.scale.depth},
        )

    def _checked(self, fn, name: str):
        def call(*args: Any) -> int:
            if (
                len(args) != 1
                or isinstance(args[0], bool)
                or not isinstance(args[0], (int, float))
                or not math.isfinite(args[0])
            ):
                raise ExprError(f"`{name}` takes one finite number")
            return fn(args[0])

        return call

    def _scale(self) -> None:
        values: dict[str, Any] = {}
        checks = {"width": (float, 0.0), "depth": (float, 0.0), "divisor": (int, 0)}
        for key, (_, node) in self.spec.scale.items():
            try:
                v = self.value(node, {})
            except _Skip:
                continue
            if key == "resolution":
                values[key] = v
                continue
            typ, low = checks[key]
            if (
                isinstance(v, bool)
                or not isinstance(v, (int, float))
                or not math.isfinite(v)
                or v <= low
                or (typ is int and v != int(v))
            ):
                self.d.error(
                    "E004",
                    f"`scale.{key}` must be a positive {'integer' if typ is int else 'number'}",
                    node.span,
                    expected=f"> {low}",
                    found=_found(v),
                )
                continue
            values[key] = typ(v)
        self.resolution = values.pop("resolution", None)
        self.scale = Scale(**values)

    def _input_shape(self, env: dict[str, Any]) -> tuple[int, ...] | None:
        node = self.spec.input
        if node is None:
            return None
        try:
            v = self.value(node, env)
        except _Skip:
            return None
        ok = (
            isinstance(v, list)
            and 1 <= len(v) <= 4
            and all(isinstance(x, int) and not isinstance(x, bool) and 1 <= x <= 2**31 for x in v)
        )
        if not ok:
            self.d.error(
                "E004",
                "`input` must be a list of 1 to 4 positive integers (channels first, no batch)",
                node.span,
                expected="e.g. [3, 224, 224] or [1, 128]",
                found=_found(v),
            )
            return None
        shape = tuple(v)
        res = self.resolution
        if res is not None:
            sizes = [res] * (len(shape) - 1) if isinstance(res, int) else res
            if (
                not isinstance(sizes, list)
                or len(sizes) != len(shape) - 1
                or not all(isinstance(s, int) and s >= 1 for s in sizes)
            ):
                span = self.spec.scale["resolution"][1].span
                self.d.error(
                    "E004",
                    "`scale.resolution` must be an integer or one per spatial dimension",
                    span,
                    expected=f"{len(shape) - 1} sizes",
                    found=_found(res),
                )
                return None
            shape = (shape[0], *sizes)
        return shape

    # -- scopes -----------------------------------------------------------------------
    def scope(
        self,
        entries: list[LayerEntry],
        prefix: str,
        env: dict[str, Any],
        scope_input: Node,
        path: tuple[str, ...],
        blocks: tuple[str, ...],
        output: tuple[str, Span] | None,
        notes: tuple[str, ...],
    ) -> Node | None:
        if not entries:
            return None
        names = self._names(entries, notes)
        index = {n: i for i, n in enumerate(names)}
        deps: list[list[int]] = []
        refs: list[list[tuple[str, Span] | None]] = []
        for i, entry in enumerate(entries):
            wanted = entry.inputs if entry.inputs is not None else [None]
            row, got = [], []
            for ref in wanted:
                if ref is None:  # implicit: the previous entry in the list
                    got.append(None)
                    if i:
                        row.append(i - 1)
                    continue
                head = ref[0].split(".")[0]
                if ref[0] == "input":
                    got.append(ref)
                elif head in index:
                    row.append(index[head])
                    got.append(ref)
                else:
                    hint = suggest(head, list(index) + ["input"])
                    self.dangling = True
                    self.d.error(
                        "E008",
                        f"`{ref[0]}` names no layer in this scope" + (f"; did you mean `{hint}`?" if hint else ""),
                        ref[1],
                        expected="a layer defined in the same list, or `input`",
                        found=ref[0],
                        notes=notes,
                    )
                    got.append(("!", ref[1]))
            deps.append(row)
            refs.append(got)
        order = self._toposort(entries, names, deps, notes)
        outputs: dict[int, Node | None] = {}
        for i in order:
            ins: list[Node | None] = []
            for ref in refs[i]:
                if ref is None:
                    ins.append(outputs.get(i - 1) if i else scope_input)
                elif ref[0] == "!":
                    ins.append(None)
                elif ref[0] == "input":
                    ins.append(scope_input)
                elif "." in ref[0]:
                    target = self.by_name.get(prefix + ref[0])
                    if target is None:
                        self.dangling = True
                        self.d.error("E008", f"`{ref[0]}` names no layer", ref[1], found=ref[0], notes=notes)
                    ins.append(target)
                else:
                    ins.append(outputs.get(index[ref[0]]))
            outputs[i] = self.entry(entries[i], names[i], prefix, env, ins, path, blocks, notes)
        if output is not None:
            if output[0] in index:
                return outputs.get(index[output[0]])
            target = self.by_name.get(prefix + output[0])
            if target is None:
                self.dangling = True
                self.d.error("E008", f"`output: {output[0]}` names no layer", output[1], found=output[0], notes=notes)
            return target
        return outputs.get(len(entries) - 1)

    def _names(self, entries: list[LayerEntry], notes: tuple[str, ...]) -> list[str]:
        taken: dict[str, LayerEntry] = {}
        for entry in entries:
            if entry.name is None:
                continue
            if entry.name == "input":
                self.d.error("E007", "`input` is reserved for the scope's input", entry.name_span, notes=notes)
            elif entry.name in taken:
                first = taken[entry.name].name_span
                self.d.error(
                    "E007",
                    f"layer name `{entry.name}` is used twice (first at line {first.line})",
                    entry.name_span,
                    expected="unique names",
                    found=entry.name,
                    notes=notes,
                )
            else:
                taken[entry.name] = entry
        counters: dict[str, int] = {}
        names = []
        for entry in entries:
            if entry.name is not None and entry.name != "input":
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

    def _toposort(
        self, entries: list[LayerEntry], names: list[str], deps: list[list[int]], notes: tuple[str, ...]
    ) -> list[int]:
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
                    self.d.error(
                        "E009",
                        f"layers form a cycle: {loop}",
                        entries[nxt].span,
                        expected="references to layers that do not depend on this one",
                        found=loop,
                        notes=notes,
                    )
        return order

    # -- one entry ----------------------------------------------------------------------
    def entry(
        self,
        entry: LayerEntry,
        name: str,
        prefix: str,
        env: dict[str, Any],
        ins: list[Node | None],
        path: tuple[str, ...],
        blocks: tuple[str, ...],
        notes: tuple[str, ...],
    ) -> Node | None:
        result = self._entry(entry, name, prefix, env, ins, path, blocks, notes)
        if result is None:  # a failed layer still consumes its inputs: no bogus "never used"
            for n in ins:
                if n is not None:
                    n.users += 1
        return result

    def _entry(
        self,
        entry: LayerEntry,
        name: str,
        prefix: str,
        env: dict[str, Any],
        ins: list[Node | None],
        path: tuple[str, ...],
        blocks: tuple[str, ...],
        notes: tuple[str, ...],
    ) -> Node | None:
        op = REGISTRY.get(entry.op)
        block = self.spec.blocks.get(entry.op)
        if op is None and block is None:
            hint = suggest(entry.op, list(REGISTRY) + list(self.spec.blocks))
            self.d.error(
                "E006",
                f"unknown op or block `{entry.op}`" + (f"; did you mean `{hint}`?" if hint else ""),
                entry.op_span,
                expected="an op (see `archscope ops`) or a block in `blocks:`",
                found=entry.op,
                notes=notes,
            )
            return None
        try:
            if entry.cond is not None and not self.value(entry.cond, env, notes):
                return ins[0]  # skipped: the layer is replaced by its (first) input
            n = 1
            if entry.repeat is not None:
                n = self.value(entry.repeat, env, notes)
                if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= MAX_NODES:
                    self.d.error(
                        "E004",
                        "`n` must be a whole number of repeats",
                        entry.repeat.span,
                        expected=f"an integer in 0..{MAX_NODES}",
                        found=_found(n),
                        notes=notes,
                    )
                    return None
        except _Skip:
            return None
        current = ins
        out: Node | None = None if n else (ins[0] if len(ins) == 1 else None)
        for i in range(n):
            full = f"{prefix}{name}.{i}" if entry.repeat is not None else f"{prefix}{name}"
            env_i = {**env, "i": i}
            if op is not None:
                out = self.op_node(entry, op, full, env_i, current, path, blocks, notes)
            else:
                out = self.block_instance(entry, block, full, env_i, current, path, blocks, notes)
            current = [out]
        return out

    def op_node(
        self,
        entry: LayerEntry,
        op: OpDef,
        name: str,
        env: dict[str, Any],
        ins: list[Node | None],
        path: tuple[str, ...],
        blocks: tuple[str, ...],
        notes: tuple[str, ...],
    ) -> Node:
        if len(self.nodes) >= MAX_NODES:
            self.d.error("E011", f"the network has more than {MAX_NODES:,} layers", entry.span, notes=notes)
            raise _TooBig
        attrs: dict[str, Any] = {}
        ok = True
        misspelt: set[str] = set()  # attributes a typo stands for: not reported missing as well
        for key, (kspan, vnode) in entry.args.items():
            if op.attr(key) is None:
                known = [a.name for a in op.attrs] + ["name", "in", "n", "if"]
                hint = suggest(key, known)
                if hint:
                    misspelt.add(hint)
                self.d.error(
                    "E003",
                    f"`{op.name}` has no attribute `{key}`" + (f"; did you mean `{hint}`?" if hint else ""),
                    kspan,
                    expected=", ".join(f"`{k}`" for k in known),
                    found=key,
                    notes=notes,
                )
                ok = False
                continue
            try:
                attrs[key] = self.attr_value(op, key, vnode, env, notes)
            except _Skip:
                ok = False
        for attr in op.attrs:
            if attr.name not in attrs and attr.name not in entry.args:
                if attr.required and attr.name in misspelt:
                    ok = False
                elif attr.required:
                    self.d.error(
                        "E005",
                        f"`{op.name}` needs `{attr.name}` ({attr.doc or attr.type.describe()})",
                        entry.span,
                        expected=f"`{attr.name}: …`",
                        found="nothing",
                        notes=notes,
                    )
                    ok = False
                else:
                    attrs[attr.name] = attr.default
        node = Node(name, op.name, attrs, [n for n in ins if n is not None], entry.span, path, blocks)
        for n in node.inputs:
            n.users += 1
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
                notes=notes,
            )
            return node
        if not ok or any(n is None or n.shape is None for n in ins):
            return node
        shapes = [n.shape for n in ins]  # type: ignore[misc]
        shown = ", ".join(fmt_shape(s) for s in shapes)
        try:
            if op.check_inputs is not None:
                op.check_inputs(attrs, [(n.op, n.attrs) for n in ins])  # type: ignore[union-attr]
            node.shape = tuple(op.shape(attrs, shapes))
            node.cost = op.cost(attrs, shapes, node.shape)
            warnings = op.warnings(attrs, shapes)
        except ShapeError as exc:
            self.d.error(
                exc.code,
                f"`{name}` ({op.name}): {exc.message}",
                entry.span,
                layer=name,
                expected=exc.expected,
                found=exc.found,
                input_shape=shown,
                notes=notes,
            )
            node.shape = None
            return node
        for w in warnings:
            self.d.warning(
                w.code, f"`{name}` ({op.name}): {w.message}", entry.span, layer=name, input_shape=shown, notes=notes
            )
        return node

    def block_instance(
        self,
        entry: LayerEntry,
        block: BlockDef,
        name: str,
        env: dict[str, Any],
        ins: list[Node | None],
        path: tuple[str, ...],
        blocks: tuple[str, ...],
        notes: tuple[str, ...],
    ) -> Node | None:
        if block.name in blocks:
            chain = " → ".join(blocks[blocks.index(block.name) :] + (block.name,))
            self.d.error(
                "E009", f"block `{block.name}` instantiates itself ({chain})", entry.op_span, found=chain, notes=notes
            )
            return None
        if len(blocks) >= MAX_BLOCK_DEPTH:
            self.d.error(
                "E011",
                f"blocks are nested deeper than {MAX_BLOCK_DEPTH} levels",
                entry.op_span,
                expected=f"at most {MAX_BLOCK_DEPTH} levels",
                found=" → ".join(blocks + (block.name,)),
                notes=notes[-1:],
            )
            return None
        if len(ins) != 1:
            self.d.error(
                "E108",
                f"block `{block.name}` takes one input",
                entry.span,
                layer=name,
                expected="1",
                found=str(len(ins)),
                notes=notes,
            )
            return None
        x = ins[0]
        if x is None or x.shape is None:
            return None  # the cause upstream is already reported
        inner_notes = notes + (f"in `{name}` (block `{block.name}` used at {entry.span})",)
        benv: dict[str, Any] = {**self.globals, "in_channels": x.shape[0]}
        ok = True
        for key, (kspan, vnode) in entry.args.items():
            if key not in block.args:
                hint = suggest(key, list(block.args))
                self.d.error(
                    "E003",
                    f"block `{block.name}` has no argument `{key}`" + (f"; did you mean `{hint}`?" if hint else ""),
                    kspan,
                    expected=", ".join(f"`{k}`" for k in block.args) or "no arguments",
                    found=key,
                    notes=notes,
                )
                ok = False
                continue
            try:
                benv[key] = self.value(vnode, env, notes)
            except _Skip:
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
                benv[key] = self.value(default, benv, inner_notes)
            except _Skip:
                ok = False
        if not ok:
            return None
        return self.scope(
            block.layers, name + ".", benv, x, path + (name,), blocks + (block.name,), block.output, inner_notes
        )


class _TooBig(Exception):
    pass


def elaborate(spec: NetworkSpec, diags: Collector) -> Graph | None:
    try:
        return Elaborator(spec, diags).run()
    except _TooBig:
        return None
    except RecursionError:
        diags.error("E011", "blocks are nested too deeply", spec.span)
        return None


def dedupe(diags: list[Diagnostic]) -> list[Diagnostic]:
    """Errors in a block definition repeat once per instance: keep the first of each."""
    seen: dict[tuple, int] = {}
    out: list[Diagnostic] = []
    for d in diags:
        message = d.message.replace(f"`{d.layer}`", "") if d.layer else d.message
        key = (d.code, d.span, message, d.expected, d.found, d.input_shape)
        if key in seen:
            continue
        seen[key] = len(out)
        out.append(d)
    return out
