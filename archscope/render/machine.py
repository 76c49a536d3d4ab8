"""The machine emitters of a table model: JSON and CSV (no rich, no number formatting).

JSON is the table's ``document`` when it has one (``summary``: ``Report.to_dict()``), else its
rows as a list of objects keyed by column; the counting convention is a ``convention`` key (of
the document, or of each object of a list).

CSV is a header of column keys and one line per row; shapes read ``3×224×224``, lists
``1|8|32``. The counting convention comes first, as a comment line ``# convention: …``
(``pandas.read_csv(path, comment="#")``; ``csv.DictReader(line for line in f if not
line.startswith("#"))``), unless the table has a ``convention`` column: `bench` rows carry
their context (device, torch version) in columns, and the convention with them.

CSV text is opened in spreadsheets and printed in CI logs, so each text cell is one line
(:func:`~archscope.render.safe.oneline`: a newline reads ``\\n``, an escape sequence ``\\x1b``) and
one that a spreadsheet would take for a formula (it starts with ``=``, ``+``, ``-``, ``@``, or
their full-width forms) gets a leading ``'``, as OWASP's "CSV Injection" page recommends:
``=HYPERLINK(…)`` reads ``'=HYPERLINK(…)``. Numbers are written as they are (``-1.5`` is a number).
JSON needs neither: ``json.dumps`` escapes every control character, U+2028 and U+2029 included.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from archscope.render.safe import oneline
from archscope.results.table import Table


def to_json(table: Table) -> str:
    data: Any = table.document if table.document is not None else table.records()
    if table.convention:
        if isinstance(data, dict):
            data = {**data, "convention": data.get("convention", table.convention)}
        elif isinstance(data, list):
            data = [
                {**r, "convention": r.get("convention", table.convention)} if isinstance(r, dict) else r for r in data
            ]
    return json.dumps(data, indent=2, default=str)


# what a spreadsheet takes for the start of a formula (OWASP, CSV Injection), full-width forms too;
# a tab or carriage return, also on OWASP's list, is already an escape (`\\x09`) after `oneline`
FORMULA_START = tuple("=+-@\uff1d\uff0b\uff0d\uff20")


def csv_text(text: object) -> str:
    """A text cell of CSV: on one line, and never read as a formula."""
    s = oneline(text)
    return "'" + s if s.startswith(FORMULA_START) else s


def _csv_value(value: Any, kind: str) -> Any:
    if isinstance(value, (list, tuple)):
        joined = ("×" if kind == "shape" else "|").join(map(str, value))
        return csv_text(joined) if any(isinstance(v, str) for v in value) else joined
    return csv_text(value) if isinstance(value, str) else value


def to_csv(table: Table) -> str:
    buf = io.StringIO()
    cols = [(i, c) for i, c in enumerate(table.columns) if c.machine]
    if table.convention and not any(c.key == "convention" for _, c in cols):
        buf.write(f"# convention: {table.convention}\n")
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([c.key for _, c in cols])
    for row in table.rows:
        w.writerow([_csv_value(row[i], c.kind) for i, c in cols])
    return buf.getvalue()
