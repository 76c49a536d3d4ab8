"""Several inputs (`inputs:`), several outputs (`outputs:`), and one output of a multi-output
layer addressed by index or name (`sp.1`, `pool.indices`), with `split` as the op that makes
several: static shapes, reports, diagnostics with their locations, and (with torch) the built
network, `verify` and `bench` on them. Specs are inline; numbers are hand counts."""

from __future__ import annotations

import json

import pytest
from conftest import analyze_text, codes, layer, net, only, where

FPN = """\
name: fpn_neck
inputs: {p3: [32, 16, 16], p4: [64, 8, 8], p5: [64, 4, 4]}
layers:
  - {op: conv2d, name: lat3, out: 16, kernel: 1}
  - {op: conv2d, name: lat4, in: p4, out: 16, kernel: 1}
  - {op: conv2d, name: lat5, in: p5, out: 16, kernel: 1}
  - {op: conv_transpose2d, name: up5, in: lat5, out: 16, kernel: 2, stride: 2}
  - {op: add, name: m4, in: [lat4, up5]}
  - {op: conv_transpose2d, name: up4, in: m4, out: 16, kernel: 2, stride: 2}
  - {op: add, name: m3, in: [lat3, up4]}
  - {op: conv2d, name: out3, in: m3, out: 16, kernel: 3, padding: 1}
  - {op: conv2d, name: out4, in: m4, out: 16, kernel: 3, padding: 1}
  - {op: adaptive_avgpool2d, name: out5, in: lat5, output_size: [2, 2]}
outputs: [out3, out4, out5]
expect:
  outputs: {out3: [16, 16, 16], out4: [16, 8, 8], out5: [16, 2, 2]}
"""

SHUFFLE = """\
name: shuffle_unit
input: [32, 8, 8]
layers:
  - {op: split, name: sp, sections: 2}
  - {op: conv2d, name: pw1, in: sp.1, out: 16, kernel: 1, bias: false}
  - {op: batchnorm2d}
  - {op: relu}
  - {op: conv2d, name: dw, out: 16, kernel: 3, padding: 1, groups: 16, bias: false}
  - {op: conv2d, name: pw2, out: 16, kernel: 1}
  - {op: concat, name: cat, in: [sp, pw2]}
"""

INCEPTION = """\
name: inception_aux
input: [3, 32, 32]
blocks:
  mixed:
    args: {c: 8}
    layers:
      - {op: conv2d, name: b1, out: c, kernel: 1}
      - {op: conv2d, name: b3r, in: input, out: c, kernel: 1}
      - {op: conv2d, name: b3, out: c, kernel: 3, padding: 1}
      - {op: maxpool2d, name: bp, in: input, kernel: 3, stride: 1, padding: 1}
      - {op: conv2d, name: bpp, out: c, kernel: 1}
      - {op: concat, in: [b1, b3, bpp]}
layers:
  - {op: conv2d, name: stem, out: 16, kernel: 3, stride: 2, padding: 1}
  - {op: mixed, name: m1}
  - {op: mixed, name: m2, c: 16}
  - {op: adaptive_avgpool2d, name: aux_pool, in: m1, output_size: [2, 2]}
  - {op: flatten, name: aux_flat}
  - {op: linear, name: aux, out: 10}
  - {op: global_avgpool, name: gap, in: m2}
  - {op: flatten, name: flat}
  - {op: linear, name: fc, out: 10}
outputs: [aux, fc]
"""


def node(analysis, name: str):
    return next(n for n in analysis.graph.nodes if n.name == name)


# ---- static: shapes, reports ------------------------------------------------------------------


def test_three_inputs_three_outputs_shapes():
    a = analyze_text(FPN)
    assert a.ok, [d.message for d in a.diagnostics]
    assert a.report.inputs == (("p3", (32, 16, 16)), ("p4", (64, 8, 8)), ("p5", (64, 4, 4)))
    assert a.report.outputs == (("out3", (16, 16, 16)), ("out4", (16, 8, 8)), ("out5", (16, 2, 2)))
    assert a.report.output_shape == (16, 16, 16)  # the first output's
    assert a.report.input == (32, 16, 16)  # the first input's
    assert [n.name for n in node(a, "lat3").inputs] == ["p3"]  # no `in:`: the first input
    assert layer(a, "m3").output_shape == (16, 16, 16)


def test_split_outputs_have_their_own_shapes_and_cost_nothing():
    a = analyze_text(
        net("{op: split, name: sp, sections: [2, 6]}", "{op: concat, in: [sp.1, sp.0, sp.part1]}", input="[8, 8, 8]")
    )
    assert a.ok, [d.message for d in a.diagnostics]
    sp = node(a, "sp")
    assert (sp.shape, sp.extra_shapes) == ((2, 8, 8), ((6, 8, 8),))
    assert node(a, "concat_1").ports == (1, 0, 1)
    assert layer(a, "concat_1").output_shape == (14, 8, 8)
    row = layer(a, "sp")
    assert (row.params, row.macs, row.ops) == (0, 0, 0)


def test_shuffle_unit_and_inception_aux():
    a = analyze_text(SHUFFLE)
    assert a.ok and layer(a, "cat").output_shape == (32, 8, 8)
    assert layer(a, "pw1").output_shape == (16, 8, 8)
    b = analyze_text(INCEPTION)
    assert b.ok, [d.message for d in b.diagnostics]
    assert b.report.outputs == (("aux", (10,)), ("fc", (10,)))


def test_declared_outputs_are_never_unused_but_others_are():
    assert "W102" not in codes(analyze_text(INCEPTION))
    single = analyze_text(INCEPTION.replace("outputs: [aux, fc]", "output: fc"))
    (w,) = [d for d in single.diagnostics if d.code == "W102"]
    assert (w.layer, w.span.line) == ("aux", where(INCEPTION, "name: aux,")[0])


def test_json_and_terminal_summary_name_every_output(cli, tmp_path):
    path = tmp_path / "inception.yaml"
    path.write_text(INCEPTION)
    doc = json.loads(cli("summary", str(path), "--format", "json").stdout)
    assert doc["outputs"] == [{"name": "aux", "shape": [10]}, {"name": "fc", "shape": [10]}]
    assert doc["output_shape"] == [10]
    assert "input 3×32×32, outputs aux 10, fc 10" in cli("summary", str(path)).stdout
    fpn = tmp_path / "fpn.yaml"
    fpn.write_text(FPN)
    out = cli("summary", str(fpn)).stdout
    assert "inputs p3 32×16×16, p4 64×8×8, p5 64×4×4, outputs out3 16×16×16, out4 16×8×8, out5 16×2×2" in out


def test_compare_shows_every_input_of_a_neck(cli, tmp_path):
    fpn = tmp_path / "fpn.yaml"
    fpn.write_text(FPN)
    out = cli("compare", "lenet5", str(fpn), "--format", "markdown").stdout
    assert "| lenet5 | 1×32×32 |" in out
    assert "| fpn_neck | 32×16×16, 64×8×8, 64×4×4 |" in out


def test_expect_outputs_is_checked():
    assert analyze_text(FPN).ok
    text = FPN.replace("out5: [16, 2, 2]", "out5: [16, 3, 3]")
    e = only(analyze_text(text), "E201")
    assert "out5" in e.message and e.span.line == where(text, "{out3")[0]


def test_unpooling_takes_switches_by_name_or_by_layer():
    both = [
        "{op: maxpool2d, name: pool, kernel: 2, return_indices: true}",
        "{op: max_unpool2d, name: up, kernel: 2, in: [pool, %s]}",
    ]
    for second in ("pool", "pool.indices", "pool.1"):
        a = analyze_text(net(both[0], both[1] % second))
        assert a.ok, [d.message for d in a.diagnostics]
        assert node(a, "up").ports == (0, 1)
        assert layer(a, "up").output_shape == (3, 8, 8)


def test_a_dotted_name_of_a_layer_keeps_its_meaning():
    a = analyze_text(net("{op: relu, name: r, n: 2}", "{op: concat, name: c, in: [r.0, r.1]}"))
    assert a.ok and [n.name for n in node(a, "c").inputs] == ["r.0", "r.1"]
    assert node(a, "c").ports == ()


# ---- static: errors with their locations ------------------------------------------------------


def test_input_and_inputs_together_is_an_error():
    text = "input: [3, 8, 8]\ninputs: {a: [3, 8, 8]}\nlayers:\n  - relu\n"
    e = next(d for d in analyze_text(text).errors if d.code == "E004")
    assert "both `input:` and `inputs:`" in e.message and (e.span.line, e.span.col) == where(text, "inputs")


def test_an_unknown_input_name_is_located():
    text = FPN.replace("in: p4,", "in: p6,")
    e = only(analyze_text(text), "E008")
    assert "`p6`" in e.message and (e.span.line, e.span.col) == where(text, "p6")


def test_an_output_that_names_no_layer_is_located():
    text = INCEPTION.replace("outputs: [aux, fc]", "outputs: [aux, fcc]")
    e = only(analyze_text(text), "E008")
    assert e.message == "`outputs: fcc` names no layer" and (e.span.line, e.span.col) == where(text, "fcc")


@pytest.mark.parametrize(
    "sections, message",
    [("3", "cannot cut size 8 (dim 0) into 3 equal chunks"), ("[3, 4]", "sizes [3, 4] sum to 7, not to size 8")],
)
def test_split_sections_must_fit(sections, message):
    text = net("{op: conv2d, out: 8, kernel: 1}", f"{{op: split, name: sp, sections: {sections}}}")
    e = only(analyze_text(text), "E105")
    assert message in e.message and e.layer == "sp" and e.span.line == where(text, "split")[0]


def test_an_output_index_out_of_range_is_located():
    text = net("{op: split, name: sp, sections: 3}", "{op: relu, in: sp.7}")
    e = only(analyze_text(text), "E008")
    assert e.message == "`sp.7` names no layer, and `sp` has no output `7`"
    assert e.expected == "one of `sp.0`, `sp.1`, `sp.2`, `sp.part1`, `sp.part2`"
    assert (e.span.line, e.span.col) == where(text, "sp.7")


def test_an_extra_output_cannot_be_a_network_output():
    text = net(
        "{op: split, name: sp, sections: 2}", "{op: relu, in: sp}", input="[4, 2, 2]", extra="outputs: [relu_1, sp.1]\n"
    )
    e = only(analyze_text(text), "E008")
    assert "extra output" in e.message and (e.span.line, e.span.col) == where(text, "sp.1")


def test_a_layer_may_not_take_an_input_name():
    text = FPN.replace("name: lat4,", "name: p4,")
    e = next(d for d in analyze_text(text).errors if d.code == "E007")
    assert e.message == "`p4` is reserved for the scope's input" and (e.span.line, e.span.col) == where(text, "p4,")


# ---- torch: build, verify, bench --------------------------------------------------------------


def test_build_takes_every_input_and_returns_every_output():
    torch = pytest.importorskip("torch")
    import archscope

    model = archscope.build("fpn.yaml", text=FPN).eval()
    assert [n.name for n in model.graph.nodes if n.op == "placeholder"] == ["p3", "p4", "p5"]
    xs = [torch.randn(2, 32, 16, 16), torch.randn(2, 64, 8, 8), torch.randn(2, 64, 4, 4)]
    with torch.no_grad():
        out = model(*xs)
    assert isinstance(out, tuple)
    assert [tuple(t.shape) for t in out] == [(2, 16, 16, 16), (2, 16, 8, 8), (2, 16, 2, 2)]
    single = archscope.build("s.yaml", text=SHUFFLE)
    assert isinstance(single(torch.randn(1, 32, 8, 8)), torch.Tensor)  # one output: a tensor, unchanged


def test_split_lowering_takes_the_referenced_chunks():
    torch = pytest.importorskip("torch")
    import archscope

    text = net("{op: split, name: sp, sections: [2, 1]}", "{op: concat, in: [sp.1, sp, sp.part1]}")
    model = archscope.build("t.yaml", text=text.replace("[3, 8, 8]", "[3, 4, 4]"))
    x = torch.randn(2, 3, 4, 4)
    torch.testing.assert_close(model(x), torch.cat([x[:, 2:], x[:, :2], x[:, 2:]], 1))


@pytest.mark.parametrize("text", [FPN, SHUFFLE, INCEPTION], ids=["fpn", "shuffle", "inception"])
def test_verify_agrees_on_every_layer_and_output(text):
    pytest.importorskip("torch")
    pytest.importorskip("fvcore")
    import archscope

    report = archscope.verify("t.yaml", text=text)
    assert report.ok, [str(m) for m in report.mismatches]
    assert [(name, forward) for name, _, forward in report.outputs] == [
        (n, s) for n, s in analyze_text(text).report.outputs
    ]


def test_verify_reports_a_wrong_output_shape(monkeypatch):
    pytest.importorskip("torch")
    pytest.importorskip("fvcore")
    import archscope
    from archscope.ops import REGISTRY

    op = REGISTRY["adaptive_avgpool2d"]  # a wrong rule for the third output only
    monkeypatch.setitem(REGISTRY, op.name, __import__("dataclasses").replace(op, shape=lambda _a, _s: (16, 3, 3)))
    report = archscope.verify("t.yaml", text=FPN.replace("out5: [16, 2, 2]", "out5: [16, 3, 3]"))
    assert "`network`: output `out5` shape (16, 3, 3) (archscope) ≠ (16, 2, 2) (cpu forward)" in [
        str(m) for m in report.mismatches
    ]


def test_memory_counts_every_input_and_every_chunk():
    from archscope.passes.memory import MemoryOptions, memory

    # two inputs of 16 float32 alive with their sum (16): the sum cannot overwrite a network input
    two = analyze_text("inputs: {p: [4, 2, 2], q: [4, 2, 2]}\nlayers:\n  - {op: add, in: [p, q]}\n")
    assert memory(two.graph, MemoryOptions()).peak_bytes == 48 * 4
    # the input (16) with both chunks (views of it: nothing new), then their concat (16)
    split = analyze_text(net("{op: split, name: sp, sections: 2}", "{op: concat, in: [sp.1, sp]}", input="[4, 2, 2]"))
    assert memory(split.graph, MemoryOptions()).peak_bytes == 32 * 4


def test_bench_feeds_one_tensor_per_input(tmp_path):
    pytest.importorskip("torch")
    import archscope
    from archscope.torch_backend.benchmark import BenchConfig

    path = tmp_path / "fpn.yaml"
    path.write_text(FPN)
    result = archscope.bench(str(path), BenchConfig(device="cpu", warmup=1, min_time=0.0, min_runs=1))
    assert result.timings and result.name == "fpn_neck"
