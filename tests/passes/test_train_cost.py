"""`summary --train` and the training pass: which gradients a layer pays, from `freeze`, and the
CLI's table, JSON and errors. Static (no torch): tests/passes/test_torch_train_macs.py proves the numbers
against PyTorch's counter."""

from __future__ import annotations

import json

from conftest import analyze_text, net

import archscope

RESNET50_MACS = 4_089_184_256
CONV1_MACS = 118_013_952  # resnet50's stem conv: its input (the image) needs no gradient


def training(source: str, **freezing):
    analysis = archscope.analyze(source, **freezing)
    assert analysis.ok and analysis.report is not None
    return analysis.report.training


def test_every_layer_trains():
    t = training("resnet50")
    assert t.forward_macs == RESNET50_MACS
    assert t.backward_weight_macs == RESNET50_MACS  # every conv and linear trains
    assert t.backward_input_macs == RESNET50_MACS - CONV1_MACS
    assert t.layers["conv1"].backward_input_macs == 0


def test_only_the_head_trains():
    t = training("resnet50", freeze=["*"], unfreeze=["fc"])
    assert (t.backward_input_macs, t.backward_weight_macs) == (0, 2048 * 1000)


def test_a_frozen_layer_after_a_trainable_one_passes_the_gradient_on():
    t = training("resnet50", freeze=["layer4*"])
    conv = t.layers["layer4.0.conv1"]
    assert conv.backward_weight_macs == 0 and conv.backward_input_macs == conv.forward_macs


def test_a_trainable_norm_makes_the_convs_after_it_need_input_gradients():
    text = net(
        "{op: conv2d, name: a, out: 4, kernel: 3, padding: 1, bias: false}",
        "{op: batchnorm2d, name: bn}",
        "{op: conv2d, name: b, out: 4, kernel: 3, padding: 1}",
        extra="freeze: [a, b]\n",
    )
    t = analyze_text(text).report.training
    assert t.layers["a"].backward_macs == 0  # frozen, with nothing trainable upstream
    assert t.layers["b"].backward_input_macs == t.layers["b"].forward_macs  # bn trains upstream
    assert t.layers["b"].backward_weight_macs == 0


def test_json_always_carries_the_training_totals(cli):
    plain = json.loads(cli("summary", "resnet50", "--format", "json").stdout)
    train = json.loads(cli("summary", "resnet50", "--train", "--format", "json").stdout)
    assert plain == train  # one shape, with or without --train
    totals = plain["totals"]
    assert totals["forward_macs"] == totals["macs"] == RESNET50_MACS
    assert totals["backward_macs"] == 2 * RESNET50_MACS - CONV1_MACS
    assert sum(r["backward_input_macs"] + r["backward_weight_macs"] for r in plain["layers"]) == totals["backward_macs"]


def test_the_table_shows_the_backward_columns_and_totals(cli):
    out = cli("summary", "resnet50", "--train", "--depth", "1").stdout
    assert "∂input MACs" in out and "∂weight MACs" in out
    assert f"{2 * RESNET50_MACS - CONV1_MACS:,}" in out and f"{3 * RESNET50_MACS - CONV1_MACS:,}" in out
    frozen = cli("summary", "resnet50", "--train", "--freeze", "*", "--unfreeze", "fc").stdout
    assert "frozen 23,508,032" in frozen and f"{RESNET50_MACS + 2_048_000:,}" in frozen


def test_without_train_the_table_is_unchanged(cli):
    assert "∂input" not in cli("summary", "resnet50").stdout


def test_train_with_nothing_to_train_is_a_usage_error(cli):
    result = cli("summary", "resnet18", "--train", "--freeze", "*")
    assert result.exit_code == 2
    assert "no layer of the network trains" in result.stderr and "Traceback" not in result.output


def test_train_of_a_network_without_parameters_is_a_usage_error(cli, sandbox):
    path = sandbox.file("pool.yaml", net("{op: maxpool2d, kernel: 2}", "flatten"))
    result = cli("summary", str(path), "--train")
    assert result.exit_code == 2 and "no layer of the network trains" in result.stderr


def test_train_of_a_broken_spec_reports_its_errors(cli, sandbox):
    path = sandbox.file("bad.yaml", net("{op: conv2d, out: 4, kernel: 9}"))
    result = cli("summary", str(path), "--train")
    assert result.exit_code == 1 and "E10" in result.output
