"""Load YAML into a tree of located nodes.

PyYAML's parser gives events with marks; we build small ``YMap`` / ``YSeq`` / ``YScalar``
objects from them (:mod:`.ynodes`, built by :mod:`.yaml_events`) that keep a :class:`Span`
each, so every later error can point at the exact key or value. This is also where input hazards are stopped: duplicate keys (PyYAML
silently keeps the last), alias bombs, runaway nesting, non-UTF-8 bytes and empty files.
"""

from __future__ import annotations

import yaml

from archscope.diagnostics import Span, SpecError
from archscope.lang.yaml_events import MAX_DEPTH, EventBuilder, MemoisedResolve
from archscope.lang.ynodes import YNode, error


class _PyLoader(MemoisedResolve, yaml.SafeLoader):
    """PyYAML's pure-Python parser: the reference, and the fallback when libyaml refuses."""


# a base chosen at import time is beyond a static checker (misc: "unsupported dynamic base class";
# types-PyYAML declares CSafeLoader, but libyaml is optional at run time)
class _Loader(MemoisedResolve, getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """libyaml's parser where PyYAML has it (about 5× faster), else the pure-Python one."""


def _libyaml(loader: type) -> bool:
    """Whether ``loader`` parses with libyaml (the C parser), not with PyYAML's Python one."""
    c_loader = getattr(yaml, "CSafeLoader", None)
    return c_loader is not None and issubclass(loader, c_loader)


def _is_parser_nesting_limit(exc: yaml.YAMLError) -> bool:
    """libyaml in PyYAML ≥ 6.0.4 refuses about 1,000 nested levels with its own error
    ("while increasing flow level: exceeded maximum nesting depth"), scanning ahead of the
    events we count. Our limit is lower; this tells the two apart from other YAML errors."""
    return "nesting depth" in str(getattr(exc, "problem", "") or "")


MAX_BYTES = 64 * 1024 * 1024


def parse_yaml(text: str, file: str) -> YNode:
    """Parse one YAML document into located nodes; raise :class:`SpecError` with every problem."""
    if not text.strip():
        raise error("E001", "the file is empty", Span(file, 1, 1), expected="a YAML mapping", found="nothing")
    try:
        builder = EventBuilder(file)
        try:
            root = builder.build(text, _Loader)
        except yaml.MarkedYAMLError as exc:
            if not _is_parser_nesting_limit(exc) or not _libyaml(_Loader):
                raise
            # The C parser stopped at its own depth limit before our builder saw ours. The pure-Python
            # parser has no such limit (or a higher one), so re-reading with it finds the exact place
            # where archscope's limit is crossed: the same E011, at the same line and column, on
            # every PyYAML 6.x. It stops there, so the slower parser reads at most a few lines.
            builder = EventBuilder(file)
            root = builder.build(text, _PyLoader)
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow; located by its offset
        pos = min(max(exc.position, 0), len(text))
        line, col = text.count("\n", 0, pos) + 1, pos - text.rfind("\n", 0, pos)
        char = exc.character if isinstance(exc.character, str) else chr(exc.character)
        raise error(
            "E001",
            f"invalid YAML: character {char!r} (U+{ord(char):04X}): {exc.reason}",
            Span(file, line, col),
            expected="printable text",
            found=f"U+{ord(char):04X}",
        ) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        span = Span(file, mark.line + 1, mark.column + 1) if mark else Span(file, 1, 1)
        if _is_parser_nesting_limit(exc):  # a parser whose own limit is below ours: still archscope's error
            raise error(
                "E011",
                f"nesting is deeper than {MAX_DEPTH} levels",
                span,
                expected=f"at most {MAX_DEPTH} levels",
                found="deeper",
            ) from None
        what = " ".join(part for part in (exc.context, exc.problem) if part)
        start = exc.context_mark
        notes: tuple[str, ...] = ()
        if exc.context and start is not None and mark is not None and start.line != mark.line:
            # the parser's mark is where it gave up, which can be lines after the mistake (a value
            # left empty before a `# comment` takes the next line's key as the value): say where
            # the construct it was reading begins, so the mistake is between the two
            notes = (f"{exc.context} that starts at line {start.line + 1}, column {start.column + 1}",)
        raise error("E001", f"invalid YAML: {what}", span, notes=notes) from None
    except yaml.YAMLError as exc:
        raise error("E001", f"invalid YAML: {exc}", Span(file, 1, 1)) from None
    if root is None:
        raise error("E001", "the file holds no YAML document", Span(file, 1, 1))
    if builder.errors:
        raise SpecError(builder.errors)
    return root
