"""Untrusted specs and CI safety: each known attack, as a test.

No crash on any literal; ``extends:`` confined to the spec's folder; work bounded by the input;
errors located in the file the user named; control characters never reach the terminal; exit
codes that do not lie (a broken pipe, a full disk, Ctrl-C); bench refuses a hopeless forward and
stops at once on Ctrl-C; the pooling checks agree with PyTorch where the issue found them wrong.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT, analyze_text, net, no_traceback

import archscope
from archscope.render.diagnostics import format_concise, format_github, format_json, format_text

LENET = (ROOT / "specs" / "lenet5.yaml").read_text()
LONG_NAME = "a" * 5000  # longer than any file system allows (ENAMETOOLONG)


def run_cli(*args: str, cwd: Path | None = None, **kw) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT), COLUMNS="120")
    kw.setdefault("stdout", subprocess.PIPE)
    kw.setdefault("stderr", subprocess.PIPE)
    return subprocess.run([sys.executable, "-m", "archscope", *args], cwd=cwd, env=env, text=True, **kw)


# ---- crashes: every literal is accepted or refused with a located E004 ---------------------------

HUGE = {
    "hex": "0x" + "f" * 3600,
    "octal": "0" + "7" * 5000,
    "binary": "0b" + "1" * 14000,
    "base-60": "1" + ":59" * 2000,
    "decimal": "9" * 5000,
    "signed-hex": "-0x" + "f" * 3600,
}


@pytest.mark.parametrize("kind", sorted(HUGE))
def test_huge_integer_literals_are_e004_in_any_base(kind: str, cli, tmp_path: Path):
    text = LENET.replace("out: 120", f"out: {HUGE[kind]}")
    a = analyze_text(text)
    assert [d.code for d in a.errors] == ["E004"] and a.errors[0].span.line == 35
    for d in a.diagnostics:  # every emitter prints it (brief() and f"{v:,}" never see the huge int)
        format_text(d), format_concise(d), format_github(d), format_json([d])
    # one such file in a folder does not hide the other files' diagnostics
    (tmp_path / "a.yaml").write_text(text)
    (tmp_path / "b.yaml").write_text(net("{op: conv2d, out: 4, kernal: 3}"))
    result = cli("lint", str(tmp_path), "--format", "concise")
    assert result.exit_code == 1 and "a.yaml:35:33: E004" in result.output and "b.yaml" in result.output
    no_traceback(result.output)


@pytest.mark.parametrize(
    "text",
    [
        net("{op: leaky_relu, negative_slope: 1" + "0" * 320 + "}"),
        net("{op: batchnorm2d, eps: 1" + "0" * 320 + "}"),
        net("{op: lrn, size: 3, alpha: 1" + "0" * 320 + "}"),
        net("{op: lrn, size: 3, beta: 1" + "0" * 320 + "}"),
        net("{op: lrn, size: 3, k: 1" + "0" * 320 + "}"),
        "input: [3, 8, 8]\nscale: {width: 1" + "0" * 320 + "}\nlayers: [relu]\n",
        "input: [3, 8, 8]\nscale: {depth: 1" + "0" * 320 + "}\nlayers: [relu]\n",
    ],
    ids=["negative_slope", "eps", "lrn-alpha", "lrn-beta", "lrn-k", "scale-width", "scale-depth"],
)
def test_a_310_digit_number_in_a_float_field_is_e004(text: str):
    a = analyze_text(text)
    assert [d.code for d in a.errors] == ["E004"], [(d.code, d.message) for d in a.diagnostics]


@pytest.mark.parametrize("command", ["summary", "lint", "verify", "bench", "rf"])
def test_a_name_too_long_for_the_file_system_is_e000(command: str, cli):
    if command == "bench":
        pytest.importorskip("torch")  # without torch, bench says so before it reads the spec
    result = cli(command, LONG_NAME)
    assert result.exit_code == 2, result.output[-500:]
    assert "E000" in result.output
    no_traceback(result.output)


def test_compare_with_a_name_too_long_is_e000(cli):
    result = cli("compare", "lenet5", LONG_NAME)
    assert result.exit_code == 2 and "E000" in result.output
    no_traceback(result.output)


def test_an_extends_name_too_long_is_e012(tmp_path: Path):
    for target in (LONG_NAME, LONG_NAME + ".yaml", f"sub/{LONG_NAME}.yaml"):
        child = tmp_path / "child.yaml"
        child.write_text(f"extends: {target}\n")
        a = archscope.analyze(child)
        assert [(d.code, d.span.file, d.span.line) for d in a.errors] == [("E012", str(child), 1)]
        assert len(a.errors[0].message) < 200  # the name is cut short, not echoed whole


def test_a_full_disk_is_an_output_error_not_an_internal_error():
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full")
    with open("/dev/full", "w") as full:
        result = run_cli("summary", "lenet5", stdout=full, stderr=subprocess.PIPE)
    assert result.returncode == 2
    assert "cannot write the output: No space left on device" in result.stderr
    assert "internal error" not in result.stderr and "Exception ignored" not in result.stderr


# ---- extends: confined, never echoing a file it was not asked to check -------------------------


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "secret").mkdir()
    (tmp_path / "secret" / "creds.yaml").write_text("aws_secret_access_key: AKIA-SECRET-VALUE\nregion: x\n")
    (tmp_path / "specs" / "sub").mkdir(parents=True)
    (tmp_path / "specs" / "base.yaml").write_text(net("{op: conv2d, out: c, kernel: 3}", extra="params: {c: 4}\n"))
    (tmp_path / "outside.yaml").write_text(net("relu"))
    (tmp_path / "specs" / "link.yaml").symlink_to(tmp_path / "outside.yaml")
    return tmp_path


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("/proc/self/status", "is not a bundled name or a relative path to a `.yaml` spec"),
        ("/etc/passwd", "is not a bundled name or a relative path to a `.yaml` spec"),
        ("../outside.yaml", "leaves the folder of this spec"),
        ("sub/../../outside.yaml", "leaves the folder of this spec"),
        ("link.yaml", "leaves the folder of this spec"),  # a link that points out: links are followed
        ("../secret/creds.yaml", "leaves the folder of this spec"),
        ("sub", "names no spec file or bundled spec"),  # a folder beside it: not a spec
    ],
)
def test_extends_is_confined_to_the_spec_folder(project: Path, target: str, message: str, cli):
    child = project / "specs" / "child.yaml"
    child.write_text(f"extends: {target}\nparams: {{c: 8}}\n")
    a = archscope.analyze(child)
    assert [(d.code, d.span.file, d.span.line) for d in a.errors] == [("E012", str(child), 1)]
    assert message in a.errors[0].message
    result = cli("lint", str(child))
    assert result.exit_code == 1 and "AKIA" not in result.output and "root:" not in result.output


def test_a_file_that_is_no_spec_is_refused_without_showing_it(project: Path, cli):
    child = project / "child.yaml"
    child.write_text("extends: secret/creds.yaml\n")  # inside the folder, but not a spec
    result = cli("lint", str(child))
    assert result.exit_code == 1
    assert "is not an archscope spec" in result.output
    assert "AKIA" not in result.output and "aws_secret" not in result.output and "creds.yaml:" not in result.output


def test_extends_root_widens_the_confinement(project: Path, cli, monkeypatch):
    child = project / "specs" / "sub" / "child.yaml"
    child.write_text("extends: ../base.yaml\nparams: {c: 8}\n")
    assert [d.code for d in archscope.analyze(child).errors] == ["E012"]
    a = archscope.analyze(child, extends_root=project / "specs")
    assert a.ok and a.report.totals.params == 8 * 3 * 9 + 8
    assert cli("summary", str(child), "--extends-root", str(project / "specs")).exit_code == 0
    assert cli("lint", str(child), "--extends-root", str(project / "specs")).exit_code == 0
    # or in [tool.archscope], relative to the pyproject.toml
    (project / "pyproject.toml").write_text('[tool.archscope]\nextends-root = "specs"\n')
    monkeypatch.chdir(project)
    assert cli("lint", str(child)).exit_code == 0
    (project / "pyproject.toml").write_text('[tool.archscope]\nextends-root = "nowhere"\n')
    result = cli("lint", str(child))
    assert result.exit_code == 2 and "pyproject.toml:2:1: error E004 `extends-root` must name a folder" in result.output
    # the root does not open absolute paths
    child.write_text(f"extends: {project / 'specs' / 'base.yaml'}\n")
    assert [d.code for d in archscope.analyze(child, extends_root=project).errors] == ["E012"]


@pytest.mark.parametrize(
    "command",
    [["draw", "--format", "mermaid"], ["predict"], ["export", "--to", "pytorch", "-o"], ["report", "-o"]],
    ids=["draw", "predict", "export", "report"],
)
def test_every_spec_command_takes_extends_root_and_max_layers(command: list[str], project: Path, cli):
    """The options `summary` and `lint` take, on the commands that read a spec to draw, predict,
    export or report it: the same confinement, the same layer limit."""
    child = project / "specs" / "sub" / "child.yaml"
    child.write_text("extends: ../base.yaml\nparams: {c: 8}\n")
    out = [str(project / "out.file")] if command[-1] == "-o" else []
    refused = cli(command[0], str(child), *command[1:], *out)
    assert refused.exit_code == 1 and "E012" in refused.output
    long = project / "specs" / "long.yaml"
    long.write_text("input: [4]\nlayers:\n" + "  - relu\n" * 10_001)
    too_long = cli(command[0], str(long), *command[1:], *out, "--max-layers", "10000")
    assert too_long.exit_code == 1 and "E011" in too_long.output and "10,000 layers" in too_long.output
    shown = cli(command[0], "--help", "--no-color").output
    assert "--extends-root" in shown and "--max-layers" in shown
    if command[0] == "draw":  # the others need a calibration, torch or a browser: their options are enough
        root = ["--extends-root", str(project / "specs")]
        assert cli("draw", str(child), "--format", "mermaid", *root).exit_code == 0
        assert cli("draw", str(long), "--format", "mermaid", "--max-layers", "10001").exit_code == 0


def test_bundled_parents_and_sibling_paths_still_work(project: Path):
    (project / "specs" / "v.yaml").write_text("extends: base.yaml\nparams: {c: 2}\n")
    assert archscope.analyze(project / "specs" / "v.yaml").ok
    (project / "specs" / "r.yaml").write_text("extends: resnet18\nparams: {num_classes: 10}\n")
    assert archscope.analyze(project / "specs" / "r.yaml").ok


# ---- locations: an error in an inherited layer is reported in the child -------------------------


def test_a_child_params_error_is_located_in_the_child(tmp_path: Path, cli):
    child = tmp_path / "child.yaml"
    child.write_text("extends: lenet5\nparams: {num_classes: 0}\n")
    a = archscope.analyze(child)
    [d] = a.errors
    assert (d.code, d.span.file, d.span.line, d.span.col) == ("E004", str(child), 2, len("params: {num_classes: ") + 1)
    assert d.notes[0].startswith("inherited through `extends:`, at ") and d.notes[0].endswith("lenet5.yaml:39:37")
    result = cli("lint", str(child), "--format", "github")
    assert result.output.startswith(f"::error file={child},line=2,col=23,title=E004::")


def test_an_inherited_error_without_a_param_is_at_the_extends_line(tmp_path: Path):
    child = tmp_path / "child.yaml"
    child.write_text("extends: lenet5\ninput: [1, 2, 2]\n")
    d = archscope.analyze(child).errors[0]
    assert (d.code, d.span.file, d.span.line, d.span.col) == ("E102", str(child), 1, 10)


# ---- output: control characters and markup are shown, never obeyed ------------------------------


def test_escape_sequences_never_reach_the_terminal(tmp_path: Path, cli):
    spec = tmp_path / "[bold]x.yaml"
    spec.write_text('title: "\\e[2J\\e[31mowned"\ninput: [3, 8, 8]\nlayers: [relu]\n"bad\\e[31mkey\\u202e": 1\n')
    for fmt in ("text", "concise", "github"):
        result = cli("lint", str(spec), "--format", fmt)
        assert result.exit_code == 1 and "\x1b" not in result.output and "\u202e" not in result.output
        assert "bad\\x1b[31mkey\\u202e" in result.output and "[bold]x.yaml" in result.output
    # `name:`: the file's name is not a valid one (E004)
    spec.write_text('name: x\ntitle: "\\e[2J\\e[31mowned [bold]x"\ninput: [3, 8, 8]\nlayers: [relu]\n')
    for fmt in ("table", "markdown"):
        result = cli("summary", str(spec), "--format", fmt)
        assert result.exit_code == 0 and "\x1b" not in result.output
        assert "\\x1b[2J\\x1b[31mowned [bold]x" in result.output


# ---- exit codes ----------------------------------------------------------------------------------


def test_a_broken_pipe_keeps_the_failure(tmp_path: Path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("".join(f"l{i}: 1\n" for i in range(3000)))  # thousands of E003 lines: more than a pipe holds
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    lint = subprocess.Popen(
        [sys.executable, "-m", "archscope", "lint", str(bad)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    )
    lint.stdout.readline()  # `| head -1`
    lint.stdout.close()
    err = lint.stderr.read().decode()
    assert lint.wait(timeout=60) == 1
    assert "Traceback" not in err and "Exception ignored" not in err and "BrokenPipe" not in err


def test_empty_paths_are_usage_errors(cli):
    for command in ("lint", "verify"):
        result = cli(command, "")
        assert result.exit_code == 2 and "an empty path names no spec" in result.output


def test_verify_of_an_unreadable_file_exits_2(tmp_path: Path, cli, monkeypatch):
    path = tmp_path / "locked.yaml"
    path.write_text(net("relu"))

    original = Path.open

    def refuse(self, *args, **kwargs):
        if self.name == "locked.yaml":
            raise PermissionError(13, "Permission denied")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", refuse)  # as chmod 000 does, even for root
    for command in ("verify", "lint", "summary"):
        result = cli(command, str(path))
        assert result.exit_code == 2, (command, result.output)
        assert "cannot read the file: Permission denied" in result.output


@pytest.mark.slow
@pytest.mark.parametrize("delay", [0.0, 0.3])
def test_ctrl_c_at_any_moment_exits_130_without_a_traceback(delay: float):
    """From the first line of archscope's own code (during the imports too); Python's start-up
    before it (runpy, site: some tens of milliseconds) is out of its reach. `-X importtime`
    says when the handler's module is imported: the signal is sent then (plus ``delay``)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    process = subprocess.Popen(
        [sys.executable, "-X", "importtime", "-m", "archscope", "lint", str(ROOT / "specs")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    for line in process.stderr:
        if b"archscope.cli.interrupt" in line:
            break
    time.sleep(delay + 0.01)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    # linting the 95 bundled specs takes seconds after the imports: the signal always lands inside
    assert process.returncode == 130, err
    assert "Traceback" not in err.decode() and "interrupted" in err.decode()


# ---- work bounded by the input: each reproducer within 2 s and 300 MB ----------------------------


def _alias_tree(levels: int, n: int) -> str:
    lines = ["input: [3, 8, 8]", "params:", "  a1: &a1 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]"]
    for i in range(2, levels + 1):
        lines.append(f"  a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    return "\n".join([*lines, "layers:", f"  - {{op: maxpool2d, kernel: *a{levels}, n: {n}}}"]) + "\n"


BOUNDED = {
    "alias-tree-n-4000": (_alias_tree(5, 4000), "E011"),  # 364 bytes; 137.8 s before
    "alias-tree-n-250000": (_alias_tree(5, 250_000), "E011"),
    "scale-depth-100000": ("input: [3, 8, 8]\nscale: {depth: 100000}\nlayers:\n  - {op: relu, n: rep(3)}\n", "E011"),
    "huge-n": (net("{op: relu, n: 1000000000000}"), "E011"),
    "block-n": ("input: [3]\nblocks:\n  b:\n    layers: [relu, relu, relu]\nlayers:\n  - {op: b, n: 200000}\n", "E011"),
    "nested-blocks": (
        "input: [3]\nblocks:\n  b:\n    layers:\n      - {op: relu, n: 1000}\n"
        "  c:\n    layers:\n      - {op: b, n: 1000}\nlayers:\n  - {op: c, n: 1000}\n",
        "E011",
    ),
}


_CONV = "  - {op: conv2d, out: 8, kernel: 3, padding: 1, stride: 1, dilation: 1, groups: 1, bias: true}\n"
# the largest files of each shape just under 1 MB (or under the limits): the costliest inputs found
LARGE_FILES = {
    "1-mb-list-of-scalars": ("input: [3, 8, 8]\nparams:\n  a: [" + "1," * 500_000 + "1]\nlayers: [relu]\n", "E011"),
    "99k-scalars-accepted": ("input: [3, 8, 8]\nparams:\n  a: [" + "1," * 99_000 + "1]\nlayers: [relu]\n", None),
    "10k-layers-flow": ("input: [3, 8, 8]\nlayers: [" + "relu, " * 9_999 + "relu]\n", None),
    "5500-verbose-conv-layers": ("input: [8, 8, 8]\nlayers:\n" + _CONV * 5_500, None),
    "10k-conv-repeats": (
        "input: [8, 8, 8]\nlayers:\n  - {op: conv2d, out: 8, kernel: 3, padding: 1, n: 10000}\n",
        None,
    ),
    "1-mb-of-relu-layers": ("input: [3, 8, 8]\nlayers: [" + "relu," * 200_000 + "relu]\n", "E011"),
    "1-mb-string": ("input: [3, 8, 8]\ntitle: " + "x" * 1_000_000 + "\nlayers: [relu]\n", None),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(BOUNDED) + sorted(LARGE_FILES))
def test_adversarial_files_are_bounded(case: str, tmp_path: Path):
    """As a user meets it: `archscope lint FILE` in its own process: its peak RSS under the 300 MB
    goal (see :func:`run_measured`), and the CPU time that the kernel accounted for it (wait4)
    under 10× the 2 s goal. CPU time is a measurement that load moves, so the goal itself is
    `bench/large_files.py`'s to show; this bound catches work that is no longer bounded (these
    files took from 14 s to forever before their limits)."""
    text, code = BOUNDED.get(case) or LARGE_FILES[case]
    assert len(text.encode()) < 2**20
    path = tmp_path / "spec.yaml"
    path.write_text(text)
    returncode, output, cpu, rss = run_measured(["lint", str(path), "--format", "concise"], tmp_path)
    if code is None:
        assert returncode == 0, output[:500]
    else:
        assert returncode == 1 and f" {code} " in output, output[:500]
    assert cpu < 20.0, f"{cpu:.2f} s of CPU"
    assert rss < 300 * 2**20, f"{rss / 2**20:.0f} MiB"


_MEASURED = """
import atexit, runpy, sys

PEAK_FILE = sys.argv[1]

def _peak():  # this process image's own peak RSS (its memory map is new since exec)
    with open("/proc/self/status") as f:
        kib = next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))
    with open(PEAK_FILE, "w") as out:
        out.write(str(kib * 1024))

atexit.register(_peak)
sys.argv = ["archscope", *sys.argv[2:]]
runpy.run_module("archscope", run_name="__main__")
"""


def run_measured(args: list[str], folder: Path) -> tuple[int, str, float, int]:
    """`archscope ARGS` in its own process: (exit status, output, CPU seconds, peak RSS bytes).
    The CPU time is the kernel's account (wait4). The peak is VmHWM, read by the process itself
    as it exits: ru_maxrss would not do, since Linux carries it across exec from the parent
    (a test process of 1 GB reported 1,242 MiB for a lint that peaked at 40)."""
    peak_file = folder / "peak"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1"}
    command = [sys.executable, "-c", _MEASURED, str(peak_file), *args]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env) as process:
        output = process.stdout.read().decode() if process.stdout else ""
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
    return process.returncode, output, usage.ru_utime + usage.ru_stime, int(peak_file.read_text())


def test_too_many_literal_layers_are_refused_before_any_is_read():
    """10,001 entries: E011 from the list's length, no layer parsed."""
    text = "input: [3]\nlayers: [&r relu" + ", *r" * 10_000 + "]\n"
    a = analyze_text(text)
    assert [(d.code, d.span.line) for d in a.errors] == [("E011", 2)] and a.spec is None
    assert "10,001 entries in `layers`" in a.errors[0].found


def test_aliases_count_as_yaml_nodes():
    """250,001 uses of one anchor (0.75 MB): each is read, so each counts; refused at 100,001."""
    text = "input: [3]\nlayers: [&r relu" + ", *r" * 250_000 + "]\n"
    a = analyze_text(text)
    assert [(d.code, d.message) for d in a.errors] == [("E011", "the file has more than 100,000 YAML nodes")]
    # 7 nodes before the aliases (the map, 2 keys, 2 lists, `3`, `relu`): the 100,001st is alias
    # number 99,994, at column 16 + 4 × (99,994 − 1) + 3 of `layers: [&r relu, *r, *r, …`
    assert (a.errors[0].span.line, a.errors[0].span.col) == (2, 16 + 4 * (99_994 - 1) + 3)


# ---- bench: a hopeless forward is refused; Ctrl-C stops one at once ------------------------------


def test_bench_refuses_a_forward_estimated_above_the_limit():
    pytest.importorskip("torch")
    from archscope.torch_backend.benchmark import BenchConfig
    from archscope.torch_backend.errors import ForwardTooSlow

    config = BenchConfig(device="cpu", min_time=0.1, min_runs=1, max_call_s=0.001)  # 15.5 GMACs: > 1 ms anywhere
    with pytest.raises(ForwardTooSlow, match=r"`vgg16` at batch 1: one forward call would take about .*`--force`"):
        archscope.bench("vgg16", config)


@pytest.mark.slow
def test_interruptible_timing_gives_ctrl_c_at_once():
    torch = pytest.importorskip("torch")
    import threading

    from archscope.torch_backend.bench_guards import interruptible

    a = torch.randn(300, 300)
    started, stop, finished = threading.Event(), threading.Event(), threading.Event()

    def slow() -> None:  # matrix products, each one call into torch, until told to stop
        started.set()
        while not stop.is_set():
            a @ a
        finished.set()

    # Python's own handler, whatever an earlier test in this process installed (the CLI's own)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)

    def interrupt() -> None:  # Ctrl-C once the worker is inside its loop
        started.wait()
        os.kill(os.getpid(), signal.SIGINT)

    timer = threading_timer(0, interrupt)
    try:
        with pytest.raises(KeyboardInterrupt):
            interruptible(slow)
        # the main thread was given Ctrl-C while the work still ran: it did not wait for the work
        assert not finished.is_set()
    finally:
        signal.signal(signal.SIGINT, previous)
        stop.set()  # the abandoned worker ends after its current product (pytest's own exit must not abort)
    timer.join()
    for worker in threading.enumerate():
        if worker.name == "archscope-timing":
            worker.join()


def threading_timer(seconds: float, fn) -> object:
    import threading

    timer = threading.Timer(seconds, fn)
    timer.start()
    return timer


@pytest.mark.slow
def test_bench_exits_130_soon_after_ctrl_c():
    pytest.importorskip("torch")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    args = ["bench", "vgg16", "--batch", "8", "--device", "cpu", "--force", "--min-time", "60"]
    process = subprocess.Popen(
        [sys.executable, "-m", "archscope", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    )
    # Ctrl-C once it says timing has begun (its first line on a stderr that is not a terminal): a
    # signal sent earlier, while the interpreter starts, is the interpreter's to handle, not ours
    assert process.stderr is not None
    ready = process.stderr.readline().decode()
    assert ready == "archscope: batch 8: warming up vgg16\n", ready
    process.send_signal(signal.SIGINT)
    out, rest = process.communicate(timeout=120)  # a guard against a hang: 60 s of timing would end with 0
    err = ready + rest.decode()
    assert process.returncode == 130, err[-2000:]
    assert err.endswith("archscope: interrupted\n") and out == b""
    assert "Traceback" not in err and "terminate called" not in err


# ---- the pooling checks, against PyTorch ---------------------------------------------------------


def test_ceil_mode_window_larger_than_the_input_is_size_1_as_in_pytorch():
    torch = pytest.importorskip("torch")
    a = analyze_text("input: [3, 1]\nlayers:\n  - {op: maxpool1d, kernel: 2, ceil_mode: true}\n")
    assert a.ok and a.report.layers[-1].output_shape == (3, 1)
    assert tuple(torch.nn.functional.max_pool1d(torch.randn(1, 3, 1), 2, ceil_mode=True).shape[1:]) == (3, 1)


def test_unpooling_smaller_than_the_pooling_input_is_refused_as_pytorch_does():
    torch = pytest.importorskip("torch")
    text = (
        "input: [1, 8, 8]\nlayers:\n  - {op: maxpool2d, name: p, kernel: 3, stride: 2, return_indices: true}\n"
        "  - {op: max_unpool2d, in: [p, p], kernel: 3, stride: 2}\n"
    )
    assert [d.code for d in analyze_text(text).errors] == ["E107"]
    x = torch.arange(64.0).reshape(1, 1, 8, 8)  # the maximum of the last window is at (6, 6): index 54 ≥ 7·7
    y, idx = torch.nn.functional.max_pool2d(x, 3, 2, return_indices=True)
    with pytest.raises(RuntimeError, match="invalid max index"):
        torch.nn.functional.max_unpool2d(y, idx, 3, 2)
