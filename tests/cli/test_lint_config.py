"""`[tool.archscope]` in pyproject.toml for `archscope lint`: found walking up from the current
folder (the first pyproject.toml that has the table), `select`/`ignore`/`strict`, the command
line over it, and every problem of the configuration with its file:line:col."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import where

from archscope.cli.lint_config import LintConfig, find_pyproject, load_config

# conv1 drops a row and a column (W101 twice); `side` is never used (W102)
SPEC = (
    "input: [3, 8, 8]\nlayers:\n  - {op: conv2d, name: conv1, out: 4, kernel: 3, stride: 2}\n"
    "  - {op: conv2d, name: side, out: 4, kernel: 1}\n  - {op: relu, in: conv1}\n"
)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A folder tree: tmp/pyproject.toml (written by the test), tmp/specs/s.yaml; cwd = tmp/specs."""
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "s.yaml").write_text(SPEC)
    monkeypatch.chdir(tmp_path / "specs")

    def write(table: str, extra: str = "[project]\nname = 'x'\n\n") -> Path:
        path = tmp_path / "pyproject.toml"
        path.write_text(extra + table)
        return path

    return write


def codes(result) -> list[str]:
    return [line.split()[1] for line in result.stdout.splitlines()]


@pytest.mark.usefixtures("project")
def test_no_config_reports_everything(cli):
    r = cli("lint", "s.yaml", "-f", "concise")
    assert codes(r) == ["W101", "W101", "W102"] and r.exit_code == 0


def test_select_ignore_strict_from_the_table(cli, project):
    project('[tool.archscope]\nselect = ["W1"]\nignore = ["W102"]\nstrict = true\n')
    r = cli("lint", "s.yaml", "-f", "concise")
    assert codes(r) == ["W101", "W101"] and r.exit_code == 1  # strict: warnings fail
    assert "0 errors, 2 warnings" in r.stderr


def test_the_command_line_overrides_the_table(cli, project):
    project('[tool.archscope]\nignore = ["W102"]\nstrict = true\n')
    assert cli("lint", "s.yaml", "--no-strict").exit_code == 0
    assert codes(cli("lint", "s.yaml", "-f", "concise", "--select", "W102", "--no-strict")) == []  # ignored still
    assert codes(cli("lint", "s.yaml", "-f", "concise", "--ignore", "W101")) == []
    assert codes(cli("lint", "s.yaml", "-f", "concise", "--isolated")) == ["W101", "W101", "W102"]


def test_errors_are_always_reported(cli, project):
    project('[tool.archscope]\nselect = ["W102"]\n')
    (Path.cwd() / "bad.yaml").write_text("input: [3, 8, 8]\nlayers: [{op: conv2d, out: 4, kernel: 9}]\n")
    r = cli("lint", "bad.yaml", "-f", "concise")
    assert codes(r) == ["E102"] and r.exit_code == 1
    assert cli("lint", "s.yaml", "--ignore", "E102").exit_code == 2  # errors cannot be ignored


def test_the_first_pyproject_with_the_table_wins(tmp_path, project):
    outer = project('[tool.archscope]\nignore = ["W102"]\n')
    (tmp_path / "specs" / "pyproject.toml").write_text("[project]\nname = 'inner'\n")  # no table: passed over
    found = find_pyproject(Path.cwd())
    assert found is not None and found[0] == outer
    assert load_config(Path.cwd()) == LintConfig(None, ("W102",), False, outer)
    (tmp_path / "specs" / "pyproject.toml").write_text("[tool.archscope]\nstrict = true\n")
    assert load_config(Path.cwd()) == LintConfig(None, (), True, tmp_path / "specs" / "pyproject.toml")


def test_config_problems_are_located(cli, project):
    table = '[tool.archscope]\nselect = ["W1", "W11O"]\nignore = ["W101", "E1"]\nstrcit = true\nstrict = "yes"\n'
    path = project(table)
    text = path.read_text()
    r = cli("lint", "s.yaml", "-f", "concise")
    assert r.exit_code == 2
    got = [line for line in r.stderr.splitlines() if " error " in line]

    def at(needle: str) -> str:
        return "{}:{}:{}".format(path, *where(text, needle))

    assert got == [
        at('"W11O"') + ": error E004 `W11O` in `select` is no diagnostic code or prefix; did you mean `W101`?",
        at('"E1"') + ": error E004 `E1` in `ignore` covers errors: errors cannot be ignored",
        at("strcit") + ": error E003 unknown key `strcit` in `[tool.archscope]`; did you mean `strict`?",
        at("strict =") + ": error E004 `strict` must be true or false",
    ]


def test_invalid_toml_is_located(cli, project):
    path = project("[tool.archscope]\nstrict = \n")
    r = cli("lint", "s.yaml")
    assert r.exit_code == 2 and f"{path}:5:10:" in r.stderr and "not valid TOML" in r.stderr


@pytest.mark.usefixtures("project")
def test_bad_command_line_codes_are_usage_errors(cli):
    r = cli("lint", "s.yaml", "--select", "X9")
    assert r.exit_code == 2 and "no diagnostic code or prefix" in r.output


def test_summary_does_not_read_the_config(cli, project):
    project("[tool.archscope]\nnonsense = 1\n")
    assert cli("summary", "s.yaml").exit_code == 0
