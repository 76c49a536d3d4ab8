"""Values: located YAML values → Python values, in an environment of variables.

A value that cannot be evaluated is reported where it is written, and :class:`Skip` is raised
so that the caller drops what needed it (the diagnostic is already recorded). The network-wide
values come first: ``scale:``, the ``params:`` (with any overrides) and the input shape.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from archscope.diagnostics import Collector, brief
from archscope.lang.expr import ExprError, Scale, evaluate
from archscope.lang.specdata import NetworkSpec
from archscope.lang.ynodes import YNode, YScalar, YSeq
from archscope.names import suggest
from archscope.ops.attrs import AttrError
from archscope.ops.registry import OpDef
from archscope.overrides import Overrides

MAX_LIST_ITEMS = 1_000_000  # list items evaluated in one network (aliases and block instances counted each time)


class TooBig(Exception):
    """A safety limit (E011) stopped elaboration; the diagnostic is already recorded."""


class Skip(Exception):
    """A value could not be evaluated; the diagnostic is already recorded."""


class Values:
    """Evaluates located values, reporting into ``diags``."""

    def __init__(self, diags: Collector):
        self.d = diags
        self.listed = 0  # list items evaluated so far, every evaluation counted (see MAX_LIST_ITEMS)
        self.sizes: dict[int, int] = {}  # id(list node) → its size with nested lists expanded

    def value(self, node: YNode, env: dict[str, Any], notes: tuple[str, ...] = ()) -> Any:
        if isinstance(node, YScalar):
            if isinstance(node.value, str):
                try:
                    return evaluate(node.value, env)
                except ExprError as exc:
                    text = node.value if len(node.value) <= 80 else node.value[:60] + "…"
                    self.d.error("E010", f"cannot evaluate `{text}`: {exc}", node.span, notes=notes)
                    raise Skip from None
            return node.value
        if isinstance(node, YSeq):
            self._charge(node, notes)
            return self._list(node, env, notes)
        self.d.error(
            "E004",
            "a mapping is not allowed here",
            node.span,
            expected="a number, string or list",
            found="a mapping",
            notes=notes,
        )
        raise Skip

    def _list(self, node: YSeq, env: dict[str, Any], notes: tuple[str, ...]) -> list[Any]:
        return [self._list(i, env, notes) if isinstance(i, YSeq) else self.value(i, env, notes) for i in node.items]

    def _size(self, node: YSeq) -> int:
        """Items of ``node`` with nested lists expanded (memoised: aliased lists are shared)."""
        size = self.sizes.get(id(node))
        if size is None:
            size = sum(self._size(i) if isinstance(i, YSeq) else 1 for i in node.items) + 1
            self.sizes[id(node)] = size
        return size

    def _charge(self, node: YSeq, notes: tuple[str, ...]) -> None:
        """Count the items of every list evaluated, each time it is evaluated: a YAML alias shares one
        list among many places (and a block instance evaluates it again), so the work is bounded
        here, not by the file's size."""
        self.listed += self._size(node)
        if self.listed > MAX_LIST_ITEMS:  # reported, and elaboration stops: the rest would cost as much
            self.d.error(
                "E011",
                f"the lists of values expand to more than {MAX_LIST_ITEMS:,} items (aliases evaluated again and again?)",
                node.span,
                expected=f"at most {MAX_LIST_ITEMS:,} list items evaluated",
                found="more",
                notes=notes,
            )
            raise TooBig

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
                    self._bad_attr(op, key, node, exc.expected, node.value, notes)
        raw = self.value(node, env, notes)
        try:
            return attr.type(raw)
        except AttrError as exc:
            self._bad_attr(op, key, node, exc.expected, exc.found, notes)

    def _bad_attr(self, op: OpDef, key: str, node: YNode, expected: str, found: Any, notes: tuple[str, ...]) -> None:
        self.d.error(
            "E004",
            f"`{key}` of `{op.name}` must be {expected}",
            node.span,
            expected=expected,
            found=brief(found),
            notes=notes,
        )
        raise Skip from None


# -- the network-wide values ------------------------------------------------------------


@dataclass(frozen=True)
class NetworkValues:
    """What every scope of the network sees: the scale, the variables, and the input shape."""

    scale: Scale
    env: dict[str, Any]  # `ch`, `rep` and the `params:`
    used: set[str]  # which of `ch` and `rep` were called (filled while the network is built)
    input_shapes: dict[str, tuple[int, ...] | None]  # by name, in declared order (`input` for a single one)


_OVERRIDDEN = ("resolution", "width", "depth")  # the `scale:` keys that an override replaces
_SCALE_CHECKS = {"width": (float, 0.0), "depth": (float, 0.0), "divisor": (int, 0)}


def network_values(spec: NetworkSpec, overrides: Overrides, values: Values) -> NetworkValues:
    scale, resolution = _scale(spec, overrides, values)
    used: set[str] = set()
    env = _params(spec, overrides, values, scale, used)
    return NetworkValues(scale, env, used, _input_shapes(spec, overrides, env, resolution, values))


def _scale(spec: NetworkSpec, overrides: Overrides, values: Values) -> tuple[Scale, Any]:
    found: dict[str, Any] = {}
    for key, (_, node) in spec.scale.items():
        if key in _OVERRIDDEN and getattr(overrides, key) is not None:
            continue  # replaced: the spec's own value is not read
        try:
            v = values.value(node, {})
        except Skip:
            continue
        if key == "resolution":
            found[key] = v
            continue
        typ, low = _SCALE_CHECKS[key]
        if (
            isinstance(v, bool)
            or not isinstance(v, (int, float))
            or not -1e300 < v < 1e300  # finite, and never an integer too large for a float
            or v <= low
            or (typ is int and v != int(v))
        ):
            values.d.error(
                "E004",
                f"`scale.{key}` must be a positive {'integer' if typ is int else 'number'}",
                node.span,
                expected=f"> {low}",
                found=brief(v),
            )
            continue
        found[key] = typ(v)
    resolution = found.pop("resolution", None)
    for key in ("width", "depth"):
        if getattr(overrides, key) is not None:
            found[key] = float(getattr(overrides, key))
    if overrides.resolution is not None:
        res = overrides.resolution
        resolution = list(res) if isinstance(res, tuple) else res
    return Scale(**found), resolution


def _checked(fn: Any, name: str, used: set[str]) -> Any:
    def call(*args: Any) -> int:
        used.add(name)
        if (
            len(args) != 1
            or isinstance(args[0], bool)
            or not isinstance(args[0], (int, float))
            or not math.isfinite(args[0])
        ):
            raise ExprError(f"`{name}` takes one finite number")
        result: int = fn(args[0])
        return result

    return call


_PLAIN = (bool, int, float, str, type(None))


def _plain(value: Any) -> Any:
    """An override value as a spec value: scalars as they are, tuples as lists; anything else is refused."""
    if isinstance(value, _PLAIN):
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    raise TypeError(type(value).__name__)


def _params(spec: NetworkSpec, overrides: Overrides, values: Values, scale: Scale, used: set[str]) -> dict[str, Any]:
    env: dict[str, Any] = {"ch": _checked(scale.channels, "ch", used), "rep": _checked(scale.repeats, "rep", used)}
    given = _checked_overrides(spec, overrides, values)
    for key, (_, node) in spec.params.items():
        if key in given:
            env[key] = given[key]
            continue
        try:
            env[key] = values.value(node, env)
        except Skip:
            pass
    return env


def _checked_overrides(spec: NetworkSpec, overrides: Overrides, values: Values) -> dict[str, Any]:
    """The ``params`` overrides that name a parameter of the spec and hold plain values."""
    span = spec.params_span or spec.span
    known = ", ".join(f"`{k}`" for k in spec.params) or "none: the spec has no `params:`"
    given: dict[str, Any] = {}
    for key, value in overrides.params.items():
        if key not in spec.params:
            hint = suggest(key, spec.params)
            values.d.error(
                "E003",
                f"cannot override `params.{key}`: the spec has no such parameter"
                + (f"; did you mean `{hint}`?" if hint else ""),
                span,
                expected=known,
                found=str(key),
            )
            continue
        try:
            given[key] = _plain(value)
        except TypeError:
            values.d.error(
                "E004",
                f"the override of `params.{key}` must be a number, string, boolean or list",
                span,
                expected="a number, string, boolean or list",
                found=brief(value),
            )
    return given


def _input_shapes(
    spec: NetworkSpec, overrides: Overrides, env: dict[str, Any], resolution: Any, values: Values
) -> dict[str, tuple[int, ...] | None]:
    """Each input's shape by name (`input` for a single input); None where it is bad."""
    if spec.inputs is None:
        return {"input": _input_shape(spec.input, "input", spec, overrides, env, resolution, values)}
    if resolution is not None and len(spec.inputs) > 1:
        values.d.error(
            "E004",
            "`scale.resolution` needs a single input: give each of `inputs` its own shape",
            _resolution_span(spec, overrides),
            expected="one input",
            found=f"{len(spec.inputs)} inputs",
        )
        resolution = None
    return {
        name: _input_shape(node, f"inputs.{name}", spec, overrides, env, resolution, values)
        for name, node in spec.inputs.items()
    }


def _input_shape(
    node: Any, what: str, spec: NetworkSpec, overrides: Overrides, env: dict[str, Any], resolution: Any, values: Values
) -> tuple[int, ...] | None:
    if node is None:
        return None
    if overrides.input is not None:  # the whole shape: the spec's `scale.resolution` does not apply
        v: Any = list(overrides.input)
        resolution = list(overrides.resolution) if isinstance(overrides.resolution, tuple) else overrides.resolution
    else:
        try:
            v = values.value(node, env)
        except Skip:
            return None
    ok = (
        isinstance(v, list)
        and 1 <= len(v) <= 4
        and all(isinstance(x, int) and not isinstance(x, bool) and 1 <= x <= 2**31 for x in v)
    )
    if not ok:
        values.d.error(
            "E004",
            f"`{what}` must be a list of 1 to 4 positive integers (channels first, no batch)"
            + (" (the override)" if overrides.input is not None else ""),
            node.span,
            expected="e.g. [3, 224, 224] or [1, 128]",
            found=brief(v),
        )
        return None
    shape = tuple(v)
    if resolution is None:
        return shape
    sizes = _resolved(shape, resolution)
    if sizes is None:
        spatial = len(shape) - 1
        values.d.error(
            "E004",
            "`scale.resolution` must be an integer or one per spatial dimension"
            + (" (or two: height and width)" if spatial == 3 else ""),
            _resolution_span(spec, overrides),
            expected=f"{spatial} sizes" + (" or 2" if spatial == 3 else ""),
            found=brief(resolution),
        )
        return None
    return shape[: len(shape) - len(sizes)] + tuple(sizes)


def _resolved(shape: tuple[int, ...], resolution: Any) -> list[int] | None:
    """The sizes that replace the last dims of ``shape``: an integer is the image size, so it
    replaces height and width (the last two dims; a video input's (C, T, H, W) keeps its T) or a
    1-D input's length (a bare (C) input has none to replace); a list names every spatial size,
    or for a video input height and width. None when ``resolution`` is none of these."""
    spatial = len(shape) - 1
    if isinstance(resolution, int) and not isinstance(resolution, bool):
        sizes = [resolution] * min(spatial, 2)
    elif isinstance(resolution, list) and (len(resolution) == spatial or (spatial == 3 and len(resolution) == 2)):
        sizes = resolution
    else:
        return None
    ok = all(isinstance(s, int) and not isinstance(s, bool) and s >= 1 for s in sizes)
    return sizes if ok else None


def _resolution_span(spec: NetworkSpec, overrides: Overrides) -> Any:
    if overrides.resolution is None:
        return spec.scale["resolution"][1].span
    # an override has no place in the file: point at the spec's own `scale.resolution`, or the spec
    return spec.scale["resolution"][0] if "resolution" in spec.scale else spec.span
