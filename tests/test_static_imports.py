"""The static paths never import torch (nor fvcore): whole processes, checked by
Python's own import log."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
from conftest import ROOT
from shared import imported_packages

pytestmark = pytest.mark.slow  # whole processes under -X importtime: not in the quick subset

HEAVY = ("torch", "fvcore", "ptflops", "thop", "torchinfo", "matplotlib", "graphviz", "selenium")  # the optional extras


@pytest.mark.parametrize(
    "args",
    [
        ["summary", "resnet18"],
        ["summary", "resnet18", "--train"],
        ["lint", "specs/"],
        ["rf", "resnet50", "--format", "json"],
        ["memory", "resnet50", "--train", "--optimizer", "adam", "--batch", "64", "--format", "json"],
        ["draw", "resnet50", "--format", "mermaid"],
        ["draw", "resnet50", "--format", "dot", "--expand"],
        ["summary", "resnet50", "--convention", "ptflops"],
        ["conventions"],
        ["sweep", "resnet50", "--grid", "width=0.5,1", "--grid", "resolution=64:96:32", "--train"],
        ["sweep", "resnet50", "--random", "60", "--grid", "width=0.5:1.5", "--format", "json"],
        ["sweep", "compound", "efficientnet_b0", "--phi", "1..2"],
    ],
)
def test_static_command_imports_no_heavy_package(args: list[str]):
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "archscope", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    imported = imported_packages(proc.stderr)
    assert "archscope" in imported and "yaml" in imported  # the log is real
    assert not imported & set(HEAVY), sorted(imported & set(HEAVY))


def test_every_static_command_and_the_api_stay_light():
    script = textwrap.dedent("""
        import sys
        from typer.testing import CliRunner
        import archscope
        from archscope.cli.app import app

        archscope.analyze("resnet50")
        archscope.lint(["specs"])
        runner = CliRunner()
        for args in (["summary", "resnet50", "--format", "json"], ["summary", "resnet", "--depth", "1"],
                     ["summary", "resnet50", "--train", "--freeze", "*", "--unfreeze", "fc"],
                     ["compare", "resnet", "vgg", "resnet18"], ["compare", "resnet", "vgg", "--convention", "thop"],
                     ["summary", "mobilenet_v3_large", "--convention", "fvcore"], ["conventions", "-f", "json"],
                     ["rf", "googlenet", "--depth", "1"], ["draw", "unet"], ["list"], ["ops"], ["schema"],
                     ["lint", "--format", "github", "specs"], ["--help"], ["verify", "--help"],
                     ["bench", "--help"], ["calibrate", "--help"], ["predict", "--help"]):
            result = runner.invoke(app, args)
            assert result.exit_code == 0, (args, result.output[-2000:])
        print(" ".join(sorted(m for m in sys.modules if m.split(".")[0] in {heavy})))
    """).replace("{heavy}", repr(set(HEAVY)))
    proc = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip() == "", f"imported: {proc.stdout.strip()}"


def test_a_command_imports_only_its_own_module():
    """`archscope summary` registers and imports the summary command alone (start-up time)."""
    script = textwrap.dedent("""
        import sys
        sys.argv = ["archscope", "summary", "lenet5", "--format", "json"]
        from archscope.cli.app import main
        try:
            main()
        except SystemExit as exc:
            assert not exc.code, exc.code
        print(" ".join(sorted(m for m in sys.modules if m.startswith("archscope.cli."))), file=sys.stderr)
    """)
    proc = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    commands = set(proc.stderr.split())
    assert "archscope.cli.commands.summary" in commands
    others = {"bench", "calibrate", "compare", "draw", "export", "lint", "memory", "predict", "report", "sweep"}
    assert not {f"archscope.cli.commands.{name}" for name in others} & commands, sorted(commands)
