"""The Ultralytics importer: a model YAML → an archscope spec, statically (no torch, no ultralytics).

The published YAMLs come from the ultralytics package's data, found without importing it (its
import pulls torch and OpenCV); tests that need them skip when it is not installed. The rest use
small YAML texts written here. Ultralytics' own build is compared in bench/ultralytics_check.py.
"""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import pytest
from conftest import analyze_text, where
from hypothesis import given
from hypothesis import strategies as st

import archscope
from archscope.lang.importers.ultralytics import import_ultralytics
from archscope.lang.importers.ultralytics_yaml import Scaling


def _cfg() -> Path | None:
    """ultralytics/cfg/models, located without running the package's __init__."""
    found = importlib.util.find_spec("ultralytics")
    return Path(found.origin).parent / "cfg" / "models" if found and found.origin else None


CFG = _cfg()
needs_ultralytics = pytest.mark.skipif(
    CFG is None, reason="the Ultralytics YAMLs: pip install --no-deps ultralytics==8.4.190"
)


def imported_ok(path: Path | str, **kw) -> tuple[archscope.Analysis, str]:
    """Import, then analyse the written spec: it must be clean (no errors, no warnings)."""
    result = import_ultralytics(path, **kw)
    assert result.text is not None, [f"{d.span}: {d.code} {d.message}" for d in result.diagnostics]
    analysis = analyze_text(result.text, f"{result.name}.yaml")
    assert analysis.diagnostics == [], [f"{d.span}: {d.code} {d.message}" for d in analysis.diagnostics]
    return analysis, result.text


def errors(text: str, **kw) -> list[tuple[str, int, int, str]]:
    """(code, line, col, message) of each diagnostic of importing `text`; no spec may be written."""
    result = import_ultralytics("m.yaml", text=text, **kw)
    assert result.text is None
    return [(d.code, d.span.line, d.span.col, d.message) for d in result.diagnostics if d.span]


# ---------------------------------------------------------------- the published YAMLs


@needs_ultralytics
@pytest.mark.parametrize("scale", "nsmlx")
def test_yolov8_every_scale_is_the_bundled_spec(scale: str) -> None:
    analysis, _ = imported_ok(CFG / "v8/yolov8.yaml", scale=scale)
    bundled = archscope.summarize(f"yolov8{scale}")
    assert analysis.report.totals.params == bundled.totals.params
    assert analysis.report.totals.macs == bundled.totals.macs
    assert analysis.report.totals.trainable_params == bundled.totals.trainable_params  # the DFL is frozen
    assert analysis.report.outputs == bundled.outputs


@needs_ultralytics
def test_yolov8n_numbers_and_the_written_spec() -> None:
    result = import_ultralytics(CFG / "v8/yolov8.yaml")
    assert result.name == "yolov8n"
    assert result.stats["params"] == 3_157_200  # the yaml's own comment: "3157200 parameters"
    assert result.stats["macs"] == 4_371_993_600
    text = result.text
    assert f"imported by archscope {archscope.__version__}" in text
    assert "# Scale n: NOTE: no scale was named, so the first listed (of n, s, m, l, x), as Ultralytics" in text
    assert "make_divisible(min(c, max_channels) · width, 8)" in text and "max(round(n · depth), 1)" in text
    assert "Ultralytics' own count needs its package" in text
    # one block per module: C2f repeats its bottlenecks with `n:` and concatenates them all with `m.*`
    body = text.split("\nblocks:\n")[1].split("\nlayers:\n")[0]
    blocks = [line[2:-1] for line in body.splitlines() if line.startswith("  ") and line[2] != " "]
    assert blocks == ["conv", "bottleneck", "c2f", "sppf", "detect_scale"]  # one C2f for every repeat count
    assert "  - {op: c2f, name: c2f4, c: 64, repeats: 2, shortcut: true}" in text
    assert '      - {op: concat, name: cat, in: [chunk.0, chunk.1, "m.*"]}' in text
    assert "# model.4: [-1, 6, C2f, [256, True]]  (repeats 6 → 2)" in text
    assert "  - {op: detect_scale, name: det15, in: c2f15}" in text
    assert "expect:\n  params: 3_157_200\n  macs: 4_371_993_600\n" in text


@needs_ultralytics
def test_yolo11_stops_at_its_attention_row_only() -> None:
    """yolo11.yaml: every row translates but C2PSA (row 10), whose PSABlock needs q·kᵀ."""
    path = CFG / "11/yolo11.yaml"
    for scale in "nx":
        result = import_ultralytics(path, scale=scale)
        assert result.text is None
        [d] = result.diagnostics
        assert (d.code, d.span.line, d.span.col) == ("E301", *where(path.read_text(), "C2PSA, [1024]"))
        assert d.message.startswith("`C2PSA` (row 10, model.10) has no archscope op: its attention")


@needs_ultralytics
@pytest.mark.parametrize(
    ("file", "params", "outputs"),
    [
        # the yaml's own comment: "YOLOv8n-ghost summary: 237 layers, 1865316 parameters"
        ("v8/yolov8-ghost.yaml", 1_865_316, {"det15": (144, 80, 80), "dfl": (1, 1680, 20)}),
        # Ultralytics' DetectionModel / ClassificationModel agree (bench/ultralytics_check.py)
        (
            "v8/yolov8-p2.yaml",
            3_354_144,
            {"det18": (144, 160, 160), "dfl": (1, 4 * 34_000 // 20, 20)},
        ),  # 160² + … + 20²
        ("v8/yolov8-cls.yaml", 2_719_288, {"classify9.linear": (1000,)}),
    ],
)
def test_other_yolov8_variants(file: str, params: int, outputs: dict) -> None:
    analysis, _ = imported_ok(CFG / file)
    assert analysis.report.totals.params == params
    assert {k: v for k, v in analysis.report.outputs if k in outputs} == outputs


@needs_ultralytics
def test_every_published_yaml_imports_or_says_where_it_stops() -> None:
    """No traceback on any YAML Ultralytics ships: a clean spec, or errors located in that file."""
    files = sorted(CFG.glob("**/*.yaml"))
    assert len(files) > 50
    imported = 0
    for path in files:
        result = import_ultralytics(path)
        if result.text is not None:
            imported += 1
            assert analyze_text(result.text).ok, path
        else:
            assert result.errors and all(d.span and d.span.file == str(path) for d in result.errors), path
    assert imported >= 10  # v8 (detect, p2, cls, ghost ×3), v3, v3-tiny, v5 ×2, v6


# ---------------------------------------------------------------- small YAMLs written here

HEAD = "nc: 4\nscales:\n  n: [0.33, 0.25, 1024]\n  s: [0.33, 0.50, 1024]\n"
TINY = HEAD + (
    "backbone:\n"
    "  - [-1, 1, Conv, [64, 3, 2]]\n"
    "  - [-1, 3, C2f, [128, True]]\n"
    "head:\n"
    "  - [-1, 1, Conv, [128, 3, 2]]\n"
    "  - [[1, 2], 1, Detect, [nc]]\n"
)


def test_a_small_model_by_hand() -> None:
    """Numbers worked out by hand from Ultralytics' modules at scale s (width 0.5)."""
    analysis, text = imported_ok("tiny.yaml", text=TINY, scale="s")
    conv0 = 3 * 32 * 9 + 2 * 32  # Conv 3→32, 3×3, + BN
    c2f1 = (32 * 64 + 128) + 2 * (32 * 32 * 9 + 64) + (96 * 64 + 128)  # cv1, one Bottleneck, cv2 (3 chunks of 32)
    conv2 = 64 * 64 * 9 + 128
    box_c, cls_c = max(16, 64 // 4, 64), max(64, min(4, 100))  # Detect's c2, c3 from its first input (64)

    def scale(c: int) -> int:
        box = (c * box_c * 9 + 2 * box_c) + (box_c * box_c * 9 + 2 * box_c) + (box_c * 64 + 64)
        cls = (c * cls_c * 9 + 2 * cls_c) + (cls_c * cls_c * 9 + 2 * cls_c) + (cls_c * 4 + 4)
        return box + cls

    assert analysis.report.totals.params == conv0 + c2f1 + conv2 + scale(64) + scale(64) + 16
    anchors = 320**2 + 160**2
    assert dict(analysis.report.outputs) == {
        "det1": (68, 320, 320),
        "det2": (68, 160, 160),
        "dfl": (1, 4 * anchors // 160, 160),
    }
    assert "scale s (depth 0.33, width 0.5, max_channels 1024)" in text
    assert "# Scale s: the one asked for." in text


def test_nc_and_name_overrides() -> None:
    result = import_ultralytics("tiny.yaml", text=TINY, nc=10, name="my_net")
    assert result.name == "my_net" and "\nname: my_net\n" in result.text
    assert result.stats["outputs"]["det1"] == [64 + 10, 320, 320]


def test_unknown_modules_are_each_located() -> None:
    text = HEAD + (
        "backbone:\n"
        "  - [-1, 1, Conv, [64, 3, 2]]\n"
        "  - [-1, 1, FancyBlock, [64]]\n"
        "  - [-1, 2, C2PSA, [64]]\n"
        "head:\n"
        "  - [-1, 1, C2F, [64]]\n"
    )
    found = errors(text)
    assert [(c, line, col) for c, line, col, _ in found] == [
        ("E301", *where(text, "FancyBlock")),
        ("E301", *where(text, "C2PSA")),
        ("E301", *where(text, "C2F")),
    ]
    assert found[0][3] == "`FancyBlock` (row 1, model.1) has no archscope translation in the Ultralytics importer"
    assert "no `matmul`" in found[1][3]
    assert found[2][3].endswith("(did you mean `C2f`?)")


def test_a_scale_the_file_does_not_have() -> None:
    [(code, line, col, message)] = errors(TINY, scale="q")
    assert (code, line, col) == ("E004", *where(TINY, "scales"))
    assert message == "no scale `q` in `scales:`"


@pytest.mark.parametrize(
    ("row", "code", "needle", "message"),
    [
        ("[-1, 1, Conv]", "E004", "[-1, 1, Conv]", "row 1 must be [from, repeats, module, args]"),
        ("[5, 1, Conv, [8]]", "E008", "5", "row 1: `from` 5 names no earlier row"),
        ("[[-1, -3], 1, Concat, [1]]", "E008", "-3", "row 1: `from` -3 names no earlier row"),
        ("[-1, 0, Conv, [8]]", "E004", "0", "row 1: repeats must be a whole number ≥ 1"),
        ("[-1, 1, [Conv], [8]]", "E004", "[Conv]", "row 1: the module must be a name"),
        ("[-1, 1, Conv, 8]", "E004", "8", "row 1: args must be a list"),
        (
            '[-1, 1, Conv, ["wide"]]',
            "E004",
            '"wide"',
            "`Conv` (row 1): the output channels (args[0]) must be a positive whole number",
        ),
        ("[-1, 1, Conv, []]", "E005", "[]", "`Conv` (row 1) needs its output channels (args[0])"),
        (
            "[-1, 1, nn.Upsample, [None, 2, cubic]]",
            "E004",
            "cubic",
            "`nn.Upsample` (row 1): the mode (args[2]) must be nearest or bilinear or bicubic",
        ),
        ("[[-1, 0], 1, Conv, [8]]", "E108", "[-1, 0]", "`Conv` (row 1) takes one input"),
        ("[0, 1, Concat, [1]]", "E108", "0", "`Concat` (row 1) takes a list of inputs"),
    ],
)
def test_malformed_rows_are_located(row: str, code: str, needle: str, message: str) -> None:
    text = HEAD + "backbone:\n  - [-1, 1, Conv, [16, 3, 2]]\nhead:\n  - " + row + "\n"
    [found] = errors(text)
    assert found == (code, where(text, "head:")[0] + 1, len("  - ") + 1 + row.index(needle), message)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("path: ../datasets/coco\ntrain: images/train\n", "E303"),  # a dataset YAML
        ("- [-1, 1, Conv, [8]]\n", "E303"),
        ("nc: 80\nbackbone: [[-1, 1, Conv, [8]]\n", "E001"),  # unclosed bracket
        ("", "E001"),
    ],
)
def test_files_that_hold_no_model(text: str, code: str) -> None:
    result = import_ultralytics("data.yaml", text=text)
    assert result.text is None and [d.code for d in result.diagnostics] == [code]


def test_nc_is_needed_only_where_a_row_names_it() -> None:
    no_nc = TINY.replace("nc: 4\n", "")
    [(code, line, col, message)] = errors(no_nc)
    assert (code, line, col, message) == ("E005", 1, 1, "a row names `nc`, and the model has no `nc:`")
    assert import_ultralytics("m.yaml", text=no_nc, nc=3).stats["outputs"]["det1"][0] == 64 + 3
    backbone_only = no_nc.split("head:")[0] + "head:\n  - [-1, 1, Conv, [128, 3, 2]]\n"
    assert import_ultralytics("m.yaml", text=backbone_only).stats["outputs"] == {"conv2.act": [32, 160, 160]}


@pytest.mark.parametrize(
    ("scales", "row"),
    [
        ("  n: [0.33, 0.25, 1024]\n", "[-1, 1000000000, C2f, [64]]"),
        ("  n: [1.0e+9, 0.25, 1024]\n", "[-1, 3, C2f, [64]]"),
    ],
)
def test_repeats_beyond_the_layer_limit_are_refused_before_writing(scales: str, row: str) -> None:
    text = f"nc: 4\nscales:\n{scales}backbone:\n  - {row}\nhead: []\n"
    [(code, line, col, message)] = errors(text)
    assert (code, line, col) == ("E011", 5, len("  - [-1, ") + 1) and "exceed the layer limit" in message


def test_a_file_that_does_not_exist(tmp_path: Path) -> None:
    result = import_ultralytics(tmp_path / "nope.yaml")
    assert result.text is None and [d.code for d in result.diagnostics] == ["E000"]


def test_a_concat_of_maps_of_different_sizes_is_reported_at_its_row() -> None:
    """Ultralytics would fail at its first forward; archscope says so at the row, statically."""
    text = (
        HEAD
        + "backbone:\n  - [-1, 1, Conv, [64, 3, 2]]\n  - [-1, 1, Conv, [64, 3, 2]]\nhead:\n  - [[-1, 0], 1, Concat, [1]]\n"
    )
    result = import_ultralytics("m.yaml", text=text)
    assert result.text is None
    [d] = result.errors
    assert (d.code, d.span.line, d.span.col) == ("E105", *where(text, "[[-1, 0]"))
    assert "row 2 (`Concat`)" in d.notes[-1]


def test_activation_key_and_its_refusal() -> None:
    relu = "activation: nn.LeakyReLU(0.1)\n" + TINY
    _, text = imported_ok("m.yaml", text=relu)
    assert "      - {op: leaky_relu, name: act, negative_slope: 0.1}" in text
    bad = "activation: nn.PReLU()\n" + TINY
    [(code, line, col, _)] = errors(bad)
    assert (code, line, col) == ("E301", 1, 13)


def test_source_text_cannot_add_lines_to_the_spec() -> None:
    """The file name and the YAML's comments reach the spec only inside comments or quoted values."""
    evil = "m.yaml\nexpect: {params: 1}\n#"
    text = TINY.replace("  n: [0.33, 0.25, 1024]", "  n: [0.33, 0.25, 1024] # n\tscale")
    result = import_ultralytics(evil, text=text)
    assert result.text is not None
    assert [line for line in result.text.splitlines() if line.startswith("expect")] == ["expect:"]
    assert [line for line in result.text.splitlines() if "{params: 1}" in line] == [
        "# m.yaml\\nexpect: {params: 1}\\n#, scale n (depth 0.33, width 0.25, max_channels 1024),",
        f'source: "m.yaml\\\\nexpect: {{params: 1}}\\\\n#, scale n (archscope {archscope.__version__} import)"',
    ]
    assert '# The YAML\'s comment on this scale: "n\\tscale".' in result.text
    # a scale named with a line break (a quoted key) stays on its comment line too
    keyed = TINY.replace("  n: [0.33", '  "n\\nexpect: {params: 3}": [0.33')
    written = import_ultralytics("m.yaml", text=keyed).text
    assert [line for line in written.splitlines() if line.startswith("expect")] == ["expect:"]
    assert analyze_text(written).ok
    analysis = analyze_text(result.text)
    assert analysis.ok and analysis.report.totals.params == result.stats["params"] > 2


# ---------------------------------------------------------------- the rules themselves


def _ultralytics_channels(c: int, width: float, max_channels: float) -> int:
    """parse_model's channel rule, transcribed: make_divisible(min(c2, max_channels) * width, 8)."""
    return math.ceil(min(c, max_channels) * width / 8) * 8


def _ultralytics_repeats(n: int, depth: float) -> int:
    """parse_model's repeat rule, transcribed: max(round(n * depth), 1) if n > 1 else n."""
    return max(round(n * depth), 1) if n > 1 else n


@given(
    c=st.integers(1, 4096),
    n=st.integers(1, 64),
    depth=st.floats(0.05, 2.0),
    width=st.floats(0.05, 2.0),
    max_channels=st.sampled_from([math.inf, 256, 512, 768, 1024]),
)
def test_scaling_rules_are_ultralytics(c: int, n: int, depth: float, width: float, max_channels: float) -> None:
    scaling = Scaling("x", depth, width, max_channels, "", None)
    assert scaling.channels(c) == _ultralytics_channels(c, width, max_channels)
    assert scaling.repeats(n) == _ultralytics_repeats(n, depth)
    assert scaling.channels(c) % 8 == 0


def test_round_is_pythons_half_to_even() -> None:
    """5 × 0.5 = 2.5 rounds to 2 in Ultralytics (Python's round); archscope's `round` would give 3."""
    assert Scaling("x", 0.5, 1.0, math.inf, "", None).repeats(5) == 2
    assert Scaling("x", 0.5, 1.0, math.inf, "", None).repeats(3) == 2
