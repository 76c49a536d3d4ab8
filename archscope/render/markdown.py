"""The Markdown emitter of a table model (GitHub-flavoured: pipes, aligned columns).

``## title``, the preamble lines as paragraphs, the table of the human columns with every
number in full (``1,814,073,344``), the totals row in bold, then the notes and the counting
convention in italics.

Every piece of text is text, never markup (:func:`md_text`): a spec's title, paper or source
cannot open an HTML element (``<script>``, ``<img src=…>``), a link or an image, nor start a
heading, a list, a quote, a code fence or a link definition, nor leave its line. Backticks are kept: the notes
name layers in `code` (a code span shows what is inside it as is).
"""

from __future__ import annotations

import re

from archscope.render.numbers import cell
from archscope.render.safe import oneline
from archscope.results.table import Column, Table

# escaped with a backslash anywhere: a backslash that would escape what follows it, here or after
# the text (`\x1b` stays), a table pipe, and the `]` of a link or an image (`[text](url)`,
# `![alt](url)`, `[text][label]`); `[3, 4]` alone is plain text
_INLINE = re.compile(r"""(\\(?=[!-/:-@\[-`{-~]|$)|\||\](?=[(\[]))""")
# escaped where a paragraph starts: headings, quotes, lists, thematic breaks, code fences, setext
# lines and link reference definitions (`[label]: url`)
_BLOCK_START = re.compile(r"^(\s*\d*)([#>+*=~`.)\[-])")


def md_text(text: object) -> str:
    """``text`` as literal inline Markdown on one line: no raw HTML (``<`` and ``&`` become
    entities; ``x > 0`` stays), no link or image (the ``]`` of ``](`` and ``][`` escaped), no
    table cell break (``|`` escaped)."""
    s = oneline(text).replace("&", "&amp;").replace("<", "&lt;")
    return _INLINE.sub(r"\\\1", s)


def md_paragraph(text: object) -> str:
    """:func:`md_text` that starts a paragraph: a block marker at its start is escaped too
    (``## forged`` reads ``\\## forged``, ``1. x`` reads ``1\\. x``)."""
    return _BLOCK_START.sub(lambda m: f"{m.group(1)}\\{m.group(2)}", md_text(text), count=1)


def _cell(value: object, col: Column) -> str:
    text = md_text(cell(value, col.kind, exact_numbers=True))
    return f"`{text}`" if col.kind == "name" and text else text


def to_markdown(table: Table) -> str:
    cols = [(i, c) for i, c in enumerate(table.columns) if c.human]
    lines: list[str] = []
    if table.title:
        lines += [f"## {md_text(table.title)}", ""]
    for line in table.preamble:
        lines += [md_paragraph(line), ""]
    lines.append("| " + " | ".join(md_text(c.title) for _, c in cols) + " |")
    lines.append("|" + "|".join("--:" if c.right else "---" for _, c in cols) + "|")
    for row in table.rows:
        lines.append("| " + " | ".join(_cell(row[i], c) for i, c in cols) + " |")
    if table.total is not None:
        cells = [md_text(cell(table.total[i], c.kind, exact_numbers=True)) for i, c in cols]
        lines.append("| " + " | ".join(f"**{text}**" if text else "" for text in cells) + " |")
    for note in table.notes:
        lines += ["", f"_{md_text(note)}_"]
    if table.convention:
        lines += ["", f"_{md_text(table.convention)}_"]
    return "\n".join(lines) + "\n"
