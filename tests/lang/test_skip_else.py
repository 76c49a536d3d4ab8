"""`if:` and `else:`: a skipped layer stands in by what its `else:` names, and only by that.

A layer whose `if:` is false used to become its first input without a word; a RepVGG-style block
whose three-way sum sat behind an `if:` meant for the identity branch lost the sum in every block,
and every count still "agreed". A read of a skipped layer with no `else:` is now E016.
"""

from __future__ import annotations

from conftest import analyze_text, codes, net, only, where

REPVGG = """\
input: [8, 16, 16]
params: {identity: false}
blocks:
  rep:
    args: {c: null}
    layers:
      - {op: conv2d, name: a, in: input, out: c, kernel: 3, padding: 1}
      - {op: conv2d, name: b, in: input, out: c, kernel: 1}
      - {op: batchnorm2d, name: idn, in: input}
      - {op: add, name: sum, in: [a, b, idn], if: identity}
      - relu
layers:
  - {op: rep, c: 8, n: 3}
"""


def test_a_skipped_sum_read_by_the_next_layer_is_an_error_not_its_first_branch():
    d = only(analyze_text(REPVGG), "E016")  # once, not once per block instance
    assert (d.span.line, d.span.col) == (11, 9)  # the `relu` that reads `sum`
    assert d.message.startswith("`sum` is skipped here (its `if: identity` is false)")
    assert d.found == "if: identity (line 10)"


def test_else_says_what_stands_in_and_the_numbers_follow_it():
    a = analyze_text(REPVGG.replace("if: identity}", "if: identity, else: b}"))
    assert [(d.code, d.layer) for d in a.diagnostics] == [("W102", "rep_1.0.a"), ("W102", "rep_1.0.idn")]
    # a 3×3 conv (8·8·9 + 8), a 1×1 conv (8·8 + 8) and a batchnorm (2·8) per block; `sum` is left out
    assert a.report is not None
    assert a.report.totals.params == 3 * (8 * 8 * 9 + 8 + 8 * 8 + 8 + 16)
    relu = next(row for row in a.report.layers if row.name == "rep_1.0.relu_1")
    assert relu.macs == 0 and a.graph is not None
    node = next(n for n in a.graph.nodes if n.name == "rep_1.0.relu_1")
    assert [i.name for i in node.inputs] == ["rep_1.0.b"]  # `else: b`, not the first input `a`


def test_else_input_and_else_naming_another_skipped_layer_chain():
    text = net(
        "{op: conv2d, name: stem, out: 4, kernel: 1}",
        "{op: conv2d, name: down, in: input, out: 4, kernel: 1, if: false}",
        "{op: batchnorm2d, name: down_bn, if: false, else: input}",
        "{op: relu, name: r, in: down_bn, if: false, else: down_bn}",
        "{op: add, name: s, in: [r, stem], if: false, else: stem}",  # not its first input
        "{op: concat, in: [r, s]}",
    )
    a = analyze_text(text)
    assert a.diagnostics == [] and a.graph is not None
    cat = a.graph.nodes[-1]
    assert [i.name for i in cat.inputs] == ["input", "stem"] and cat.shape == (7, 8, 8)


def test_a_skipped_layer_that_only_skipped_layers_read_needs_no_else():
    text = net(
        "{op: conv2d, name: down, in: input, out: 3, kernel: 1, if: false}",  # read by `down_bn` only
        "{op: batchnorm2d, name: down_bn, if: false, else: input}",
        "{op: add, in: [down_bn, input]}",
    )
    assert analyze_text(text).diagnostics == []


def test_a_dotted_reference_to_a_skipped_layer_in_a_block_takes_its_else():
    text = """\
input: [3, 8, 8]
blocks:
  b:
    layers:
      - {op: conv2d, name: c, out: 5, kernel: 1}
      - {op: relu, name: r, if: false, else: c}
    output: c
layers:
  - {op: b, name: s}
  - {op: relu, name: x, in: s.r}
  - {op: relu, name: y, in: s.c}
outputs: [x, y]
"""
    a = analyze_text(text)
    assert a.diagnostics == [] and a.graph is not None
    assert [n.inputs[0].name for n in a.graph.nodes if n.name in ("x", "y")] == ["s.c", "s.c"]
    d = only(analyze_text(text.replace(", else: c}", "}")), "E016")
    assert d.message.startswith("`s.r` is skipped here") and (d.span.line, d.span.col) == where(text, "s.r")


def test_an_else_that_makes_a_cycle_is_refused():
    text = net("{op: relu, name: a, if: false, else: b}", "{op: relu, name: b, in: a}")
    assert codes(analyze_text(text)) == ["E009"]


def test_else_must_be_one_name():
    d = only(analyze_text(net("{op: relu, name: a, if: false, else: [input]}")), "E004")
    assert "`else:`" in d.message
