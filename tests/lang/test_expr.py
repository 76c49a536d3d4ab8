"""The safe expression evaluator: what it computes, and what it refuses (never `eval`)."""

from __future__ import annotations

import pytest
from conftest import analyze_text, layer, net, only, where

from archscope.lang.expr import MAX_EXPR_LEN, ExprError, Scale, evaluate, make_divisible

ENV = {"c": 64, "i": 0, "stages": [3, 4, 6, 3], "w": 1.5, "name": "x"}


@pytest.mark.parametrize(
    "text,value",
    [
        ("c * 4", 256),
        ("c // 3 + c % 3", 21 + 1),
        ("2 + 3 * 4 ** 2", 2 + 3 * 16),
        ("(2 + 3) * 4", 20),
        ("-c + +c", 0),
        ("c / 128", 0.5),
        ("2 if i == 0 else 1", 2),
        ("2 if i > 0 else 1", 1),
        ("1 < 2 < 3", True),
        ("3 > 2 > 2", False),
        ("i == 0 and c != 64", False),
        ("i or c", 64),
        ("not i", True),
        ("stages[2]", 6),
        ("stages[-1]", 3),
        ("stages[i + 1] * 2", 8),
        ("[c, c * 2][1]", 128),
        ("min(3, c, 9)", 3),
        ("max(c, 100)", 100),
        ("abs(-7)", 7),
        ("int(w * 3)", 4),
        ("round(2.5)", 3),  # half up, not Python's banker's rounding
        ("round(-2.5)", -2),
        ("round(0.49)", 0),
        ("ceil(w)", 2),
        ("floor(w)", 1),
        ("1_000 * 2", 2000),
        ("log2(1024)", 10),  # a power of two: its exponent, an integer (it can index a list)
        ("stages[log2(4)]", 6),
        ("log2(3)", 1.584962500721156),
        ("log2(0.5)", -1.0),
        ("log(125, 5)", 3),  # exactly: the float quotient is 3.0000000000000004, whose ceil is 4
        ("ceil(log(1000, 10))", 3),
        ("log(2.718281828459045)", 1.0),
        ("log(8, 2.0)", 3.0),
        ("True", True),
        ("'same'", "same"),
    ],
)
def test_evaluates(text: str, value: object):
    assert evaluate(text, ENV) == value


@pytest.mark.parametrize(
    "value,divisor,expected",
    [
        (32 * 0.35, 8, 16),  # torchvision MobileNetV2(width_mult=0.35): the stem has 16 channels, not 8
        (24 * 0.75, 8, 24),  # 16 would lose more than 10% of 18
        (32 * 1.1, 8, 32),  # EfficientNet-B1 stem: 35.2 → 32
        (40 * 1.4, 8, 56),  # 56 exactly
        (100, 8, 104),  # 100 + 4 = 104 → a multiple of 8
        (3, 8, 8),  # never below the divisor
    ],
)
def test_make_divisible(value: float, divisor: int, expected: int):
    assert make_divisible(value, divisor) == expected
    assert evaluate(f"make_divisible({value}, {divisor})", {}) == expected


@pytest.mark.parametrize(
    "text,expected",
    [
        ("make_divisible(3, 8, 4)", 4),  # the minimum given: 4, where the divisor alone gives 8
        ("make_divisible(3, 8)", 8),
        ("make_divisible(20, 16, 32)", 32),
        ("make_divisible(100, 8, 16)", 104),  # above the minimum: the usual rounding
        ("make_divisible(17, 16, 8)", 16),  # 16 is within 10% of 17
        ("make_divisible(19, 16, 8)", 32),  # 16 < 0.9 · 19: one divisor more
    ],
)
def test_make_divisible_with_a_minimum_value(text: str, expected: int):
    """torchvision's ``_make_divisible(v, divisor, min_value)`` (timm's ``make_divisible`` for ``min_value`` > 0)."""
    assert evaluate(text, {}) == expected


def test_scale_channels_and_repeats():
    b1 = Scale(width=1.0, depth=1.1)
    assert [b1.repeats(r) for r in (1, 2, 3, 4)] == [2, 3, 4, 5]  # ceil(1.1·r)
    b4 = Scale(width=1.4, depth=1.8)
    assert b4.channels(32) == 48  # 44.8 → 48
    assert b4.repeats(3) == 6  # ceil(5.4)
    assert Scale().channels(37) == 40 and Scale().repeats(3) == 3


def test_ch_and_rep_in_a_spec_follow_scale():
    text = (
        "input: [3, 8, 8]\nscale: {width: 0.35, depth: 1.5}\n"
        "layers:\n  - {op: conv2d, name: t, out: 'ch(32)', kernel: 1, n: 'rep(3)'}\n"
    )
    rows = analyze_text(text).report.layers
    assert [r.name for r in rows] == [f"t.{k}" for k in range(5)]  # ceil(4.5)
    assert all(r.output_shape[0] == 16 for r in rows)


@pytest.mark.parametrize(
    "text,message",
    [
        ("__import__('os')", "unknown function `__import__`"),
        ("c.__class__", "`Attribute` is not allowed"),
        ("(lambda: 1)()", "only plain calls"),
        ("[x for x in stages]", "`ListComp` is not allowed"),
        ("{'a': 1}", "`Dict` is not allowed"),
        ("stages[1:2]", "`Slice` is not allowed"),
        ("c @ c", "operator `MatMult` is not allowed"),
        ("~c", "operator `~` is not allowed"),
        ("c in stages", "comparison `In` is not allowed"),
        ("max(c, key=abs)", "only plain calls"),
        ("f'{c}'", "is not allowed"),
        ("b'x'", "literal b'x' is not allowed"),
        ("c *", "not a valid expression"),
        ("d + 1", "unknown name `d`"),
        ("max", "`max` is a function"),
        ("c / 0", "division by zero"),
        ("c // (i * 2)", "division by zero"),
        ("c % 0", "division by zero"),
        ("stages[4]", "index 4 is out of range for a list of 4"),
        ("c[0]", "indexing needs a list and an integer index"),
        ("stages[w]", "indexing needs a list and an integer index"),
        ("name * 1000000000", "takes numbers"),  # no string or list repetition: no memory bomb
        ("stages * 1000000000", "takes numbers"),
        ("stages + stages", "takes numbers"),
        ("2 ** 65", "exponent larger than 64"),
        ("10 ** 60", "too large"),
        ("9 ** 64 ** 64", "too large"),
        ("abs(1, 2)", "takes 1..1 arguments, got 2"),
        ("max()", "takes 1..16 arguments, got 0"),
        ("min(stages)", "takes numbers"),
        ("int(1e308 * 10)", "finite"),
        ("round(1e308 * 10 - 1e308 * 10)", "finite"),
        ("make_divisible(8, 0)", "positive divisor"),
        ("log(0)", "`log` needs a positive number, got 0"),
        ("log2(-c)", "`log2` needs a positive number, got -64"),
        ("log(8, 1)", "positive base other than 1"),
        ("log(8, -2)", "positive base other than 1"),
        ("log(1, 2, 3)", "takes 1..2 arguments, got 3"),
        ("log2(1e308 * 10)", "finite"),
        ("log(stages)", "takes numbers"),
    ],
)
def test_refuses(text: str, message: str):
    with pytest.raises(ExprError) as err:
        evaluate(text, ENV)
    assert message in str(err.value)


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(ExprError, match=r"unknown name `cc` \(known: `c`, `i`, `name`, `stages`, `w`\)"):
        evaluate("cc * 2", ENV)


def test_long_expression_is_refused():
    with pytest.raises(ExprError, match=f"longer than {MAX_EXPR_LEN}"):
        evaluate("1+" * MAX_EXPR_LEN + "1", {})


def test_deep_nesting_is_refused_cleanly():
    deep = "(" * 200 + "1" + ")" * 200
    try:
        assert evaluate(deep, {}) == 1
    except ExprError as exc:
        assert "nested" in str(exc)
    with pytest.raises(ExprError):
        evaluate("-" * 490 + "(" * 4 + "1", {})


def test_growth_is_stopped_at_every_step(monkeypatch):
    # each power is allowed alone; the chain would build a number of millions of digits

    from archscope.lang import expr

    largest = [0]

    def counting(op):
        def run(a, b):
            result = op(a, b)
            if isinstance(result, int):
                largest[0] = max(largest[0], result.bit_length())
            return result

        return run

    monkeypatch.setattr(expr, "_BINOPS", {kind: counting(op) for kind, op in expr._BINOPS.items()})
    assert evaluate("2**40", {}) == 2**40 and largest[0] == 41  # the spy sees every result
    for text in ("((2**64)**64)**64", "((((((2**64)**64)**64)**64)**64)**64)", "(2**62*2**62)**64**64"):
        with pytest.raises(ExprError):
            evaluate(text, {})
    # no number computed on the way was larger than one allowed power of an allowed operand
    assert largest[0] <= 65 * 64


def test_non_finite_params_are_errors_not_crashes():
    text = (
        "input: [3, 8, 8]\nparams: {a: .nan, b: .inf}\nlayers:\n"
        "  - {op: conv2d, out: 'int(a)', kernel: 3}\n  - {op: conv2d, in: input, out: 'ch(b)', kernel: 3}\n"
        "  - {op: conv2d, in: input, out: 'rep(a)', kernel: 3}\n"
    )
    analysis = analyze_text(text)
    assert [(d.code, d.span.line, d.span.col) for d in analysis.diagnostics] == [
        ("E010", *where(text, "'int(a)'")),
        ("E010", *where(text, "'ch(b)'")),
        ("E010", *where(text, "'rep(a)'")),
    ]


def test_expression_error_is_located_at_the_value():
    text = net("{op: conv2d, out: 'c * 4', kernel: 3}")
    d = only(analyze_text(text), "E010")
    assert (d.span.line, d.span.col) == where(text, "'c * 4'")
    assert "unknown name `c`" in d.message


def test_block_expressions_see_args_params_and_in_channels():
    text = (
        "input: [24, 8, 8]\nparams: {expand: 6}\n"
        "blocks:\n  ir:\n    args: {c: null}\n    layers:\n"
        "      - {op: conv2d, name: up, out: 'in_channels * expand', kernel: 1, bias: false}\n"
        "      - {op: conv2d, name: down, out: 'c', kernel: 1, bias: false}\n"
        "layers:\n  - {op: ir, name: b, c: 'expand * 5'}\n"
    )
    analysis = analyze_text(text)
    assert layer(analysis, "b.up").output_shape == (24 * 6, 8, 8)
    assert layer(analysis, "b.down").output_shape == (6 * 5, 8, 8)


def test_no_eval_anywhere_in_the_core():
    import ast
    from pathlib import Path

    import archscope

    for path in Path(archscope.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id not in ("eval", "exec", "compile", "__import__"), f"{path}:{node.lineno}"


def test_parsing_prints_no_python_warnings(capfd):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert evaluate("1if c else 2", ENV) == 1
        assert evaluate("1or c", ENV) == 1
    assert capfd.readouterr().err == ""
