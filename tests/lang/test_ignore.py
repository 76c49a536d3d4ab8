"""Per-layer suppression: `ignore: [W101]` on an op layer, a block-instance layer (every layer
inside), or a layer of a block's list (every instance). Unknown codes and error codes are refused.

The motivating case is SqueezeNet 1.0's stem (torchvision.models.squeezenet1_0): conv1 is 7×7
stride 2 without padding on 224, (224 − 7) / 2 = 108.5, so the last row and column are dropped
(W101) — faithful to the original, which is why a user wants to silence it there and only there."""

from __future__ import annotations

from conftest import analyze_text, where

SQUEEZE_STEM = """\
input: [3, 224, 224]
layers:
  - {op: conv2d, name: conv1, out: 96, kernel: 7, stride: 2{ignore}}
  - {op: relu, name: relu1}
  - {op: maxpool2d, name: pool1, kernel: 3, stride: 2, ceil_mode: true}
  - {op: conv2d, name: squeeze, out: 16, kernel: 1}
"""


def found(a) -> list[tuple[str, int, int, str | None]]:
    return [(d.code, d.span.line, d.span.col, d.layer) for d in a.diagnostics]


def test_squeezenet_conv1_warns_without_ignore_and_not_with_it():
    plain = SQUEEZE_STEM.replace("{ignore}", "")
    a = analyze_text(plain)
    # conv1: (224 − 7) / 2 + 1 = 109.5 → 109, in height and in width; pool1 (ceil): 109 → 54
    at = where(plain, "{op: conv2d, name: conv1")
    assert found(a) == [("W101", *at, "conv1"), ("W101", *at, "conv1")]
    assert [d.message.split(":")[1] for d in a.diagnostics] == [" height", " width"]
    assert a.report.layers[0].output_shape == (96, 109, 109)
    ignored = SQUEEZE_STEM.replace("{ignore}", ", ignore: [W101]")
    b = analyze_text(ignored)
    assert found(b) == [] and b.report.totals == a.report.totals


def test_only_the_ignoring_layer_is_silenced():
    text = (
        SQUEEZE_STEM.replace("{ignore}", ", ignore: [W101]")
        + "  - {op: conv2d, name: conv3, out: 8, kernel: 3, stride: 2}\n"
    )
    a = analyze_text(text)  # conv3: (54 − 3) / 2 + 1 = 26.5 drops a row and a column
    at = where(text, "{op: conv2d, name: conv3")
    assert found(a) == [("W101", *at, "conv3"), ("W101", *at, "conv3")]


BLOCK = """\
input: [3, 9, 9]
blocks:
  down:
    layers:
      - {{op: conv2d, name: c, out: 4, kernel: 2, stride: 2{inner}}}
      - {{op: relu, name: r}}
layers:
  - {{op: down, name: d, n: 2{outer}}}
"""


def test_ignore_on_a_block_instance_covers_its_layers():
    a = analyze_text(BLOCK.format(inner="", outer=""))
    # d.0.c: (9 − 2) / 2 + 1 = 4.5 in height and width; d.1.c on 4×4 tiles
    assert [(d.code, d.layer) for d in a.diagnostics] == [("W101", "d.0.c"), ("W101", "d.0.c")]
    assert analyze_text(BLOCK.format(inner="", outer=", ignore: [W101]")).diagnostics == []


def test_ignore_in_a_blocks_list_applies_to_every_instance():
    assert analyze_text(BLOCK.format(inner=", ignore: [W101]", outer="")).diagnostics == []


def test_ignore_w102_on_an_unused_layer():
    text = "input: [3, 8, 8]\nlayers:\n  - {op: conv2d, name: side, out: 8, kernel: 1, ignore: [W102]}\n  - {op: relu, in: input}\n"
    assert analyze_text(text).diagnostics == []
    assert [d.code for d in analyze_text(text.replace(", ignore: [W102]", "")).diagnostics] == ["W102"]


def test_unknown_codes_and_error_codes_are_refused():
    text = "input: [3, 8, 8]\nlayers:\n  - {op: relu, ignore: [W1011, E101, w101]}\n"
    a = analyze_text(text)
    got = [(d.code, d.span.line, d.span.col, d.message) for d in a.diagnostics]
    assert got == [
        ("E004", *where(text, "W1011"), "`ignore` names no warning code `W1011`; did you mean `W101`?"),
        ("E004", *where(text, "E101"), "`E101` is an error: errors cannot be ignored"),
        ("E004", *where(text, "w101"), "`ignore` names no warning code `w101`; did you mean `W101`?"),
    ]
