"""Text from a spec, made safe to print: one rule for every line-oriented output.

A spec is untrusted input: its title, paper, source, names, keys and its file's name reach the
terminal, CI logs and generated files. Two rules, one function each:

* :func:`oneline` is for a piece of spec text placed in a line of output (a title, a cell, a
  diagnostic's message, a DOT label, a docstring line): every control character is shown as an
  escape (``\\x1b``; a newline as ``\\n``), never sent. A line separator (CR, LF, VT, FF,
  ``\\x1c``–``\\x1e``, NEL, U+2028, U+2029) therefore cannot end the line and start another: no
  spec can forge a ``::error ::`` workflow command or a ``##vso[`` logging command in a CI log.
  Escape sequences (a screen clear, a window title), a carriage return that overwrites a line
  and the bidirectional overrides that reorder what is read are shown the same way.
* :func:`printable` is for a whole output whose own newlines are wanted: the same escapes,
  newlines kept. Used as a last guard; the pieces inside it went through :func:`oneline`.

Rich markup needs no escaping here: the human formats are laid out as plain text
(:mod:`archscope.render.terminal`); the one rich element that shows spec text, the progress
line of `lint`, escapes its markup itself.
"""

from __future__ import annotations

import re

# C0 controls but newline, DEL, C1 controls (NEL among them), line/paragraph separators,
# bidi embeddings/overrides/isolates, the byte-order mark
_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]")
# the same and the newline: nothing that can start a new line
_CONTROL_OR_NEWLINE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code == 0x0A:
        return "\\n"
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def printable(text: str) -> str:
    """``text`` with every control character but the newline written as an escape."""
    return _CONTROL.sub(_escape, text) if _CONTROL.search(text) else text


# CI log commands that a piece of text could start: GitHub's runner reads a line that starts with
# `::` (after leading spaces) as a workflow command; Azure's agent reads `##vso[` anywhere in a
# line, and `##[` at its start
_LEADING_COMMAND = re.compile(r"^(\s*):(?=:)")
_LOGGING_COMMAND = re.compile(r"#(?=#(?:vso)?\[)")


def oneline(text: object) -> str:
    """``str(text)`` on one line: every control character, the newline included, written as an
    escape (``"a\\nb"`` → ``a\\nb``), so that spec text cannot start a line of its own; and a piece
    of text that a line may start with (a title, a file's name) cannot be a CI log command there:
    a leading ``::`` is written ``\\x3a:``, ``##vso[`` and ``##[`` as ``\\x23#vso[`` and ``\\x23#[``."""
    text = str(text)
    if _CONTROL_OR_NEWLINE.search(text):
        text = _CONTROL_OR_NEWLINE.sub(_escape, text)
    if "::" in text:
        text = _LEADING_COMMAND.sub(lambda m: m.group(1) + "\\x3a", text)
    if "##" in text:
        text = _LOGGING_COMMAND.sub("\\\\x23", text)
    return text
