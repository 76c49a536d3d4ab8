"""`extends` that edits: `replace`, `insert_before`, `insert_after`, `remove` on the parent's
top-level `layers:`, blocks redefined in the child, and who a child cites (its own citation, or
"extends parent (…)")."""

from __future__ import annotations

from conftest import analyze_text, where

import archscope
from archscope.render.summary import summary_table

CIFAR = """\
extends: resnet50
name: resnet50_cifar
replace:
  fc: {op: linear, out: 10}
insert_after:
  avgpool: [{op: dropout, p: 0.2}]
insert_before:
  conv1: {op: identity, name: stem_in}
remove: [maxpool]
"""


def names(a: archscope.Analysis) -> list[str]:
    return list(dict.fromkeys(r.name.split(".")[0] for r in a.report.layers))


def test_transfer_learning_by_params_override():
    a = archscope.analyze("resnet50", params={"num_classes": 10})
    assert a.report.totals.params == 23_528_522 == 23_508_032 + 20_490
    assert a.report.output_shape == (10,)


def test_edits_in_order_and_numbers():
    a = analyze_text(CIFAR, "cifar.yaml")
    assert a.ok, [str(d.span) + d.message for d in a.diagnostics]
    assert names(a) == [
        "stem_in", "conv1", "bn1", "relu", "layer1", "layer2", "layer3", "layer4",
        "avgpool", "dropout_1", "flatten", "fc",
    ]  # fmt: skip
    # the replaced fc keeps its name; no maxpool: layer1 runs at 112×112
    assert a.report.totals.params == 23_528_522
    assert a.report.output_shape == (10,)
    assert a.report.totals.macs == 15_994_523_648


def test_replacement_with_its_own_name_and_a_bare_op():
    a = analyze_text("extends: resnet50\nreplace:\n  fc: {op: linear, name: head, out: 10}\n  relu: gelu\n")
    assert a.ok
    assert names(a)[2] == "relu" and names(a)[-1] == "head"
    assert [r.op for r in a.report.layers if r.name == "relu"] == ["gelu"]


def test_edits_of_a_file_parent(tmp_path):
    (tmp_path / "p.yaml").write_text(
        "input: [3, 8, 8]\nlayers:\n  - {op: conv2d, out: 4, kernel: 1}\n  - relu\n  - relu\n"
    )
    child = tmp_path / "c.yaml"
    child.write_text("extends: p.yaml\nremove: [relu_2]\nreplace: {conv2d_1: {op: conv2d, out: 6, kernel: 1}}\n")
    a = archscope.analyze(child)
    assert a.ok
    assert [(r.name, r.output_shape) for r in a.report.layers] == [("conv2d_1", (6, 8, 8)), ("relu_1", (6, 8, 8))]
    assert a.spec.meta == {"extends": "p", "extends_citation": ""}


def test_every_unknown_name_is_reported_with_its_place_and_a_suggestion():
    text = "extends: resnet50\nreplace:\n  fcc: {op: linear, out: 10}\ninsert_before:\n  layer1.conv1: relu\nremove: [avgpol, flatten]\n"
    a = analyze_text(text)
    got = [(d.code, d.span.line, d.span.col, d.message) for d in a.diagnostics]
    assert got == [
        ("E008", *where(text, "fcc"), "`replace: fcc` names no layer of the parent; did you mean `fc`?"),
        (
            "E008",
            *where(text, "layer1.conv1"),
            "`insert_before: layer1.conv1` names no top-level layer of the parent; edits reach only the "
            "top-level `layers:` (redefine the block under `blocks:` to change it)",
        ),
        ("E008", *where(text, "avgpol"), "`remove: avgpol` names no layer of the parent; did you mean `avgpool`?"),
    ]


def test_a_block_redefined_in_the_child_replaces_the_parents():
    text = (
        "extends: resnet50\nblocks:\n  bottleneck:\n    args: {c: null, stride: 1}\n    layers:\n"
        "      - {op: conv2d, out: 'c * 4', kernel: 1, stride: stride, bias: false}\n"
    )
    a = analyze_text(text)
    assert a.ok
    assert [r.name for r in a.report.layers if r.name.startswith("layer1.0.")] == ["layer1.0.conv2d_1"]
    assert a.spec.meta["extends"] == "resnet50"  # another network: it does not cite resnet50's paper as its own
    assert "paper" not in a.spec.meta


def test_a_structural_child_says_it_extends_its_parent():
    a = analyze_text(CIFAR)
    assert a.spec.meta == {
        "family": "resnet",
        "extends": "resnet50",
        "extends_citation": "He, Zhang, Ren, Sun. Deep Residual Learning for Image Recognition. CVPR 2016 · "
        'torchvision.models.resnet50 (stride in the 3×3 conv, "v1.5")',
    }
    preamble = summary_table(a.report).preamble
    assert preamble[0].startswith("extends resnet50 (He, Zhang, Ren, Sun.")
    assert a.report.to_dict()["meta"]["extends"] == "resnet50"


def test_a_child_with_its_own_citation_or_only_params_keeps_its_header():
    for name, paper in (
        ("resnet50_v1", "He, Zhang, Ren, Sun."),
        ("resnet1202", "He, Zhang, Ren, Sun."),  # sets `layers:` and its own `source:`
        ("efficientnet_b1", "Tan, Le."),
        ("resnext101_32x8d", "Xie, Girshick"),
    ):
        a = archscope.analyze(name)
        assert "extends" not in a.spec.meta
        assert summary_table(a.report).preamble[0].startswith(paper), name
    variant = analyze_text("extends: resnet50\nparams: {num_classes: 10}\n")
    assert variant.spec.meta["paper"].startswith("He, Zhang") and "extends" not in variant.spec.meta


def test_a_variant_of_an_edited_parent_keeps_the_lineage(tmp_path):
    (tmp_path / "cifar.yaml").write_text(CIFAR)
    (tmp_path / "wide.yaml").write_text("extends: cifar.yaml\nparams: {stages: [1, 1, 1, 1]}\n")
    a = archscope.analyze(tmp_path / "wide.yaml")
    assert a.ok and a.spec.meta["extends"] == "resnet50"  # the network it is a variant of extends resnet50
    assert a.spec.meta["extends_citation"].startswith("He, Zhang")
    broken = tmp_path / "broken.yaml"
    broken.write_text("extends: resnet50\nremove: [fcc]\n")
    (tmp_path / "child.yaml").write_text("extends: broken.yaml\n")
    b = archscope.analyze(tmp_path / "child.yaml")
    # reported in the file the user named, at its `extends:` line; the parent's place is a note
    assert [(d.code, d.span.file, d.span.line, d.span.col) for d in b.errors] == [
        ("E008", str(tmp_path / "child.yaml"), 1, 10)
    ]
    assert b.errors[0].notes[0] == f"in `extends: broken.yaml`, at {broken}:2:10"


README_CIFAR = """\
extends: resnet50
name: resnet50_cifar
title: ResNet-50 for CIFAR-10 (3×3 stem, no max pool)
input: [3, 32, 32]
replace:
  conv1: {op: conv2d, out: 64, kernel: 3, padding: 1, bias: false}
  fc: {op: linear, out: 10}
remove: [maxpool]
"""


def test_the_readme_example():
    a = analyze_text(README_CIFAR)
    assert a.ok
    # 23,528,522 (num_classes 10) − 9,408 (7×7×3×64 stem) + 1,728 (3×3×3×64)
    assert a.report.totals.params == 23_520_842 == 23_528_522 - 9_408 + 1_728
    assert a.report.totals.macs == 1_297_829_888
    assert [r.output_shape for r in a.report.layers[:1]] == [(64, 32, 32)]
    assert summary_table(a.report).title == "ResNet-50 for CIFAR-10 (3×3 stem, no max pool)"
