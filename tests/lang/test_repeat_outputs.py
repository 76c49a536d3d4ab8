"""`name.k` and `name.*`: the outputs of a repeated layer's instances, so that a concat of a
variable number of branches (C2f's bottlenecks, MixNet's kernels) is written once."""

from __future__ import annotations

import pytest

import archscope

SPEC = """input: [8, 8, 8]
blocks:
  unit:
    layers:
      - {op: conv2d, name: conv, out: 4, kernel: 3, padding: 1}
      - {op: relu, name: act}
  csp:
    args: {repeats: 1}
    layers:
      - {op: split, name: chunk, sections: 2}
      - {op: unit, name: m, n: repeats, in: chunk.1}
      - {op: concat, name: cat, in: [chunk.0, chunk.1, "m.*"]}
layers:
  - {op: conv2d, name: stem, out: 8, kernel: 1}
  - {op: csp, name: one, repeats: %d}
"""


@pytest.mark.parametrize("repeats", [0, 1, 2, 5])  # 0: the two chunks alone
def test_a_concat_of_every_instance_grows_with_the_repeat_count(repeats: int) -> None:
    analysis = archscope.analyze("csp.yaml", text=SPEC % repeats)
    assert not analysis.errors, [d.message for d in analysis.errors]
    cat = next(n for n in analysis.graph.nodes if n.name == "one.cat")
    assert [i.name for i in cat.inputs] == ["one.chunk", "one.chunk"] + [f"one.m.{k}.act" for k in range(repeats)]
    assert tuple(cat.shape) == (8 + 4 * repeats, 8, 8)
    # conv params: the first unit reads the 4-channel chunk, the others a 4-channel unit
    assert analysis.report.totals.params == 72 + repeats * (4 * 4 * 9 + 4)


def test_an_instance_by_index() -> None:
    text = SPEC.replace('"m.*"', "m.1") % 3
    cat = next(n for n in archscope.analyze("csp.yaml", text=text).graph.nodes if n.name == "one.cat")
    assert [i.name for i in cat.inputs] == ["one.chunk", "one.chunk", "one.m.1.act"]


def test_an_instance_past_the_last_and_a_star_of_a_single_layer_are_located_errors() -> None:
    text = SPEC.replace('"m.*"', "m.3") % 3
    [d] = archscope.analyze("csp.yaml", text=text).errors
    assert d.code == "E008" and "names instance 3 of `m`, which has 3" in d.message
    assert (d.span.line, d.span.col) == (12, 56)
    single = SPEC.replace("n: repeats, ", "") % 1
    [d] = archscope.analyze("csp.yaml", text=single).errors
    assert d.code == "E008" and "`m.*` needs a repeated layer (`n:`)" in d.message


def test_the_built_network_concatenates_every_instance() -> None:
    torch = pytest.importorskip("torch", reason="pip install 'archscope[torch]'")
    from archscope.torch_backend import build

    module = build(archscope.analyze("csp.yaml", text=SPEC % 3)).eval()
    x = torch.randn(2, 8, 8, 8)
    with torch.no_grad():
        got = module(x)
        low, high = module.get_submodule("stem")(x).chunk(2, dim=1)
        units, y = [], high
        for k in range(3):
            y = torch.relu(module.get_submodule(f"one.m.{k}.conv")(y))
            units.append(y)
        want = torch.cat([low, high, *units], dim=1)
    assert tuple(got.shape) == (2, 20, 8, 8) and torch.allclose(got, want)
