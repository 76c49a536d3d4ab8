"""Friction found by users: every independent error in one run, and comment positions."""

from __future__ import annotations

from conftest import analyze_text, where

BLOCK = """\
input: [3, 8, 8]
blocks:
  b:
    args: {c: 4}
    layers:
      - {op: conv2d, out: c, kernel: 1}
layers:
  - {op: conv2d, out: 8, kernel: 9}
  - {op: b, cc: 8}
"""


def test_an_unknown_block_argument_is_reported_after_an_earlier_error():
    a = analyze_text(BLOCK)
    got = [(d.code, d.span.line, d.span.col) for d in a.diagnostics]
    # the 9×9 kernel on 8×8 (E102) leaves the block's input shape unknown; `cc` is wrong all the same
    assert got == [("E102", 8, 5), ("E003", *where(BLOCK, "cc"))]
    assert a.diagnostics[1].message == "block `b` has no argument `cc`; did you mean `c`?"


EMPTY_VALUE = """\
input: [3, 8, 8]
layers:
  - {op: conv2d, out: # the width
     # more
     kernel: 3}
"""


def test_a_comment_after_an_empty_value_in_a_flow_mapping():
    """`out: # the width` leaves `out` without a value on its line, so YAML reads the next token,
    `kernel` two lines down, as the value and fails at its `:` (5:12). That position is the
    parser's own mark (libyaml and pure-Python PyYAML agree), not archscope's arithmetic; archscope
    adds where the flow mapping starts, so the mistake lies between the two."""
    a = analyze_text(EMPTY_VALUE)
    (d,) = a.diagnostics
    assert (d.code, d.span.line, d.span.col) == ("E001", *where(EMPTY_VALUE, ": 3}"))
    assert d.message == "invalid YAML: while parsing a flow mapping did not find expected ',' or '}'"
    assert d.notes == ("while parsing a flow mapping that starts at line 3, column 5",)


def test_comments_inside_a_flow_mapping_keep_every_position():
    text = (
        "input: [3, 8, 8]\nlayers:\n  - {op: conv2d, # a comment\n     out: 8, kernel: 3,\n     bogus: 1}\n"
        "  - {op: relu,\n     # another\n     inn: x}\n"
    )
    got = [(d.code, d.span.line, d.span.col) for d in analyze_text(text).diagnostics]
    assert got == [("E003", *where(text, "bogus")), ("E003", *where(text, "inn"))]
