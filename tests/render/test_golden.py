"""Golden files: the exact output of every static command in every format it has.

Each case runs the CLI (``NO_COLOR``, 120 columns, from the repository root) and compares
``$ archscope ARGS``, stdout, stderr and the exit code with ``tests/golden/<name>.txt``.
After an intended change of output, ``pytest --update-golden`` rewrites the files; review
them with ``git diff tests/golden``. Absolute paths read ``<root>``. The torch-backed
commands (verify, bench) are in ``test_torch_golden.py``.
"""

from __future__ import annotations

import pytest
from conftest import ROOT
from shared import transcript

LINT_INPUT = "tests/golden/inputs/lint_problems.yaml"

CASES = {
    "summary_lenet5_table": ["summary", "lenet5"],
    "summary_lenet5_json": ["summary", "lenet5", "--format", "json"],
    "summary_lenet5_csv": ["summary", "lenet5", "--format", "csv"],
    "summary_lenet5_markdown": ["summary", "lenet5", "--format", "markdown"],
    "summary_lenet5_exact": ["summary", "lenet5", "--exact"],
    "summary_resnet18_depth1_table": ["summary", "resnet18", "--depth", "1"],
    "summary_resnet18_depth1_csv": ["summary", "resnet18", "--depth", "1", "--format", "csv"],
    "summary_resnet18_depth1_markdown": ["summary", "resnet18", "--depth", "1", "--format", "markdown"],
    "summary_resnet_family_table": ["summary", "resnet", "--depth", "1"],
    "compare_table": ["compare", "mobilenet_v2", "resnet50"],
    "compare_json": ["compare", "mobilenet_v2", "resnet50", "--format", "json"],
    "compare_csv": ["compare", "mobilenet_v2", "resnet50", "--format", "csv"],
    "compare_markdown": ["compare", "mobilenet_v2", "resnet50", "--format", "markdown"],
    "list_table": ["list"],
    "list_json": ["list", "--format", "json"],
    "list_csv": ["list", "--format", "csv"],
    "list_markdown": ["list", "--format", "markdown"],
    "ops_table": ["ops"],
    "ops_json": ["ops", "--format", "json"],
    "ops_markdown": ["ops", "--format", "markdown"],
    "lint_text": ["lint", "--format", "text", LINT_INPUT],
    "lint_concise": ["lint", "--format", "concise", LINT_INPUT],
    "lint_github": ["lint", "--format", "github", LINT_INPUT],
    "lint_json": ["lint", "--format", "json", LINT_INPUT],
    "memory_lenet5_table": ["memory", "lenet5"],
    "memory_lenet5_json": ["memory", "lenet5", "--train", "--optimizer", "adam", "--format", "json"],
    "memory_lenet5_csv": ["memory", "lenet5", "--batch", "8", "--format", "csv"],
    "memory_lenet5_markdown": ["memory", "lenet5", "--train", "--format", "markdown"],
    "memory_resnet18_train_depth1_table": [
        "memory",
        "resnet18",
        "--train",
        "--optimizer",
        "adam",
        "-b",
        "8",
        "-d",
        "1",
    ],
}


@pytest.fixture
def run(cli, monkeypatch):
    monkeypatch.chdir(ROOT)

    def invoke(args: list[str]) -> str:
        return transcript(cli(*args, env={"NO_COLOR": "1", "COLUMNS": "120"}), args)

    return invoke


@pytest.mark.parametrize("name", list(CASES))
def test_golden(run, golden, name):
    golden(name, run(CASES[name]))


def test_every_table_format_has_a_golden_file():
    """summary and compare in every format they accept; lint in each of its formats."""
    from archscope.render.emit import TABLE_FORMATS

    for command, subject in (("summary", "summary_lenet5"), ("compare", "compare"), ("memory", "memory_lenet5")):
        for fmt in TABLE_FORMATS:
            assert f"{subject}_{fmt.value}" in CASES, (command, fmt.value)
    for fmt in ("text", "concise", "github", "json"):
        assert f"lint_{fmt}" in CASES
