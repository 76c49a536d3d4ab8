"""`archscope memory`: the static model's invariants and the command's behaviour on bad input.

The numbers themselves are proven against PyTorch's MemTracker in ``test_torch_memory.py``;
here, what must hold whatever the network: how the peak scales with the batch and the dtype,
what freezing and the optimizer add, and that bad input gets a message, never a traceback.
"""

from __future__ import annotations

import json

import pytest
from conftest import analyze_text, net
from hypothesis import given, settings
from hypothesis import strategies as st

import archscope
from archscope.passes.memory import MemoryOptions, memory


@pytest.fixture(scope="module")
def resnet18():
    return archscope.analyze("resnet18")


@settings(max_examples=25, deadline=None)
@given(batch=st.integers(1, 64), name=st.sampled_from(["lenet5", "resnet18", "mobilenet_v2", "squeezenet1_1"]))
def test_inference_activations_scale_with_the_batch_and_weights_do_not(batch, name):
    graph = archscope.analyze(name).graph
    one, many = memory(graph, MemoryOptions(batch=1)), memory(graph, MemoryOptions(batch=batch))
    assert many.weights_bytes == one.weights_bytes
    assert many.activations_bytes == batch * one.activations_bytes
    assert many.input_bytes == batch * one.input_bytes
    assert many.peak_bytes - many.weights_bytes == batch * (one.peak_bytes - one.weights_bytes)
    assert many.peak.gradients == many.peak.optimizer == 0  # inference


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_precision_halves_every_float(resnet18, dtype):
    full = memory(resnet18.graph, MemoryOptions(batch=8, train=True, optimizer="adam"))
    half = memory(resnet18.graph, MemoryOptions(batch=8, train=True, optimizer="adam", dtype=dtype))
    # resnet18 has no int64 tensor (its max pooling keeps int64 switches: 8 bytes whatever the dtype)
    assert 2 * half.weights_bytes == full.weights_bytes
    assert 2 * half.gradients_bytes == full.gradients_bytes
    assert 2 * half.optimizer_bytes == full.optimizer_bytes


@pytest.mark.parametrize(("optimizer", "states"), [("sgd", 0), ("momentum", 1), ("adam", 2), ("adamw", 2)])
def test_optimizer_state_is_a_multiple_of_the_trainable_parameters(resnet18, optimizer, states):
    m = memory(resnet18.graph, MemoryOptions(train=True, optimizer=optimizer))
    params = resnet18.report.totals.params
    assert m.gradients_bytes == params * 4
    assert m.optimizer_bytes == states * params * 4


def test_a_frozen_backbone_keeps_nothing_for_backward_but_the_head_input():
    head_only = archscope.analyze("resnet18", freeze=["*"], unfreeze=["fc"])
    m = memory(head_only.graph, MemoryOptions(batch=4, train=True, optimizer="adam"))
    fc = next(row for row in head_only.report.layers if row.name == "fc")
    assert m.gradients_bytes == fc.params * 4 and m.optimizer_bytes == 2 * fc.params * 4
    # only fc records a backward: it keeps its input (512 features × batch 4); nothing else
    assert [(layer.name, layer.saved_bytes) for layer in m.layers if layer.saved_bytes] == [("fc", 512 * 4 * 4)]
    assert m.activations_bytes == m.input_bytes + 512 * 4 * 4 + 1000 * 4 * 4  # the batch, fc's input, the output


def test_training_keeps_more_than_inference_and_the_peak_says_where(resnet18):
    infer = memory(resnet18.graph, MemoryOptions(batch=8))
    train = memory(resnet18.graph, MemoryOptions(batch=8, train=True))
    assert train.peak_bytes > infer.peak_bytes
    assert (infer.peak_phase, infer.peak_layer) == ("forward", "bn1")  # the stem's conv and BN outputs
    assert train.peak_phase == "backward" and train.peak_layer.startswith("layer")


def test_views_and_in_place_layers_allocate_nothing():
    a = analyze_text(net("{op: conv2d, out: 4, kernel: 1}", "relu", "flatten", "{op: linear, out: 2}"))
    rows = {layer.op: layer.output_bytes for layer in memory(a.graph, MemoryOptions()).layers}
    assert rows == {"conv2d": 4 * 8 * 8 * 4, "relu": 0, "flatten": 0, "linear": 2 * 4}


def test_attention_keeps_its_log_sum_exp_beside_its_tensors():
    """The fused kernels keep one float per query row and head (``Saves.values``), no multiple of
    the output: attention on (2, 16, 8) keeps q, k, v, its output (4 × 2·16·8) and 2·16 log-sum-exps;
    multi-head attention on (16, 8) with 2 heads keeps its input and five (16, 8) tensors of its own
    and 2·16 log-sum-exps."""
    a = analyze_text(
        net(
            "{op: conv2d, name: q, out: 2, kernel: 1}",
            "{op: conv2d, name: k, in: input, out: 2, kernel: 1}",
            "{op: conv2d, name: v, in: input, out: 2, kernel: 1}",
            "{op: scaled_dot_product_attention, name: t, in: [q, k, v]}",
            input="[3, 16, 8]",
        )
    )
    rows = {layer.name: layer.saved_bytes for layer in memory(a.graph, MemoryOptions(batch=3, train=True)).layers}
    assert rows["t"] == 3 * (4 * 2 * 16 * 8 + 2 * 16) * 4
    b = analyze_text(net("{op: linear, out: 8}", "{op: multihead_attention, name: t, heads: 2}", input="[16, 8]"))
    rows = {layer.name: layer.saved_bytes for layer in memory(b.graph, MemoryOptions(batch=3, train=True)).layers}
    assert rows["t"] == 3 * (6 * 16 * 8 + 2 * 16) * 4


def test_json_has_the_totals_and_every_layer(cli):
    out = cli("memory", "resnet50", "--train", "--optimizer", "adam", "--batch", "64", "--format", "json")
    assert out.exit_code == 0
    data = json.loads(out.stdout)
    for key in ("peak_bytes", "weights_bytes", "gradients_bytes", "optimizer_bytes", "activations_bytes"):
        assert isinstance(data[key], int) and data[key] > 0
    assert data["batch"] == 64 and data["optimizer"] == "adam" and data["convention"]
    assert len(data["layers"]) == len(archscope.analyze("resnet50").report.layers)
    assert max(layer["backward_live_bytes"] or 0 for layer in data["layers"]) <= data["peak_bytes"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--batch", "0"], "--batch"),
        (["--batch", "-3"], "--batch"),
        (["--train", "--optimizer", "adagrad"], "'adagrad' is not one of"),
        (["--dtype", "float64"], "'float64' is not one of"),
        (["--optimizer", "adam"], "`--optimizer` needs `--train`"),
    ],
)
def test_bad_options_are_usage_errors(cli, args, message):
    out = cli("memory", "lenet5", *args)
    assert out.exit_code == 2 and message in out.output


def test_a_freeze_pattern_that_matches_nothing_warns_with_a_suggestion(cli):
    out = cli("memory", "resnet18", "--train", "--freeze", "layer5", "--format", "json")
    assert out.exit_code == 0 and "W103" in out.stderr and "layer" in out.stderr


def test_a_spec_with_errors_prints_its_diagnostics(cli, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(net("{op: conv2d, out: 4, kernel: 9}"))
    out = cli("memory", str(bad))
    assert out.exit_code == 1 and "E102" in out.stderr
