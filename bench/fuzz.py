"""Fuzz archscope as an attacker or a careless CI configuration would feed it.

    python bench/fuzz.py [--mutants 10000] [--seed 13] [--memory-every 10] [--shard 0/2] [--keep DIR]
                         [--export]

Each mutant is a bundled spec changed in one hostile way (see :data:`KINDS`): an extreme literal
(huge integers in every YAML base, 310-digit floats, NaN, infinities, expressions that explode),
a hostile value (escape sequences, rich markup, bidi overrides, wrong types, undefined aliases,
CI workflow commands, spreadsheet formulas, HTML, mathtext), hostile YAML (alias trees,
duplicate keys, deep nesting, NUL and invalid UTF-8 bytes, a second document, a random cut or
byte flip), an odd ``extends:`` (absolute paths, ``..``, links out of the folder, files that are
not specs, names too long for the file system, control characters), an odd file name, or a
work-bound attack (huge repeats, depth scales, alias lists evaluated per instance). Every mutant
is analysed in-process, every diagnostic rendered in every format, and every output of every
static command rendered in every format (:func:`static_outputs`: `summary`, `rf`, `memory`,
`predict`, `conventions`, `compare` of the mutant with itself, `draw` in DOT and Mermaid).

Checked for every mutant: no exception escapes; every diagnostic is located in the file that was
analysed (never a parent, a bundled file or nowhere); no control character reaches any output;
a diagnostic in the github format is one line; no line of any output starts with ``::`` or
``##vso[`` (spec text must not start a line of a CI log: GitHub and Azure read such a line as a
command); no CSV text cell starts a formula (``= + - @``); the file finishes within 2 s of CPU
time (CPU, not wall time: the project's 2-core machine is shared, and wall time measures the
neighbours; a mutant over it is timed twice more and the fastest of the three counts, since a
busy neighbour slows even CPU time through the shared caches) and, every ``--memory-every``-th
mutant and any slow one, 300 MB measured with tracemalloc. With ``--export``, every accepted
mutant is also exported with `export --to pytorch` (:func:`check_export`): the file must import
from its path, take ``build()``'s weights and give ``build()``'s outputs on a random input
(networks over 5 GMACs or 1 GiB are imported, not run; a network that build refuses with an
archscope error is fine). The mutants start from the bundled specs that analyse in under 0.25 s
of CPU (most of them; the largest are timed by ``bench/static_speed.py``). Prints a table of
figures per kind and the failures, if any; exits 1 when a mutant breaks a rule.
``tests/safety/test_fuzz.py`` runs the same mutants under hypothesis with a fixed seed and a small
budget, and exports one accepted mutant in six.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import itertools
import os
import random
import re
import sys
import tempfile
import time
import tracemalloc
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import archscope  # noqa: E402
from archscope.render.diagnostics import format_concise, format_github, format_json, format_text  # noqa: E402

SPECS = ROOT / "specs"
TIME_GOAL_S = 2.0
MEMORY_GOAL = 300 * 2**20
LARGE = 256 * 2**10  # reported apart: the largest files (archscope.limits bounds their work too)
BASE_CPU_S = 0.25  # the bundled specs the mutants start from analyse in less CPU time than this
CONTROL = [chr(c) for c in range(32) if c != 10] + ["\x7f", "\x9b", "\u202e", "\u2066"]

EXTREME_LITERALS = [
    "0x" + "f" * 3600,
    "-0x" + "f" * 3600,
    "0" + "7" * 5000,
    "0o" + "7" * 600,
    "0b" + "1" * 14000,
    "1" + ":59" * 2000,
    "9" * 5000,
    "9" * 1001,
    "1" + "0" * 309,
    "1" + "0" * 320,
    "-1" + "0" * 320,
    "1e999",
    "-1e999",
    ".nan",
    ".inf",
    "-.inf",
    "0",
    "-0",
    "-1",
    "1_000_000_000_000",
    "9223372036854775808",
    "1.5",
    "1e-320",
    "'10 ** 60'",
    "'2 ** 64 ** 64'",
    "'(' * 200",
    "'1' + '0' * 400",
    "'9' * 600",
    "'1 if 1 else ' * 40",
    "'max(' * 30",
    "!!int relu",
    "!!float ''",
    "!!binary aGVsbG8=",
    "!!python/object:os.system ls",
    "!!timestamp 2001-12-14",
    "~",
    "[]",
    "{}",
    "[[[[[[[[1]]]]]]]]",
]

HOSTILE_VALUES = [
    '"\\e[2J\\e[31mowned"',
    '"\\e]0;title\\a"',
    '"\\r\\roverwrite"',
    '"[bold]x[/bold] [link=http://x]y[/link]"',
    '"\\u202etxt.exe"',
    '"\\0nul"',
    "'" + "a" * 100_000 + "'",
    '"' + "\\t" * 50 + '"',
    "*nowhere",
    "&x 1",
    "{op: relu}",
    "[relu, relu]",
    "null",
    "yes",
    "'layers[99]'",
    "'__import__(\"os\")'",
    "'().__class__'",
    "'lambda: 1'",
    "'[x for x in range(10**9)]'",
    '"::warning file=x::forged"',  # spec text that would start a line of a CI log
    '"x\\n::error file=x::forged"',
    '"##vso[task.logissue type=error]forged"',
    '"=HYPERLINK(\\"http://x.example\\",\\"y\\")"',  # a formula for a spreadsheet
    "'@SUM(1)'",
    "'<script>alert(1)</script>'",
    "'$\\frac{'",  # mathtext
]

EXTENDS_TARGETS = [
    "/etc/passwd",
    "/proc/self/status",
    "/dev/zero",
    "../outside.yaml",
    "./../outside.yaml",
    "sub/../../outside.yaml",
    "link_out.yaml",
    "secret.yaml",
    "folder.yaml",
    "sub",
    ".",
    "..",
    "",
    "~",
    "a" * 5000,
    "a" * 5000 + ".yaml",
    "x/" * 3000 + "y.yaml",
    "lenet5",
    "resnet18",
    "resnet",
    "lenet5.yaml",
    "parent.yaml",
    "no_such_spec",
    "\x1b[2Jx.yaml",
    "[bold]p.yaml",
    "self.yaml",
]

ODD_NAMES = [
    "spec.yaml",
    "with space.yaml",
    "[bold]x.yaml",
    "\x1b[31mred.yaml",
    "new\nline.yaml",
    "ünïcödé.yaml",
    "-dash.yaml",
    "a" * 250 + ".yaml",
    "%0A::error file=x::.yaml",
    "tab\there.yaml",
]


def _numbers(text: str) -> list[tuple[int, int]]:
    """(start, end) of every plain number that is a YAML value in ``text``."""
    out, i = [], 0
    while i < len(text):
        if text[i].isdigit() and (i == 0 or text[i - 1] in " [,:-"):
            j = i
            while j < len(text) and (text[j].isalnum() or text[j] in "._"):
                j += 1
            if j < len(text) and text[j] in " ,]}\n":
                out.append((i, j))
            i = j
        i += 1
    return out


def _values(text: str) -> list[tuple[int, int]]:
    """(start, end) of values after ``key: `` in flow or block style."""
    out, i = [], 0
    while True:
        i = text.find(": ", i)
        if i < 0:
            return out
        j = i + 2
        k = j
        while k < len(text) and text[k] not in ",}\n#":
            k += 1
        if k > j:
            out.append((j, k))
        i = k


def _replace(text: str, where: list[tuple[int, int]], new: str, rng: random.Random) -> str:
    if not where:
        return text + f"\nextra: {new}\n"
    a, b = rng.choice(where)
    return text[:a] + new + text[b:]


def mutate_literal(rng: random.Random, text: str) -> str:
    return _replace(text, _numbers(text), rng.choice(EXTREME_LITERALS), rng)


# text that the outputs show as it is written: a title, a paper, a source (and the file's name)
HOSTILE_TEXT = [
    '"::warning file=x::forged"',
    '"::error::forged"',
    '"x\\n::error file=x::forged"',
    '"x\\r\\n::error::forged"',
    '"x\\u2028::error::forged"',
    '"##vso[task.setvariable variable=x]forged"',
    '"=HYPERLINK(\\"http://x.example\\",\\"y\\")"',
    "\"+cmd|' /C calc'!A0\"",
    "'<script>alert(1)</script>'",
    "'$\\frac{'",
    '"\\e[2J\\e]0;pwned\\a"',
    '"| a | b |"',
    "'`code` **bold** [link](javascript:alert(1))'",
]


def mutate_value(rng: random.Random, text: str) -> str:
    if rng.random() < 0.25:  # a title, paper or source that the outputs show (replaced, or added)
        key, value = rng.choice(["title", "paper", "source"]), rng.choice(HOSTILE_TEXT)
        line = re.compile(rf"^{key}:.*(\n[ \t]+.*)*", re.MULTILINE)
        return line.sub(lambda _: f"{key}: {value}", text, count=1) if line.search(text) else f"{key}: {value}\n{text}"
    new = rng.choice(HOSTILE_VALUES + EXTREME_LITERALS)
    if rng.random() < 0.3:  # an unknown key with escapes, or a layer name with them
        key = rng.choice(["bad\\e[31mkey", "[bold]k", "k\\u202e", "x\\ry"])
        return text.replace("\nlayers:", f'\n"{key}": 1\nlayers:', 1)
    return _replace(text, _values(text), new, rng)


def mutate_yaml(rng: random.Random, text: str) -> str | bytes:
    choice = rng.randrange(12)
    if choice == 0:  # an alias tree (a billion laughs)
        levels = rng.randint(3, 9)
        bomb = "bomb0: &b0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n" + "".join(
            f"bomb{i}: &b{i} [" + ", ".join([f"*b{i - 1}"] * 10) + "]\n" for i in range(1, levels)
        )
        return bomb + text
    if choice == 1:  # duplicate a line
        lines = text.splitlines(keepends=True)
        i = rng.randrange(len(lines))
        return "".join(lines[: i + 1] + [lines[i]] + lines[i + 1 :])
    if choice == 2:  # deep nesting
        depth = rng.choice([65, 200, 1000, 20_000])
        return text.replace("\nlayers:", "\ndeep: " + "[" * depth + "]" * depth + "\nlayers:", 1)
    if choice == 3:  # a tab where YAML forbids it
        return text.replace("\n  - ", "\n\t- ", 1)
    if choice == 4:  # bytes that are not text
        data = text.encode()
        i = rng.randrange(len(data))
        return data[:i] + rng.choice([b"\x00", b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x1b"]) + data[i:]
    if choice == 5:  # a byte-order mark, or a second document
        return rng.choice(["\ufeff" + text, text + "\n---\n" + text])
    if choice == 6:  # cut anywhere
        return text[: rng.randrange(len(text))]
    if choice == 7:  # flip a few characters
        chars = list(text)
        for _ in range(rng.randint(1, 5)):
            chars[rng.randrange(len(chars))] = rng.choice("[]{}:,-&*!|>'\"#%@` \n")
        return "".join(chars)
    if choice == 8:  # an aliased list used by every repeat of a layer
        tree = "\n".join(f"  t{i}: &t{i} [" + ", ".join([f"*t{i - 1}"] * 10) + "]" for i in range(1, 5))
        return (
            "input: [3, 8, 8]\nparams:\n  t0: &t0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n"
            + tree
            + f"\nlayers:\n  - {{op: maxpool2d, kernel: *t4, n: {rng.choice([10, 4000, 250_000])}}}\n"
        )
    if choice == 9:  # a merge key, or a mapping as a key
        return text.replace("\nlayers:", "\n<<: {title: merged}\n? [a, b]\n: 1\nlayers:", 1)
    if choice == 10:  # an empty or whitespace-only file
        return rng.choice(["", "\n\n", "   ", "# only a comment\n", "~\n", "[]\n", "relu\n"])
    return text.replace("\nlayers:", "\nlayers: &L\n", 1) + "\nagain: *L\n"  # an alias of the layers


def mutate_bounds(rng: random.Random, text: str) -> str:
    choice = rng.randrange(5)
    if choice == 0:
        return text.replace("{op:", f"{{n: {rng.choice([250_001, 10**12, 10**30])}, op:", 1)
    if choice == 1:
        depth = rng.choice([1000, 100_000, 10**9])
        return f"input: [3, 8, 8]\nscale: {{depth: {depth}}}\nlayers:\n  - {{op: relu, n: rep(3)}}\n"
    if choice == 2:
        n = rng.choice([300, 1000, 200_000])  # each refused after the first instance of `b` (1,000 layers)
        return (
            "input: [3]\nblocks:\n  b:\n    layers:\n      - {op: relu, n: 1000}\n"
            f"  c:\n    layers:\n      - {{op: b, n: {n}}}\nlayers:\n  - {{op: c, n: {n}}}\n"
        )
    if choice == 3:
        return "input: [3]\nlayers: [&r relu" + ", *r" * rng.choice([1000, 250_001]) + "]\n"
    return text.replace(
        "\nlayers:", f"\nscale: {{width: {rng.choice(['1e308', '1' + '0' * 400, '.nan'])}}}\nlayers:", 1
    )


KINDS = {
    "literal": mutate_literal,
    "value": mutate_value,
    "yaml": mutate_yaml,
    "bounds": mutate_bounds,
    "extends": None,  # needs files around the mutant: see write_mutant
    "path": None,
}


SMALL = ["lenet5", "tcn1d", "conv_standard", "inception_module", "squeezenet1_1", "alexnet", "unet", "mobilenet_v2"]


def base_specs(small: bool = False) -> dict[str, str]:
    if small:
        names = SMALL
    else:
        names = []
        for path in sorted(SPECS.glob("*.yaml")):
            start = time.process_time()
            archscope.analyze(path)
            if time.process_time() - start < BASE_CPU_S:
                names.append(path.stem)
    return {n: (SPECS / f"{n}.yaml").read_text("utf-8") for n in names}


def write_mutant(rng: random.Random, kind: str, text: str, folder: Path) -> Path:
    """Write one mutant (and whatever files it refers to) under ``folder``; return its path."""
    (folder / "sub").mkdir(exist_ok=True)
    (folder / "folder.yaml").mkdir(exist_ok=True)
    (folder.parent / "outside.yaml").write_text("input: [3]\nlayers: [relu]\n")
    (folder / "secret.yaml").write_text("aws_secret_access_key: AKIA-FUZZ-SECRET\n")
    (folder / "parent.yaml").write_text(text)
    link = folder / "link_out.yaml"
    if not link.is_symlink():
        link.symlink_to(folder.parent / "outside.yaml")
    name = "spec.yaml"
    if kind == "extends":
        target = rng.choice(EXTENDS_TARGETS)
        params = rng.choice(["", "params: {num_classes: 0}\n", "params: {num_classes: 7}\n", "input: [1, 2, 2]\n"])
        content: str | bytes = (
            f'extends: "{target}"\n' + params if "\x1b" in target else f"extends: {target}\n" + params
        )
        if target == "self.yaml":
            name = "self.yaml"
    elif kind == "path":
        name = rng.choice(ODD_NAMES)
        content = text
    else:
        content = KINDS[kind](rng, text)  # type: ignore[misc]
    path = folder / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, "utf-8")
    return path


@dataclass
class Outcome:
    kind: str
    seconds: float
    peak: int | None
    accepted: bool
    codes: tuple[str, ...]
    problems: list[str] = field(default_factory=list)
    size: int = 0  # bytes of the file
    retimed: float | None = None  # the first time, when it was over the goal and timed again
    exported: str | None = None  # with --export: ran, refused (by build, cleanly), too large, failed

    @property
    def large(self) -> bool:
        """Over :data:`LARGE` bytes."""
        return self.size > LARGE


# a calibration for `predict`'s table (the numbers of tests/perf/test_calibration.py); no file is read
CALIBRATION = dict(
    device="cpu",
    dtype="float32",
    device_name="fuzz CPU",
    torch="2.13.0+cpu",
    threads=1,
    gemm_gflops=50.0,
    conv_gflops=40.0,
    copy_gbs=10.0,
    triad_gbs=12.5,
    layer_overhead_us=10.0,
    framework_overhead_us=5.0,
)
FORGED_STARTS = ("::", "##vso[")  # GitHub's and Azure's workflow commands, at the start of a line
csv.field_size_limit(2**31 - 1)  # a title of 1 MB is one cell


def static_outputs(a: archscope.Analysis) -> list[tuple[str, Callable[[], str]]]:
    """Every output of every static command for ``a``, as the CLI would print it (each a thunk,
    so that an exception is told against its output): `summary` (and `--train`, `--depth 1`),
    `rf`, `memory` (and `--train`), `predict`, `conventions --spec`, `compare A A` in every table
    format; `draw` in DOT and Mermaid (collapsed and `--expand`). The commands that print a table
    despite errors (`summary`, `rf`) do so here too; the others need an analysis without errors.
    `report`'s HTML and the charts are left to ``bench/attacks.py`` (matplotlib costs a second)."""
    from archscope.explore.compare import Comparison
    from archscope.passes.conventions import DEFAULT, NAMES, count
    from archscope.passes.memory import MemoryOptions, memory
    from archscope.perf.calibration import Calibration
    from archscope.perf.roofline import predict
    from archscope.render.compare import compare_table
    from archscope.render.conventions import conventions_table
    from archscope.render.diagram import to_dot, to_mermaid
    from archscope.render.emit import TABLE_FORMATS, emit
    from archscope.render.memory import memory_table
    from archscope.render.receptive_field import field_table
    from archscope.render.summary import summary_table
    from archscope.render.timing import predict_table
    from archscope.render.training import training_table
    from archscope.results.diagram import build_diagram

    report, graph = a.report, a.graph
    if report is None:
        return []
    tables: list[tuple[str, Callable[[], Any]]] = [
        ("summary", lambda: summary_table(report, None, a.note, a.overrides)),
        ("summary --depth 1", lambda: summary_table(report, 1, a.note, a.overrides)),
    ]
    if a.passes.get("receptive_field") is not None:
        tables.append(("rf", lambda: field_table(report, a.passes["receptive_field"], None, a.note)))
    texts: list[tuple[str, Callable[[], str]]] = []
    if a.ok and graph is not None:
        trains = report.training is not None and report.training.trains
        if trains:
            tables.append(("summary --train", lambda: training_table(report, None, a.note, a.overrides)))
        tables.append(("memory", lambda: memory_table(report, memory(graph, MemoryOptions()), None, a.note)))
        if trains:
            train = MemoryOptions(train=True, optimizer="adam")
            tables.append(("memory --train", lambda: memory_table(report, memory(graph, train), None, a.note)))
        cal = Calibration(**CALIBRATION)  # type: ignore[arg-type]
        notes = (a.note,) if a.note else ()
        tables.append(("predict", lambda: predict_table(predict(graph, cal, 1, "float32"), None, notes)))
        tables.append(
            ("conventions", lambda: conventions_table(report.name, {c: count(graph, c).total for c in NAMES}))
        )
        pair = Comparison((a, a))
        tables.append(("compare", lambda: compare_table(pair.rows(), [a.note] if a.note else [], None, DEFAULT)))
        texts += [
            ("draw dot", lambda: to_dot(build_diagram(graph))),
            ("draw mermaid", lambda: to_mermaid(build_diagram(graph))),
            ("draw --expand mermaid", lambda: to_mermaid(build_diagram(graph, None, True))),
        ]
    for name, make in tables:
        texts += [(f"{name} -f {fmt.value}", _emitter(make, fmt, emit)) for fmt in TABLE_FORMATS]
    return texts


def _emitter(make: Callable[[], Any], fmt: Any, emit: Callable[..., str]) -> Callable[[], str]:
    return lambda: emit(make(), fmt)


def _number(cell: str) -> bool:
    """A number, or numbers joined as CSV joins a list (``-0.5|-0.5``) or a shape (``3×8×8``)."""
    try:
        [float(part) for part in cell.replace("×", "|").split("|")]
    except ValueError:
        return False
    return True


def check_outputs(a: archscope.Analysis) -> list[str]:
    """Render :func:`static_outputs`: no exception; no raw control character in any output; no
    line that starts with ``::`` or ``##vso[`` (spec text must not start a line of a CI log); no
    CSV text cell that a spreadsheet would read as a formula."""
    from archscope.render.machine import FORMULA_START

    problems = []
    for name, make in static_outputs(a):
        try:
            text = make()
        except Exception as exc:  # noqa: BLE001 - what the fuzzer is looking for
            problems.append(f"{name} raised {type(exc).__name__}: {str(exc)[:120]}")
            continue
        raw = sorted({c for c in text if c in CONTROL and c != "\t"})
        if raw:
            problems.append(f"control character {', '.join(f'U+{ord(c):04X}' for c in raw)} in {name}")
        forged = [line for line in text.splitlines() if line.startswith(FORGED_STARTS)]
        if forged:
            problems.append(f"a line of {name} starts with {forged[0][:40]!r}")
        if name.endswith("-f csv"):
            rows = csv.reader(line for line in text.splitlines() if not line.startswith("#"))
            cells = [c for row in rows for c in row if c.startswith(FORMULA_START) and not _number(c)]
            if cells:
                problems.append(f"a CSV cell of {name} is a formula: {cells[0][:40]!r}")
    return problems


# a network too large to build and run in the fuzzer's time: its export is written, not run
EXPORT_MAX_MACS = 5 * 10**9
EXPORT_MAX_BYTES = 2**30  # parameters and activations, float32
_modules = itertools.count()


def check_export(a: archscope.Analysis, path: Path) -> tuple[str, list[str]]:
    """`export --to pytorch` of an accepted mutant, checked as ``tests/safety/test_export_names.py``
    checks it: the file written beside ``path`` imports from its path; its class, given
    ``archscope.build``'s state_dict (strict), gives build()'s outputs bit for bit on one random
    input of the spec's input shapes (batch 1). Returns what happened (``ran``; ``refused``:
    build or export refused the network with an archscope error, which is fine; ``too large``:
    written and imported, not run) and the problems. torch is imported here, once."""
    import torch  # ~2.6 s, paid by the first mutant exported

    from archscope.torch_backend import build
    from archscope.torch_backend.errors import BackendError
    from archscope.torch_backend.export import class_name, pytorch_source

    assert a.report is not None and a.graph is not None
    torch.set_num_threads(1)  # a shared machine
    problems: list[str] = []
    try:
        source = pytorch_source(a, str(path))
    except BackendError:
        return "refused", []
    except Exception as exc:  # noqa: BLE001
        return "failed", [f"export raised {type(exc).__name__}: {str(exc)[:160]}"]
    target = path.parent / f"exported_{next(_modules)}.py"
    target.write_text(source, "utf-8")
    try:
        loader = importlib.util.spec_from_file_location(target.stem, target)
        assert loader is not None and loader.loader is not None
        module = importlib.util.module_from_spec(loader)
        loader.loader.exec_module(module)
        network = getattr(module, class_name(a.graph))
    except Exception as exc:  # noqa: BLE001
        return "failed", [f"the exported file does not import: {type(exc).__name__}: {str(exc)[:160]}"]
    t = a.report.totals
    if t.macs > EXPORT_MAX_MACS or 4 * (t.params + t.activations) > EXPORT_MAX_BYTES:
        return "too large", []
    try:
        torch.manual_seed(0)
        built = build(a).eval()
    except BackendError:
        return "refused", []
    except Exception as exc:  # noqa: BLE001
        return "failed", [f"build raised {type(exc).__name__}: {str(exc)[:160]}"]
    try:
        torch.manual_seed(1)
        exported = network().eval()
        exported.load_state_dict(built.state_dict(), strict=True)
    except Exception as exc:  # noqa: BLE001
        return "failed", [f"the exported class does not take build()'s weights: {type(exc).__name__}: {exc}"[:220]]
    inputs = [torch.randn(1, *node.shape) for node in a.graph.inputs]
    try:
        with torch.no_grad():
            expected = built(*inputs)
    except Exception as exc:  # noqa: BLE001 - build()'s network refuses what the static rules accept
        return "failed", [f"build()'s forward raised {type(exc).__name__}: {str(exc)[:160]}"]
    try:
        with torch.no_grad():
            got = exported(*inputs)
    except Exception as exc:  # noqa: BLE001
        return "failed", [f"the exported forward raised {type(exc).__name__}: {str(exc)[:160]}"]
    expected = expected if isinstance(expected, tuple) else (expected,)
    got = got if isinstance(got, tuple) else (got,)
    if len(got) != len(expected):
        problems.append(f"the export gives {len(got)} outputs, build() {len(expected)}")
    for i, (x, y) in enumerate(zip(got, expected, strict=False)):
        try:
            torch.testing.assert_close(x, y, rtol=0, atol=0, equal_nan=True)
        except AssertionError as exc:
            problems.append(f"output {i} of the export differs from build()'s: {str(exc).splitlines()[0][:120]}")
    return ("failed" if problems else "ran"), problems


def check(
    path: Path,
    kind: str,
    memory: bool,
    render: int | None = 0,
    time_goal_s: float = TIME_GOAL_S,
    export: bool = False,
) -> Outcome:
    """Analyse ``path`` and render every diagnostic in every format, and (``render`` not None)
    every output of every static command (:func:`check_outputs`); with ``export``, an accepted
    mutant is exported and run (:func:`check_export`). The rules of the module docstring, as
    problems."""
    problems: list[str] = []
    start = time.process_time()
    try:
        a = archscope.analyze(path)
    except Exception as exc:  # noqa: BLE001 - what the fuzzer is looking for
        return Outcome(kind, time.process_time() - start, None, False, (), [f"exception {type(exc).__name__}: {exc}"])
    seconds = time.process_time() - start
    peak = None
    if memory:  # a second analysis: tracemalloc slows allocation-heavy code up to 10×, so never timed
        tracemalloc.start()
        try:
            archscope.analyze(path)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    try:
        for d in a.diagnostics:
            if d.span is None:
                problems.append(f"unlocated {d.code} {d.message[:80]}")
            elif d.span.file != str(path):
                problems.append(f"located elsewhere {d.code} at {d.span.file[-60:]}:{d.span.line}")
            for human in (format_text(d), format_concise(d)):
                if any(c in human for c in CONTROL if c not in "\t"):
                    problems.append(f"control character in {d.code} output")
            if len(format_github(d).splitlines()) != 1:
                problems.append(f"{d.code} in the github format is not one line")
        format_json(a.diagnostics)
    except Exception as exc:  # noqa: BLE001
        problems.append(f"rendering raised {type(exc).__name__}: {exc}")
    if render is not None:
        problems += check_outputs(a)
    exported = None
    if export and a.ok and a.report is not None and a.graph is not None:
        exported, found = check_export(a, path)
        problems += found
    if seconds > time_goal_s:
        problems.append(f"slow: {seconds:.2f} s of CPU")
    if peak is not None and peak > MEMORY_GOAL:
        problems.append(f"memory: {peak / 2**20:.0f} MiB")
    return Outcome(kind, seconds, peak, a.ok, tuple(sorted({d.code for d in a.errors})), problems, exported=exported)


def run_one(
    rng: random.Random,
    bases: dict[str, str],
    kind: str,
    base: str,
    memory: bool,
    render: int | None = 0,
    keep: Path | None = None,
    time_goal_s: float = TIME_GOAL_S,
    export: bool = False,
) -> tuple[Path, Outcome]:
    with tempfile.TemporaryDirectory(prefix="archscope-fuzz-") as tmp:
        folder = Path(tmp) / "project"
        folder.mkdir()
        path = write_mutant(rng, kind, bases[base], folder)
        outcome = check(path, kind, memory, render, time_goal_s, export)
        outcome.size = path.stat().st_size
        if outcome.seconds > time_goal_s:  # over the goal: twice more, and the fastest counts (the
            again = min(check(path, kind, False, None).seconds for _ in range(2))  # machine is shared)
            outcome.retimed = outcome.seconds
            outcome.seconds = min(outcome.seconds, again)
            outcome.problems = [p for p in outcome.problems if not p.startswith("slow")]
            if outcome.seconds > time_goal_s:
                outcome.problems.append(f"slow: {outcome.seconds:.2f} s of CPU (fastest of 3)")
        if outcome.seconds > 0.5 and not memory:  # a slow one: measure its memory too
            outcome.peak = check(path, kind, True, None).peak
            if outcome.peak is not None and outcome.peak > MEMORY_GOAL:
                outcome.problems.append(f"memory: {outcome.peak / 2**20:.0f} MiB")
        if keep is not None and outcome.problems:  # the whole folder: a mutant may name its neighbours
            import shutil

            shutil.copytree(folder, keep / f"{kind}-{base}-{path.stem}-{os.getpid()}-{id(outcome)}", symlinks=True)
        return path, outcome


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mutants", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--memory-every", type=int, default=10, help="measure memory of every n-th mutant")
    parser.add_argument("--shard", default="0/1", help="K/N: run the mutants i with i % N == K (several processes)")
    parser.add_argument("--keep", type=Path, help="copy the mutants that break a rule into this folder")
    parser.add_argument("--export", action="store_true", help="export every accepted mutant to PyTorch and run it")
    args = parser.parse_args()
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
    shard, shards = (int(x) for x in args.shard.split("/"))
    rng = random.Random(args.seed * 1000 + shard)
    bases = base_specs()
    kinds = list(KINDS)
    by_kind: dict[str, list[Outcome]] = defaultdict(list)
    failures: list[tuple[str, str, list[str]]] = []
    codes: Counter[str] = Counter()
    started = time.perf_counter()
    try:
        for i in range(shard, args.mutants, shards):
            kind, base = kinds[i % len(kinds)], rng.choice(sorted(bases))
            # every n-th mutant of this shard (i alone would skip a shard: i is odd in shard 1 of 2)
            memory = (i // shards) % args.memory_every == 0
            path, outcome = run_one(rng, bases, kind, base, memory, i, args.keep, export=args.export)
            by_kind[kind].append(outcome)
            codes.update(outcome.codes)
            if outcome.problems:
                failures.append((kind, base, outcome.problems))
            done = sum(len(v) for v in by_kind.values())
            if done % 250 == 0:
                print(f"  {done:,} mutants, {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    except KeyboardInterrupt:  # Ctrl-C: the figures of the mutants done so far
        print("interrupted: the figures below are those of the mutants done\n", file=sys.stderr)
    total = sum(len(v) for v in by_kind.values())
    print(
        f"{total:,} mutants of {len(bases)} bundled specs (seed {args.seed}, shard {args.shard}), "
        f"{time.perf_counter() - started:.0f} s\n"
    )
    slow_large = sum(any(p.startswith("slow") for p in o.problems) and o.large for v in by_kind.values() for o in v)
    print("| kind | mutants | accepted | refused | exceptions | unlocated or elsewhere | max CPU time | max memory |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for kind in kinds:
        outs = by_kind[kind]
        exc = sum(any(p.startswith("exception") for p in o.problems) for o in outs)
        elsewhere = sum(any(p.startswith(("unlocated", "located")) for p in o.problems) for o in outs)
        accepted = sum(o.accepted for o in outs)
        peaks = [o.peak for o in outs if o.peak is not None]
        print(
            f"| {kind} | {len(outs):,} | {accepted:,} | {len(outs) - accepted:,} | {exc} | {elsewhere} | "
            f"{max(o.seconds for o in outs):.2f} s | {max(peaks) / 2**20 if peaks else 0:.0f} MiB |"
            if outs
            else f"| {kind} | 0 | | | | | | |"
        )
    if args.export:
        exported = Counter(o.exported for v in by_kind.values() for o in v if o.exported is not None)
        print(
            f"\nexported (accepted mutants): {sum(exported.values()):,}: "
            + ", ".join(f"{what} {exported[what]:,}" for what in ("ran", "refused", "too large", "failed"))
            + f" (ran: imported, given build()'s weights and run on one input, its outputs build()'s; too large: over"
            f" {EXPORT_MAX_MACS / 1e9:.0f} GMACs or {EXPORT_MAX_BYTES / 2**30:.0f} GiB, imported only)"
        )
    print("\nmost frequent refusals: " + ", ".join(f"{c} ×{n:,}" for c, n in codes.most_common(8)))
    retimed = [o for v in by_kind.values() for o in v if o.retimed is not None]
    if retimed:
        print(
            f"\nover {TIME_GOAL_S:.0f} s of CPU at first and timed twice more: {len(retimed)} ("
            + ", ".join(f"{o.kind} {o.retimed:.2f} → {o.seconds:.2f} s" for o in retimed[:10])
            + ")"
        )
    print(f"\nmutants that broke a rule: {len(failures)} ({slow_large} of them only slow, in a file over 256 KB)")
    for kind, base, problems in failures[:40]:
        print(f"  {kind} of {base}: {'; '.join(problems)[:300]}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
