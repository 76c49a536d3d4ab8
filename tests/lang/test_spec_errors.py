"""Every diagnostic code, with its exact line and column, and what it says was expected and found.

``CASES`` is keyed by code and ``test_every_code_has_cases`` fails when a code is added to
``archscope.diagnostics.CODES`` without a case here. Positions are derived from the spec text
(where the offending token starts), the way an editor shows them: 1-based line and column.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import analyze_text, codes, layer, net, only, where

import archscope
from archscope.codes import TABLE
from archscope.diagnostics import CODES, Severity

BLOCK = (
    "input: [3, 8, 8]\nblocks:\n  b:\n    args: {c: 4}\n    layers:\n"
    "      - {op: conv2d, out: c, kernel: 3, padding: 1}\nlayers:\n"
)


@dataclass(frozen=True)
class Case:
    id: str
    text: str
    at: str  # the text where the diagnostic must point (its first character)
    nth: int = 1
    message: str = ""  # a part of the message
    expected: str | None = None
    found: str | None = None
    input_shape: str | None = None
    layer: str | None = None
    shift: int = 0  # columns to the right of `at` (for positions that are easier to count than to quote)


CASES: dict[str, list[Case]] = {
    # E000 (unreadable input) needs files: see test_e000_* below
    "E001": [Case("unclosed-list", "input: [3, 8\nlayers: [relu]\n", ": [relu]", message="invalid YAML")],
    "E002": [
        Case(
            "key-twice",
            net("{op: conv2d, out: 4, kernel: 3, out: 5}"),
            "out: 5",
            message="duplicate key `out` (first defined at line 3)",
            expected="each key once",
            found="`out` twice",
        )
    ],
    "E003": [
        Case(
            "top-level-did-you-mean",
            "input: [3]\nlayer: [relu]\nlayers: [relu]\n",
            "layer:",
            message="unknown key `layer` in the spec; did you mean `layers`?",
            found="`layer`",
        ),
        Case(
            "attribute-did-you-mean",
            net("{op: conv2d, out: 4, kernal: 3}"),
            "kernal",
            message="`conv2d` has no attribute `kernal`; did you mean `kernel`?",
            found="kernal",
        ),
        Case(
            "block-argument",
            BLOCK + "  - {op: b, d: 2}\n",
            "d: 2",
            message="block `b` has no argument `d`",
            expected="`c`",
            found="d",
        ),
        Case(
            "block-key",
            BLOCK.replace("    args:", "    argz: {}\n    args:") + "  - b\n",
            "argz",
            message="unknown key `argz` in block `b`; did you mean `args`?",
        ),
        Case("expect-key", net("relu", extra="expect: {param: 3}\n"), "param:", message="did you mean `params`?"),
    ],
    "E004": [
        Case(
            "negative-out",
            net("{op: conv2d, out: -1, kernel: 3}"),
            "-1",
            message="`out` of `conv2d` must be",
            expected="an integer ≥ 1",
            found="-1",
        ),
        Case("fractional-out", net("{op: linear, out: 2.5}", input="[4]"), "2.5", found="2.5"),
        Case("kernel-list-too-long", net("{op: conv2d, out: 4, kernel: [3, 3, 3]}"), "[3, 3, 3]", found="[3, 3, 3]"),
        Case(
            "padding-word",
            net("{op: conv2d, out: 4, kernel: 3, padding: full}"),
            "full",
            found="'full'",
            message="`padding` of `conv2d` must be an integer ≥ 0, or a list of 2 such integers, or `same`, or `valid`",
        ),
        Case("bias-not-bool", net("{op: conv2d, out: 4, kernel: 3, bias: 1}"), "1}", expected="true or false"),
        Case("input-negative", net("relu", input="[3, -8, 8]"), "[3, -8, 8]", found="[3, -8, 8]"),
        Case("input-zero", net("relu", input="[0, 8, 8]"), "[0, 8, 8]", found="[0, 8, 8]"),
        Case("layers-not-a-list", "input: [3]\nlayers: {op: relu}\n", "{op", expected="a list", found="mapping"),
        Case("repeat-negative", net("{op: relu, n: -1}"), "-1", message="`n` must be a whole number", found="-1"),
        Case(
            "repeat-fraction", net("{op: relu, n: 2.5}"), "2.5", found="2.5"
        ),  # a huge `n` is E011 (test_untrusted_specs.py)
        Case(
            "scale-width",
            "input: [3]\nscale: {width: 0}\nlayers: [relu]\n",
            "0}",
            message="`scale.width` must be a positive number",
            found="0",
        ),
        Case(
            "expect-not-a-number",
            net("relu", extra="expect: {params: lots}\n"),
            "lots",
            message="`expect.params` must be a whole number",
            found="'lots'",
        ),
        Case("layer-name", net("{op: relu, name: 2x}"), "2x", message="is not a valid name"),
        Case(
            "layer-number",
            net("relu", "7"),
            "7",
            message="a layer must be an op name or a mapping with `op:`",
            found="int",
        ),
    ],
    "E005": [
        Case(
            "required-attribute",
            net("{op: conv2d, kernel: 3}"),
            "{op",
            message="`conv2d` needs `out`",
            expected="`out: …`",
            found="nothing",
        ),
        Case("no-op", net("{name: x}"), "{name", message="this layer has no `op:`", found="`name`"),
        Case("no-input", "layers: [relu]\n", "layers", message="the spec has no `input:` shape"),
        Case(
            "block-argument",
            BLOCK.replace("{c: 4}", "{c: null}") + "  - b\n",
            "b\n",
            message="block `b` needs argument `c`",
        ),
        Case("empty-layers", "input: [3]\nlayers: []\n", "[]", message="`layers` is empty"),
        Case(
            "else-without-if",
            net("{op: relu, name: a}", "{op: relu, else: a}"),
            "a}",
            nth=2,
            message="`else:` without `if:`: this layer is never skipped",
            found="else: a",
        ),
    ],
    "E006": [
        Case(
            "did-you-mean",
            net("{op: conv2, out: 4, kernel: 3}"),
            "conv2,",
            message="unknown op or block `conv2`; did you mean `conv2d`?",
            found="conv2",
        ),
        Case("bare-name", net("rleu"), "rleu", message="did you mean `relu`?"),
        Case("block-did-you-mean", BLOCK + "  - bb\n", "bb", message="did you mean `b`?"),
    ],
    "E007": [
        Case(
            "name-twice",
            net("{op: relu, name: a}", "{op: sigmoid, name: a}"),
            "a}",
            nth=2,
            message="layer name `a` is used twice (first at line 3)",
            found="a",
        )
    ],
    "E008": [
        Case(
            "dangling-in",
            net("{op: relu, name: act}", "{op: relu, in: acts}"),
            "acts",
            message="`acts` names no layer in this scope; did you mean `act`?",
            found="acts",
        ),
        Case(
            "dangling-output", net("{op: relu, name: a}", extra="output: z\n"), "z\n", message="`output: z`", found="z"
        ),
        Case(
            "dangling-dotted",
            BLOCK + "  - {op: b, name: s}\n  - {op: add, in: [s.nope, s]}\n",
            "s.nope",
            found="s.nope",
        ),
        Case(
            "output-of-a-skipped-layer",  # `parts` exists: it is skipped, not missing
            net("{op: split, name: parts, sections: 2, if: false}", "{op: relu, in: parts.0}"),
            "parts.0",
            message="`parts.0` names an output of `parts`, which is skipped here (its `if: false` is false)",
            found="if: false (line 3)",
        ),
        Case("else-names-no-layer", net("{op: relu, name: a, if: false, else: b}"), "b}", found="b"),
    ],
    "E009": [
        Case(
            "cycle",
            net("{op: relu, name: a, in: b}", "{op: relu, name: b, in: a}"),
            "{op: relu, name: a",
            message="layers form a cycle: a → b → a",
            found="a → b → a",
        ),
        Case("self-reference", net("{op: relu, name: a, in: a}"), "{op", message="a → a"),
        Case(
            "block-uses-itself",
            "input: [3]\nblocks:\n  b:\n    layers: [relu, b]\nlayers: [b]\n",
            "b]",
            message="block `b` instantiates itself (b → b)",
        ),
    ],
    "E016": [
        Case(
            "in-reads-a-skipped-layer",
            net(
                "{op: conv2d, name: a, out: 3, kernel: 1}",
                "{op: add, name: sum, in: [a, input], if: 'a == 1'}",
                "{op: relu, in: sum}",
            ).replace("input: [3, 8, 8]\n", "input: [3, 8, 8]\nparams: {a: 0}\n"),
            "sum}",
            message="`sum` is skipped here (its `if: a == 1` is false) and has no `else:`",
            expected="`else: <layer or input>` on `sum`, or a reference to a layer that is built",
            found="if: a == 1 (line 5)",
        ),
        Case(
            "next-layer-reads-a-skipped-layer",  # the reader has no `in:`: it is pointed at
            net("{op: add, name: sum, in: [input, input], if: false}", "relu"),
            "relu",
            message="`sum` is skipped here",
        ),
        Case(
            "block-output-is-skipped",
            "input: [3, 8, 8]\nblocks:\n  b:\n    layers:\n      - {op: relu, name: r, if: false}\nlayers: [b, relu]\n",
            "false}",
            message="`r` is skipped here (its `if: false` is false) and has no `else:`, yet it is the output of block `b`",
        ),
    ],
    "E010": [
        Case(
            "unknown-name",
            net("{op: conv2d, out: 'c * 4', kernel: 3}"),
            "'c * 4'",
            message="cannot evaluate `c * 4`: unknown name `c`",
        )
    ],
    "E011": [
        # the list at depth 65 (the root mapping is depth 0, `tags:`'s value depth 1) starts 64 columns in
        Case(
            "nesting",
            "input: [3]\nlayers: [relu]\ntags: " + "[" * 80 + "]" * 80 + "\n",
            "[",
            nth=3,
            shift=64,
            message="nesting is deeper than 64 levels",
        ),
        Case(
            "block-depth",
            "input: [3]\nblocks:\n"
            + "".join(f"  b{i}:\n    layers: [b{i + 1}]\n" for i in range(40))
            + "  b40:\n    layers: [relu]\nlayers: [b0]\n",
            "b32]",
            message="blocks are nested deeper than 32",
        ),
    ],
    "E012": [
        Case(
            "unknown-parent",
            "extends: no_such_net\ninput: [3]\nlayers: [relu]\n",
            "no_such_net",
            message="`extends: no_such_net` names no spec file or bundled spec",
            found="no_such_net",
        )
    ],
    "E013": [
        Case(
            "edits-and-layers",
            "extends: resnet50\nlayers: [relu]\nremove: [fc]\n",
            "remove",
            message="`remove` edits the parent's layers, and this spec replaces them with its own `layers:`",
        ),
        Case(
            "no-parent",
            net("relu", extra="replace: {relu_1: gelu}\n"),
            "replace",
            message="`replace` edits the layers of a parent, and this spec has no `extends:`",
        ),
        Case(
            "removed-and-replaced",
            "extends: resnet50\nreplace: {fc: {op: linear, out: 10}}\nremove: [fc]\n",
            "fc",
            nth=2,
            message="layer `fc` is both removed and replaced",
        ),
    ],
    "E101": [
        Case(
            "transposed",
            net("{op: conv_transpose2d, out: 4, kernel: 1, padding: 1}", input="[3, 1, 1]"),
            "{op",
            message="height: output size -1",
            expected="≥ 1",
            found="-1",
            input_shape="(3, 1, 1)",
            layer="conv_transpose2d_1",
        ),
    ],
    "E102": [
        Case(
            "kernel-too-big",
            net("{op: conv2d, name: c, out: 4, kernel: 9}"),
            "{op",
            message="`c` (conv2d): height: kernel 9 is larger than the padded input 8",
            found="8 + 2·0 = 8",
            input_shape="(3, 8, 8)",
            layer="c",
        )
    ],
    "E103": [
        Case(
            "in-channels",
            net("{op: conv2d, out: 4, kernel: 3, groups: 2}"),
            "{op",
            message="groups=2 does not divide the 3 input channels",
            found="3",
            layer="conv2d_1",
        ),
        Case(
            "out-channels",
            net("{op: conv2d, out: 5, kernel: 3, groups: 3}"),
            "{op",
            message="groups=3 does not divide out=5",
            found="5",
        ),
    ],
    "E104": [
        Case(
            "add",
            net("{op: conv2d, name: a, out: 4, kernel: 1}", "{op: add, name: s, in: [input, a]}"),
            "{op: add",
            message="`add` needs equal shapes; the channels differ",
            expected="(3, 8, 8)",
            found="(3, 8, 8), (4, 8, 8)",
            input_shape="(3, 8, 8), (4, 8, 8)",
            layer="s",
        ),
        Case(
            "mul",
            net("{op: adaptive_avgpool2d, name: p, output_size: 2}", "{op: mul, in: [input, p]}"),
            "{op: mul",
            message="`mul` inputs do not broadcast",
            found="(3, 8, 8), (3, 2, 2)",
        ),
    ],
    "E105": [
        Case(
            "concat",
            net("{op: conv2d, name: a, out: 4, kernel: 3}", "{op: concat, in: [input, a]}"),
            "{op: concat",
            expected="(*, 8, 8)",
            found="(3, 8, 8), (4, 6, 6)",
        )
    ],
    "E106": [
        Case(
            "linear-on-a-map",
            net("{op: linear, out: 10}"),
            "{op",
            message="add a `flatten` before it",
            expected="(features,) or (L, features)",
            found="(3, 8, 8)",
        ),
        Case(
            "conv2d-on-flat",
            net("{op: conv2d, out: 4, kernel: 1}", input="[12]"),
            "{op",
            expected="(C, H, W)",
            found="(12,)",
        ),
        Case("pool1d-on-a-map", net("{op: maxpool1d, kernel: 2}"), "{op", expected="(C, L)"),
    ],
    "E107": [
        Case(
            "same-with-stride",
            net("{op: conv2d, out: 4, kernel: 3, stride: 2, padding: same}"),
            "{op",
            message="`padding: same` needs stride 1",
            expected="stride 1",
            found="stride 2",
        ),
        Case("softmax-dim", net("{op: softmax, dim: 3}"), "{op", expected="dim < 3"),
        Case(
            "pool-padding",
            net("{op: maxpool2d, kernel: 3, padding: 2}"),
            "{op",
            message="padding must be at most half the kernel",
            expected="padding ≤ 1",
            found="2",
        ),
        Case(
            "output-padding",
            net("{op: conv_transpose2d, out: 4, kernel: 3, stride: 2, output_padding: 2}"),
            "{op",
            expected="< 2",
            found="2",
        ),
        Case(
            "unpool-without-switches",
            net("{op: maxpool2d, name: p, kernel: 2}", "{op: max_unpool2d, in: [p, p], kernel: 2}"),
            "{op: max_unpool2d",
            found="maxpool2d without return_indices",
        ),
        Case(
            # PyTorch: "Found an invalid max index: 54 (output volumes are of size 7x7)"
            "unpool-switches-past-its-output",
            net(
                "{op: maxpool2d, name: p, kernel: 3, stride: 2, return_indices: true}",
                "{op: max_unpool2d, in: [p, p], kernel: 3, stride: 2}",
                input="[1, 8, 8]",
            ),
            "{op: max_unpool2d",
            message="the switches of the pooling layer reach position 54 of its 8×8 input, past the 7×7 unpooled output",
            found="7×7 = 49",
        ),
    ],
    "E108": [
        Case(
            "add-one-input",
            net("{op: add, name: s}"),
            "{op",
            message="`add` takes 2 or more inputs",
            expected="2 or more",
            found="1",
            layer="s",
        ),
        Case(
            "block-two-inputs",
            BLOCK + "  - {op: relu, name: a}\n  - {op: b, in: [a, input]}\n",
            "{op: b",
            message="block `b` takes one input",
            found="2",
        ),
    ],
    "E201": [
        Case(
            "params",
            net("{op: linear, out: 10}", input="[4]", extra="expect:\n  params: 40\n"),
            "40\n",
            message="expected params 40, computed 50",
            expected="40",
            found="50",
        ),
        Case(
            "output",
            net("{op: linear, out: 10}", input="[4]", extra="expect: {output: [1000]}\n"),
            "[1000]",
            message="expected output [1000], computed [10]",
            expected="[1000]",
            found="[10]",
        ),
        Case(
            "macs-with-underscores",
            net("{op: linear, out: 10}", input="[4]", extra="expect: {macs: 1_000}\n"),
            "1_000",
            expected="1,000",
            found="40",
        ),
    ],
    "W101": [
        Case(
            "alexnet-conv1",
            net("{op: conv2d, name: conv1, out: 64, kernel: 11, stride: 4}", input="[3, 224, 224]"),
            "{op",
            message="height: (224 + 2·0 − 11) / 4 + 1 = 54.25; the last input row never reaches a window",
            input_shape="(3, 224, 224)",
            layer="conv1",
        )
    ],
    "W102": [
        Case(
            "unused",
            net("{op: relu, name: a}", "{op: sigmoid, name: b, in: input}"),
            "{op: relu",
            message="the output of `a` is never used",
            layer="a",
        )
    ],
    "W103": [
        Case(
            "freeze-misspelt",
            net("{op: conv2d, name: conv1, out: 4, kernel: 3}", extra="freeze: [conv]\n"),
            "conv]",
            message="`freeze` pattern `conv` matches no layer; did you mean `conv1`?",
            found="`conv`",
        )
    ],
}

ALL = [pytest.param(code, case, id=f"{code}-{case.id}") for code, cases in CASES.items() for case in cases]


def test_every_code_has_cases():
    # E000 and the codes of sweeps (a command line, a sweep file) are tested with them: tests/explore/test_sweep.py
    not_specs = {e.code for e in TABLE if e.subject != "spec"}
    missing = sorted(set(CODES) - set(CASES) - not_specs)
    assert not missing, f"diagnostic codes without a case in tests/lang/test_spec_errors.py: {missing}"


@pytest.mark.parametrize("code,case", ALL)
def test_code_line_column(code: str, case: Case):
    analysis = analyze_text(case.text, "spec.yaml")
    found = [d for d in analysis.diagnostics if d.code == code]
    assert found, [f"{d.span}: {d.code} {d.message}" for d in analysis.diagnostics]
    d = found[0]
    assert d.span.file == "spec.yaml"
    line, col = where(case.text, case.at, case.nth)
    assert (d.span.line, d.span.col) == (line, col + case.shift)
    assert case.message in d.message
    assert d.severity is (Severity.WARNING if code.startswith("W") else Severity.ERROR)
    for attr in ("expected", "found", "input_shape", "layer"):
        if getattr(case, attr) is not None:
            assert getattr(d, attr) == getattr(case, attr), attr
    if code.startswith("E"):
        assert not analysis.ok


def test_shape_errors_fill_expected_found_input_and_layer():
    """E1xx come from shape rules: each says what it expected, what it found, and what reached it."""
    for code, cases in CASES.items():
        if not code.startswith("E1"):
            continue
        for case in cases:
            d = next(d for d in analyze_text(case.text).diagnostics if d.code == code)
            assert d.layer, (code, case.id)
            if code != "E108":
                assert d.expected and d.found and d.input_shape, (code, case.id)


# ---- E000: input that cannot be read --------------------------------------------------------


def test_e000_not_utf8_points_at_the_byte(tmp_path: Path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"input: [3]\nlayers: [relu]\ntitle: caf\xe9\n")
    d = only(archscope.analyze(path), "E000")
    assert (d.span.file, d.span.line, d.span.col) == (str(path), 3, len("title: caf") + 1)
    assert d.expected == "UTF-8 text" and d.found == "byte 0xe9"


def test_e000_no_such_file_lists_bundled_specs():
    d = only(archscope.analyze("no/such/spec.yaml"), "E000")
    assert (d.span.file, d.span.line, d.span.col) == ("no/such/spec.yaml", 1, 1)
    assert "resnet18" in d.expected  # the bundled names are offered


def test_e000_folder(tmp_path: Path):
    d = only(archscope.analyze(tmp_path), "E000")
    assert "folder" in d.message and (d.span.line, d.span.col) == (1, 1)


# ---- one run, every independent error; no cascades ------------------------------------------


def test_one_run_reports_every_independent_error():
    text = net(
        "{op: conv2d, out: 4, kernel: 3, groups: 2}",  # E103
        "{op: conv2d, name: big, in: input, out: 4, kernel: 9}",  # E102
        "{op: linear, in: input, out: 4}",  # E106
        "{op: concat, in: [conv2d_1, big, linear_1]}",
    )  # inputs unknown: no error of its own
    analysis = analyze_text(text)
    assert [(d.code, d.span.line) for d in analysis.diagnostics] == [("E103", 3), ("E102", 4), ("E106", 5)]
    assert analysis.report is None


def test_structural_and_shape_errors_together():
    text = net("{op: conv2d, out: 4, kernel: 3, groups: 2}", "{op: relu, foo: 1}", "{op: sigmoid, in: nope}")
    assert sorted(codes(analyze_text(text))) == ["E003", "E008", "E103"]


def test_a_failing_shape_makes_downstream_unknown_without_more_errors():
    text = net(
        "{op: conv2d, out: 4, kernel: 9}",
        "relu",
        "{op: conv2d, out: 4, kernel: 3}",
        "flatten",
        "{op: linear, out: 10}",
        "{op: add, in: [linear_1, linear_1]}",
    )
    analysis = analyze_text(text)
    assert codes(analysis) == ["E102"]
    assert analysis.report is None
    assert [node.shape for node in analysis.graph.nodes] == [None] * 6


def test_downstream_of_an_unknown_op_is_not_reported():
    assert codes(analyze_text(net("{op: conv4d, out: 4, kernel: 3}", "{op: linear, out: 2}"))) == ["E006"]


def test_block_definition_error_is_reported_once_for_every_instance():
    text = (
        "input: [3, 8, 8]\nblocks:\n  b:\n    layers:\n      - {op: conv2d, out: 4, kernel: 3, groups: 2}\n"
        "layers:\n  - {op: b, name: x}\n  - {op: b, name: y, in: input}\n  - {op: b, name: z, in: input}\n"
        "  - {op: concat, in: [x, y, z]}\n"
    )
    d = only(analyze_text(text), "E103")
    assert (d.span.line, d.span.col) == where(text, "{op: conv2d")
    assert any("block `b` used at" in note for note in d.notes)


def test_error_inside_a_block_points_into_the_block_and_notes_the_use():
    text = BLOCK.replace("padding: 1", "padding: 0") + "  - {op: b, c: 4, n: 5}\n"  # 8 → 6 → 4 → 2 → 0
    d = only(analyze_text(text), "E102")
    assert (d.span.line, d.span.col) == where(text, "{op: conv2d")
    assert d.layer == "b_1.3.conv2d_1" and d.input_shape == "(4, 2, 2)"
    line, col = where(text, "{op: b")
    assert d.notes == (f"in `b_1.3` (block `b` used at t.yaml:{line}:{col})",)


def test_unused_output_is_not_reported_when_a_reference_dangles():
    # `b` was probably meant for `a`: "never used" would be noise next to the real error
    assert codes(analyze_text(net("{op: relu, name: a}", "{op: relu, in: b}"))) == ["E008"]


def test_no_w102_for_the_output_or_for_failed_layers():
    text = net("{op: relu, name: a}", "{op: sigmoid, name: b, in: input}", extra="output: b\n")
    assert codes(analyze_text(text)) == ["W102"]  # only `a`
    assert codes(analyze_text(net("{op: linear, name: a, out: 3}", "{op: relu, in: input}"))) == ["E106"]


# ---- warnings: W101 on AlexNet's conv1, not on ResNet's stem -------------------------------


def test_w101_alexnet_conv1_on_224_without_padding():
    analysis = analyze_text(net("{op: conv2d, name: conv1, out: 64, kernel: 11, stride: 4}", input="[3, 224, 224]"))
    assert analysis.ok  # a warning, not an error
    assert codes(analysis) == ["W101", "W101"]  # height and width
    assert layer(analysis, "conv1").output_shape == (64, (224 - 11) // 4 + 1, (224 - 11) // 4 + 1)


@pytest.mark.parametrize(
    "spec",
    [
        "{op: conv2d, out: 64, kernel: 7, stride: 2, padding: 3}",  # ResNet's stem: the lost column is padding
        "{op: conv2d, out: 64, kernel: 11, stride: 4, padding: 2}",  # torchvision AlexNet: likewise
        "{op: maxpool2d, kernel: 3, stride: 2, padding: 1}",  # ResNet's max pool
        "{op: maxpool2d, kernel: 2, stride: 2}",  # tiles exactly
        "{op: maxpool2d, kernel: 3, stride: 2, ceil_mode: true}",  # ceil mode keeps the last rows
    ],
)
def test_no_w101_when_no_real_row_is_lost(spec: str):
    assert codes(analyze_text(net(spec, input="[3, 224, 224]"))) == []


def test_no_w101_on_the_paper_alexnet_input():
    assert codes(analyze_text(net("{op: conv2d, out: 96, kernel: 11, stride: 4}", input="[3, 227, 227]"))) == []


def test_warnings_reach_the_report():
    analysis = analyze_text(net("{op: conv2d, out: 64, kernel: 11, stride: 4}", input="[3, 224, 224]"))
    assert [w.code for w in analysis.report.warnings] == ["W101", "W101"]


# ---- expect: --------------------------------------------------------------------------------


def test_expect_that_holds_is_silent():
    text = net(
        "{op: linear, out: 10}", input="[4]", extra="expect:\n  params: 50\n  macs: 40\n  buffers: 0\n  output: [10]\n"
    )
    assert analyze_text(text).diagnostics == []


def test_every_wrong_expectation_is_reported():
    text = net(
        "{op: linear, out: 10}", input="[4]", extra="expect:\n  params: 51\n  macs: 41\n  buffers: 1\n  output: [11]\n"
    )
    assert [(d.code, d.span.line) for d in analyze_text(text).diagnostics] == [("E201", line) for line in (5, 6, 7, 8)]
