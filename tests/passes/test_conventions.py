"""`--convention`, statically: every op declares what each tool counts, the totals and the tables
state their convention, and `archscope conventions` says what each tool counts (no torch here:
tests/passes/test_torch_conventions.py proves the counts equal each tool's own number)."""

from __future__ import annotations

import dataclasses
import json
import re

import pytest
from conftest import analyze_text, net
from typer.testing import CliRunner

import archscope
from archscope.cli.app import app
from archscope.ops import REGISTRY
from archscope.ops.registry import Counted, numel
from archscope.passes.conventions import BY_NAME, CONVENTIONS, NAMES, count

runner = CliRunner()
TOOLS = NAMES[1:]
RESNET50 = {
    "torchvision": 4_089_184_256,
    "fvcore": 4_111_512_576,
    "ptflops": 4_132_436_968,
    "thop": 4_133_742_592,
    "torchinfo": 4_089_238_376,
    "flop_counter": 8_178_368_512,
}


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_op_declares_what_each_tool_counts(name: str):
    counted = REGISTRY[name].counted
    assert isinstance(counted, Counted), f"`{name}` does not declare `counted` (what each peer tool counts)"
    assert [f.name for f in dataclasses.fields(counted)] == list(TOOLS)
    assert all(callable(getattr(counted, tool)) for tool in TOOLS)


def test_the_default_convention_is_the_macs():
    analysis = archscope.analyze("resnet18")
    assert count(analysis.graph, "torchvision").total == analysis.report.totals.macs


def test_summary_json_states_the_convention_and_sums_its_layers():
    result = runner.invoke(app, ["summary", "mobilenet_v3_large", "--convention", "ptflops", "-f", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["counted"]["name"] == "ptflops" and data["counted"]["unit"] == "MACs"
    assert "ptflops" in data["convention"] and "--convention ptflops" in data["convention"]
    assert data["counted"]["total"] == int(sum(layer["counted"] for layer in data["layers"]))
    assert data["counted"]["total"] != data["totals"]["macs"]  # BN, hardswish, pools… are counted
    plain = json.loads(runner.invoke(app, ["summary", "mobilenet_v3_large", "-f", "json"]).output)
    assert "counted" not in plain and "counted" not in plain["layers"][0]
    assert plain["totals"] == data["totals"]  # archscope's own numbers stay


@pytest.mark.parametrize("fmt", ["csv", "markdown", "table"])
def test_every_format_states_the_convention(fmt: str):
    result = runner.invoke(app, ["summary", "resnet50", "--convention", "thop", "-f", fmt, "--exact"])
    assert result.exit_code == 0, result.output
    assert "thop 0.1.1 counts them" in " ".join(result.output.split())
    if fmt == "csv":  # rows only: the layers' counts add up to the total
        import csv
        import io

        rows = list(csv.DictReader(line for line in io.StringIO(result.output) if not line.startswith("#")))
        assert sum(int(r["counted"]) for r in rows) == RESNET50["thop"]
    else:
        assert "4,133,742,592" in result.output


def test_flop_counter_counts_flops():
    result = runner.invoke(app, ["summary", "resnet50", "--convention", "flop_counter", "--exact"])
    assert result.exit_code == 0, result.output
    assert "FLOPs (flop_counter)" in result.output and "8,178,368,512" in result.output


def test_compare_counts_every_network_so():
    result = runner.invoke(app, ["compare", "resnet50", "resnet18", "--convention", "torchinfo", "-f", "json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert rows[0]["counted"] == RESNET50["torchinfo"] and rows[0]["macs"] == RESNET50["torchvision"]
    assert rows[1]["counted"] == count(archscope.analyze("resnet18").graph, "torchinfo").total
    assert rows[1]["counted_ratio"] == pytest.approx(rows[1]["counted"] / rows[0]["counted"])
    assert all("torchinfo 1.8.0" in r["convention"] for r in rows)
    table = runner.invoke(app, ["compare", "resnet50", "resnet18", "--convention", "torchinfo"]).output
    assert "MACs (torchinfo)" in table


def test_train_counts_only_in_archscopes_convention():
    result = runner.invoke(app, ["summary", "resnet18", "--train", "--convention", "thop"])
    assert result.exit_code == 2 and "--convention" in result.output


def test_an_unknown_convention_is_a_usage_error():
    result = runner.invoke(app, ["summary", "resnet18", "--convention", "flops"])
    assert result.exit_code == 2


def test_conventions_command_gives_each_total():
    result = runner.invoke(app, ["conventions", "-f", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["spec"] == "resnet50"
    assert {c["name"]: c["total"] for c in data["conventions"]} == RESNET50
    assert [c["unit"] for c in data["conventions"]] == ["MACs"] * 5 + ["FLOPs"]
    table = runner.invoke(app, ["conventions"]).output
    assert "4,133,742,592" in table and "batch norm" in table
    lenet = json.loads(runner.invoke(app, ["conventions", "--spec", "lenet5", "-f", "json"]).output)
    assert lenet["conventions"][0]["total"] == archscope.analyze("lenet5").report.totals.macs
    bad = runner.invoke(app, ["conventions", "--spec", "no_such_net"])
    assert bad.exit_code == 2 and "E000" in bad.output  # as `summary no_such_net`


def _per_element(words: str) -> int | None:
    """The leading per-element number of a table cell (`2/element …`), 0 for `no…`, else None."""
    if words.startswith("no"):
        return 0
    m = re.match(r"(\d+)/element", words)
    return int(m.group(1)) if m else None


PROBES = {  # table row → a one-layer network whose count per output element that row states
    "batch_norm": ("{op: batchnorm2d}", 0),
    "merges": ("{op: add, in: [input, input]}", 0),
    "bias": ("{op: conv2d, out: 4, kernel: 1}", "{op: conv2d, out: 4, kernel: 1, bias: false}"),
}


@pytest.mark.parametrize("row", sorted(PROBES))
@pytest.mark.parametrize("convention", NAMES)
def test_the_table_says_what_the_rules_count(row: str, convention: str):
    """The words of `archscope conventions` against the declared rules, on probe layers."""
    stated = _per_element(getattr(BY_NAME[convention], row))
    if stated is None:
        pytest.skip(f"`{getattr(BY_NAME[convention], row)}` states no per-element number")
    layer, minus = PROBES[row]
    analysis = analyze_text(net(layer, input="[4, 6, 6]"))
    total = count(analysis.graph, convention).total
    if row == "bias":
        total -= count(analyze_text(net(minus, input="[4, 6, 6]")).graph, convention).total
    elif convention == "torchvision":
        total -= analysis.report.totals.macs
    assert total == stated * numel(analysis.report.output_shape)


def test_one_convention_per_tool():
    assert [c.name for c in CONVENTIONS] == ["torchvision", *(f.name for f in dataclasses.fields(Counted))]
    assert all(c.statement() for c in CONVENTIONS[1:]) and CONVENTIONS[0].statement() == ""
