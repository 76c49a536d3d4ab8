"""The pipeline, one direction: text → located spec → graph (with overrides) → passes → report.

Overrides (``resolution``, ``params``) are inputs to elaboration; the ``expect:`` check is a
pass of its own that checks each key whose computed value is known.
"""

from __future__ import annotations

import dataclasses

import pytest
from conftest import analyze_text, codes, net, only, where

import archscope
from archscope.diagnostics import Collector
from archscope.elaborate import elaborate
from archscope.lang.loader import load_spec_text
from archscope.overrides import Overrides
from archscope.passes import PASSES, run_passes
from archscope.passes.expect import ExpectResult

RESNET50_PARAMS = 25_557_032
FC_PARAMS = 2048 * 1000 + 1000


# ---- expect: checks what is known --------------------------------------------------------


def _expect_result(text: str) -> ExpectResult:
    diags = Collector()
    graph = elaborate(load_spec_text(text, "t.yaml"), Overrides(), diags)
    return run_passes(graph, diags)["expect"]


def test_a_malformed_expect_value_is_reported_even_when_layers_fail():
    text = net("{op: conv2d, out: 4, kernel: 9}", extra="expect: {params: many, output: [0.5]}\n")
    analysis = analyze_text(text)
    assert [(d.code, d.span.line, d.span.col) for d in analysis.diagnostics] == [
        ("E102", 3, 5),
        ("E004", *where(text, "many")),
        ("E004", *where(text, "[0.5]")),
    ]
    assert [d.message for d in analysis.diagnostics[1:]] == [
        "`expect.params` must be a whole number such as 11_689_512",
        "`expect.output` must be a list of sizes such as [1000]",
    ]


def test_output_is_checked_when_the_output_has_a_shape_though_another_layer_fails():
    text = net(
        "{op: linear, name: head, out: 10}",
        "{op: relu, name: side, in: nowhere}",  # E008: a side branch, not on the way to the output
        input="[4]",
        extra="output: head\nexpect: {params: 7, output: [11]}\n",
    )
    analysis = analyze_text(text)
    assert [(d.code, d.span.line) for d in analysis.diagnostics] == [("E008", 4), ("E201", where(text, "[11]")[0])]
    d = analysis.diagnostics[1]
    assert d.message == "expected output [11], computed [10]"  # params (7 ≠ 50) is not compared:
    assert analysis.report is None  # with a failed layer, the totals are unknown
    assert _expect_result(text) == ExpectResult(checked=("output",), unknown=("params",))


def test_nothing_is_compared_when_the_output_layer_failed():
    text = net("{op: linear, out: 10}", input="[3, 8, 8]", extra="expect: {params: 1, macs: 2, output: [3]}\n")
    assert codes(analyze_text(text)) == ["E106"]
    assert _expect_result(text) == ExpectResult(unknown=("params", "macs", "output"))


def test_everything_is_compared_on_a_clean_graph():
    text = net("{op: linear, out: 10}", input="[4]", extra="expect: {params: 50, macs: 40, buffers: 0, output: [10]}\n")
    assert codes(analyze_text(text)) == []
    assert _expect_result(text) == ExpectResult(checked=("params", "macs", "buffers", "output"))


def test_expect_written_as_an_expression_string_is_read_as_a_number():
    text = net("{op: linear, out: 10}", input="[4]", extra="expect: {params: '5 * 10', macs: '40_0'}\n")
    d = only(analyze_text(text), "E201")
    assert d.message == "expected macs 400, computed 40"


# ---- resolution= -------------------------------------------------------------------------


def test_resolution_changes_the_input_and_skips_expect():
    text = net("{op: conv2d, out: 4, kernel: 3}", extra="expect: {output: [4, 6, 6], params: oops}\n")
    analysis = archscope.analyze("t.yaml", text=text, resolution=16)
    assert analysis.diagnostics == []  # neither the (now wrong) output nor the malformed params
    assert analysis.report.input == (3, 16, 16) and analysis.report.output_shape == (4, 14, 14)
    assert analysis.overrides == Overrides(resolution=16)


def test_resolution_as_a_list_or_a_tuple_or_per_dimension():
    text = net("relu")
    for res in ([5, 7], (5, 7)):
        assert archscope.analyze("t.yaml", text=text, resolution=res).report.input == (3, 5, 7)


VIDEO = net(
    "{op: conv3d, name: stem, out: 4, kernel: [3, 7, 7], stride: [1, 2, 2], padding: [1, 3, 3]}",
    "global_avgpool",
    input="[3, 16, 112, 112]",
)


def test_an_integer_resolution_of_a_video_input_is_its_height_and_width():
    """`--resolution 56` on (C, T, H, W) = (3, 16, 112, 112) keeps the 16 frames (it made 3×56×56×56)."""
    analysis = archscope.analyze("t.yaml", text=VIDEO, resolution=56)
    assert analysis.report.input == (3, 16, 56, 56)
    stem = next(row for row in analysis.report.layers if row.name == "stem")
    assert stem.output_shape == (4, 16, 28, 28)
    assert stem.macs == 4 * 16 * 28 * 28 * 3 * 3 * 7 * 7
    scaled = VIDEO.replace("input: [3, 16, 112, 112]\n", "input: [3, 16, 112, 112]\nscale: {resolution: 56}\n")
    assert analyze_text(scaled).report.input == (3, 16, 56, 56)  # the spec's own `scale.resolution` alike


def test_a_list_resolution_of_a_video_input_names_t_h_w_or_h_w():
    assert archscope.analyze("t.yaml", text=VIDEO, resolution=[8, 56, 48]).report.input == (3, 8, 56, 48)
    assert archscope.analyze("t.yaml", text=VIDEO, resolution=[56, 48]).report.input == (3, 16, 56, 48)
    d = only(archscope.analyze("t.yaml", text=VIDEO, resolution=[1, 8, 56, 48]), "E004")
    assert (d.expected, d.found) == ("3 sizes or 2", "[1, 8, 56, 48]")


def test_an_integer_resolution_of_a_1d_input_is_its_length():
    text = net("{op: conv1d, out: 4, kernel: 3}", input="[2, 100]")
    assert archscope.analyze("t.yaml", text=text, resolution=64).report.input == (2, 64)


def test_the_spec_own_resolution_is_not_read_when_overridden():
    text = "input: [3, 8, 8]\nscale: {resolution: 'nope'}\nlayers: [relu]\n"
    assert codes(analyze_text(text)) == ["E010"]
    assert archscope.analyze("t.yaml", text=text, resolution=4).report.input == (3, 4, 4)


def test_a_bad_resolution_override_points_at_scale_resolution_or_at_the_spec():
    text = "input: [3, 8, 8]\nscale: {resolution: 8}\nlayers: [relu]\n"
    d = only(archscope.analyze("t.yaml", text=text, resolution=[4]), "E004")
    assert (d.span.line, d.span.col) == where(text, "resolution")
    assert d.message == "`scale.resolution` must be an integer or one per spatial dimension"
    assert (d.expected, d.found) == ("2 sizes", "[4]")
    d = only(archscope.analyze("t.yaml", text=net("relu"), resolution=[4, 4, 4]), "E004")
    assert (d.span.line, d.span.col) == (1, 1)


def test_the_spec_own_bad_resolution_points_at_its_value():
    text = "input: [3, 8, 8]\nscale: {resolution: [4]}\nlayers: [relu]\n"
    d = only(analyze_text(text), "E004")
    assert (d.span.line, d.span.col) == where(text, "[4]")


# ---- params= ----------------------------------------------------------------------------


def test_params_override_changes_the_network_and_skips_expect():
    analysis = archscope.analyze("resnet50", params={"num_classes": 10})
    assert analysis.diagnostics == []  # the spec's expect: (1000 classes) is not checked
    assert analysis.report.output_shape == (10,)
    assert analysis.report.totals.params == RESNET50_PARAMS - FC_PARAMS + 2048 * 10 + 10
    assert archscope.analyze("resnet50").report.totals.params == RESNET50_PARAMS  # nothing leaks


def test_later_params_see_the_overridden_value():
    text = "input: [4]\nparams: {c: 8, d: 'c * 2'}\nlayers:\n  - {op: linear, out: d}\n"
    assert analyze_text(text).report.output_shape == (16,)
    assert archscope.analyze("t.yaml", text=text, params={"c": 3}).report.output_shape == (6,)
    assert archscope.analyze("t.yaml", text=text, params={"d": 5}).report.output_shape == (5,)


def test_an_override_is_a_value_not_an_expression():
    text = "input: [4]\nparams: {n: 2}\nlayers:\n  - {op: linear, out: n}\n"
    d = only(archscope.analyze("t.yaml", text=text, params={"n": "2 * 3"}), "E004")
    assert (d.span.line, d.span.col) == where(text, "n}")  # reported where the value is used
    assert d.found == "'2 * 3'"  # the string itself reached `out`: it was not evaluated
    d = only(archscope.analyze("t.yaml", text=text, params={"n": (1, 2)}), "E004")
    assert d.found == "[1, 2]"  # a tuple is a list, as in YAML


def test_an_unknown_param_is_located_at_params_with_a_suggestion():
    text = "input: [4]\nparams:\n  num_classes: 10\nlayers:\n  - {op: linear, out: num_classes}\n"
    d = only(archscope.analyze("t.yaml", text=text, params={"num_clases": 3}), "E003")
    assert (d.span.line, d.span.col) == where(text, "params")
    assert (
        d.message == "cannot override `params.num_clases`: the spec has no such parameter; did you mean `num_classes`?"
    )
    assert (d.expected, d.found) == ("`num_classes`", "num_clases")


def test_an_unknown_param_of_a_spec_without_params():
    d = only(archscope.analyze("t.yaml", text=net("relu"), params={"x": 1}), "E003")
    assert (d.span.line, d.span.col) == (1, 1)
    assert d.expected == "none: the spec has no `params:`"


def test_an_override_value_of_the_wrong_type():
    text = "input: [4]\nparams: {c: 8}\nlayers:\n  - {op: linear, out: c}\n"
    d = only(archscope.analyze("t.yaml", text=text, params={"c": {"a": 1}}), "E004")
    assert d.message == "the override of `params.c` must be a number, string, boolean or list"
    assert (d.span.line, d.span.col) == where(text, "params")


def test_overrides_are_frozen_and_combine():
    given = Overrides(resolution=[8, 8], params={"c": 1})
    assert given.resolution == (8, 8)
    with pytest.raises(dataclasses.FrozenInstanceError):
        given.resolution = 4  # type: ignore[misc]
    with pytest.raises(TypeError):
        given.params["c"] = 2  # type: ignore[index]
    text = "input: [3, 4, 4]\nparams: {c: 8}\nlayers:\n  - {op: conv2d, out: c, kernel: 1}\n"
    analysis = archscope.analyze("t.yaml", text=text, overrides=given)
    assert analysis.report.output_shape == (1, 8, 8)
    assert archscope.analyze("t.yaml", text=text, overrides=given, params={"c": 2}).report.output_shape == (2, 8, 8)
    assert not Overrides().changes_network and given.changes_network


# ---- passes ------------------------------------------------------------------------------


def test_passes_run_in_order_and_return_frozen_results():
    assert [p.name for p in PASSES] == ["costs", "training", "expect", "receptive_field", "memory", "conventions"]
    diags = Collector()
    graph = elaborate(load_spec_text(net("{op: linear, out: 2}", input="[3]"), "t.yaml"), Overrides(), diags)
    results = run_passes(graph, diags)
    assert list(results) == ["costs", "training", "expect", "receptive_field"]
    assert results["costs"].params == 8 and results["expect"] == ExpectResult()
    for result in results.values():
        assert dataclasses.is_dataclass(result) and type(result).__dataclass_params__.frozen


def test_the_analysis_carries_the_pass_results_and_leaves_expect_out_under_overrides():
    text = net("{op: linear, out: 2}", input="[3]", extra="expect: {params: 8}\n")
    analysis = analyze_text(text)
    assert analysis.passes["costs"] == analysis.report.totals
    assert analysis.passes["expect"] == ExpectResult(checked=("params",))
    text = "input: [3]\nparams: {k: 2}\nlayers:\n  - {op: linear, out: k}\nexpect: {params: 8}\n"
    assert list(archscope.analyze("t.yaml", text=text, params={"k": 3}).passes) == [
        "costs",
        "training",
        "receptive_field",
    ]
    assert archscope.analyze("t.yaml", text="input: [").passes == {}  # nothing to run passes on


# ---- no silent gaps ------------------------------------------------------------------------


def test_n_zero_passes_the_single_input_on():
    analysis = analyze_text(net("{op: conv2d, out: 4, kernel: 3, n: 0}", "relu"))
    assert analysis.diagnostics == [] and analysis.report.output_shape == (3, 8, 8)


def test_n_zero_on_a_layer_with_several_inputs_is_an_error_not_a_silent_gap():
    # it used to leave the next layer without a shape, and no report and no diagnostic (an
    # internal error in the CLI): there is no single input to pass on
    text = net("{op: add, in: [input, input], n: 0}", "relu")
    d = only(analyze_text(text), "E108")
    assert (d.span.line, d.span.col) == where(text, "0}")
    assert d.message == "`n: 0` leaves `add_1` out and passes its input on, so it needs exactly one input"
    assert (d.expected, d.found, d.layer) == ("1", "2", "add_1")
