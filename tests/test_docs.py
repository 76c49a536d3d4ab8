"""The README and the site stay true.

Every ``console`` example of README.md and docs/ is run again and must print what the page shows
(``docs/examples.py``; ``python docs/examples.py --update`` rewrites them); the numbers the prose
quotes are computed here; the tables ``docs/hooks.py`` generates at build time list every code,
op and bundled spec; every page is in mkdocs.yml's nav; the README is short and links only to
pages that exist.
"""

from __future__ import annotations

import importlib.util
import re
import sys
import unicodedata
from pathlib import Path
from types import ModuleType

import pytest
import yaml

import archscope
from archscope.api import list_specs
from archscope.cli.app import SUBCOMMANDS
from archscope.codes import CODES, TABLE
from archscope.ops import REGISTRY

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
README = ROOT / "README.md"


def _load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


examples = _load("archscope_docs_examples", DOCS / "examples.py")
hooks = _load("archscope_docs_hooks", DOCS / "hooks.py")

COMPARED = [b for b in examples.all_blocks() if b.varies is None]


# --- the console examples -------------------------------------------------------------------------


@pytest.mark.parametrize("block", COMPARED, ids=lambda b: b.id)
def test_console_example_prints_what_the_page_shows(block) -> None:
    if examples.needs_torch(block):
        pytest.importorskip("torch")
    assert examples.run_block(block) == examples.normalized(block.body), (
        f"{block.id}: the output changed; run `python docs/examples.py --update` and review the diff"
    )


def test_the_examples_cover_the_pages() -> None:
    """The README's three commands and the tutorial's steps are compared, not only recorded."""
    readme = {c.split()[1] for b in COMPARED if b.path == README for c in b.commands()}
    assert {"summary", "compare", "lint"} <= readme
    tutorial = [b for b in COMPARED if b.path.name == "tutorial.md"]
    assert len(tutorial) >= 10


def test_a_changed_output_is_found(tmp_path: Path) -> None:
    """The comparison can fail: a page whose recorded output is wrong differs from the run."""
    page = tmp_path / "page.md"
    page.write_text("```console\n$ archscope summary lenet5 --format csv | head -3\nnot this\n```\n", "utf-8")
    (block,) = examples.blocks(page)
    output = examples.run_block(block)
    assert output != examples.normalized(block.body)
    assert "c1.conv,conv2d,6×28×28,156,0,117600" in output


def test_varying_blocks_say_why() -> None:
    for block in examples.all_blocks():
        if block.varies is not None:
            assert len(block.varies) > 5, block.id


# --- numbers quoted in prose ----------------------------------------------------------------------


def _layer(name: str, layer: str):
    return {row.name: row for row in archscope.summarize(name).layers}[layer]


def test_tutorial_prose_numbers() -> None:
    lenet = archscope.summarize("lenet5")
    assert (lenet.totals.params, lenet.totals.macs) == (61_706, 416_520)
    assert _layer("lenet5", "f5").params == 48_120  # "most of them (48,120) in the first fully connected layer"
    assert _layer("lenet5", "c3.conv").macs == 240_000  # "240,000 of 416,520 MACs"
    alexnet, vgg = archscope.summarize("alexnet").totals, archscope.summarize("vgg16").totals
    assert round(vgg.params / alexnet.params, 1) == 2.3  # "about 2.3 times AlexNet's 61 million"
    assert round(vgg.macs / alexnet.macs) == 22  # "about 22 times its MACs"
    # the notes' arithmetic, as the tutorial writes it
    naive, bottleneck = archscope.summarize("inception_naive"), archscope.summarize("inception_bottleneck")
    assert naive.totals.macs == 28 * 28 * 32 * 5 * 5 * 192 == 120_422_400
    assert bottleneck.totals.macs == 28 * 28 * 16 * 192 + 28 * 28 * 32 * 5 * 5 * 16 == 12_443_648
    assert archscope.summarize("conv_standard").totals.macs == 3 * 3 * 3 * 4 * 4 * 5 == 2_160
    assert _layer("conv_depthwise_separable", "depthwise").macs == 3 * 3 * 4 * 4 * 3 == 432
    assert _layer("conv_depthwise_separable", "pointwise").macs == 1 * 1 * 3 * 4 * 4 * 5 == 240
    assert archscope.summarize("conv_depthwise_separable").totals.macs == 672


def test_unfreezing_layer4_numbers(tmp_path: Path) -> None:
    """spec-language.md: `--unfreeze layer4` gives 14,985,226 trainable and 8,543,296 frozen."""
    import json

    page = DOCS / "spec-language.md"
    files = dict(examples.blocks(page)[0].files)
    (tmp_path / "resnet50_head10.yaml").write_text(files["resnet50_head10.yaml"], "utf-8")
    out = examples.run_command("archscope summary resnet50_head10.yaml --unfreeze layer4 --format json", tmp_path)
    totals = json.loads(out)["totals"]
    assert (totals["trainable_params"], totals["frozen_params"]) == (14_985_226, 8_543_296)
    assert "(14,985,226 trainable, 8,543,296 frozen)" in page.read_text("utf-8")


def test_memory_recipe_numbers(tmp_path: Path) -> None:
    """memory.md: "batch 192 still fits (15.8 GiB) and 196 does not" in 16 GiB, Adam, all layers."""
    import json

    def peak(batch: int) -> float:
        command = f"archscope memory resnet50 --train --optimizer adam --batch {batch} --format json"
        return json.loads(examples.run_command(command, tmp_path))["peak_bytes"] / 2**30

    assert round(peak(192), 1) == 15.8 < 16 < peak(196)
    assert "batch 192 still\nfits (15.8 GiB) and 196 does not" in (DOCS / "memory.md").read_text("utf-8")


def test_tutorial_ratios() -> None:
    """tutorial.md: the bottleneck costs "about a tenth"; depthwise separable "about a third (1/5 + 1/9)"."""
    assert round(12_443_648 / 120_422_400, 2) == 0.10
    assert round(672 / 2_160, 3) == round(1 / 5 + 1 / 9, 3)


def test_other_prose_numbers() -> None:
    """draw.md: `draw resnet18 --expand` draws "all 69 layers"; commands/index.md: efficientnet_b2 at 288
    holds torchvision's "published 1.088 GMACs"."""
    assert len(archscope.summarize("resnet18").layers) == 69
    assert round(archscope.summarize("efficientnet_b2").totals.macs / 1e9, 3) == 1.088
    assert "draws all 69 layers" in (DOCS / "commands" / "draw.md").read_text("utf-8")


README_ROW = re.compile(r"^\| [^|]+ \| `(\w+)` \| ([\d,]+) \| ([\d,]+) \|", re.M)


def test_readme_worked_examples_are_computed() -> None:
    rows = README_ROW.findall(README.read_text("utf-8"))
    assert len(rows) >= 10
    names = {n for n, _, _ in rows}
    assert {"lenet5", "inception_naive", "inception_bottleneck", "conv_standard", "conv_depthwise_separable"} <= names
    for name, params, macs in rows:
        totals = archscope.summarize(name).totals
        assert (totals.params, totals.macs) == (int(params.replace(",", "")), int(macs.replace(",", ""))), name


# --- the generated pages --------------------------------------------------------------------------


def test_codes_table_lists_every_code() -> None:
    table = hooks.codes_table()
    rows = re.findall(r"^\| \[`([EW]\d{3})`\]\(#\w+\) \| (error|warning) \| [\w ]+ \| (.+) \|$", table, re.M)
    assert [code for code, _, _ in rows] == [c.code for c in TABLE]
    assert {code: summary for code, _, summary in rows} == {k: v.replace("|", "\\|") for k, v in CODES.items()}
    assert all(f"\n### {code}\n" in table for code in CODES)  # a section per code, the table's anchors


def test_ops_table_lists_every_op() -> None:
    names = re.findall(r"^\| `(\w+)` \|", hooks.ops_table(), re.M)
    assert names == sorted(REGISTRY)


def test_bundled_table_has_every_spec_with_its_numbers() -> None:
    table = hooks.bundled_table()
    rows = re.findall(r"^\| `(\w+)` \| .+ \| ([\d×]+) \| ([\d,]+) \| ([\d,]+) \| ([\w, ]*) \|$", table, re.M)
    files = {s.name: s.path for s in list_specs()}
    assert [name for name, *_ in rows] == sorted(files)
    for name, shape, params, macs, checks in rows:
        report = archscope.summarize(name)
        assert shape == "×".join(map(str, report.input))
        assert (int(params.replace(",", "")), int(macs.replace(",", ""))) == (report.totals.params, report.totals.macs)
        # and what the spec itself pins, read from its file rather than computed
        expect = yaml.safe_load(files[name].read_text("utf-8")).get("expect", {})
        assert checks == ", ".join(expect), name
        for key, value in (("params", params), ("macs", macs)):
            if key in expect:
                assert int(value.replace(",", "")) == int(str(expect[key]).replace("_", "")), (name, key)


def test_every_command_has_a_page_with_its_help() -> None:
    from archscope.cli.app import COMMANDS

    pages = {p.name: p.read_text("utf-8") for p in (DOCS / "commands").glob("*.md")}
    helped = {m for text in pages.values() for m in re.findall(r"<!-- archscope:help (\w+) -->", text)}
    assert helped == set(COMMANDS)
    subhelped = {m for text in pages.values() for m in re.findall(r"<!-- archscope:help (\w+ \w+) -->", text)}
    assert subhelped == {f"{command} {sub}" for command, subs in SUBCOMMANDS.items() for sub in subs}
    text = hooks.help_text("rf")
    assert text.startswith("```text\n") and "Usage: archscope rf" in text
    assert not any(len(line) > hooks.HELP_COLUMNS for line in text.splitlines())


def test_placeholders_are_known() -> None:
    for page in DOCS.rglob("*.md"):
        for placeholder in re.findall(r"<!-- archscope:[^>]*-->", page.read_text("utf-8")):
            assert hooks.PLACEHOLDER.fullmatch(placeholder), (page, placeholder)


# --- the site's structure and the README ----------------------------------------------------------


def _nav_pages(node) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, list):
        return [p for item in node for p in _nav_pages(item)]
    if isinstance(node, dict):
        return [p for value in node.values() for p in _nav_pages(value)]
    return []


def test_every_page_is_in_the_nav_and_every_entry_exists() -> None:
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text("utf-8"))
    nav = _nav_pages(config["nav"])
    pages = sorted(str(p.relative_to(DOCS)) for p in DOCS.rglob("*.md"))
    assert sorted(nav) == pages
    assert len(nav) == len(set(nav))


def _slug(heading: str) -> str:
    """Python-Markdown's toc slug (mkdocs' default): what `#anchor` a heading gets."""
    text = unicodedata.normalize("NFKD", heading).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"[^\w\s-]", "", text).strip().lower()
    return re.sub(r"[-\s]+", "-", text)


def _anchors(page: Path) -> set[str]:
    text = re.sub(r"^```.*?^```", "", page.read_text("utf-8"), flags=re.M | re.S)
    return {_slug(h) for h in re.findall(r"^#{1,6} (.+?)\s*$", text, re.M)}


def test_readme_is_short() -> None:
    assert len(README.read_text("utf-8").splitlines()) <= 300


def test_readme_links_point_at_existing_pages() -> None:
    links = re.findall(r"\]\((docs/[^)#\s]+)(?:#([^)\s]+))?\)", README.read_text("utf-8"))
    assert len(links) >= 15
    for target, anchor in links:
        path = ROOT / target
        assert path.is_file(), target
        if anchor:
            assert anchor in _anchors(path), f"{target}#{anchor}"
