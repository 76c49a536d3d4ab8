"""Overrides from the command line: `--resolution`, `--input`, `--set` on summary, compare,
verify and bench; shown in the header and the JSON; malformed options exit 2, unknown keys 1."""

from __future__ import annotations

import json

import pytest

import archscope
from archscope.cli.overrides import overrides_from
from archscope.overrides import Overrides


def test_options_parse_to_overrides():
    given = overrides_from("288", None, ["num_classes=10", "stages=[1,1,1,1]", "act=relu", "flag=true"])
    assert given == Overrides(
        resolution=288, params={"num_classes": 10, "stages": [1, 1, 1, 1], "act": "relu", "flag": True}
    )
    assert overrides_from("160,128", "3,64,64", None) == Overrides(resolution=(160, 128), input=(3, 64, 64))
    assert str(given) == "resolution 288, num_classes=10, stages=[1, 1, 1, 1], act=relu, flag=True"


def test_summary_resolution(cli):
    r = cli("summary", "efficientnet_b2", "--resolution", "260", "--exact")
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    assert lines[2:4] == ["overrides: resolution 260", "input 3×260×260, output 1000"]
    assert "9,109,994" in r.stdout and "993,561,872" in r.stdout  # the paper's 260 (its own 288: 1,087,529,456)


def test_summary_set_and_json(cli):
    r = cli("summary", "resnet50", "--set", "num_classes=10", "-f", "json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["overrides"] == {"params": {"num_classes": 10}}
    assert doc["totals"]["params"] == 23_528_522 and doc["totals"]["macs"] == 4_087_156_736
    plain = json.loads(cli("summary", "resnet50", "-f", "json").stdout)
    assert "overrides" not in plain  # nothing overridden: the document is as before


def test_summary_input_and_lists(cli):
    r = cli("summary", "resnet50", "--input", "3,64,64", "--set", "stages=[1,1,1,1]", "-f", "json")
    doc = json.loads(r.stdout)
    assert doc["overrides"] == {"input": [3, 64, 64], "params": {"stages": [1, 1, 1, 1]}}
    assert doc["input"] == [3, 64, 64]
    assert archscope.analyze("resnet50", overrides=Overrides(input=(3, 64, 64))).report.totals.macs == 335_691_776


def test_an_unknown_key_is_e003_with_a_suggestion(cli):
    r = cli("summary", "resnet50", "--set", "num_clases=10")
    assert r.exit_code == 1
    assert "E003 cannot override `params.num_clases`: the spec has no such parameter; did you mean `num_classes`?" in (
        r.stderr
    )


@pytest.mark.parametrize(
    "args,message",
    [
        (("--set", "x"), "`x` is not KEY=VALUE"),
        (("--set", "a={b: 1}"), "a value is a scalar or a list"),
        (("--set", "a=[1"), "the value is not YAML"),
        (("-r", "0"), "sizes are positive integers"),
        (("--input", "3,a"), "`3,a` is not a comma-separated list of sizes"),
    ],
)
def test_malformed_options_are_usage_errors(cli, args, message):
    r = cli("summary", "resnet50", *args)
    assert r.exit_code == 2
    assert message in " ".join(r.output.split()).replace("│ │", "")


def test_compare_applies_the_overrides_to_every_network(cli):
    r = cli("compare", "resnet18", "resnet50", "-r", "160,128", "-f", "json")
    assert r.exit_code == 0, r.output
    assert "overrides: resolution 160×128" in cli("compare", "resnet18", "resnet50", "-r", "160,128").stdout
    assert [row["input"] for row in json.loads(r.stdout)] == [[3, 160, 128], [3, 160, 128]]


def test_the_commands_that_read_a_spec_have_the_options_and_lint_does_not(cli):
    for command in ("summary", "compare", "verify", "bench"):
        text = cli(command, "--help").stdout
        assert "--resolution" in text and "--input" in text and "--set" in text, command
    lint_help = cli("lint", "--help").stdout
    assert "KEY=VALUE" not in lint_help and "C,H,W" not in lint_help
    assert "lint takes no overrides" in " ".join(lint_help.split())


def test_verify_with_overrides(cli, tmp_path):
    pytest.importorskip("torch")
    pytest.importorskip("fvcore")
    spec = tmp_path / "s.yaml"
    spec.write_text(
        "input: [3, 8, 8]\nparams: {c: 4}\nlayers:\n  - {op: conv2d, out: c, kernel: 3, padding: 1}\n"
        "  - global_avgpool\n  - flatten\n  - {op: linear, out: 10}\n"
    )
    r = cli("verify", str(spec), "--set", "c=6", "-r", "12", "-f", "json")
    assert r.exit_code == 0, r.output
    (report,) = json.loads(r.stdout)
    # c = 6 on 12×12: conv 3·6·9 + 6 = 168 params, 162·144 = 23,328 MACs; linear 6·10 + 10 = 70, 60 MACs
    assert report["input"] == [3, 12, 12] and report["ok"]
    assert report["totals"]["params"] == {"static": 238, "module": 238}
    assert report["totals"]["macs"] == {"static": 23_388, "fvcore": 23_388}
