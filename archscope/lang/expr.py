"""A small, safe arithmetic language for spec values (``c * 4``, ``2 if i == 0 else 1``).

Strings are parsed with :func:`ast.parse` and walked node by node against a whitelist; nothing
is ever passed to ``eval``/``exec``. Supported: int/float/bool/str literals, names, ``+ - * /
// % **``, comparisons, ``and or not``, ``x if c else y``, indexing ``layers[2]``, list literals,
and the functions in :data:`FUNCTIONS` plus ``ch``/``rep`` (width and depth multipliers).
"""

from __future__ import annotations

import ast
import math
import operator
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

MAX_EXPR_LEN = 500
MAX_INT = 2**62


class ExprError(Exception):
    """An expression is malformed or cannot be evaluated; the message says why."""


def make_divisible(value: float, divisor: int = 8, min_value: int | None = None) -> int:
    """Round ``value`` to the nearest multiple of ``divisor`` without losing more than 10%, and
    never below ``min_value`` (default: ``divisor``).

    The rounding of the MobileNet/EfficientNet reference code (TF's ``_make_divisible``,
    torchvision's ``_make_divisible(v, divisor, min_value=None)``):
    ``max(min_value, int(v + divisor / 2) // divisor * divisor)``, plus ``divisor`` if that is
    below 90% of ``v``.
    """
    if divisor <= 0:
        raise ExprError("`make_divisible` needs a positive divisor")
    floor_value = divisor if min_value is None else min_value
    new = max(floor_value, int(value + divisor / 2) // divisor * divisor)
    if new < 0.9 * value:
        new += divisor
    return new


def log(value: float, base: float | None = None) -> float | int:
    """``log(x)``: the natural logarithm; ``log(x, base)``: in ``base``. An integer that is an
    exact power of an integer base gives that integer exactly (``log(125, 5)`` is 3, where the
    floating-point quotient is 3.0000000000000004, whose ``ceil`` is 4)."""
    if value <= 0:
        raise ExprError(f"`log` needs a positive number, got {value!r}")
    if base is None:
        return math.log(value)
    if base <= 0 or base == 1:
        raise ExprError(f"`log` needs a positive base other than 1, got {base!r}")
    exact = _exact_power(value, base)
    return exact if exact is not None else math.log(value, base)


def log2(value: float) -> float | int:
    """``log2(x)``: the base-2 logarithm; a power of two gives its exponent as an integer."""
    if value <= 0:
        raise ExprError(f"`log2` needs a positive number, got {value!r}")
    exact = _exact_power(value, 2)
    return exact if exact is not None else math.log2(value)


def _exact_power(value: float, base: float) -> int | None:
    """``k`` when ``value == base ** k`` for integers ``value``, ``base`` > 1 and ``k`` >= 0; else None."""
    if not (isinstance(value, int) and isinstance(base, int) and base > 1):
        return None
    k = round(math.log(value, base))
    return k if k >= 0 and base**k == value else None


@dataclass(frozen=True)
class Scale:
    """Network-wide multipliers (EfficientNet's compound scaling)."""

    width: float = 1.0
    depth: float = 1.0
    divisor: int = 8

    def channels(self, c: float) -> int:
        """``ch(c)``: channels scaled by ``width`` and rounded by :func:`make_divisible`."""
        return make_divisible(c * self.width, self.divisor)

    def repeats(self, n: float) -> int:
        """``rep(n)``: repeats scaled by ``depth`` and rounded up."""
        return int(math.ceil(n * self.depth))


def _num(name: str, *args: Any) -> None:
    for a in args:
        if isinstance(a, bool) or not isinstance(a, (int, float)):
            raise ExprError(f"`{name}` takes numbers, got {a!r}")
        if isinstance(a, float) and not math.isfinite(a):
            raise ExprError(f"`{name}` takes finite numbers, got {a!r}")
        if isinstance(a, int) and abs(a) > MAX_INT:  # keeps `((2**64)**64)**64…` from growing
            raise ExprError("number too large")


def _fn(name: str, impl: Callable[..., Any], arity: tuple[int, int]) -> Callable[..., Any]:
    def call(*args: Any) -> Any:
        if not arity[0] <= len(args) <= arity[1]:
            raise ExprError(f"`{name}` takes {arity[0]}..{arity[1]} arguments, got {len(args)}")
        _num(name, *args)
        return impl(*args)

    return call


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "min": _fn("min", min, (1, 16)),
    "max": _fn("max", max, (1, 16)),
    "abs": _fn("abs", abs, (1, 1)),
    "int": _fn("int", int, (1, 1)),
    "round": _fn("round", lambda x: int(math.floor(x + 0.5)), (1, 1)),
    "ceil": _fn("ceil", math.ceil, (1, 1)),
    "floor": _fn("floor", math.floor, (1, 1)),
    "make_divisible": _fn("make_divisible", make_divisible, (1, 3)),
    "log": _fn("log", log, (1, 2)),
    "log2": _fn("log2", log2, (1, 1)),
}


def _checked_pow(a: Any, b: Any) -> Any:
    if isinstance(b, (int, float)) and abs(b) > 64:
        raise ExprError("exponent larger than 64")
    return operator.pow(a, b)


def _div(a: Any, b: Any, op: Callable[[Any, Any], Any]) -> Any:
    if b == 0:
        raise ExprError("division by zero")
    return op(a, b)


_BINOPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: lambda a, b: _div(a, b, operator.truediv),
    ast.FloorDiv: lambda a, b: _div(a, b, operator.floordiv),
    ast.Mod: lambda a, b: _div(a, b, operator.mod),
    ast.Pow: _checked_pow,
}
_CMPOPS: dict[type, Callable[[Any, Any], bool]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}


@lru_cache(maxsize=4096)
def parse_expr(text: str) -> ast.expr:
    if len(text) > MAX_EXPR_LEN:
        raise ExprError(f"expression longer than {MAX_EXPR_LEN} characters")
    try:
        with warnings.catch_warnings():  # `1if c else 2` parses, with a SyntaxWarning printed to stderr
            warnings.simplefilter("ignore", SyntaxWarning)
            return ast.parse(text.strip(), mode="eval").body
    except SyntaxError as exc:
        raise ExprError(f"not a valid expression: {exc.msg}") from None
    except (RecursionError, MemoryError, ValueError):
        raise ExprError("expression is too deeply nested") from None


def evaluate(text: str, env: dict[str, Any]) -> Any:
    """Evaluate ``text`` with the names in ``env`` (and :data:`FUNCTIONS`)."""
    try:
        value = _eval(parse_expr(text), env)
    except RecursionError:
        raise ExprError("expression is too deeply nested") from None
    except (TypeError, ValueError) as exc:
        raise ExprError(f"{'type' if isinstance(exc, TypeError) else 'value'} error: {exc}") from None
    except OverflowError:
        raise ExprError("number too large") from None
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INT:
        raise ExprError("result is too large")
    return value


def _eval(node: ast.AST, env: dict[str, Any]) -> Any:
    handler = _HANDLERS.get(type(node))
    if handler is None:
        raise ExprError(f"`{type(node).__name__}` is not allowed in an expression")
    return handler(node, env)


def _constant(node: ast.Constant, _env: dict[str, Any]) -> Any:
    if isinstance(node.value, (int, float, str, bool)) or node.value is None:
        return node.value
    raise ExprError(f"literal {node.value!r} is not allowed")


def _name(node: ast.Name, env: dict[str, Any]) -> Any:
    if node.id in env:
        return env[node.id]
    if node.id in FUNCTIONS:
        raise ExprError(f"`{node.id}` is a function: call it as `{node.id}(...)`")
    known = ", ".join(f"`{k}`" for k in sorted(k for k in env if not callable(env[k])))
    raise ExprError(f"unknown name `{node.id}`" + (f" (known: {known})" if known else ""))


def _binop(node: ast.BinOp, env: dict[str, Any]) -> Any:
    op = _BINOPS.get(type(node.op))
    if op is None:
        raise ExprError(f"operator `{type(node.op).__name__}` is not allowed")
    left, right = _eval(node.left, env), _eval(node.right, env)
    _num(f"operator {type(node.op).__name__}", left, right)
    return op(left, right)


_UNARY: dict[type, Callable[[Any], Any]] = {ast.USub: operator.neg, ast.UAdd: operator.pos, ast.Not: operator.not_}


def _unaryop(node: ast.UnaryOp, env: dict[str, Any]) -> Any:
    value = _eval(node.operand, env)
    op = _UNARY.get(type(node.op))
    if op is None:
        raise ExprError("operator `~` is not allowed")
    return op(value)


def _boolop(node: ast.BoolOp, env: dict[str, Any]) -> Any:
    """``and`` returns the first falsy value (or the last); ``or`` the first truthy one (or the last)."""
    stop_when = not isinstance(node.op, ast.And)  # `and` stops at a falsy value, `or` at a truthy one
    result: Any = not stop_when
    for v in node.values:
        result = _eval(v, env)
        if bool(result) is stop_when:
            return result
    return result


def _compare(node: ast.Compare, env: dict[str, Any]) -> bool:
    left = _eval(node.left, env)
    for op_node, comp in zip(node.ops, node.comparators):
        op = _CMPOPS.get(type(op_node))
        if op is None:
            raise ExprError(f"comparison `{type(op_node).__name__}` is not allowed")
        right = _eval(comp, env)
        if not op(left, right):
            return False
        left = right
    return True


def _ifexp(node: ast.IfExp, env: dict[str, Any]) -> Any:
    return _eval(node.body, env) if _eval(node.test, env) else _eval(node.orelse, env)


def _call(node: ast.Call, env: dict[str, Any]) -> Any:
    if not isinstance(node.func, ast.Name) or node.keywords:
        raise ExprError("only plain calls such as `max(a, b)` are allowed")
    fn = env.get(node.func.id) if callable(env.get(node.func.id)) else FUNCTIONS.get(node.func.id)
    if fn is None:
        names = ", ".join(sorted(set(FUNCTIONS) | {k for k, v in env.items() if callable(v)}))
        raise ExprError(f"unknown function `{node.func.id}` (known: {names})")
    return fn(*[_eval(a, env) for a in node.args])


def _subscript(node: ast.Subscript, env: dict[str, Any]) -> Any:
    seq = _eval(node.value, env)
    index = _eval(node.slice, env)
    if not isinstance(seq, (list, tuple)) or isinstance(index, bool) or not isinstance(index, int):
        raise ExprError("indexing needs a list and an integer index")
    if not -len(seq) <= index < len(seq):
        raise ExprError(f"index {index} is out of range for a list of {len(seq)}")
    return seq[index]


def _sequence(node: ast.List | ast.Tuple, env: dict[str, Any]) -> list[Any]:
    return [_eval(e, env) for e in node.elts]


# the whole language: an AST node type with no entry here is refused
_HANDLERS: dict[type, Callable[[Any, dict[str, Any]], Any]] = {
    ast.Constant: _constant,
    ast.Name: _name,
    ast.BinOp: _binop,
    ast.UnaryOp: _unaryop,
    ast.BoolOp: _boolop,
    ast.Compare: _compare,
    ast.IfExp: _ifexp,
    ast.Call: _call,
    ast.Subscript: _subscript,
    ast.List: _sequence,
    ast.Tuple: _sequence,
}
