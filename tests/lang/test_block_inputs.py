"""Blocks with several inputs: ``inputs: [x, skip]`` in the block, ``in: [a, b]`` at its use.

Inside, a layer names an input by its declared name, by position (``input.0``, ``input.1``) or
as ``input`` (the first, which a first layer without ``in:`` also takes); ``in_channels`` is the
first input's channel count. A block without ``inputs:`` still takes exactly one input.
"""

from __future__ import annotations

import pytest
from conftest import analyze_text, codes, only, where

UNET = """\
name: tiny_unet
input: [3, 32, 32]
blocks:
  up:
    args: {c: null}
    inputs: [x, skip]
    layers:
      - {op: conv_transpose2d, name: upc, in: x, out: c, kernel: 2, stride: 2}
      - {op: concat, name: cat, in: [upc, skip]}
      - {op: conv2d, name: conv, out: c, kernel: 3, padding: 1}
      - {op: add, name: res, in: [conv, input.1]}
layers:
  - {op: conv2d, name: e1, out: 8, kernel: 3, padding: 1}
  - {op: maxpool2d, name: p1, kernel: 2}
  - {op: conv2d, name: e2, out: 16, kernel: 3, padding: 1}
  - {op: up, name: d1, in: [e2, e1], c: 8}
  - {op: conv2d, name: head, out: 2, kernel: 1}
"""


def test_a_block_reads_its_inputs_by_name_and_by_position():
    a = analyze_text(UNET)
    assert a.diagnostics == [] and a.graph is not None and a.report is not None
    reads = {n.name: [i.name for i in n.inputs] for n in a.graph.nodes}
    assert reads["d1.upc"] == ["e2"]  # `x`
    assert reads["d1.cat"] == ["d1.upc", "e1"]  # `skip`
    assert reads["d1.res"] == ["d1.conv", "e1"]  # `input.1`
    # e1 3·8·9+8, e2 8·16·9+16, upc 16·8·4+8 (in_channels = 16, the first input's), conv 16·8·9+8, head 8·2+2
    assert a.report.totals.params == 224 + 1168 + 520 + 1160 + 18
    assert a.report.output_shape == (2, 32, 32)


def test_the_first_input_is_input_and_what_a_first_layer_takes():
    text = UNET.replace("{op: conv_transpose2d, name: upc, in: x,", "{op: conv_transpose2d, name: upc,")
    a = analyze_text(text)
    assert a.diagnostics == [] and a.graph is not None
    assert [i.name for i in next(n for n in a.graph.nodes if n.name == "d1.upc").inputs] == ["e2"]


@pytest.mark.parametrize("use", ["in: e2", "in: [e2, e1, p1]"])
def test_a_use_with_the_wrong_number_of_inputs_is_refused(use: str):
    text = UNET.replace("in: [e2, e1]", use)
    d = only(analyze_text(text), "E108")
    assert d.message == "block `up` takes 2 inputs (`x`, `skip`)"
    assert (d.expected, d.found) == ("2", str(use.count(",") + 1))


def test_a_block_without_inputs_still_takes_one():
    text = UNET.replace("    inputs: [x, skip]\n", "")
    assert "E108" in codes(analyze_text(text))


@pytest.mark.parametrize(
    "inputs,at,message",
    [
        ("[x, x]", "x]", "`x` is named twice"),
        ("[input, skip]", "input, skip", "`input` is the block's first input already"),
        ("[]", "[]", "the `inputs` of block `up` must be a list of names"),
        ("x", "x\n", "the `inputs` of block `up` must be a list of names"),
    ],
)
def test_bad_input_names_are_refused_where_they_are_written(inputs: str, at: str, message: str):
    text = UNET.replace("inputs: [x, skip]", f"inputs: {inputs}")
    d = next(d for d in analyze_text(text).diagnostics if d.code == "E004")
    assert d.message == message and (d.span.line, d.span.col) == where(text, at)


def test_a_layer_cannot_take_an_input_name():
    text = UNET.replace("name: cat,", "name: skip,").replace("in: [upc, skip]}", "in: [upc, input.1]}")
    d = next(d for d in analyze_text(text).diagnostics if d.code == "E007")
    assert d.message == "`skip` is reserved for the scope's input"


def test_the_block_builds_and_runs_in_torch():
    torch = pytest.importorskip("torch")
    import archscope

    a = analyze_text(UNET)
    net = archscope.build(a).eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        out = net(x)
    assert tuple(out.shape) == (2, 2, 32, 32)
    assert sum(p.numel() for p in net.parameters()) == a.report.totals.params
