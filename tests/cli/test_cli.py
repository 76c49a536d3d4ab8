"""The CLI through typer's CliRunner: formats, exit codes, name resolution, colours, help.

Reference numbers are ResNet-18's published torchvision figures (11,689,512 params,
1,814,073,344 MACs) or hand counts of the small inline specs.
"""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from conftest import ROOT, net

from archscope.lang.bundled import bundled
from archscope.ops import REGISTRY
from archscope.results.report import CONVENTION

RESNET18_PARAMS, RESNET18_MACS = 11_689_512, 1_814_073_344
ANSI = re.compile(r"\x1b\[")

# a small net counted by hand: conv 3→4 3×3 pad 1 on 8×8 (108+4 params, 108·64 MACs), BN (8 + 9 buffers),
# relu, 2×2 max pool → 4×4×4, flatten 64, linear 64→10 (650 params, 640 MACs)
SMALL = (
    "name: small\ntitle: Small net\ninput: [3, 8, 8]\nlayers:\n"
    "  - {op: conv2d, name: conv, out: 4, kernel: 3, padding: 1}\n"
    "  - {op: batchnorm2d, name: bn}\n  - {op: relu, name: act}\n"
    "  - {op: maxpool2d, name: pool, kernel: 2}\n  - {op: flatten, name: flat}\n"
    "  - {op: linear, name: fc, out: 10}\n"
)
SMALL_ROWS = [
    ("conv", "conv2d", [4, 8, 8], 112, 108 * 64),
    ("bn", "batchnorm2d", [4, 8, 8], 8, 0),
    ("act", "relu", [4, 8, 8], 0, 0),
    ("pool", "maxpool2d", [4, 4, 4], 0, 0),
    ("flat", "flatten", [64], 0, 0),
    ("fc", "linear", [10], 650, 640),
]


def csv_rows(text: str) -> list[dict[str, str]]:
    """A CSV output: the counting convention as its first (comment) line, then the table."""
    first, _, rest = text.partition("\n")
    assert first == f"# convention: {CONVENTION}"
    return list(csv.DictReader(io.StringIO(rest)))


# ---- summary --------------------------------------------------------------------------------


def test_summary_table_has_totals_and_the_convention(cli):
    result = cli("summary", "resnet18")
    assert result.exit_code == 0
    out = result.stdout
    assert f"{RESNET18_PARAMS:,}" in out and f"{RESNET18_MACS:,}" in out
    assert "layer1.0.conv1" in out and "fc" in out
    assert "FLOPs = 2 × MACs" in out and "multiply-accumulates" in out


def test_summary_depth_collapses_blocks(cli):
    full = cli("summary", "resnet18").stdout
    collapsed = cli("summary", "resnet18", "--depth", "1").stdout
    assert "layer1.0.conv1" in full and "layer1.0.conv1" not in collapsed
    assert "layer1" in collapsed and "basic ×2" in collapsed  # the block type and its repeat count
    assert f"{RESNET18_PARAMS:,}" in collapsed  # totals do not change
    two = cli("summary", "resnet18", "--depth", "2").stdout
    assert "layer1.0" in two and "layer1.0.conv1" not in two


def test_summary_json(cli, sandbox):
    path = sandbox.file("small.yaml", SMALL)
    data = json.loads(cli("summary", str(path), "--format", "json").stdout)
    assert data["name"] == "small" and data["input"] == [3, 8, 8]
    totals = data["totals"]
    assert type(totals["params"]) is int and type(totals["macs"]) is int
    assert totals["params"] == 112 + 8 + 650 and totals["macs"] == 108 * 64 + 640
    assert [(r["name"], r["op"], r["output_shape"], r["params"], r["macs"]) for r in data["layers"]] == SMALL_ROWS


def test_summary_json_of_a_bundled_spec(cli):
    data = json.loads(cli("summary", "resnet18", "--format", "json").stdout)
    assert data["name"] == "resnet18" and data["input"] == [3, 224, 224]
    assert (data["totals"]["params"], data["totals"]["macs"]) == (RESNET18_PARAMS, RESNET18_MACS)
    for row in data["layers"]:
        assert {"name", "op", "output_shape", "params", "macs"} <= set(row)
    assert sum(r["params"] for r in data["layers"]) == RESNET18_PARAMS
    assert sum(r["macs"] for r in data["layers"]) == RESNET18_MACS
    assert data["layers"][-1]["output_shape"] == [1000]


def test_summary_csv(cli, sandbox):
    path = sandbox.file("small.yaml", SMALL)
    rows = csv_rows(cli("summary", str(path), "--format", "csv").stdout)
    assert [(r["name"], r["op"], int(r["params"]), int(r["macs"])) for r in rows] == [
        (name, op, params, macs) for name, op, _, params, macs in SMALL_ROWS
    ]
    assert rows[0]["output_shape"] == "4×8×8"


def test_summary_csv_depth_sums_groups(cli):
    rows = csv_rows(cli("summary", "resnet18", "--format", "csv", "--depth", "1").stdout)
    assert [r["name"] for r in rows][:5] == ["conv1", "bn1", "relu", "maxpool", "layer1"]
    assert sum(int(r["params"]) for r in rows) == RESNET18_PARAMS


def test_summary_markdown(cli, sandbox):
    path = sandbox.file("small.yaml", SMALL)
    out = cli("summary", str(path), "--format", "markdown").stdout
    lines = out.splitlines()
    assert lines[0] == "## Small net"
    table = [line for line in lines if line.startswith("|")]
    assert table[1].startswith("|---")
    assert any(line.startswith("| `fc` | linear | 10 | 650 | 640 |") for line in table)
    assert "**770**" in table[-1] and f"**{108 * 64 + 640:,}**" in table[-1]


@pytest.mark.usefixtures("sandbox")
def test_summary_by_bundled_file_name_from_another_folder(cli):
    result = cli("summary", "resnet18.yaml", "--format", "json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["totals"]["params"] == RESNET18_PARAMS


@pytest.mark.usefixtures("sandbox")
def test_summary_mobilenet_v2_by_file_name(cli):
    data = json.loads(cli("summary", "mobilenet_v2.yaml", "--format", "json").stdout)
    assert (data["totals"]["params"], data["totals"]["macs"]) == (3_504_872, 300_774_272)  # torchvision


def test_summary_exits_1_on_a_spec_with_errors(cli, sandbox):
    path = sandbox.file("bad.yaml", net("{op: conv2d, out: 4, kernel: 9}"))
    result = cli("summary", str(path))
    assert result.exit_code == 1
    assert f"{path}:3:5: error E102" in result.stderr and result.stdout == ""


def test_summary_prints_warnings_and_still_succeeds(cli, sandbox):
    path = sandbox.file("w.yaml", net("{op: conv2d, out: 64, kernel: 11, stride: 4}", input="[3, 224, 224]"))
    result = cli("summary", str(path))
    assert result.exit_code == 0 and "W101" in result.stderr and "W101" not in result.stdout
    quiet = cli("summary", str(path), "--no-warnings")
    assert quiet.exit_code == 0 and "W101" not in quiet.output and quiet.stderr == ""


# ---- lint -----------------------------------------------------------------------------------


def test_lint_exit_codes(cli, sandbox):
    clean = sandbox.file("clean.yaml", net("relu"))
    warn = sandbox.file("warn.yaml", net("{op: relu, name: a}", "{op: relu, in: input}"))  # W102
    error = sandbox.file("error.yaml", net("{op: linear, out: 3}"))  # E106
    assert cli("lint", str(clean)).exit_code == 0
    assert cli("lint", str(warn)).exit_code == 0
    assert cli("lint", "--strict", str(warn)).exit_code == 1
    assert cli("lint", "--strict", str(clean)).exit_code == 0
    assert cli("lint", str(error)).exit_code == 1
    assert cli("lint", str(clean), str(error)).exit_code == 1
    assert cli("lint", str(clean), "missing.yaml").exit_code == 2


def test_lint_bundled_specs_are_clean(cli):
    result = cli("lint", "--strict", str(ROOT / "specs"))
    assert result.exit_code == 0, result.output[-3000:]
    assert result.stderr == f"{len(bundled())} files checked: 0 errors, 0 warnings\n" and result.stdout == ""


def test_lint_text_shows_the_line_and_a_caret(cli, sandbox):
    path = sandbox.file("bad.yaml", net("{op: conv2d, out: 4, kernal: 3}"))
    out = cli("lint", "--format", "text", str(path)).stdout
    assert f"{path}:3:26: error E003 `conv2d` has no attribute `kernal`; did you mean `kernel`?" in out
    lines = out.splitlines()
    i = next(k for k, line in enumerate(lines) if line.endswith("- {op: conv2d, out: 4, kernal: 3}"))
    source, caret = lines[i], lines[i + 1]
    assert caret.index("^") == source.index("kernal")


def test_lint_concise(cli, sandbox):
    path = sandbox.file("bad.yaml", net("{op: conv2d, out: 4, kernal: 3}"))
    out = cli("lint", "--format", "concise", str(path)).stdout
    assert out.splitlines()[0].startswith(f"{path}:3:26: E003 ")


def test_lint_json(cli, sandbox):
    path = sandbox.file("bad.yaml", net("{op: linear, out: 3}", "{op: relu, name: x, in: input}"))
    items = json.loads(cli("lint", "--format", "json", str(path)).stdout)
    by_code = {item["code"]: item for item in items}
    assert set(by_code) == {"E106"}  # `x` is the output; the failed `linear_1` gets no W102 on top
    e106 = by_code["E106"]
    assert (e106["file"], e106["line"], e106["col"], e106["severity"]) == (str(path), 3, 5, "error")
    assert (
        e106["expected"] == "(features,) or (L, features)"
        and e106["found"] == "(3, 8, 8)"
        and e106["layer"] == "linear_1"
    )


def test_lint_github_escapes_data_and_properties(cli, sandbox):
    # `%` in the message, CR from a quoted name (shown as an escape), LF from expected/found; `:` and
    # `,` in the file name
    # (`name:`: the file's name is not a valid one, E004 of its own)
    path = sandbox.file("we,ird:name.yaml", 'input: [3]\nlayers:\n  - {op: "a%b\\rc"}\nname: weird\n')
    out = cli("lint", "--format", "github", str(path)).stdout
    lines = out.splitlines()
    assert len(lines) == 1, out  # one annotation per diagnostic: no raw newline inside
    line = lines[0]
    escaped_file = str(path).replace("%", "%25").replace(":", "%3A").replace(",", "%2C")
    assert line.startswith(f"::error file={escaped_file},line=3,col=10,title=E004::")
    message = line.split("::", 2)[2]
    assert "a%25b\\rc" in message and "%0Aexpected: " in message  # the name's CR is shown as `\r`
    assert "\r" not in out and "%" not in message.replace("%25", "").replace("%0D", "").replace("%0A", "")


def test_lint_auto_is_github_inside_actions(cli, sandbox):
    path = sandbox.file("bad.yaml", net("{op: linear, out: 3}"))
    out = cli("lint", str(path), env={"GITHUB_ACTIONS": "true"}).stdout
    assert out.startswith("::error file=")
    assert cli("lint", str(path)).stdout.startswith(f"{path}:3:5: error E106")


def test_lint_warning_in_github_format(cli, sandbox):
    path = sandbox.file("w.yaml", net("{op: relu, name: a}", "{op: relu, in: input}"))
    out = cli("lint", "--format", "github", str(path)).stdout
    assert out.startswith("::warning file=") and "title=W102" in out


def test_lint_quiet_hides_warnings(cli, sandbox):
    path = sandbox.file("w.yaml", net("{op: relu, name: a}", "{op: relu, in: input}"))
    assert "W102" in cli("lint", str(path)).stdout
    assert "W102" not in cli("lint", "--quiet", str(path)).stdout


def test_lint_a_folder_recursively(cli, sandbox):
    sandbox.file("nets/a.yaml", net("relu"))
    sandbox.file("nets/deep/b.yml", net("{op: linear, out: 3}"))
    sandbox.file("nets/notes.txt", "not a spec")
    result = cli("lint", str(sandbox.inputs / "nets"))
    assert result.exit_code == 1
    assert result.stderr == "2 files checked: 1 error, 0 warnings\n"


def test_lint_expect(cli, sandbox):
    path = sandbox.file("e.yaml", net("{op: linear, out: 10}", input="[4]", extra="expect:\n  params: 49\n"))
    result = cli("lint", str(path))
    assert result.exit_code == 1
    assert f"{path}:5:11: error E201 expected params 49, computed 50" in result.stdout


# ---- compare --------------------------------------------------------------------------------


def test_compare_resolves_families_and_says_so(cli):
    result = cli("compare", "resnet", "vgg")
    assert result.exit_code == 0
    assert "`resnet` resolved to `resnet50`" in result.stdout
    assert "`vgg` resolved to `vgg16`" in result.stdout


def test_compare_json_ratios(cli, sandbox):
    small = sandbox.file("small.yaml", SMALL)
    rows = json.loads(cli("compare", "resnet18", str(small), "--format", "json").stdout)
    assert [r["name"] for r in rows] == ["resnet18", "small"]
    assert rows[0]["params"] == RESNET18_PARAMS and rows[0]["params_ratio"] == 1.0
    assert rows[1]["params"] == 770 and rows[1]["params_ratio"] == pytest.approx(770 / RESNET18_PARAMS)
    assert rows[1]["depth"] == 2


def test_compare_family_in_json(cli):
    rows = json.loads(cli("compare", "resnet", "resnet18", "--format", "json").stdout)
    assert rows[0]["name"] == "resnet50" and rows[0]["requested"] == "resnet"
    assert rows[0]["params"] == 25_557_032  # torchvision's resnet50


def test_compare_csv_and_markdown(cli):
    rows = csv_rows(cli("compare", "resnet18", "resnet34", "--format", "csv").stdout)
    assert [r["name"] for r in rows] == ["resnet18", "resnet34"] and int(rows[0]["params"]) == RESNET18_PARAMS
    md = cli("compare", "resnet18", "resnet34", "--format", "markdown").stdout
    assert md.startswith("| name |") and "| resnet18 |" in md


def test_compare_unknown_name_lists_bundled(cli):
    result = cli("compare", "resnet18", "resnot")
    assert result.exit_code == 2 and result.stdout == ""
    assert "no spec file or bundled spec named `resnot`" in result.stderr
    for name in ("resnet18", "resnet50", "vgg16"):
        assert name in result.stderr


def test_compare_a_spec_with_errors(cli, sandbox):
    bad = sandbox.file("bad.yaml", net("{op: linear, out: 3}"))
    result = cli("compare", "resnet18", str(bad))
    assert result.exit_code == 1 and f"{bad}:3:5: error E106" in result.stderr and result.stdout == ""


# ---- list, ops, schema ----------------------------------------------------------------------


def test_list(cli):
    out = cli("list").stdout
    for name in bundled():
        assert name in out
    data = json.loads(cli("list", "--json").stdout)
    assert {item["name"] for item in data} == set(bundled()) == {p.stem for p in (ROOT / "specs").glob("*.yaml")}


def test_ops(cli):
    out = cli("ops").stdout
    for name in REGISTRY:
        assert name in out
    data = json.loads(cli("ops", "--json").stdout)
    assert {item["op"] for item in data} == set(REGISTRY)
    conv = next(item for item in data if item["op"] == "conv2d")
    assert {a["name"]: a["required"] for a in conv["attrs"]}["out"] is True


def test_schema_is_json_and_matches_the_checked_in_copy(cli):
    text = cli("schema").stdout
    schema = json.loads(text)
    assert schema["$schema"].startswith("https://json-schema.org/")
    checked_in = ROOT / "schema" / "archscope.schema.json"
    assert checked_in.is_file(), "run `archscope schema > schema/archscope.schema.json`"
    assert json.loads(checked_in.read_text("utf-8")) == schema, (
        "schema/archscope.schema.json is stale: run `archscope schema > schema/archscope.schema.json`"
    )


def test_schema_accepts_every_bundled_spec_and_rejects_typos(cli):
    import jsonschema  # in the `test` extra: this test always runs
    import yaml

    schema = json.loads(cli("schema").stdout)
    validator = jsonschema.Draft202012Validator(schema)
    for path in sorted((ROOT / "specs").glob("*.yaml")):
        errors = [e.message for e in validator.iter_errors(yaml.safe_load(path.read_text("utf-8")))]
        assert not errors, (path.name, errors[:3])
    assert list(validator.iter_errors({"input": [3], "layers": ["relu"], "layer": []}))


# ---- colours, help, version -----------------------------------------------------------------


def test_colour_can_be_forced_and_turned_off(cli):
    assert ANSI.search(cli("summary", "resnet18", env={"FORCE_COLOR": "1"}).stdout)  # the check can see colour
    assert not ANSI.search(cli("summary", "resnet18", env={"FORCE_COLOR": "1", "NO_COLOR": "1"}).stdout)
    assert not ANSI.search(cli("--no-color", "summary", "resnet18", env={"FORCE_COLOR": "1"}).stdout)


@pytest.mark.parametrize("args", [("list",), ("ops",), ("compare", "resnet18", "resnet34")])
def test_no_colour_anywhere(cli, args):
    result = cli("--no-color", *args, env={"FORCE_COLOR": "1"})
    assert result.exit_code == 0 and not ANSI.search(result.output)
    result = cli(*args, env={"FORCE_COLOR": "1", "NO_COLOR": "1"})
    assert not ANSI.search(result.output)


def test_no_colour_in_diagnostics(cli, sandbox):
    path = sandbox.file("bad.yaml", net("{op: linear, out: 3}"))
    result = cli("lint", str(path), env={"FORCE_COLOR": "1", "NO_COLOR": "1"})
    assert not ANSI.search(result.output)


def _commands() -> list[str]:
    from archscope.cli.app import app

    return sorted(c.name or c.callback.__name__ for c in app.registered_commands)


@pytest.mark.parametrize("command", _commands())
def test_help_of_every_command(cli, command):
    result = cli(command, "--help")
    assert result.exit_code == 0
    assert f"Usage: archscope {command}" in re.sub(r"\s+", " ", result.stdout)


def test_main_help_and_version(cli):
    result = cli("--help")
    assert result.exit_code == 0
    for command in ("summary", "lint", "compare", "list", "ops", "schema"):
        assert command in result.stdout
    version = cli("--version")
    assert version.exit_code == 0 and re.fullmatch(r"archscope \d+\.\d+\.\d+\S*\n", version.stdout)


def test_list_groups_the_zoo_by_family_with_the_default_first(cli):
    rows = json.loads(cli("list", "--format", "json").stdout)
    assert sorted(r["name"] for r in rows) == sorted(bundled())
    families = [r["family"] for r in rows]
    seen: list = []
    for family in families:  # each family's specs are contiguous
        if not seen or seen[-1] != family:
            assert family not in seen, f"`{family}` appears in two places"
            seen.append(family)
    firsts = {}
    for r in rows:
        firsts.setdefault(r["family"], r)
    assert all(r["family_default"] for f, r in firsts.items() if f is not None)
    assert firsts["resnet"]["name"] == "resnet50" and families[-1] is None  # the examples come last
