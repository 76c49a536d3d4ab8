"""Hostile specs against every command (issue 20): each attack file of each class, given to
every command that reads a spec, in its own process, measured as a user meets it.

    python bench/attacks.py [--runs 1] [--timeout 60] [--commands lint,rf] [--classes rf-union,csv]
                            [--keep DIR] [--list] [--results FILE.jsonl]

For each (attack, command) pair it prints the exit code, the CPU time the kernel accounted for
the process when it exited (wait4: user + system, start-up and any child included), and its
peak RSS (VmHWM, read by the process itself as it exits, as ``bench/large_files.py`` does, with
the script of ``tests/safety/test_untrusted_specs.py``). It flags, in the last column:

* ``CPU > 2 s`` and ``RSS > 300 MB``: the work-bound goal (every file under 1 MB is accepted or
  refused within 2 s of CPU and 300 MB);
* ``> 60 s (killed)``: the process passed the wall-clock guard (``--timeout``) and was killed (its
  peak RSS is read from ``/proc`` just before); the bench always finishes;
* ``exit 3`` (an internal error) and ``traceback``;
* ``forged CI line``: a line of output that starts with the attack's ``::warning file=x::`` or
  with ``##vso[`` (spec text must never start a line of a CI log);
* ``raw control character``: an escape sequence, another C0/C1 control or a bidi override in the
  output (shown as an escape, never obeyed);
* ``CSV formula``: a CSV text cell that a spreadsheet would run (starts with ``= + - @``);
* ``raw <script>``: the attack's ``<script>`` unescaped in Markdown output or in the HTML report;
* ``leaks the environment``: a marker set in the process's environment appears in its output or
  its files (``/proc/self/environ`` read and echoed);
* ``accepted``: a case that must be refused (a sweep whose spec leaves its folder) exited 0;
* ``export does not compile``: the PyTorch file `export` wrote is not valid Python.

The attack files are built in code (:func:`attacks`), one or a few per class of the issue, plus
the costliest files of ``tests/safety/test_untrusted_specs.py`` (``BOUNDED``, ``LARGE_FILES``); ``--list``
lists them. A case whose first two commands pass the guard is not run through the others (the
row says so): every command analyses the same file, and 20 minutes of killed runs say nothing
more; ``--all`` runs them anyway. ``draw -f svg`` is skipped with a note when Graphviz's
``dot`` is not on PATH. ``predict`` and ``sweep`` read a synthetic calibration (the one of
``tests/perf/test_calibration.py``), written in the bench's temporary folder.

CPU time is a measurement that load moves (the machine is shared: a busy neighbour slows even
CPU time through the shared caches); the load average is printed first. ``--runs N`` keeps the
fastest of N runs (and the largest peak). A whole run takes an hour or more on a loaded 2-core
machine (the attacks not yet bounded run up to the guard): ``--results FILE`` records each pair
as it is measured, and a run given the same file again measures only the pairs not in it.
Exits 1 when any pair is flagged.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from test_calibration import CAL  # noqa: E402  (a synthetic calibration, for predict and sweep)
from test_hostile import _MEASURED, BOUNDED, LARGE_FILES  # noqa: E402  (the cases the suite asserts)

sys.path.insert(0, str(ROOT / "bench"))
from fuzz import _number  # noqa: E402  (what a CSV cell that is a number looks like: the fuzzer's rule)

from archscope.perf.calibration import store  # noqa: E402
from archscope.render.machine import FORMULA_START  # noqa: E402

CPU_GOAL_S = 2.0
RSS_GOAL = 300 * 2**20  # the 300 MB of tests/safety/test_untrusted_specs.py
FORGED = "::warning file=x::"  # what the attacks write to start a line of a CI log
SCRIPT = "<script>alert(1)</script>"
CONTROL = frozenset([chr(c) for c in range(32) if chr(c) not in "\n\t"] + ["\x7f", "\u202e", "\u2066"])
CONTROL |= frozenset(chr(c) for c in range(0x80, 0xA0))
SECRET_VAR = "ARCHSCOPE_BENCH_SECRET"
csv.field_size_limit(2**31 - 1)  # a title of 1 MB is one cell


@dataclass(frozen=True)
class Link:
    """A symbolic link to ``target`` among an attack's files."""

    target: str


@dataclass(frozen=True)
class Attack:
    cls: str  # the class of the issue: `--classes` selects by it
    name: str
    files: dict[str, str | bytes | Link]  # path (relative to the attack's folder) → content
    target: str  # what the commands are given, relative to the attack's folder ("." for the folder)
    kind: str = "spec"  # spec | sweep (a sweep file) | folder: which commands read it
    refuse: bool = False  # every command must refuse it (exit ≠ 0)

    @property
    def size(self) -> int:
        content = self.files.get(self.target)
        return len(content.encode() if isinstance(content, str) else content) if isinstance(content, bytes | str) else 0


@dataclass(frozen=True)
class Command:
    name: str
    args: Callable[[str, Path], list[str]]  # (target, folder for output files) → arguments
    kinds: frozenset[str] = frozenset({"spec"})
    needs: str | None = None  # an executable that must be on PATH
    fmt: str = "text"  # csv | markdown | html (report) | pytorch (export): what else to check


ALL = frozenset({"spec", "sweep", "folder"})


def _sweep(target: str, _out: Path) -> list[str]:
    grid = [] if target.endswith(".sweep.yaml") else ["--grid", "batch=1,2"]
    return ["sweep", target, *grid, "--workers", "1"]


COMMANDS = {
    c.name: c
    for c in [
        Command("lint", lambda t, _: ["lint", t], ALL),
        Command("lint -f github", lambda t, _: ["lint", t, "--format", "github"], ALL),
        Command("summary", lambda t, _: ["summary", t]),
        Command("summary -f json", lambda t, _: ["summary", t, "--format", "json"]),
        Command("summary -f csv", lambda t, _: ["summary", t, "--format", "csv"], fmt="csv"),
        Command("summary -f markdown", lambda t, _: ["summary", t, "--format", "markdown"], fmt="markdown"),
        Command("rf", lambda t, _: ["rf", t]),
        Command("memory", lambda t, _: ["memory", t]),
        Command("memory --train", lambda t, _: ["memory", t, "--train"]),
        Command("compare A A", lambda t, _: ["compare", t, t]),
        Command("compare -f csv", lambda t, _: ["compare", t, t, "--format", "csv"], fmt="csv"),
        Command("draw -f dot", lambda t, _: ["draw", t, "--format", "dot"]),
        Command("draw -f mermaid", lambda t, _: ["draw", t, "--format", "mermaid"]),
        Command("draw -f svg", lambda t, o: ["draw", t, "--format", "svg", "-o", str(o / "net.svg")], needs="dot"),
        Command("report -o", lambda t, o: ["report", t, "-o", str(o / "report.html")], fmt="html"),
        Command("summary --plot", lambda t, o: ["summary", t, "--plot", str(o / "chart.png")]),
        Command(
            "export --to pytorch", lambda t, o: ["export", t, "--to", "pytorch", "-o", str(o / "net.py")], fmt="pytorch"
        ),
        Command("predict", lambda t, _: ["predict", t]),
        Command("sweep", _sweep, frozenset({"spec", "sweep"})),
        Command("conventions --spec", lambda t, _: ["conventions", "--spec", t]),
    ]
}


# ---- the attack files, one class of the issue at a time -----------------------------------------


def _net(*layers: str, input: str = "[3, 8, 8]", head: str = "") -> str:
    return head + f"input: {input}\nlayers:\n" + "".join(f"  - {layer}\n" for layer in layers)


def _transposed_branches(*strides: int, merge: str = "add") -> str:
    """Branches whose fields repeat every `stride` units: their union repeats every lcm."""
    names = "abcdefgh"[: len(strides)]
    layers = [
        f"{{op: conv_transpose2d, name: {n}, in: input, out: 1, kernel: 3, stride: {s}}}"
        for n, s in zip(names, strides, strict=True)
    ]
    return _net(*layers, f"{{op: {merge}, name: s, in: [{', '.join(names)}]}}", input="[1, 1, 1]")


def _skips(n: int, fan_out: bool = False) -> str:
    """``n`` layers, every second one an add: of the two layers before it, or of the first layer."""
    layers = ["{op: conv2d, name: l0, out: 8, kernel: 3, padding: 1}"]
    for i in range(1, n):
        if i % 2:
            layers.append(f"{{op: conv2d, name: l{i}, out: 8, kernel: 3, padding: 1}}")
        else:
            layers.append(f"{{op: add, name: l{i}, in: [l{i - 1}, {'l0' if fan_out else f'l{i - 2}'}]}}")
    return _net(*layers, input="[8, 8, 8]")


SMALL = _net("{op: conv2d, name: conv, out: 4, kernel: 3}", "relu", "flatten", "{op: linear, name: fc, out: 10}")


def _titled(title: str, **meta: str) -> str:
    head = f"title: {title}\n" + "".join(f"{k}: {v}\n" for k, v in meta.items())
    return head + SMALL


def attacks() -> list[Attack]:
    """Every attack of the bench, built in code."""
    out = [
        # the floor: a small valid spec, what each command costs whatever its input (start-up, imports)
        Attack("baseline", "a 4-layer spec", {"spec.yaml": SMALL}, "spec.yaml"),
        # 1: the receptive field of branches whose periods have a huge lcm; a huge kernel after a stride
        Attack("rf-union", "add of strides 4093, 4091", {"spec.yaml": _transposed_branches(4093, 4091)}, "spec.yaml"),
        Attack(
            "rf-union",
            "concat of strides 4093, 4091",
            {"spec.yaml": _transposed_branches(4093, 4091, merge="concat")},
            "spec.yaml",
        ),
        Attack(
            "rf-union",
            "add of strides 4093, 4091, 4089",
            {"spec.yaml": _transposed_branches(4093, 4091, 4089)},
            "spec.yaml",
        ),
        Attack(
            "rf-union",
            "kernel 10^6 of stride 4096",
            {
                "spec.yaml": _net(
                    "{op: conv_transpose2d, name: up, out: 1, kernel: [1000000, 1], stride: [4096, 1]}",
                    input="[1, 1, 1]",
                )
            },
            "spec.yaml",
        ),
        Attack(
            "rf-union",
            "kernel 10^6 after stride 4096",
            {
                "spec.yaml": _net(
                    "{op: conv_transpose2d, name: up, out: 1, kernel: 1, stride: [4096, 1]}",
                    "{op: conv2d, name: big, out: 1, kernel: [1000000, 1]}",
                    "{op: relu, name: after}",
                    input="[1, 300, 1]",
                )
            },
            "spec.yaml",
        ),
        # 2: "did you mean" for every dangling name; freeze globs over every layer
        Attack(
            "names-globs",
            "2,000 dangling in:",
            {
                "spec.yaml": _net(
                    *(f"{{op: relu, name: layer{i}, in: layr{i}}}" for i in range(2000)), input="[1, 4, 4]"
                )
            },
            "spec.yaml",
        ),
        Attack(
            "names-globs",
            "1,000 freeze: patterns matching nothing",
            {
                "spec.yaml": _net(
                    *(f"{{op: conv2d, name: layer{i}, out: 1, kernel: 1}}" for i in range(2000)),
                    input="[1, 4, 4]",
                    head="freeze: [" + ", ".join(f"nomatch{i}.*" for i in range(1000)) + "]\n",
                )
            },
            "spec.yaml",
        ),
        # 3: a line of a CI log forged by a title, an attribute key, a file name
        Attack("forged-lines", "title", {"spec.yaml": _titled(f'"x\\n{FORGED}forged title"')}, "spec.yaml"),
        Attack("forged-lines", "title that starts with ::", {"spec.yaml": _titled(f'"{FORGED}forged"')}, "spec.yaml"),
        Attack(
            "forged-lines",
            "title that starts with ##vso[",
            {"spec.yaml": _titled('"##vso[task.logissue type=warning]forged"')},
            "spec.yaml",
        ),
        Attack(
            "forged-lines",
            "attribute key",
            {"spec.yaml": _net(f'{{op: relu, "k\\n{FORGED}forged key": 1}}', "relu")},
            "spec.yaml",
        ),
        Attack(
            "forged-lines",
            "file name",
            {f"a\n{FORGED}forged.yaml": "freeze: [nomatch]\n" + SMALL},  # W103: a warning, and a valid spec
            f"a\n{FORGED}forged.yaml",
        ),
        Attack(
            "forged-lines", "file name that starts with ::", {f"{FORGED}forged.yaml": SMALL}, f"{FORGED}forged.yaml"
        ),
        # 4: large graphs, for draw and report
        Attack("large-graph", "300 layers, skips", {"spec.yaml": _skips(300)}, "spec.yaml"),
        Attack("large-graph", "300 layers, skips from one", {"spec.yaml": _skips(300, fan_out=True)}, "spec.yaml"),
        Attack("large-graph", "1,000 layers, skips", {"spec.yaml": _skips(1000)}, "spec.yaml"),
        # 5: a sweep file whose spec is not beside it
        Attack(
            "sweep-spec-path",
            "spec: /proc/self/environ",
            {"s.sweep.yaml": "spec: /proc/self/environ\ngrid: {batch: [1, 2]}\n"},
            "s.sweep.yaml",
            kind="sweep",
            refuse=True,
        ),
        Attack(
            "sweep-spec-path",
            "spec: ../x.yaml",
            {"s.sweep.yaml": "spec: ../x.yaml\ngrid: {batch: [1, 2]}\n", "../x.yaml": SMALL},
            "s.sweep.yaml",
            kind="sweep",
            refuse=True,
        ),
        # 6: a link to /proc/self/environ in a folder that lint walks
        Attack(
            "symlink-in-folder",
            "lint DIR, env.yaml -> /proc/self/environ",
            {"specs/a.yaml": SMALL, "specs/env.yaml": Link("/proc/self/environ")},
            "specs",
            kind="folder",
        ),
        # 7: a formula in CSV
        Attack(
            "csv-formula",
            "title =HYPERLINK",
            {"spec.yaml": _titled('\'=HYPERLINK("http://x.example","y")\'')},
            "spec.yaml",
        ),
        # 8: HTML in Markdown (and the HTML report)
        Attack(
            "markdown-html",
            "<script> in title, paper, source",
            {"spec.yaml": _titled(f"'{SCRIPT}'", paper=f"'{SCRIPT}'", source=f"'{SCRIPT}'")},
            "spec.yaml",
        ),
        # 9: escape sequences, as YAML escapes and as raw bytes
        Attack(
            "escapes",
            "YAML escapes in title",
            {"spec.yaml": _titled('"\\e[2J\\e[31mowned\\e]0;pwned\\a\\u202e"')},
            "spec.yaml",
        ),
        Attack("escapes", "YAML escapes in a key", {"spec.yaml": SMALL + '"k\\e[31m\\u202e": 1\n'}, "spec.yaml"),
        Attack(
            "escapes", "raw ESC bytes", {"spec.yaml": b"title: \x1b[2J\x1b[31mowned\n" + SMALL.encode()}, "spec.yaml"
        ),
        # 10: a name that ends in a newline
        Attack(
            "name-newline",
            "layer name a\\n",
            {"spec.yaml": _net('{op: conv2d, name: "a\\n", out: 4, kernel: 3}', "relu")},
            "spec.yaml",
        ),
        # 11: names that are Python's (export)
        Attack(
            "python-names",
            "getattr, self, .inf slope, title Block",
            {
                "spec.yaml": _net(
                    "{op: conv2d, name: getattr, out: 4, kernel: 3}",
                    "{op: leaky_relu, name: self, negative_slope: .inf}",
                    "{op: conv2d, name: torch, out: 4, kernel: 1}",
                    head="title: Block\n",
                )
            },
            "spec.yaml",
        ),
        # 12: mathtext in a chart's title
        Attack("mathtext", "title $\\frac{", {"spec.yaml": _titled("'$\\frac{'")}, "spec.yaml"),
        # 13: the lint configuration
        Attack(
            "pyproject",
            "5,000 nested [",
            {"pyproject.toml": "[tool.archscope]\nselect = " + "[" * 5000 + "]" * 5000 + "\n", "spec.yaml": SMALL},
            "spec.yaml",
        ),
        Attack(
            "pyproject",
            "max-layers 10^6, extends-root /, 52-byte spec",
            {
                "pyproject.toml": '[tool.archscope]\nmax-layers = 1000000\nextends-root = "/"\n',
                "spec.yaml": "input: [3, 8, 8]\nlayers:\n  - {op: relu, n: 1000000}\n",
            },
            "spec.yaml",
        ),
        Attack(
            "pyproject",
            "extends-root /, extends ../../proc/self/environ",
            {
                "pyproject.toml": '[tool.archscope]\nextends-root = "/"\n',
                "spec.yaml": "extends: " + "../" * 12 + "proc/self/environ\n",
            },
            "spec.yaml",
        ),
        # 14: a small sweep file that asks for a lot
        Attack(
            "sweep-bomb",
            "100,000 variants of resnet1202",
            {"s.sweep.yaml": "spec: resnet1202\nrandom: 100000\ngrid: {batch: 1:9}\n"},
            "s.sweep.yaml",
            kind="sweep",
        ),
        # 15: bytes that are not UTF-8
        Attack(
            "sweep-bytes",
            "non-UTF-8 sweep file",
            {"s.sweep.yaml": b"spec: lenet5\ngrid: {batch: [1, 2]}\nseed: \xff\xfe\xc3(\n"},
            "s.sweep.yaml",
            kind="sweep",
        ),
    ]
    for cls, cases in (("bounded", BOUNDED), ("large-files", LARGE_FILES)):  # tests/safety/test_untrusted_specs.py's
        out += [Attack(cls, case, {"spec.yaml": text}, "spec.yaml") for case, (text, _) in cases.items()]
    return out


# ---- one command in its own process ------------------------------------------------------------


@dataclass
class Run:
    code: int | None  # None: killed by the guard
    stdout: str
    stderr: str
    cpu: float
    rss: int
    wall: float
    flags: list[str] = field(default_factory=list)


def _vmhwm(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmHWM:"))
    except (OSError, StopIteration):
        return 0


def run_guarded(args: list[str], cwd: Path, env: dict[str, str], timeout: float) -> Run:
    """`archscope ARGS` in its own process (and session) in ``cwd``, measured as
    ``tests/safety/test_untrusted_specs.py``'s ``run_measured`` measures it (wait4's CPU time, VmHWM), killed
    with its children after ``timeout`` seconds of wall-clock time."""
    peak_file = cwd.parent / f".peak-{os.getpid()}"
    peak_file.unlink(missing_ok=True)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        process = subprocess.Popen(
            [sys.executable, "-c", _MEASURED, str(peak_file), *args],
            cwd=cwd,
            env=env,
            stdout=out,
            stderr=err,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        start, rss = time.perf_counter(), 0
        try:
            while True:
                pid, status, usage = os.wait4(process.pid, os.WNOHANG)
                if pid:
                    break
                if time.perf_counter() - start > timeout:
                    rss = _vmhwm(process.pid)
                    os.killpg(process.pid, signal.SIGKILL)
                    _, status, usage = os.wait4(process.pid, 0)
                    break
                time.sleep(0.01)
        except BaseException:  # Ctrl-C: the run (and its children) ends with the bench
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            raise
        wall = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        killed = rss > 0 or process.returncode == -signal.SIGKILL
        if not killed and peak_file.exists():
            rss = int(peak_file.read_text())
        out.seek(0), err.seek(0)
        text = out.read().decode("utf-8", "replace"), err.read().decode("utf-8", "replace")
    return Run(None if killed else process.returncode, *text, usage.ru_utime + usage.ru_stime, rss, wall)


def check(run: Run, command: Command, attack: Attack, out: Path, secret: str, timeout: float) -> list[str]:
    """The flags of the module docstring."""
    flags = []
    if run.code is None:
        flags.append(f"> {timeout:.0f} s (killed)")
    if run.cpu > CPU_GOAL_S:
        flags.append("CPU > 2 s")
    if run.rss > RSS_GOAL:
        flags.append("RSS > 300 MB")
    if run.code == 3:
        flags.append("exit 3")
    both = run.stdout + run.stderr
    if "Traceback (most recent call last)" in both:
        flags.append("traceback")
    if any(line.startswith((FORGED, "##vso[")) for line in both.splitlines()):
        flags.append("forged CI line")
    raw = sorted({c for c in both if c in CONTROL})
    if raw:
        flags.append("raw control character " + " ".join(f"U+{ord(c):04X}" for c in raw[:3]))
    if command.fmt == "csv":
        lines = [line for line in run.stdout.splitlines() if not line.startswith("#")]
        if any(cell.startswith(FORMULA_START) and not _number(cell) for row in csv.reader(lines) for cell in row):
            flags.append("CSV formula")
    written = [p for p in out.rglob("*") if p.is_file()]
    texts = [p.read_bytes().decode("utf-8", "replace") for p in written if p.stat().st_size < 64 * 2**20]
    if command.fmt == "markdown" and SCRIPT in run.stdout or command.fmt == "html" and any(SCRIPT in t for t in texts):
        flags.append("raw <script>")
    if secret in both or any(secret in t for t in texts):
        flags.append("leaks the environment")
    if attack.refuse and run.code == 0:
        flags.append("accepted")
    if command.fmt == "pytorch" and run.code == 0:
        source = out / "net.py"
        try:
            compile(source.read_text("utf-8"), str(source), "exec")
        except (OSError, SyntaxError, ValueError) as exc:
            flags.append(f"export does not compile ({type(exc).__name__})")
    return flags


def write_attack(attack: Attack, folder: Path) -> None:
    folder.mkdir(parents=True)
    for rel, content in attack.files.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, Link):
            path.symlink_to(content.target)
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, "utf-8")


# ---- the tables ----------------------------------------------------------------------------------


def _mib(n: int) -> str:
    return f"{n / 2**20:.0f} MiB"


def _cell(text: str) -> str:
    return text.replace("\n", "\\n").replace("|", "\\|")


def _size(n: int) -> str:
    return f"{n / 2**10:,.0f} KiB" if n >= 2**10 else f"{n} B"


def measure(
    attack: Attack, command: Command, folder: Path, env: dict[str, str], secret: str, runs: int, timeout: float
) -> dict:
    """One (attack, command) pair: the fastest of ``runs`` runs (a killed one ends them), its
    flags, and the largest peak RSS of the runs."""
    done: list[Run] = []
    for _ in range(runs):
        out = folder.parent / "out"
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir()
        run = run_guarded(command.args(attack.target, out), folder, env, timeout)
        try:
            run.flags = check(run, command, attack, out, secret, timeout)
        except Exception as exc:  # noqa: BLE001 - a fault of the bench: said, and the bench goes on
            run.flags = [f"the bench's check raised {type(exc).__name__}: {exc}"]
        done.append(run)
        if run.code is None:
            break
    run = done[-1] if done[-1].code is None else min(done, key=lambda r: r.cpu)
    return {
        "class": attack.cls,
        "case": attack.name,
        "command": command.name,
        "code": run.code,
        "cpu": round(run.cpu, 3),
        "rss": max(r.rss for r in done),
        "flags": run.flags,
    }


def main() -> int:  # noqa: C901 - a flat command-line driver
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=1, help="the fastest of N runs (default 1)")
    parser.add_argument("--timeout", type=float, default=60.0, help="wall-clock seconds before a run is killed")
    parser.add_argument("--commands", help="a comma-separated subset of the commands (see --list)")
    parser.add_argument("--classes", help="a comma-separated subset of the classes (see --list)")
    parser.add_argument("--keep", type=Path, help="write the attack files into this folder too")
    parser.add_argument("--all", action="store_true", help="run every command of a case whose first two were killed")
    parser.add_argument("--list", action="store_true", help="list the classes, cases and commands, and exit")
    parser.add_argument(
        "--results",
        type=Path,
        help="append each pair's figures to this JSON-lines file; pairs already in it are not rerun",
    )
    args = parser.parse_args()
    cases = attacks()
    if args.list:
        for a in cases:
            print(f"{a.cls}: {a.name} ({a.kind}, {_size(a.size)})")
        print("\ncommands: " + ", ".join(COMMANDS))
        return 0
    commands = list(COMMANDS.values())
    if args.commands:
        wanted = [c.strip() for c in args.commands.split(",")]
        unknown = [c for c in wanted if c not in COMMANDS]
        if unknown:
            parser.error(f"unknown commands {unknown}: see --list")
        commands = [COMMANDS[c] for c in wanted]
    if args.classes:
        wanted = {c.strip() for c in args.classes.split(",")}
        unknown = wanted - {a.cls for a in cases}
        if unknown:
            parser.error(f"unknown classes {sorted(unknown)}: see --list")
        cases = [a for a in cases if a.cls in wanted]
    print(
        f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs; "
        f"{'the fastest of ' + str(args.runs) + ' runs' if args.runs > 1 else 'one run'} per pair; "
        f"guard {args.timeout:.0f} s of wall-clock time\n"
    )
    print("| class | case | size | command | exit | CPU time | peak RSS | flags |")
    print("|---|---|---:|---|---:|---:|---:|---|")
    secret = "archscope-bench-" + secrets.token_hex(8)
    flagged: list[tuple[Attack, str, list[str]]] = []
    notes: list[str] = []
    worst_cmd: dict[str, tuple[float, int]] = {}
    worst_cls: dict[str, tuple[float, int]] = {}
    done: dict[tuple[str, str, str], dict] = {}
    if args.results and args.results.exists():  # a run cut short: its pairs are not measured again
        for line in args.results.read_text("utf-8").splitlines():
            record = json.loads(line)
            done[record["class"], record["case"], record["command"]] = record
    with tempfile.TemporaryDirectory(prefix="archscope-attacks-") as tmp:
        calibration = Path(tmp) / "calibration.json"
        store(CAL, calibration)
        env = {  # the marker first: an excerpt of /proc/self/environ shows its start
            SECRET_VAR: secret,
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "NO_COLOR": "1",
            "COLUMNS": "120",
            "ARCHSCOPE_CALIBRATION": str(calibration),
        }
        env.pop("GITHUB_ACTIONS", None)
        for n, attack in enumerate(cases):
            folder = Path(tmp) / f"case{n}" / "attack"
            write_attack(attack, folder)
            if args.keep:
                write_attack(attack, args.keep / f"{n:02d}-{attack.cls}" / "attack")
            killed = 0
            for command in commands:
                if attack.kind not in command.kinds:
                    continue
                row = f"| {attack.cls} | {_cell(attack.name)} | {_size(attack.size)} | `{command.name}` |"
                if command.needs and shutil.which(command.needs) is None:
                    note = f"`{command.name}` skipped: no `{command.needs}` on PATH (apt-get install graphviz)"
                    if note not in notes:
                        notes.append(note)
                    continue
                if killed >= 2 and not args.all:
                    print(f"{row} | | | not run: two commands of this case passed the guard |")
                    continue
                record = done.get((attack.cls, attack.name, command.name))
                if record is None:
                    record = measure(attack, command, folder, env, secret, args.runs, args.timeout)
                    if args.results:
                        with args.results.open("a", encoding="utf-8") as f:
                            f.write(json.dumps(record) + "\n")
                code, cpu, rss, flags = record["code"], record["cpu"], record["rss"], record["flags"]
                killed += code is None
                for table, key in ((worst_cmd, command.name), (worst_cls, attack.cls)):
                    cpu0, rss0 = table.get(key, (0.0, 0))
                    table[key] = (max(cpu0, cpu), max(rss0, rss))
                shown = "killed" if code is None else str(code)
                print(f"{row} {shown} | {cpu:.2f} s | {_mib(rss)} | {', '.join(flags) or '–'} |", flush=True)
                if flags:
                    flagged.append((attack, command.name, flags))
    for note in notes:
        print(f"\n{note}")
    for title, table in (("command", worst_cmd), ("class", worst_cls)):
        print(f"\n| {title} | worst CPU time | worst peak RSS | within 2 s and 300 MB |")
        print("|---|---:|---:|---|")
        for key, (cpu, rss) in table.items():
            ok = "yes" if cpu <= CPU_GOAL_S and rss <= RSS_GOAL else "**no**"
            print(f"| {key if title == 'class' else f'`{key}`'} | {cpu:.2f} s | {_mib(rss)} | {ok} |")
    print(f"\nflagged pairs: {len(flagged)}")
    return 1 if flagged else 0


if __name__ == "__main__":
    sys.exit(main())
