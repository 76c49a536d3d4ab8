"""Transfer learning: `freeze:`/`unfreeze:` (and `--freeze`/`--unfreeze`, `analyze(freeze=...)`).

Every layer starts trainable; every freeze pattern applies, then every unfreeze pattern. A
pattern is an fnmatch glob over qualified layer names, and one naming a block instance or a
repeat group covers every layer inside it. The counts: trainable + frozen = params, per layer
and in total; buffers are never parameters. With torch: `build` sets `requires_grad` exactly as
the static counts say, and `verify` reports a disagreement.
"""

from __future__ import annotations

import json

import pytest
from conftest import analyze_text, codes, net, only, where

import archscope
from archscope.graph import Node

# two repeated blocks (`stage.0`, `stage.1`), a BN with buffers, and a head
BLOCKS = """input: [3, 8, 8]
blocks:
  unit:
    layers:
      - {op: conv2d, name: conv, out: 4, kernel: 3, padding: 1, bias: false}
      - {op: batchnorm2d, name: bn}
      - {op: relu, name: act}
layers:
  - {op: conv2d, name: stem, out: 4, kernel: 1}
  - {op: unit, name: stage, n: 2}
  - {op: global_avgpool, name: pool}
  - {op: flatten, name: flat}
  - {op: linear, name: fc, out: 10}
"""
CONV = 4 * 4 * 9  # a block's conv: 4 → 4 channels, 3×3, no bias
BN = 2 * 4  # weight and bias (running mean/var are buffers)
STEM = 3 * 4 + 4
FC = 4 * 10 + 10
R50_FC10 = 2048 * 10 + 10  # 20,490
R50_FROZEN = 25_557_032 - (2048 * 1000 + 1000)  # resnet50 less its 1000-class head: 23,508,032


def trainable(text: str, **kw) -> dict[str, bool]:
    analysis = archscope.analyze("t.yaml", text=text, **kw)
    assert analysis.graph is not None and not analysis.errors, analysis.diagnostics
    return {n.name: n.trainable for n in analysis.graph.nodes}


def frozen(text: str, **kw) -> list[str]:
    return [name for name, yes in trainable(text, **kw).items() if not yes]


# ---- semantics -------------------------------------------------------------------------------


def test_every_layer_trains_when_nothing_is_frozen():
    report = archscope.analyze("lenet5").report
    assert report.totals.trainable_params == report.totals.params == 61_706
    assert report.totals.frozen_params == 0
    assert all(r.trainable_params == r.params and r.frozen_params == 0 for r in report.layers)


def test_a_block_instance_or_repeat_group_covers_every_layer_inside_it():
    inside = ["stage.0.conv", "stage.0.bn", "stage.0.act", "stage.1.conv", "stage.1.bn", "stage.1.act"]
    assert frozen(BLOCKS + "freeze: [stage]\n") == inside
    assert frozen(BLOCKS + "freeze: [stage.1]\n") == inside[3:]
    assert frozen(BLOCKS + "freeze: [stage.0.bn]\n") == ["stage.0.bn"]
    assert frozen(BLOCKS + "freeze: [stag]\n") == []  # a name, not a prefix of one (W103)


def test_patterns_are_fnmatch_globs_over_qualified_names():
    assert frozen(BLOCKS + 'freeze: ["*.bn"]\n') == ["stage.0.bn", "stage.1.bn"]
    assert frozen(BLOCKS + 'freeze: ["s*"]\n') == ["stem"] + frozen(BLOCKS + "freeze: [stage]\n")
    assert frozen(BLOCKS + 'freeze: ["stage.?.conv", "f[cl]*"]\n') == ["stage.0.conv", "stage.1.conv", "flat", "fc"]
    assert frozen(BLOCKS + "freeze: fc\n") == ["fc"]  # one string is a list of one
    assert frozen(BLOCKS + "freeze: [FC]\n") == []  # case-sensitive


def test_every_freeze_applies_before_every_unfreeze_whatever_the_order_written():
    everything_but_fc = [n for n in trainable(BLOCKS) if n != "fc"]
    assert frozen(BLOCKS + 'freeze: ["*"]\nunfreeze: [fc]\n') == everything_but_fc
    assert frozen(BLOCKS + 'unfreeze: [fc]\nfreeze: ["*"]\n') == everything_but_fc
    # the caller's patterns come after the spec's, but a freeze still cannot undo an unfreeze
    assert frozen(BLOCKS + "unfreeze: [fc]\n", freeze=["*"]) == everything_but_fc
    assert frozen(BLOCKS + 'freeze: ["*"]\n', unfreeze=["stage.1", "fc"]) == [
        n for n in everything_but_fc if not n.startswith("stage.1")
    ]
    assert frozen(BLOCKS + "unfreeze: [fc]\n") == []  # nothing was frozen


def test_the_counts_split_params_and_never_count_buffers():
    report = archscope.analyze("t.yaml", text=BLOCKS + 'freeze: ["*"]\nunfreeze: [fc]\n').report
    t = report.totals
    assert (t.params, t.trainable_params, t.frozen_params) == (STEM + 2 * (CONV + BN) + FC, FC, STEM + 2 * (CONV + BN))
    bn = next(r for r in report.layers if r.name == "stage.0.bn")
    assert (bn.params, bn.trainable_params, bn.frozen_params, bn.buffers) == (BN, 0, BN, 2 * 4 + 1)
    data = report.to_dict()
    assert data["totals"]["trainable_params"] == FC and data["totals"]["frozen_params"] == t.frozen_params
    fc = data["layers"][-1]
    assert (fc["name"], fc["params"], fc["trainable_params"], fc["frozen_params"]) == ("fc", FC, FC, 0)


def test_resnet50_with_a_10_class_head_trains_only_its_head():
    analysis = archscope.analyze("resnet50", params={"num_classes": 10}, freeze=["*"], unfreeze=["fc"])
    assert analysis.diagnostics == []
    t = analysis.report.totals
    assert (t.trainable_params, t.frozen_params) == (R50_FC10, R50_FROZEN) == (20_490, 23_508_032)
    assert t.params == 23_528_522 and t.buffers == 53_173  # buffers unchanged, and never trainable
    assert [r.name for r in analysis.report.layers if r.trainable_params] == ["fc"]


def test_freezing_keeps_expect_checked():
    text = net("{op: linear, out: 2}", input="[3]", extra="expect: {params: 9}\n")
    analysis = archscope.analyze("t.yaml", text=text, freeze=["*"])
    assert "expect" in analysis.passes and codes(analysis) == ["E201"]  # freezing changes no count
    assert archscope.analyze("t.yaml", text=text.replace("9", "8"), freeze=["*"]).diagnostics == []


def test_a_child_spec_inherits_or_replaces_the_parents_patterns(tmp_path):
    (tmp_path / "parent.yaml").write_text(BLOCKS + "freeze: [stem]\n", "utf-8")
    (tmp_path / "same.yaml").write_text("extends: parent.yaml\n", "utf-8")
    (tmp_path / "own.yaml").write_text("extends: parent.yaml\nfreeze: [fc]\n", "utf-8")
    for name, want in (("same", ["stem"]), ("own", ["fc"])):
        graph = archscope.analyze(tmp_path / f"{name}.yaml").graph
        assert [n.name for n in graph.nodes if not n.trainable] == want


# ---- diagnostics -----------------------------------------------------------------------------


def test_w103_a_pattern_that_matches_nothing_is_located_with_a_did_you_mean():
    text = BLOCKS + 'freeze: ["*"]\nunfreeze: [fcc]\n'
    analysis = analyze_text(text)
    d = only(analysis, "W103")
    assert not d.is_error and analysis.report is not None
    assert (d.span.line, d.span.col) == where(text, "fcc]")
    assert d.message == "`unfreeze` pattern `fcc` matches no layer; did you mean `fc`?"
    assert d.found == "`fcc`"


def test_w103_for_a_callers_pattern_says_where_it_comes_from():
    d = only(archscope.analyze("t.yaml", text=BLOCKS, freeze=["stage.3"]), "W103")
    assert d.span is None and "(given by the caller, not in the spec)" in d.message
    assert "did you mean `stage.1`?" in d.message
    # the nearest name as deep as the pattern: `layer4`, not `layer3.5`
    assert "did you mean `layer4`?" in only(archscope.analyze("resnet50", unfreeze=["layer5"]), "W103").message


def test_w103_waits_while_the_network_has_errors():
    # a layer that failed is not in the graph: a pattern naming it is not the problem
    text = net("{op: conv2d, name: c, out: 4, kernel: 30}", extra="freeze: [c]\n")
    analysis = analyze_text(text)
    assert analysis.errors and "W103" not in codes(analysis)


@pytest.mark.parametrize(
    "value, at, found",
    [
        ("3", "3\n", "int"),
        ("[fc, 3]", "3]", "int"),
        ("[fc, [a]]", "[a]", "sequence"),
        ("{fc: 1}", "{fc", "mapping"),
        ('[""]', '""', "an empty string"),
        ("null", "null", "null"),
    ],
)
def test_e004_a_pattern_must_be_a_string(value, at, found):
    text = BLOCKS + f"unfreeze: {value}\n"
    d = only(analyze_text(text), "E004")
    assert d.message == "`unfreeze` must be a list of layer-name patterns"
    assert (d.span.line, d.span.col) == where(text, at)
    assert d.found == found


def test_e003_names_freeze_as_a_known_key():
    d = only(analyze_text(BLOCKS + "freze: [fc]\n"), "E003")
    assert "did you mean `freeze`?" in d.message


def test_overrides_take_patterns_not_other_things():
    from archscope.overrides import Overrides

    assert Overrides(freeze="fc").freeze == ("fc",)
    assert Overrides(unfreeze=["a", "b"]).unfreeze == ("a", "b")
    with pytest.raises(TypeError):
        Overrides(freeze=[3])  # type: ignore[list-item]


# ---- CLI -------------------------------------------------------------------------------------


@pytest.fixture
def r50_head(tmp_path):
    path = tmp_path / "r50_10.yaml"
    path.write_text('extends: resnet50\nparams: {num_classes: 10}\nfreeze: ["*"]\nunfreeze: [fc]\n', "utf-8")
    return path


def test_cli_summary_json_totals_of_the_resnet50_example(cli, r50_head):
    result = cli("summary", str(r50_head), "--format", "json")
    assert result.exit_code == 0, result.output
    totals = json.loads(result.stdout)["totals"]
    assert (totals["trainable_params"], totals["frozen_params"]) == (20_490, 23_508_032)


def test_cli_summary_shows_a_trainable_column_and_the_split_only_when_something_is_frozen(cli, r50_head):
    table = cli("summary", str(r50_head), "--depth", "1", "--exact").stdout
    header = next(line for line in table.splitlines() if "layer" in line and "params" in line)
    assert header.index("params") < header.index("trainable") < header.index("MACs")
    assert "trainable 20,490 · frozen 23,508,032 params" in table
    assert any(line.startswith("trainable") and line.endswith("frozen 23,508,032") for line in table.splitlines())
    assert "buffers (BatchNorm running statistics) are not parameters and never train" in " ".join(table.split())
    markdown = cli("summary", str(r50_head), "--depth", "1", "--format", "markdown").stdout
    assert "| trainable |" in markdown and "**20,490**" in markdown and "frozen 23,508,032" in markdown
    csv = cli("summary", str(r50_head), "--depth", "1", "--format", "csv").stdout
    assert "params,trainable_params,buffers" in csv
    plain = cli("summary", "resnet50", "--depth", "1").stdout
    assert "trainable" not in plain and "frozen" not in plain


def test_cli_freeze_options_come_after_the_spec_and_repeat(cli, r50_head):
    out = json.loads(cli("summary", str(r50_head), "--unfreeze", "layer4", "--format", "json").stdout)
    layer4 = sum(r["params"] for r in out["layers"] if r["name"].startswith("layer4."))
    assert out["totals"]["trainable_params"] == R50_FC10 + layer4
    out = json.loads(cli("summary", "lenet5", "--freeze", "c1", "--freeze", "c3", "--format", "json").stdout)
    frozen_names = {r["name"].split(".")[0] for r in out["layers"] if r["frozen_params"]}
    assert frozen_names == {"c1", "c3"}


def test_cli_warns_about_a_pattern_that_matches_nothing(cli):
    result = cli("summary", "lenet5", "--freeze", "c11")
    assert result.exit_code == 0 and "W103" in result.stderr and "did you mean `c1`?" in result.stderr


def test_cli_compare_takes_the_freeze_options(cli):
    result = cli("compare", "lenet5", "resnet18", "--freeze", "*", "--format", "json")
    assert result.exit_code == 0, result.output


# ---- with torch: build and verify ------------------------------------------------------------


def test_build_sets_requires_grad_exactly():
    pytest.importorskip("torch")
    from archscope.torch_backend.lowering import layer_modules

    analysis = archscope.analyze("t.yaml", text=BLOCKS, freeze=["*"], unfreeze=["fc", "stage.1.bn"])
    net = archscope.build("t.yaml", text=BLOCKS, freeze=["*"], unfreeze=["fc", "stage.1.bn"], device="meta")
    t = analysis.report.totals
    assert sum(p.numel() for p in net.parameters() if p.requires_grad) == t.trainable_params == FC + BN
    assert sum(p.numel() for p in net.parameters() if not p.requires_grad) == t.frozen_params
    modules = layer_modules(net)
    for node in analysis.graph.nodes:
        assert all(p.requires_grad == node.trainable for p in modules[node.name].parameters()), node.name
    assert not any(b.requires_grad for b in net.buffers())


def test_build_reads_the_specs_patterns(r50_head):
    pytest.importorskip("torch")
    net = archscope.build(r50_head, device="meta")
    assert sum(p.numel() for p in net.parameters() if p.requires_grad) == 20_490
    assert sum(p.numel() for p in net.parameters() if not p.requires_grad) == 23_508_032
    with pytest.raises(ValueError):
        archscope.build(archscope.analyze(r50_head), freeze=["*"])


def test_verify_agrees_on_a_frozen_network_and_says_so(cli):
    pytest.importorskip("torch")
    pytest.importorskip("fvcore")
    report = archscope.verify("t.yaml", text=BLOCKS, freeze=["*"], unfreeze=["fc"])
    assert report.ok, report.mismatches
    assert report.totals["trainable"] == {"static": FC, "module": FC}
    assert report.totals["frozen"]["module"] == report.totals["params"]["module"] - FC
    result = cli("verify", "lenet5", "--freeze", "c1")
    assert result.exit_code == 0, result.output
    assert "trainable 61,550 · frozen 156 · all agree" in result.stdout


def test_verify_reports_a_miscounted_trainable_split(monkeypatch):
    pytest.importorskip("torch")
    pytest.importorskip("fvcore")
    # the static side forgets that a layer is frozen; the built module does not
    monkeypatch.setattr(Node, "trainable_params", property(lambda node: node.cost.params if node.cost else 0))
    report = archscope.verify("t.yaml", text=BLOCKS, freeze=["stem"])
    assert not report.ok
    shown = [str(m) for m in report.mismatches]
    assert f"`stem`: trainable {STEM} (archscope) ≠ 0 (module requires_grad)" in shown
    assert any(s.startswith("`network`: total trainable") for s in shown)
