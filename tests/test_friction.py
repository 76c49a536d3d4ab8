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
