"""The specs that ship with archscope, found by name, file name or family.

In a checkout they are the repository's ``specs/``; in an installed wheel they are packaged
as ``archscope/_specs`` (see ``pyproject.toml``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from archscope.paths import is_file

_PACKAGE = Path(__file__).resolve().parent.parent  # archscope/ (this module is archscope/lang/bundled.py)
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def specs_dir() -> Path:
    packaged = _PACKAGE / "_specs"
    return packaged if packaged.is_dir() else _PACKAGE.parent / "specs"


@dataclass(frozen=True)
class BundledSpec:
    name: str
    path: Path
    title: str
    year: str
    family: str | None
    family_default: bool
    summary: str


@lru_cache(maxsize=1)
def bundled() -> dict[str, BundledSpec]:
    out: dict[str, BundledSpec] = {}
    root = specs_dir()
    if not root.is_dir():
        return out
    raw = {path.stem: _read_meta(path) for path in sorted(root.glob("*.yaml"))}
    for name, own in raw.items():
        path = root / f"{name}.yaml"
        data = dict(own)
        parent, seen = own.get("extends"), {name}
        while isinstance(parent, str) and parent not in seen and parent in raw:  # inherited metadata
            seen.add(parent)
            for key in ("year", "family", "paper", "source"):
                data.setdefault(key, raw[parent].get(key))
            parent = raw[parent].get("extends")
        notes = str(data.get("notes") or "").strip().splitlines()
        out[name] = BundledSpec(
            name=name,
            path=path,
            title=str(data.get("title") or name),
            year=str(data.get("year") or ""),
            family=data.get("family"),
            family_default=bool(data.get("family_default")),
            summary=notes[0] if notes else "",
        )
    return out


def _read_meta(path: Path) -> dict[str, Any]:
    try:
        data = yaml.load(path.read_text("utf-8"), Loader=_Loader) or {}
    except (yaml.YAMLError, OSError, UnicodeDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def families() -> dict[str, str]:
    """Family name → its canonical member (`resnet` → `resnet50`)."""
    return {s.family: s.name for s in bundled().values() if s.family and s.family_default}


@dataclass(frozen=True)
class Resolved:
    path: Path
    display: str
    note: str | None = None  # e.g. "`resnet` resolved to `resnet50`"


def resolve(ref: str, base_dir: Path | None = None) -> Resolved | None:
    """A path, a bundled name (`resnet50`), a bundled file name (`resnet50.yaml`) or a family."""
    path = (base_dir / ref) if base_dir and not Path(ref).is_absolute() else Path(ref)
    if ref and is_file(path):
        return Resolved(path, ref)
    return resolve_name(ref)


def resolve_name(ref: str) -> Resolved | None:
    """A bundled name (`resnet50`), bundled file name (`resnet50.yaml`) or family; never a path."""
    stem = ref[:-5] if ref.endswith(".yaml") else ref[:-4] if ref.endswith(".yml") else ref
    if "/" not in stem and "\\" not in stem and stem not in ("", ".", "..") and len(stem) < 200:
        candidate = specs_dir() / f"{stem}.yaml"
        if is_file(candidate):  # a bundled name: no need to read every spec's metadata
            return Resolved(candidate, stem)
    fam = families().get(ref)
    if fam:
        return Resolved(bundled()[fam].path, fam, f"`{ref}` resolved to `{fam}`")
    return None


def resolve_path(ref: str, base_dir: Path | None) -> Path | None:
    found = resolve(ref, base_dir)
    return found.path if found else None


def resolve_bundled(ref: str, base_dir: Path | None = None) -> Path | None:  # noqa: ARG001  a loader.Resolver
    """The resolver of ``extends:`` names: bundled names and families only (paths are the loader's,
    confined to the spec's folder)."""
    found = resolve_name(ref)
    return found.path if found else None
