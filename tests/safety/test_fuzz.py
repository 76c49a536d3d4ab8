"""Property: every hostile mutant of a bundled spec is accepted or refused cleanly.

hypothesis draws the mutant (its kind, the spec it starts from, and the seed of the mutation
in ``bench/fuzz.py``: extreme literals, hostile values and YAML, odd ``extends:`` and file
names, work-bound attacks), with a fixed seed and a bounded budget (~30 s). For each: no
exception escapes, every diagnostic is located in the file that was analysed, every output of
every static command renders in every format with no control character, no line that starts
a CI workflow command (``::``, ``##vso[``) and no CSV formula; one mutant in six, when
accepted, is exported to PyTorch, imported from its file and run against ``build()`` (torch,
when installed: ~3 s for its import); and the file's work is bounded: 300 MB (measured with
tracemalloc for every fourth) and CPU time under 10× the 2 s goal (a guard against unbounded work
that load cannot trip; `bench/fuzz.py` shows the goal itself), whatever its size: the limits of
:mod:`archscope.limits` bound the work of any file under 1 MB.
``python bench/fuzz.py`` runs 10,000 of them.
"""

from __future__ import annotations

import importlib.util
import random
import sys
from pathlib import Path

import pytest
from conftest import ROOT
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.slow  # 40 mutants of bundled specs: not in the quick subset

_spec = importlib.util.spec_from_file_location("archscope_fuzz", ROOT / "bench" / "fuzz.py")
fuzz = importlib.util.module_from_spec(_spec)
sys.modules["archscope_fuzz"] = fuzz  # its dataclasses look their module up
_spec.loader.exec_module(fuzz)

BASES = fuzz.base_specs(small=True)
TORCH = importlib.util.find_spec("torch") is not None  # without it, no mutant is exported
# CPU time is a measurement that load moves: the 2 s goal is `bench/fuzz.py`'s to show. Here 10×
# the goal only catches work that is no longer bounded (such a mutant takes minutes, or forever).
HANG_GUARD_S = 10 * fuzz.TIME_GOAL_S


@seed(13)
@settings(
    max_examples=40,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],  # no shrinking: the failing mutant is printed whole
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
    database=None,
)
@given(
    kind=st.sampled_from(sorted(fuzz.KINDS)),
    base=st.sampled_from(sorted(BASES)),
    mutation=st.integers(0, 2**32 - 1),
    render=st.integers(0, 3),
    export=st.integers(0, 5),
)
def test_hostile_mutants_are_accepted_or_refused_cleanly(kind: str, base: str, mutation: int, render: int, export: int):
    path, outcome = fuzz.run_one(
        random.Random(mutation),
        BASES,
        kind,
        base,
        memory=render == 0,
        render=render,
        time_goal_s=HANG_GUARD_S,
        export=export == 0 and TORCH,
    )
    assert not outcome.problems, (kind, base, mutation, outcome.problems)


# ---- the fuzzer's own checks can fail: each finds the fault it is for ---------------------------

HOSTILE_TITLE = 'title: "=HYPERLINK(1)"\ninput: [3, 8, 8]\nlayers:\n  - {op: conv2d, out: 4, kernel: 3}\n  - relu\n'


def test_the_output_checks_find_a_formula_and_a_control_character(tmp_path: Path, monkeypatch):
    from archscope.render import machine

    path = tmp_path / "spec.yaml"
    path.write_text(HOSTILE_TITLE)
    assert fuzz.check(path, "value", memory=False).problems == []
    monkeypatch.setattr(machine, "csv_text", str)  # CSV without its neutralising quote
    problems = fuzz.check(path, "value", memory=False).problems
    assert problems == ["a CSV cell of compare -f csv is a formula: '=HYPERLINK(1)'"]
    path.write_text(HOSTILE_TITLE.replace("=HYPERLINK(1)", "\\e[2J::warning file=x::forged"))
    monkeypatch.setattr(machine, "oneline", str)
    problems = fuzz.check(path, "value", memory=False).problems
    assert "control character U+001B in compare -f csv" in problems


def test_the_export_check_runs_the_file_and_finds_a_different_network(tmp_path: Path, monkeypatch):
    pytest.importorskip("torch")
    from archscope.torch_backend import export

    path = tmp_path / "spec.yaml"
    path.write_text(HOSTILE_TITLE)
    outcome = fuzz.check(path, "value", memory=False, render=None, export=True)
    assert (outcome.exported, outcome.problems) == ("ran", [])
    written = export.pytorch_source
    monkeypatch.setattr(
        export, "pytorch_source", lambda a, name=None: written(a, name).replace("nn.ReLU(inplace=True)", "nn.Sigmoid()")
    )
    outcome = fuzz.check(path, "value", memory=False, render=None, export=True)
    assert outcome.exported == "failed"
    assert outcome.problems[0].startswith("output 0 of the export differs from build()'s")
    monkeypatch.setattr(export, "pytorch_source", lambda a, name=None: written(a, name) + "\n)\n")
    outcome = fuzz.check(path, "value", memory=False, render=None, export=True)
    assert outcome.problems[0].startswith("the exported file does not import: SyntaxError")
