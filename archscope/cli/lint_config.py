"""`archscope lint`'s settings in ``pyproject.toml``, read as ruff reads its own.

The configuration is the ``[tool.archscope]`` table of the *first* ``pyproject.toml`` that has
one, walking up from the current directory (a ``pyproject.toml`` without the table is passed
over, as ruff passes over one without ``[tool.ruff]``). Keys:

``select``  codes or prefixes (``"W"``, ``"W1"``, ``"W101"``) of the warnings to report (default: all)
``ignore``  warning codes (or prefixes) not to report
``strict``  warnings fail the run (as ``--strict``)
``extends-root``  a folder (relative to the ``pyproject.toml``, and inside its folder) that
            ``extends:`` paths may lead into, besides each spec's own folder (as ``--extends-root``)
``max-layers``  a lower layer limit (as ``--max-layers``; default 10,000, see :mod:`archscope.limits`)

The file is the linted repository's, so it can only narrow the work: a higher ``max-layers`` or an
``extends-root`` outside the repository is E004 unless the command line gives that option itself.

Errors are always reported: ``select`` and ``ignore`` filter warnings, and an error code in
``ignore`` is refused. Only `lint` reads this (the other commands never import it). Python 3.11+
parses TOML with ``tomllib``; 3.10 with ``tomli``. TOML parsers give no positions, so a problem
is located by finding the key's line in the text (file:line:col), or the table's when not found.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from archscope.codes import CODES
from archscope.diagnostics import Diagnostic, Span
from archscope.limits import DEFAULT_MAX_LAYERS, check_max_layers
from archscope.names import suggest
from archscope.paths import is_dir, is_inside

KEYS = ("select", "ignore", "strict", "extends-root", "max-layers")
TABLE = "[tool.archscope]"
MAX_BYTES = 2**20  # a pyproject.toml larger than this is refused unread (a real one is a few KiB)


@dataclass(frozen=True)
class LintConfig:
    select: tuple[str, ...] | None = None  # None: every warning
    ignore: tuple[str, ...] = ()
    strict: bool = False
    path: Path | None = None  # the pyproject.toml it came from
    extends_root: Path | None = None  # resolved against the pyproject.toml's folder
    max_layers: int | None = None  # None: archscope.limits' default

    def reports(self, d: Diagnostic) -> bool:
        """Whether ``d`` is reported: every error; a warning that ``select`` and ``ignore`` let through."""
        if d.is_error:
            return True
        if self.select is not None and not d.code.startswith(self.select):
            return False
        return not d.code.startswith(self.ignore)


def find_pyproject(start: Path) -> tuple[Path, dict[str, Any], str] | None:
    """The first ``pyproject.toml`` from ``start`` upwards with a ``[tool.archscope]`` table:
    its path, the table and the file's text; None if there is none."""
    for folder in (start, *start.parents):
        candidate = folder / "pyproject.toml"
        if not candidate.is_file():
            continue
        with candidate.open("rb") as f:
            raw = f.read(MAX_BYTES + 1)  # never more: a huge file is refused without being read
        if len(raw) > MAX_BYTES:
            span = Span(str(candidate), 1, 1)
            raise ConfigError([Diagnostic("E004", f"`pyproject.toml` is larger than {MAX_BYTES // 2**20} MiB", span)])
        text = raw.decode("utf-8", errors="replace")
        if TABLE not in text and "tool.archscope" not in text:
            continue  # cheap: not this one (parsed below only when it may hold the table)
        data = _toml(text, candidate)
        table = data.get("tool", {}).get("archscope") if isinstance(data.get("tool"), dict) else None
        if table is not None:
            return candidate, table, text
    return None


def _toml(text: str, path: Path) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # Python 3.10
        import tomli as tomllib

    try:
        return tomllib.loads(text)
    except RecursionError:  # tomllib parses nested arrays and tables recursively: 5,000 `[` exhaust the stack
        span = Span(str(path), 1, 1)
        raise ConfigError(
            [Diagnostic("E004", "`pyproject.toml` nests arrays or tables too deeply to read", span)]
        ) from None
    except tomllib.TOMLDecodeError as exc:
        # tomllib's position: attributes from Python 3.14, only in the message ("at line 5, column 10") before
        where = re.search(r"at line (\d+), column (\d+)", str(exc))
        line, col = getattr(exc, "lineno", None), getattr(exc, "colno", None)
        if line is None or col is None:
            line, col = (int(where[1]), int(where[2])) if where else (1, 1)
        span = Span(str(path), line, col)
        raise ConfigError([Diagnostic("E004", f"`pyproject.toml` is not valid TOML: {exc}", span)]) from None


class ConfigError(Exception):
    def __init__(self, diagnostics: list[Diagnostic]):
        super().__init__("; ".join(d.message for d in diagnostics))
        self.diagnostics = diagnostics


def load_config(start: Path, overridden: Collection[str] = ()) -> LintConfig:
    """The lint configuration found from ``start`` (defaults if none); :class:`ConfigError` lists every problem.

    The file belongs to the repository being linted, which may be a stranger's pull request, so it
    may only narrow what archscope does: ``max-layers`` above the default and an ``extends-root``
    outside the ``pyproject.toml``'s folder are refused (E004), unless ``overridden`` names the key
    (the command line sets it: ``--max-layers``, ``--extends-root``; the file's value is then unused)."""
    found = find_pyproject(start)
    if found is None:
        return LintConfig()
    path, table, text = found
    problems: list[Diagnostic] = []

    def at(key: str | None, needle: str | None = None) -> Span:
        return _locate(text, str(path), key, needle)

    if not isinstance(table, dict):
        raise ConfigError([Diagnostic("E004", "`tool.archscope` must be a table", at(None))])
    problems += _unknown_keys(table, at)
    strict = table.get("strict", False)
    if not isinstance(strict, bool):
        problems.append(Diagnostic("E004", "`strict` must be true or false", at("strict"), found=repr(strict)))
        strict = False
    extends_root = _extends_root(table, path, "extends-root" in overridden, at, problems)
    max_layers = _max_layers(table, "max-layers" in overridden, at, problems)
    select = _codes(table, "select", at, problems)
    ignore = _codes(table, "ignore", at, problems)
    if problems:
        raise ConfigError(sorted(problems, key=Diagnostic.sort_key))
    return LintConfig(select if "select" in table else None, ignore or (), strict, path, extends_root, max_layers)


_At = Callable[..., Span]  # key (and a needle in its value) → where it is written


def _unknown_keys(table: dict[str, Any], at: _At) -> list[Diagnostic]:
    problems = []
    for key in table:
        if key not in KEYS:
            hint = suggest(key, KEYS)
            problems.append(
                Diagnostic(
                    "E003",
                    f"unknown key `{key}` in `[tool.archscope]`" + (f"; did you mean `{hint}`?" if hint else ""),
                    at(key),
                    expected=", ".join(f"`{k}`" for k in KEYS),
                    found=f"`{key}`",
                )
            )
    return problems


def _extends_root(
    table: dict[str, Any], path: Path, overridden: bool, at: _At, problems: list[Diagnostic]
) -> Path | None:
    """``extends-root``: a folder inside the pyproject.toml's (a wider one only from the command line,
    ``overridden``); None when absent or refused (the problem appended)."""
    root = table.get("extends-root")
    if root is None:
        return None
    folder = path.parent / root if isinstance(root, str) and root else None
    if folder is None or not is_dir(folder):
        problems.append(
            Diagnostic(
                "E004",
                "`extends-root` must name a folder (relative to this pyproject.toml)",
                at("extends-root"),
                expected="an existing folder",
                found=repr(root)[:80],
            )
        )
        return None
    if not is_inside(folder, path.parent) and not overridden:
        problems.append(
            Diagnostic(
                "E004",
                "`extends-root` leaves the folder of this pyproject.toml",
                at("extends-root"),
                expected=f"a folder inside `{path.parent}` (links followed)",
                found=repr(root)[:80],
                notes=(
                    "a repository's own settings cannot open folders outside it to its specs; "
                    "a wider root is given on the command line: `--extends-root DIR`",
                ),
            )
        )
        return None
    return folder


def _max_layers(table: dict[str, Any], overridden: bool, at: _At, problems: list[Diagnostic]) -> int | None:
    """``max-layers``: at most the default (a higher limit only from the command line, ``overridden``,
    which then replaces it: None); None when absent or refused (the problem appended)."""
    max_layers = table.get("max-layers")
    if max_layers is None:
        return None
    try:
        check_max_layers(max_layers)
    except ValueError as exc:
        problems.append(Diagnostic("E004", f"`max-layers`: {exc}", at("max-layers"), found=repr(max_layers)[:80]))
        return None
    if overridden:
        return None  # the command line's is used
    if max_layers > DEFAULT_MAX_LAYERS:
        problems.append(
            Diagnostic(
                "E004",
                f"`max-layers` may lower the layer limit, not raise it above {DEFAULT_MAX_LAYERS:,}",
                at("max-layers"),
                expected=f"at most {DEFAULT_MAX_LAYERS:,}",
                found=f"{max_layers:,}",
                notes=(
                    "a repository's own settings cannot grant its specs more work; "
                    f"a higher limit is given on the command line: `--max-layers {max_layers}`",
                ),
            )
        )
    return max_layers


def _codes(table: dict[str, Any], key: str, at: Any, problems: list[Diagnostic]) -> tuple[str, ...]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        problems.append(
            Diagnostic("E004", f"`{key}` must be a list of codes", at(key), expected='e.g. ["W101"]', found=repr(value))
        )
        return ()
    out = []
    for code in value:
        problem = code_problem(code, key)
        if problem:
            problems.append(Diagnostic("E004", problem, at(key, f'"{code}"'), found=code))
        else:
            out.append(code)
    return tuple(out)


def code_problem(code: str, key: str) -> str | None:
    """Why ``code`` cannot be in ``select``/``ignore`` (a code or prefix of one), or None."""
    if not code or not any(c.startswith(code) for c in CODES):
        hint = suggest(code, list(CODES))
        return f"`{code}` in `{key}` is no diagnostic code or prefix" + (f"; did you mean `{hint}`?" if hint else "")
    if key == "ignore" and any(c.startswith(code) and not c.startswith("W") for c in CODES):
        return f"`{code}` in `ignore` covers errors: errors cannot be ignored"
    return None


def _locate(text: str, file: str, key: str | None, needle: str | None) -> Span:
    """Where ``key`` (and ``needle`` on its line) is in the ``[tool.archscope]`` table; the table's line if not found."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.strip() == TABLE), None)
    if start is None:
        return Span(file, 1, 1)
    if key is not None:
        pattern = re.compile(rf"^\s*{re.escape(key)}\s*=")
        for i in range(start + 1, len(lines)):
            if lines[i].lstrip().startswith("["):
                break
            if pattern.match(lines[i]):
                col = lines[i].find(needle) if needle and needle in lines[i] else len(lines[i]) - len(lines[i].lstrip())
                return Span(file, i + 1, col + 1)
    return Span(file, start + 1, 1)
