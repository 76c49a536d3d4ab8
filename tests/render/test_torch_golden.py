"""Golden files of the torch-backed commands (see ``test_golden.py``; ``pytest --update-golden``).

verify's numbers are deterministic (shapes, numel, fvcore's counts); its timing is masked.
bench's timings vary from run to run, so only the structure of its output is kept: the
table's header, the CSV columns and the JSON keys.
"""

from __future__ import annotations

import json
import re

import pytest
from test_golden import transcript

pytestmark = pytest.mark.slow  # builds and runs networks (or processes): not in the quick subset

pytest.importorskip("torch")

QUICK = ["--min-time", "0.02", "--min-runs", "2", "--warmup", "1", "--device", "cpu", "--threads", "1"]


def _mask_seconds(text: str) -> str:
    text = re.sub(r"(cpu|meta), \d+\.\d s", r"\1, <seconds> s", text)
    return re.sub(r'"seconds": [\d.]+', '"seconds": "<seconds>"', text)


def _keys(value: object) -> object:
    """The shape of a JSON value: objects keep their keys, lists their first item, the rest its type."""
    if isinstance(value, dict):
        return {k: _keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_keys(value[0])] if value else []
    return type(value).__name__


@pytest.fixture
def run(cli):
    def invoke(args: list[str]):
        return cli(*args, env={"NO_COLOR": "1", "COLUMNS": "120"})

    return invoke


@pytest.mark.parametrize(
    "name,args",
    [
        ("verify_lenet5_layers_table", ["verify", "lenet5", "--layers"]),
        ("verify_lenet5_json", ["verify", "lenet5", "--format", "json"]),
    ],
)
def test_torch_verify_golden(run, golden, name, args):
    golden(name, _mask_seconds(transcript(run(args), args)))


def _columns(table: str) -> str:
    """The column names of a table's header, without the padding that the measured values set."""
    header = next(line for line in table.splitlines() if line.startswith("┃"))
    return " | ".join(cell.strip() for cell in header.strip("┃ ").split("┃"))


def test_torch_bench_golden_structure(run, golden):
    args = ["bench", "lenet5", "--batch", "1,2", *QUICK]
    table = run(args)
    csv_out = run([*args, "--format", "csv"])
    json_out = run([*args, "--format", "json"])
    assert table.exit_code == csv_out.exit_code == json_out.exit_code == 0
    rows = [line for line in table.stdout.splitlines() if line.startswith("│")]
    structure = [
        f"$ archscope {' '.join(args)}  (structure only: timings vary)",
        "table columns: " + _columns(table.stdout),
        f"table rows: {len(rows)}",
        "convention note: " + str("MACs = multiply-accumulates" in table.stdout),
        "csv columns: " + csv_out.stdout.splitlines()[0],
        "json keys: " + json.dumps(_keys(json.loads(json_out.stdout)), indent=2),
    ]
    golden("bench_lenet5_structure", "\n".join(structure) + "\n")


def test_torch_compare_bench_golden_structure(run, golden):
    args = ["compare", "lenet5", "conv_standard", "--bench", *QUICK]
    table = run(args)
    csv_out = run([*args, "--format", "csv"])
    assert table.exit_code == csv_out.exit_code == 0
    structure = [
        f"$ archscope {' '.join(args)}  (structure only: timings vary)",
        "table columns: " + _columns(table.stdout),
        "csv: " + "\n".join(csv_out.stdout.splitlines()[:2]),
    ]
    golden("compare_bench_structure", "\n".join(structure) + "\n")
