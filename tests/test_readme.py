"""The README stays true: its tables of bundled specs and of diagnostic codes are checked
against what archscope computes and registers."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import archscope
from archscope.diagnostics import CODES
from archscope.lang.bundled import bundled

README = (Path(__file__).resolve().parent.parent / "README.md").read_text("utf-8")
SPEC_ROW = re.compile(r"^\| `(\w+)` \| [^|]+ \| ([\d×]+) \| ([\d,]+) \| ([\d,]+) \|", re.M)
CODE_ROW = re.compile(r"^\| `([EW]\d{3})` \| (error|warning) \| (.+) \|$", re.M)


def test_readme_lists_every_bundled_spec():
    assert {m.group(1) for m in SPEC_ROW.finditer(README)} == set(bundled())


@pytest.mark.parametrize("name,shape,params,macs", [m.groups() for m in SPEC_ROW.finditer(README)])
def test_readme_numbers_are_computed_ones(name, shape, params, macs):
    report = archscope.summarize(name)
    assert "×".join(map(str, report.input)) == shape
    assert report.totals.params == int(params.replace(",", ""))
    assert report.totals.macs == int(macs.replace(",", ""))


def test_readme_documents_every_diagnostic_code():
    documented = {m.group(1): m.group(3) for m in CODE_ROW.finditer(README)}
    assert documented == CODES
