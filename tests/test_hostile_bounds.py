"""Hostile specs, second pass (issue 20): bounds on the work a file may ask for, and confinement of
the files a file may name. Each test is one reproducer of the issue and failed before its fix.

The promise: any file under 1 MB, any command, within 2 s of CPU and 300 MB, nothing read outside
where it is allowed, nothing executed. Work is asserted on counters (boxes handed to Graphviz,
layer analyses estimated), never on the clock.
"""

from __future__ import annotations

import json
import math
import os
import stat
from dataclasses import asdict
from pathlib import Path

import pytest
from conftest import ROOT
from test_calibration import CAL

from archscope import calibration
from archscope.calibration import CalibrationError

LENET = (ROOT / "specs" / "lenet5.yaml").read_text()
SECRET = "archscope_secret_4f1d"  # what a file outside the allowed folders holds: never printed


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A file outside the folders under test, with a secret in it."""
    path = tmp_path / "outside" / "creds.yaml"
    path.parent.mkdir()
    path.write_text(f"token: {SECRET}\n")
    return path


# ---- 5. a sweep file's `spec:` is confined to the sweep file's folder, as `extends:` is ----------


@pytest.mark.parametrize(
    "target",
    ["{outside}", "../outside/creds.yaml", "link.yaml", "/proc/self/environ"],
    ids=["absolute", "dot-dot", "link-out", "proc-environ"],
)
def test_a_sweep_files_spec_cannot_leave_its_folder(target: str, outside: Path, tmp_path: Path, cli, monkeypatch):
    monkeypatch.setenv("ARCHSCOPE_SECRET", SECRET)  # what /proc/self/environ would show
    folder = tmp_path / "sweeps"
    folder.mkdir()
    (folder / "link.yaml").symlink_to(outside)
    sweep = folder / "s.yaml"
    sweep.write_text(f"spec: {target.format(outside=outside)}\ngrid: {{resolution: [32]}}\n")
    result = cli("sweep", str(sweep))
    assert result.exit_code == 1, result.output
    assert f"{sweep}:1:7: error E012 `spec: " in result.output
    assert SECRET not in result.output


# ---- 6. `lint DIR` refuses a committed link out of the folder, unread ----------------------------


def test_lint_dir_refuses_a_link_out_of_the_folder_without_reading_it(outside: Path, tmp_path: Path, cli):
    specs = tmp_path / "specs"
    (specs / "sub").mkdir(parents=True)
    (specs / "lenet.yaml").write_text(LENET)
    (specs / "env.yaml").symlink_to(outside)
    (specs / "sub" / "same.yaml").symlink_to(specs / "lenet.yaml")  # a link that stays inside: linted
    for fmt in ("text", "concise", "github", "json"):
        result = cli("lint", str(specs), "--format", fmt)
        assert result.exit_code == 1, result.output
        assert SECRET not in result.output
        assert "E012" in result.output and "env.yaml" in result.output
    concise = cli("lint", str(specs), "--format", "concise").output
    assert f"{specs / 'env.yaml'}:1:1: E012 this file is a link that leaves the folder being linted" in concise
    assert "2 files checked: 1 error, 0 warnings" in concise  # lenet.yaml and the link inside
    # --extends-root widens the folder as it does for `extends:`; the file then is linted (and is no spec)
    widened = cli("lint", str(specs), "--extends-root", str(outside.parent), "--format", "concise")
    assert "E012" not in widened.output and "3 files checked" in widened.output


# ---- 13. a repository's own `[tool.archscope]` cannot raise the limits --------------------------


def test_a_deeply_nested_pyproject_is_e004_not_a_crash(tmp_path: Path, cli, monkeypatch):
    (tmp_path / "a.yaml").write_text(LENET)
    (tmp_path / "pyproject.toml").write_text("[tool.archscope]\nselect = " + "[" * 5000 + "]" * 5000 + "\n")
    monkeypatch.chdir(tmp_path)
    result = cli("lint", "a.yaml")
    assert result.exit_code == 2, result.output
    assert "pyproject.toml:1:1: error E004 `pyproject.toml` nests arrays or tables too deeply" in result.output


def test_the_repositorys_config_cannot_raise_max_layers(tmp_path: Path, cli, monkeypatch):
    """52 bytes asking for 1,000,000 relu layers: 24 s of CPU and 1.5 GB before, through the config."""
    spec = tmp_path / "big.yaml"
    spec.write_text("input: [3, 8, 8]\nlayers:\n  - {op: relu, n: 1000000}\n")
    (tmp_path / "pyproject.toml").write_text("[tool.archscope]\nmax-layers = 1000000\n")
    monkeypatch.chdir(tmp_path)
    result = cli("lint", "big.yaml", "--format", "concise")
    assert result.exit_code == 2
    assert "pyproject.toml:2:1: error E004 `max-layers` may lower the layer limit, not raise it above 10,000" in (
        result.output
    )
    assert "`--max-layers 1000000`" in result.output  # how to allow it
    # the command line decides: its limit is used (here a lower one: refused at once with E011)
    assert "E011" in cli("lint", "big.yaml", "--max-layers", "100", "--format", "concise").output


def test_the_repositorys_config_cannot_widen_extends_root_outside_it(outside: Path, tmp_path: Path, cli, monkeypatch):
    repo = tmp_path / "repo"
    repo.mkdir()
    child = repo / "child.yaml"
    child.write_text("extends: ../outside/creds.yaml\n")
    monkeypatch.chdir(repo)
    for root in ('"/"', '".."', f'"{tmp_path}"'):
        (repo / "pyproject.toml").write_text(f"[tool.archscope]\nextends-root = {root}\n")
        result = cli("lint", "child.yaml")
        assert result.exit_code == 2, (root, result.output)
        assert "E004 `extends-root` leaves the folder of this pyproject.toml" in result.output
        assert SECRET not in result.output
    # the command line may: the parent is then read (and refused as no spec, unshown)
    result = cli("lint", "child.yaml", "--extends-root", str(tmp_path))
    assert result.exit_code == 1 and "is not an archscope spec" in result.output and SECRET not in result.output
    # inside the repository the config may
    (repo / "shared").mkdir()
    (repo / "shared" / "base.yaml").write_text(LENET)
    (repo / "sub").mkdir()
    (repo / "sub" / "c.yaml").write_text("extends: ../shared/base.yaml\n")
    (repo / "pyproject.toml").write_text('[tool.archscope]\nextends-root = "."\n')
    assert cli("lint", "sub/c.yaml").exit_code == 0


# ---- 15. a sweep file that is not UTF-8 ------------------------------------------------------------


def test_a_sweep_file_that_is_not_utf8_is_e000(tmp_path: Path, cli):
    sweep = tmp_path / "s.yaml"
    sweep.write_bytes(b"spec: lenet5\ngrid: {num_classes: [10\xff]}\n")
    result = cli("sweep", str(sweep))
    assert result.exit_code == 2, result.output
    assert f"{sweep}:2:24: error E000 the file is not UTF-8 (byte 0xff)" in result.output


# ---- 16. the calibration cache: figures validated, written through no planted link -----------------


@pytest.mark.parametrize(
    "field,value",
    [
        ("gemm_gflops", math.nan),
        ("conv_gflops", math.inf),
        ("copy_gbs", -1.0),
        ("layer_overhead_us", -5.0),
        ("framework_overhead_us", math.nan),
        ("fit_median_error", math.inf),
        ("threads", 0),
        ("fit_layers", -1),
    ],
)
def test_a_cache_with_nan_infinite_or_negative_figures_is_refused(field: str, value: float, tmp_path: Path, cli):
    path = tmp_path / "calibration.json"
    entry = {**asdict(CAL), field: value}
    path.write_text(json.dumps({"format": 1, "entries": {"cpu/float32": entry}}))  # NaN, Infinity: as json writes
    with pytest.raises(CalibrationError, match=f"`{field}` is"):
        calibration.load_all(path)
    result = cli("predict", "lenet5", env={calibration.ENV_VAR: str(path)})
    assert result.exit_code == 2 and f"`{field}` is" in result.output and "predicted latency" not in result.output


def test_a_nan_efficiency_is_refused(tmp_path: Path):
    path = tmp_path / "calibration.json"
    entry = {**asdict(CAL), "efficiency": {"gemm@1": math.inf}}
    path.write_text(json.dumps({"format": 1, "entries": {"cpu/float32": entry}}))
    with pytest.raises(CalibrationError, match="`efficiency`"):
        calibration.load_all(path)


def test_store_writes_through_no_link_planted_at_the_old_temporary_name(tmp_path: Path):
    cache = tmp_path / "calibration.json"
    victim = tmp_path / "victim.txt"
    victim.write_text("untouched\n")
    (tmp_path / f"calibration.json.{os.getpid()}.tmp").symlink_to(victim)  # the predictable name of before
    calibration.store(CAL, cache)
    assert victim.read_text() == "untouched\n"
    assert calibration.load_all(cache)["cpu/float32"] == CAL
    assert not cache.is_symlink() and sorted(p.name for p in tmp_path.iterdir() if p.name.endswith(".part")) == []


# ---- 17. `-o FILE --force` keeps the replaced file's permissions -------------------------------


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o755])
def test_force_keeps_the_replaced_files_mode(mode: int, tmp_path: Path, cli):
    out = tmp_path / "lenet.mmd"
    out.write_text("old\n")
    out.chmod(mode)
    result = cli("draw", "lenet5", "-o", str(out), "--force")
    assert result.exit_code == 0, result.output
    assert out.read_text().startswith("flowchart TD") and stat.S_IMODE(out.stat().st_mode) == mode


def test_store_keeps_a_private_caches_mode(tmp_path: Path):
    cache = tmp_path / "calibration.json"
    calibration.store(CAL, cache)
    cache.chmod(0o600)
    calibration.store(CAL, cache)
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600
