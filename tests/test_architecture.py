"""docs/architecture.md lists every module of the package, and nothing else: the map a newcomer
reads stays true as modules are added, moved or removed. And modules stay short: none is over
MAX_LINES lines unless LONG_MODULES says why, and a reason goes once its module is short again."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

MAX_LINES = 400
# path → why that module is one file of more than MAX_LINES lines (issue 22: "no module over ~400
# lines without a written reason"); an entry goes when its module is split or shrinks
LONG_MODULES = {
    "archscope/codes.py": "one table: every diagnostic code with its meaning, an example spec and the fix, "
    "which the diagnostics, `archscope explain` and the docs' diagnostics page all read",
    "archscope/api.py": "the library API, the one module `import archscope` re-exports: load, analyze, "
    "summarize, lint and list_specs with their result types, each a thin entry to the pipeline",
}


def modules() -> set[str]:
    return {".".join(p.relative_to(ROOT).with_suffix("").parts) for p in (ROOT / "archscope").rglob("*.py")}


def listed() -> set[str]:
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    return set(re.findall(r"^\| `(archscope(?:\.\w+)*)` \|", text, re.M))


def test_every_module_is_on_the_map() -> None:
    missing = sorted(modules() - listed())
    assert not missing, f"add these to docs/architecture.md: {missing}"


def test_the_map_lists_no_module_that_is_gone() -> None:
    gone = sorted(listed() - modules())
    assert not gone, f"docs/architecture.md lists modules that no longer exist: {gone}"


def test_each_module_is_listed_under_its_own_folder() -> None:
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    folder = None
    for line in text.splitlines():
        if line.startswith("## `"):
            folder = line[4:-1]
        elif line.startswith("| `archscope"):
            module = line.split("`")[1]
            assert module.rpartition(".")[0] == folder, f"{module} is listed under {folder}"


def test_every_test_folder_is_on_the_map() -> None:
    folders = {p.name for p in (ROOT / "tests").iterdir() if p.is_dir() and any(p.glob("test_*.py"))}
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    assert folders == set(re.findall(r"^\| `tests/(\w+)/` \|", text, re.M))


def lines(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


def test_no_module_is_long_without_a_reason() -> None:
    long = {p.relative_to(ROOT).as_posix(): lines(p) for p in (ROOT / "archscope").rglob("*.py")}
    unexplained = sorted(
        f"{path} ({n} lines)" for path, n in long.items() if n > MAX_LINES and path not in LONG_MODULES
    )
    assert not unexplained, f"split these modules, or say in LONG_MODULES why each is one file: {unexplained}"


def test_every_reason_for_a_long_module_is_still_needed() -> None:
    stale = sorted(path for path in LONG_MODULES if not (ROOT / path).is_file() or lines(ROOT / path) <= MAX_LINES)
    assert not stale, f"these modules are gone or at most {MAX_LINES} lines: drop them from LONG_MODULES: {stale}"
