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
