"""Hostile specs against `export --to pytorch` (issue 20, items 10, 11 and 18).

A name may not end in a newline (``NAME_RE`` with ``$`` let one through). Every file `export`
writes imports, and its network, given `build()`'s weights, gives `build()`'s outputs: for layer
names that are builtins, keywords or the file's own names (``getattr``, ``self``, ``torch``,
``Block``, ``__foo``, which Python mangles inside a class), attribute values that are not
finite, and titles that are the names of the file's classes or carry unprintable characters.
`build()` itself must survive the same names (fx wrote `def forward(self, def)` and
`self = self.self(x)`). The property test draws such specs with hypothesis (fixed seed), writes
each through the CLI, imports the file from its path and runs it. Batch norm's ``eps`` must be
above 0 (torch refuses 0 in training), and a finite float attribute must fit a float32 (torch
refuses to convert 1e39); the static tests here need no torch.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import analyze_text, net, only, where

# ---- item 10: a name may not end in a newline --------------------------------------------------


@pytest.mark.parametrize(
    "text, needle",
    [
        (net('{op: conv2d, name: "a\\n", out: 4, kernel: 3}'), '"a\\n"'),
        (net('{op: "relu\\n"}'), '"relu\\n"'),
        ('input: [3, 8, 8]\nblocks:\n  "b\\n": {layers: [relu]}\nlayers:\n  - relu\n', '"b\\n"'),
        ('inputs: {a: [3, 8, 8], "x\\n": [3, 8, 8]}\nlayers:\n  - {op: relu, in: a}\n', '"x\\n"'),
        (net("relu", extra='params: {"k\\n": 3}\n'), '"k\\n"'),
    ],
    ids=["layer", "op", "block", "input", "param"],
)
def test_a_name_ending_in_a_newline_is_refused_where_it_is(text: str, needle: str):
    d = only(analyze_text(text), "E004")
    assert (d.span.line, d.span.col) == where(text, needle)
    assert "\\n" in d.message and "\n" not in d.message  # shown as an escape: one line in a CI log


def test_lint_and_verify_refuse_a_name_with_a_newline(cli, tmp_path: Path):
    spec = tmp_path / "nl.yaml"
    spec.write_text(net('{op: conv2d, name: "a\\n", out: 4, kernel: 3}', "relu"))
    for command in ("lint", "verify", "export"):  # verify and export exited 3 (fx's IndentationError)
        result = cli(
            command, str(spec), *(["--to", "onnx", "-o", str(tmp_path / "a.onnx")] if command == "export" else [])
        )
        assert result.exit_code == 1, (command, result.output)
        assert "nl.yaml:3:24: error E004 a layer name `a\\n` is not a valid name" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["nl.yaml"]


# ---- item 18: batch norm's eps ------------------------------------------------------------------


@pytest.mark.parametrize("op", ["batchnorm1d", "batchnorm2d", "batchnorm3d"])
def test_batch_norm_eps_of_zero_is_refused(op: str):
    shape = {"batchnorm1d": "[3, 8]", "batchnorm2d": "[3, 8, 8]", "batchnorm3d": "[3, 4, 4, 4]"}[op]
    text = net(f"{{op: {op}, eps: 0}}", input=shape)
    d = only(analyze_text(text), "E004")
    assert (d.span.line, d.span.col) == where(text, "0}")
    assert d.message == f"`eps` of `{op}` must be a number in (0.0, inf]"
    assert (d.expected, d.found) == ("a number in (0.0, inf]", "0")
    assert not analyze_text(net(f"{{op: {op}, eps: 1.0e-300}}", input=shape)).errors


@pytest.mark.parametrize(
    "layer", ["{op: elu, alpha: 1.0e+39}", "{op: leaky_relu, negative_slope: 1.0e+300}", "{op: prelu, init: 1.0e+39}"]
)
def test_a_finite_float_beyond_float32_is_refused(layer: str):
    """torch raises "value cannot be converted to type float without overflow" in the forward."""
    text = net(layer)
    d = only(analyze_text(text), "E004")
    assert (d.span.line, d.span.col) == where(text, "1.0e+")
    assert d.expected == "a number of at most 3.4e38 in size, or infinite (torch keeps it as a float32)"
    assert not analyze_text(net(layer.replace("1.0e+39", "3.4e+38").replace("1.0e+300", ".inf"))).errors


def test_eps_of_zero_stays_valid_where_torch_accepts_it():
    """Layer, group and instance norm take eps = 0 in training (torch 2.13)."""
    for layer in ("{op: layer_norm, over: channels, eps: 0}", "{op: group_norm, groups: 3, eps: 0}"):
        assert not analyze_text(net(layer)).errors, layer
    assert not analyze_text(net("{op: instance_norm, eps: 0}")).errors
