"""docs/architecture.md lists every module of the package, and nothing else: the map a newcomer
reads stays true as modules are added, moved or removed."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


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
