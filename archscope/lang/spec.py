"""The spec language: YAML → a checked, located :class:`NetworkSpec`.

Only structure is checked here (keys, types of structural values, names); values that may be
expressions stay as located YAML nodes until the elaborator evaluates them with the right
variables in scope. See the README's "Spec language" for the reference. Files, texts
and ``extends:`` are read by :mod:`archscope.lang.loader`.
"""

from __future__ import annotations

from archscope.codes import CODES
from archscope.diagnostics import Span, SpecError
from archscope.lang.edits import EDIT_KEYS  # edits of an inherited `layers:`
from archscope.lang.spec_reader import NAME_RE, SpecReader, type_name, visible
from archscope.lang.specdata import BlockDef, Expectation, LayerEntry, LayerPattern, NetworkSpec
from archscope.lang.ynodes import YMap, YNode, YScalar, YSeq, to_python
from archscope.limits import max_layers
from archscope.names import suggest

META_KEYS = ("title", "paper", "year", "source", "url", "notes", "family", "family_default", "tags")
TOP_KEYS: tuple[str, ...] = (
    "name",
    "extends",
    "input",
    "inputs",
    "params",
    "scale",
    "blocks",
    "layers",
    "output",
    "outputs",
    "expect",
    *META_KEYS,
    *EDIT_KEYS,
)
TOP_KEYS += ("freeze", "unfreeze")  # transfer learning: patterns over layer names (elaborate/freeze.py)
BLOCK_KEYS = ("args", "inputs", "layers", "output", "doc")
RESERVED = ("op", "name", "in", "n", "if", "else", "ignore")
SCALE_KEYS = ("width", "depth", "divisor", "resolution")
EXPECT_KEYS = ("params", "macs", "buffers", "output", "outputs")


class SpecParser(SpecReader):
    """A spec's YAML → a :class:`NetworkSpec`: its keys, blocks and layers, checked for structure."""

    # -- the document -----------------------------------------------------------------
    def network(self, root: YNode, file: str) -> NetworkSpec:
        m = self.mapping(root, "a spec")
        if m is None:
            raise SpecError(self.d.items)
        self.unknown_keys(m, TOP_KEYS, "the spec")
        name_node = m.get("name")
        name = (self.name(name_node, "`name`") if name_node else None) or self.file_name(file, m.span, name_node)
        meta = {}
        for key in META_KEYS:
            node = m.get(key)
            if node is not None:
                meta[key] = node.value if isinstance(node, YScalar) else to_python(node)
        blocks = {}
        bm = self.mapping(m.get("blocks"), "`blocks`")
        if bm:
            for bname, (kspan, bnode) in bm.items.items():
                if not NAME_RE.fullmatch(bname):
                    self.d.error("E004", f"block name `{visible(bname)}` is not a valid name", kspan)
                    continue
                block = self.block(bname, kspan, bnode)
                if block:
                    blocks[bname] = block
        layers_node = m.get("layers")
        if layers_node is None:
            self.d.error("E005", "the spec has no `layers:`", m.span, expected="a list of layers", found="none")
        inputs = self.named_inputs(m)
        outputs = self.outputs(m)
        return NetworkSpec(
            name=name,
            file=file,
            span=m.span,
            meta=meta,
            input=m.get("input"),
            params=self.items(m.get("params"), "`params`"),
            scale=self.keyed(m.get("scale"), "`scale`", SCALE_KEYS),
            blocks=blocks,
            layers=self.layer_list(layers_node, "`layers`"),
            output=self.ref(m.get("output"), "`output`"),
            expect={
                k: Expectation(k, to_python(v), v.span)
                for k, (_, v) in self.keyed(m.get("expect"), "`expect`", EXPECT_KEYS).items()
            },
            layers_span=layers_node.span if layers_node else None,
            params_span=m.key_span("params") if "params" in m.items else None,
            inputs=inputs,
            outputs=outputs,
            freeze=self.patterns(m.get("freeze"), "`freeze`"),
            unfreeze=self.patterns(m.get("unfreeze"), "`unfreeze`"),
        )

    def named_inputs(self, m: YMap) -> dict[str, YNode] | None:
        """``inputs:`` (name → shape), checked against ``input:``: exactly one of the two."""
        if "inputs" in m.items and "input" in m.items:
            self.d.error(
                "E004",
                "the spec has both `input:` and `inputs:`",
                m.key_span("inputs"),
                expected="`input: [...]` or `inputs: {name: [...], ...}`",
                found="both",
            )
        elif "inputs" not in m.items and "input" not in m.items:
            self.d.error(
                "E005", "the spec has no `input:` shape", m.span, expected="e.g. `input: [3, 224, 224]`", found="none"
            )
        node = self.mapping(m.get("inputs"), "`inputs`")
        if node is None:
            return None
        out: dict[str, YNode] = {}
        for key, (kspan, value) in node.items.items():
            if not NAME_RE.fullmatch(key) or key in RESERVED:
                self.d.error("E004", f"input name `{visible(key)}` is not a valid name", kspan, found=visible(key))
                continue
            out[key] = value
        if not out:
            self.d.error("E005", "`inputs` is empty", node.span, expected="one or more named shapes", found="{}")
            return None
        return out

    def outputs(self, m: YMap) -> list[tuple[str, Span]] | None:
        """``outputs:`` (layer names, in order), checked against ``output:``: at most one of the two."""
        node = m.get("outputs")
        if node is None:
            return None
        if "output" in m.items:
            self.d.error(
                "E004",
                "the spec has both `output:` and `outputs:`",
                m.key_span("outputs"),
                expected="`output: name` or `outputs: [name, ...]`",
                found="both",
            )
            return None
        if not isinstance(node, YSeq) or not node.items:
            self.d.error(
                "E004",
                "`outputs` must be a list of layer names",
                node.span,
                expected="e.g. `[aux, fc]`",
                found=type_name(node),
            )
            return None
        refs = [self.ref(item, "an `outputs` entry") for item in node.items]
        return [r for r in refs if r is not None] if all(refs) else None

    def patterns(self, node: YNode | None, what: str) -> tuple[LayerPattern, ...]:
        """``freeze:``/``unfreeze:``: a list of layer-name globs (one string is a list of one)."""
        if node is None:
            return ()
        nodes = node.items if isinstance(node, YSeq) else [node]
        out = []
        for n in nodes:
            if isinstance(n, YScalar) and isinstance(n.value, str) and n.value:
                out.append(LayerPattern(n.value, n.span))
            else:
                found = "an empty string" if isinstance(n, YScalar) and n.value == "" else type_name(n)
                self.d.error(
                    "E004",
                    f"{what} must be a list of layer-name patterns",
                    n.span,
                    expected='strings such as `fc`, `layer1`, `"*"` or `layer4.*.bn*`',
                    found=found,
                )
        return tuple(out)

    def block(self, name: str, kspan: Span, node: YNode) -> BlockDef | None:
        m = self.mapping(node, f"block `{name}`")
        if m is None:
            return None
        self.unknown_keys(m, BLOCK_KEYS, f"block `{name}`")
        args = self.items(m.get("args"), f"the args of block `{name}`")
        for arg, (aspan, _) in args.items():
            if arg in RESERVED or arg in ("i", "in_channels", "input"):
                self.d.error(
                    "E004",
                    f"block argument `{arg}` is a reserved word",
                    aspan,
                    expected="a name other than "
                    + ", ".join(f"`{r}`" for r in RESERVED + ("i", "in_channels", "input")),
                    found=arg,
                )
        layers_node = m.get("layers")
        if layers_node is None:
            self.d.error("E005", f"block `{name}` has no `layers:`", m.span)
        doc = m.get("doc")
        return BlockDef(
            name,
            kspan,
            args,
            self.layer_list(layers_node, f"block `{name}`"),
            self.ref(m.get("output"), "`output`"),
            doc.value if isinstance(doc, YScalar) and isinstance(doc.value, str) else "",
            self.block_inputs(m.get("inputs"), name),
        )

    def block_inputs(self, node: YNode | None, block: str) -> tuple[str, ...]:
        """``inputs: [x, skip]``: the names of a block's inputs, in the order a use's ``in:`` gives
        them (none: the block takes one input, ``input``)."""
        if node is None:
            return ()
        if not isinstance(node, YSeq) or not node.items:
            self.d.error(
                "E004",
                f"the `inputs` of block `{block}` must be a list of names",
                node.span,
                expected="e.g. `inputs: [x, skip]`",
                found=type_name(node) if not isinstance(node, YSeq) else "[]",
            )
            return ()
        names: list[str] = []
        for item in node.items:
            text = self.name(item, f"an input of block `{block}`")
            if text is None:
                continue
            if text == "input" or text in names:
                self.d.error(
                    "E004",
                    f"`{text}` " + ("is the block's first input already" if text == "input" else "is named twice"),
                    item.span,
                    expected="distinct names other than `input`",
                    found=text,
                )
                continue
            names.append(text)
        return tuple(names) if len(names) == len(node.items) else ()

    def layer_list(self, node: YNode | None, what: str) -> list[LayerEntry]:
        if node is None:
            return []
        if not isinstance(node, YSeq):
            self.d.error(
                "E004", f"{what} must be a list of layers", node.span, expected="a list", found=type_name(node)
            )
            return []
        if not node.items:
            self.d.error("E005", f"{what} is empty", node.span, expected="at least one layer", found="[]")
        limit = max_layers()
        if len(node.items) > limit:
            self.d.error(
                "E011",
                f"the network has more than {limit:,} layers",
                node.span,
                expected=f"at most {limit:,} layers (raise it with `--max-layers`)",
                found=f"{len(node.items):,} entries in {what}",
            )
            return []
        out = []
        for item in node.items:
            entry = self.layer(item)
            if entry:
                out.append(entry)
        return out

    def layer(self, node: YNode) -> LayerEntry | None:
        if isinstance(node, YScalar) and isinstance(node.value, str):
            op = self.name(node, "a layer")
            return LayerEntry(op, node.span, node.span) if op else None
        if not isinstance(node, YMap):
            self.d.error(
                "E004",
                "a layer must be an op name or a mapping with `op:`",
                node.span,
                expected="`relu` or `{op: conv2d, ...}`",
                found=type_name(node),
            )
            return None
        op_node = node.get("op")
        if op_node is None:
            self.d.error(
                "E005",
                "this layer has no `op:`",
                node.span,
                expected="`op: <op or block name>`",
                found=", ".join(f"`{k}`" for k in node.items) or "an empty mapping",
            )
            return None
        op = self.name(op_node, "`op`")
        if op is None:
            return None
        entry = LayerEntry(op, op_node.span, node.span, repeat=node.get("n"), cond=node.get("if"))
        if "name" in node.items:
            entry.name = self.name(node.items["name"][1], "a layer name")
            entry.name_span = node.items["name"][1].span
        if "in" in node.items:
            entry.inputs = self.inputs(node.items["in"][1])
        if "else" in node.items:
            entry.otherwise = self.otherwise(node.items["else"][1], entry.cond)
        if "ignore" in node.items:
            entry.ignore = self.ignored(node.items["ignore"][1])
        entry.args = {k: v for k, v in node.items.items() if k not in RESERVED}
        return entry

    def otherwise(self, node: YNode, cond: YNode | None) -> tuple[str, Span] | None:
        """``else: NAME``: the one layer (or input) that stands in for a layer whose ``if:`` is false."""
        text = self.string(node, "`else:` (the layer that stands in for a skipped one)")
        if text is None:
            return None
        if cond is None:
            self.d.error(
                "E005",
                "`else:` without `if:`: this layer is never skipped",
                node.span,
                expected="`if: …` beside `else:`",
                found=f"else: {visible(text)}",
            )
            return None
        return (text, node.span)

    def ignored(self, node: YNode) -> tuple[str, ...]:
        """``ignore: [W101]``: warning codes; an unknown code or an error code is refused."""
        warnings = [c for c in CODES if c.startswith("W")]
        out = []
        for item in node.items if isinstance(node, YSeq) else [node]:
            code = self.string(item, "a code in `ignore`")
            if code is None:
                continue
            if code.startswith("E") and code in CODES:
                self.d.error(
                    "E004",
                    f"`{code}` is an error: errors cannot be ignored",
                    item.span,
                    expected="a warning code: " + ", ".join(f"`{c}`" for c in warnings),
                    found=code,
                )
            elif code not in warnings:
                hint = suggest(code, warnings)
                self.d.error(
                    "E004",
                    f"`ignore` names no warning code `{code}`" + (f"; did you mean `{hint}`?" if hint else ""),
                    item.span,
                    expected=", ".join(f"`{c}`" for c in warnings),
                    found=code,
                )
            else:
                out.append(code)
        return tuple(out)

    def inputs(self, node: YNode) -> list[tuple[str, Span]] | None:
        nodes = node.items if isinstance(node, YSeq) else [node]
        out = []
        for n in nodes:
            text = self.string(n, "an `in:` reference")
            if text is None:
                return None
            out.append((text, n.span))
        if not out:
            self.d.error("E005", "`in:` is empty", node.span, expected="one or more layer names", found="[]")
            return None
        return out
