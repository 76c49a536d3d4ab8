"""Text from a spec, made safe to print on a terminal.

A spec is untrusted input: its title, names, keys and strings reach the terminal in tables and
diagnostics. A control character (an escape sequence that clears the screen or recolours it, a
carriage return that overwrites a line, a bidirectional override that reorders what is read) is
shown as an escape such as ``\\x1b``, never sent. Rich markup needs no escaping here: the human
formats are laid out as plain text (:mod:`archscope.render.terminal`); the one rich element that
shows spec text, the progress line of `lint`, escapes its markup itself.
"""

from __future__ import annotations

import re

# C0 controls but newline, DEL, C1 controls, line/paragraph separators, bidi embeddings/overrides/isolates
_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def printable(text: str) -> str:
    """``text`` with every control character but the newline written as an escape."""
    return _CONTROL.sub(_escape, text) if _CONTROL.search(text) else text
