"""Diagnostic emitters: one small function per output format.

text:   ``file:line:col: error E104 message``, the source line and a caret, then
        expected / found / input shape / notes.
github: ``::error file=…,line=…,col=…,title=E104::message`` (workflow-command escaping).
json:   a list of objects (see :meth:`Diagnostic.to_dict`).

A diagnostic quotes the spec (a key, a value, a name, the file's name, the source line), so
in the human formats each part is one line (:func:`~archscope.render.safe.oneline`): a key
written ``"x\\n::error ::forged"`` reads ``x\\n::error ::forged`` and cannot start a line of its
own in a CI log; the github format escapes CR and LF as the workflow-command syntax asks.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from archscope.diagnostics import Diagnostic
from archscope.paths import is_inside
from archscope.render.safe import oneline, printable


@lru_cache(maxsize=64)
def _lines(file: str) -> tuple[str, ...]:
    path = Path(file)
    try:  # only regular files of spec size: never a FIFO or /dev/zero named by an E000, nor a huge file
        if not path.is_file() or path.stat().st_size > 64 * 2**20:
            return ()
        if path.is_symlink() and not is_inside(path, path.parent):
            return ()  # a link out of its folder (lint refuses one, E012): its target is never shown
        return tuple(path.read_text("utf-8", errors="replace").splitlines())
    except OSError:
        return ()


SOURCE_WIDTH = 100  # characters of a source line shown around the caret


def source_excerpt(d: Diagnostic) -> list[str]:
    """The offending line and a caret under the column; a long line is cut to a window around it."""
    if d.span is None:
        return []
    lines = _lines(d.span.file)
    if not 1 <= d.span.line <= len(lines):
        return []
    text = lines[d.span.line - 1]
    col = d.span.col - 1
    if len(text) > SOURCE_WIDTH:
        start = max(0, min(col - SOURCE_WIDTH // 2, len(text) - SOURCE_WIDTH))
        head, tail = ("…" if start else ""), ("…" if start + SOURCE_WIDTH < len(text) else "")
        text = head + text[start : start + SOURCE_WIDTH] + tail
        col = col - start + len(head)
    num = str(d.span.line)
    pad = " " * len(num)
    return [f" {num} | {oneline(text)}", f" {pad} | {' ' * col}^"]


def format_text(d: Diagnostic, with_source: bool = True, hint: bool = True) -> str:
    """The human form; ``hint`` adds the `archscope explain CODE` line."""
    where = f"{oneline(d.span)}: " if d.span else ""
    out = [f"{where}{d.severity.value} {d.code} {oneline(d.message)}"]
    if with_source:
        out += source_excerpt(d)
    shown = d.input_shape if d.input_shape != d.found else None  # merges: found is the inputs
    for label, value in (("expected", d.expected), ("found", d.found), ("input", shown)):
        if value is not None:
            out.append(f"    {label + ':':<9} {oneline(value)}")
    out += [f"    note:     {oneline(n)}" for n in d.notes]
    if hint:
        out.append(f"    help:     `archscope explain {d.code}`")
    return "\n".join(out)  # spec text (keys, values, the source line) never drives the terminal


def format_concise(d: Diagnostic) -> str:
    where = f"{d.span}: " if d.span else ""
    return oneline(f"{where}{d.code} {d.message}")


def _escape_data(s: str) -> str:
    return s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(s: str) -> str:
    return _escape_data(s).replace(":", "%3A").replace(",", "%2C")


def format_github(d: Diagnostic) -> str:
    level = "error" if d.is_error else "warning"
    props = []
    if d.span:
        props += [f"file={_escape_property(d.span.file)}", f"line={d.span.line}", f"col={d.span.col}"]
    props.append(f"title={_escape_property(d.code)}")
    detail = d.message
    if d.expected is not None or d.found is not None:
        detail += f"\nexpected: {d.expected}\nfound: {d.found}"
    return printable(f"::{level} {','.join(props)}::{_escape_data(detail)}")


def format_json(diags: list[Diagnostic]) -> str:
    return json.dumps([d.to_dict() for d in diags], indent=2)
