"""Bad input never yields a traceback: each gets a located diagnostic and a non-zero exit code,
through the library API and through the CLI, and nothing is written to disk."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import analyze_text, net, no_traceback

import archscope

LOCATED = re.compile(r"^(?P<file>[^\n]+?):(?P<line>\d+):(?P<col>\d+): error (?P<code>E\d{3}) ", re.M)

BOMB = (
    "params:\n"
    + "  a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1]\n"
    + "".join(f"  {n}: &{n} [" + ", ".join([f"*{p}"] * 9) + "]\n" for p, n in zip("abcdefgh", "bcdefghi", strict=True))
    + "input: [3]\nlayers: [relu]\nexpect: {output: *i}\n"
)

# name → (file content, the code it must produce); all are files a user could hand to archscope
BAD: dict[str, tuple[str | bytes, str]] = {
    "malformed-yaml": ("input: [3, 8\nlayers: [relu\n", "E001"),
    "tab-indent": ("input: [3]\nlayers:\n\t- relu\n", "E001"),
    "empty": ("", "E001"),
    "only-comments": ("# nothing here\n", "E001"),
    "not-a-mapping": ("- relu\n- sigmoid\n", "E004"),
    "scalar-document": ("42\n", "E004"),
    "layers-wrong-type": ("input: [3]\nlayers: 7\n", "E004"),
    "layer-wrong-type": ("input: [3]\nlayers: [[relu]]\n", "E004"),
    "attribute-wrong-type": (net("{op: conv2d, out: [4], kernel: 3}"), "E004"),
    "attribute-mapping": (net("{op: conv2d, out: {a: 1}, kernel: 3}"), "E004"),
    "input-wrong-type": ("input: three\nlayers: [relu]\n", "E010"),
    "input-mapping": ("input: {c: 3}\nlayers: [relu]\n", "E004"),
    "negative-size": (net("relu", input="[3, -224, 224]"), "E004"),
    "zero-size": (net("relu", input="[3, 0, 224]"), "E004"),
    "zero-out": (net("{op: conv2d, out: 0, kernel: 3}"), "E004"),
    "zero-kernel": (net("{op: conv2d, out: 4, kernel: 0}"), "E004"),
    "zero-stride": (net("{op: maxpool2d, kernel: 2, stride: 0}"), "E004"),
    "negative-padding": (net("{op: conv2d, out: 4, kernel: 3, padding: -1}"), "E004"),
    "huge-out": (net("{op: conv2d, out: " + str(10**30) + ", kernel: 3}"), "E004"),
    "huge-repeat": (
        net("{op: relu, n: " + str(10**12) + "}"),
        "E011",
    ),  # refused by the layer limit as soon as `n` is known
    "huge-input": (net("relu", input=f"[3, {10**40}, 8]"), "E004"),
    "huge-expression": (net("{op: conv2d, out: '10 ** 60', kernel: 3}"), "E010"),
    "power-tower": (net("{op: conv2d, out: '((((2**64)**64)**64)**64)**64', kernel: 3}"), "E010"),
    "huge-digits": (net("relu", input="[3, " + "9" * 5000 + "]"), "E004"),
    "nan": ("input: [3, 8, 8]\nparams: {a: .nan}\nlayers:\n  - {op: conv2d, out: 'int(a)', kernel: 3}\n", "E010"),
    "infinite-width": ("input: [3, 8, 8]\nscale: {width: .inf}\nlayers: [relu]\n", "E004"),
    "deep-nesting": ("input: [3]\nlayers: [relu]\ntags: " + "[" * 10_000 + "]" * 10_000 + "\n", "E011"),
    "alias-bomb": (BOMB, "E011"),
    "recursive-alias": ("input: &a [3, *a]\nlayers: [relu]\n", "E011"),
    "bad-tag": ("input: [3]\nlayers: [!!int relu]\n", "E004"),
    "control-character": ("input: [3]\nlayers: [relu]\ntitle: \x00\n", "E001"),
    "duplicate-key": ("input: [3]\ninput: [3]\nlayers: [relu]\n", "E002"),
    "unknown-op": (net("{op: convolution, out: 4}"), "E006"),
    "cycle": (net("{op: relu, name: a, in: b}", "{op: relu, name: b, in: a}"), "E009"),
    "self-block": ("input: [3]\nblocks: {b: {layers: [b]}}\nlayers: [b]\n", "E009"),
    "extends-missing": ("extends: ../../etc/passwd.yaml\ninput: [3]\nlayers: [relu]\n", "E012"),
    "not-utf8": (b"input: [3]\nlayers: [relu]\ntitle: \xff\xfe\n", "E000"),
    "utf16": ("input: [3]\nlayers: [relu]\n".encode("utf-16"), "E000"),
}


@pytest.mark.parametrize("name", BAD)
def test_api_gives_a_located_diagnostic(name: str, sandbox):
    content, code = BAD[name]
    path = sandbox.file(f"{name}.yaml", content)
    analysis = archscope.analyze(path)
    assert not analysis.ok
    assert analysis.report is None
    first = analysis.errors[0]
    assert first.code == code, [f"{d.span}: {d.code} {d.message}" for d in analysis.diagnostics]
    assert first.span.file == str(path) and first.span.line >= 1 and first.span.col >= 1
    assert len(first.message) < 500 and len(first.found or "") < 500  # nothing expanded into the message
    with pytest.raises(archscope.SpecError):
        archscope.summarize(path)


@pytest.mark.parametrize("name", BAD)
@pytest.mark.parametrize("command", ["summary", "lint"])
def test_cli_gives_a_located_diagnostic_and_a_non_zero_exit(name: str, command: str, cli, sandbox):
    content, code = BAD[name]
    path = sandbox.file(f"{name}.yaml", content)
    result = cli(command, str(path))
    unreadable = code == "E000"
    assert result.exit_code == (2 if unreadable else 1), result.output
    where = LOCATED.search(result.output)
    assert where, result.output
    assert where["file"] == str(path) and where["code"] == code
    no_traceback(result.output)


@pytest.mark.parametrize("name", ["malformed-yaml", "not-utf8", "alias-bomb", "cycle"])
def test_cli_json_and_github_formats_stay_clean(name: str, cli, sandbox):
    content, code = BAD[name]
    path = sandbox.file(f"{name}.yaml", content)
    result = cli("lint", "--format", "json", str(path))
    items = json.loads(result.stdout)
    assert items[0]["code"] == code and items[0]["file"] == str(path) and items[0]["line"] >= 1
    result = cli("lint", "--format", "github", str(path))
    assert result.stdout.startswith("::error file=")


def test_library_api_never_raises_on_text_input():
    for name, (content, code) in BAD.items():
        if isinstance(content, bytes):
            continue
        analysis = analyze_text(content)
        assert analysis.errors and analysis.errors[0].code == code, name


def test_a_folder_with_no_specs(cli, sandbox):
    folder = sandbox.folder("nothing-here")
    sandbox.file("nothing-here/readme.txt", "not a spec")
    result = cli("lint", str(folder))
    assert result.exit_code == 2
    assert f"{folder}:1:1: error E000 the folder holds no .yaml spec files" in result.output
    result = cli("summary", str(folder))
    assert result.exit_code == 2 and "is a folder" in result.output


@pytest.mark.usefixtures("sandbox")
def test_a_path_that_does_not_exist(cli):
    for command in ("summary", "lint"):
        result = cli(command, "no/such/file.yaml")
        assert result.exit_code == 2
        assert "no/such/file.yaml:1:1: error E000" in result.output
    result = cli("compare", "resnet18", "no/such/file.yaml")
    assert result.exit_code == 2


def test_lint_reports_the_bad_file_and_checks_the_good_one(cli, sandbox):
    good = sandbox.file("good.yaml", net("relu"))
    bad = sandbox.file("bad.yaml", net("{op: conv2d, out: 4, kernel: 9}"))
    result = cli("lint", str(good), str(bad))
    assert result.exit_code == 1
    assert f"{bad}:3:5: error E102" in result.output and str(good) + ":" not in result.stdout


def test_lint_unreadable_beats_problems(cli, sandbox):
    bad = sandbox.file("bad.yaml", net("{op: conv2d, out: 4, kernel: 9}"))
    result = cli("lint", str(bad), "missing.yaml")
    assert result.exit_code == 2  # unreadable input is a usage-level failure


def test_usage_errors_exit_2(cli):
    assert cli("lint").exit_code == 2
    assert cli("summary").exit_code == 2
    assert cli("summary", "resnet18", "--depth", "0").exit_code == 2
    assert cli("summary", "resnet18", "--format", "yaml").exit_code == 2
    assert cli("lint", "--format", "xml", "specs").exit_code == 2
    assert cli("no-such-command").exit_code == 2


# ---- the layer limit: 10,000 by default (archscope.limits), raised per run ---------------------
# (how long large graphs take is measured by bench/static_speed.py, not asserted here)


def _long_spec(n: int) -> str:
    return "input: [4]\nlayers:\n" + "".join(
        "  - {op: linear, out: 4}\n" if k % 10 == 0 else "  - relu\n" for k in range(n)
    )


def test_10k_layers_is_valid_and_counted():
    n = 10_000
    analysis = analyze_text(_long_spec(n))
    assert analysis.ok, analysis.diagnostics[:3]
    t = analysis.report.totals
    assert t.layers == n
    assert t.params == (n // 10) * (4 * 4 + 4) and t.macs == (n // 10) * 16
    assert t.activations == 4 * n and t.depth == n // 10


def test_one_layer_over_the_limit_is_e011_and_max_layers_raises_it(cli, sandbox):
    path = sandbox.file("long.yaml", _long_spec(10_001))
    refused = cli("lint", str(path), "--format", "concise")
    assert refused.exit_code == 1
    assert "long.yaml:3:3: E011 the network has more than 10,000 layers" in refused.output
    assert cli("lint", str(path), "--max-layers", "10001").exit_code == 0
    assert cli("summary", str(path), "--max-layers", "10001", "--format", "json").exit_code == 0
    assert cli("lint", str(path), "--max-layers", "0").exit_code == 2  # a usage error


def test_max_layers_in_the_lint_config(cli, tmp_path, monkeypatch):
    path = tmp_path / "long.yaml"
    path.write_text(_long_spec(10_001))
    (tmp_path / "pyproject.toml").write_text("[tool.archscope]\nmax-layers = 100\n")
    monkeypatch.chdir(tmp_path)
    lowered = cli("lint", str(path), "--format", "concise")  # the config may lower the limit
    assert lowered.exit_code == 1 and "E011 the file has more than 1,000 YAML nodes" in lowered.output
    # raising it above the default takes the command line (tests/safety/test_work_limits.py)
    (tmp_path / "pyproject.toml").write_text("[tool.archscope]\nmax-layers = 20000\n")
    assert cli("lint", str(path)).exit_code == 2
    assert cli("lint", str(path), "--max-layers", "20000").exit_code == 0
    (tmp_path / "pyproject.toml").write_text('[tool.archscope]\nmax-layers = "many"\n')
    bad = cli("lint", str(path), "--format", "concise")
    assert bad.exit_code == 2
    assert (
        "pyproject.toml:2:1: error E004 `max-layers`: the layer limit must be an integer in 1..1,000,000" in bad.output
    )


def test_a_huge_file_is_refused_without_reading_it(sandbox, monkeypatch):
    from archscope.lang.yamlsrc import MAX_BYTES

    path = sandbox.file("huge.yaml", b"")
    with path.open("r+b") as f:
        f.truncate(MAX_BYTES + 1024)  # sparse: costs no disk
    opened: list[str] = []
    original = Path.open

    def spy(self, *args, **kwargs):
        opened.append(self.name)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", spy)
    analysis = archscope.analyze(path)
    assert [d.code for d in analysis.diagnostics] == ["E011"]
    assert "larger than 64 MiB" in analysis.diagnostics[0].message
    assert "huge.yaml" not in opened  # its size said so: not one byte read


def test_pipes_and_devices_are_refused_not_read(sandbox):
    # in a subprocess with a timeout: reading a FIFO would block forever, /dev/zero would never end
    import os
    import subprocess
    import sys

    fifo = sandbox.inputs / "pipe.yaml"
    os.mkfifo(fifo)
    sandbox.made.add("pipe.yaml")
    for args in (["lint", str(fifo), "/dev/zero"], ["summary", str(fifo)], ["summary", "/dev/zero"]):
        proc = subprocess.run(
            [sys.executable, "-m", "archscope", *args],
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
        )
        assert proc.returncode == 2, proc.stderr
        assert "error E000" in proc.stdout + proc.stderr and "not a regular file" in proc.stdout + proc.stderr
        no_traceback(proc.stdout + proc.stderr)
