"""Untrusted specs against `export --to pytorch`: names and values that could become code.

A name may not end in a newline (``NAME_RE`` with ``$`` let one through). Every file `export`
writes imports, and its network, given `build()`'s weights, gives `build()`'s outputs: for layer
names that are builtins, keywords or the file's own names (``getattr``, ``self``, ``torch``,
``Block``, ``__foo``, which Python mangles inside a class), attribute values that are not
finite, and titles that are the names of the file's classes or carry unprintable characters.
`build()` itself must survive the same names (fx wrote `def forward(self, def)` and
`self = self.self(x)`). The property test draws such specs with hypothesis (fixed seed), writes
each through the CLI, imports the file from its path and runs it. Batch norm's ``eps`` must be
above 0 (torch refuses 0 in training), and a finite float attribute must fit a float32 (torch
refuses to convert 1e39); the static tests here need no torch.
"""

from __future__ import annotations

import ast
import importlib.util
import itertools
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import analyze_text, net, no_traceback, only, where
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from archscope.cli.app import app
from archscope.ops.construct import python_literal

runner = CliRunner()
_modules = itertools.count()


# ---- item 10: a name may not end in a newline --------------------------------------------------


@pytest.mark.parametrize(
    "text, needle",
    [
        (net('{op: conv2d, name: "a\\n", out: 4, kernel: 3}'), '"a\\n"'),
        (net('{op: "relu\\n"}'), '"relu\\n"'),
        ('input: [3, 8, 8]\nblocks:\n  "b\\n": {layers: [relu]}\nlayers:\n  - relu\n', '"b\\n"'),
        ('inputs: {a: [3, 8, 8], "x\\n": [3, 8, 8]}\nlayers:\n  - {op: relu, in: a}\n', '"x\\n"'),
        (net("relu", extra='params: {"k\\n": 3}\n'), '"k\\n"'),
    ],
    ids=["layer", "op", "block", "input", "param"],
)
def test_a_name_ending_in_a_newline_is_refused_where_it_is(text: str, needle: str):
    d = only(analyze_text(text), "E004")
    assert (d.span.line, d.span.col) == where(text, needle)
    assert "\\n" in d.message and "\n" not in d.message  # shown as an escape: one line in a CI log


def test_lint_and_verify_refuse_a_name_with_a_newline(cli, tmp_path: Path):
    spec = tmp_path / "nl.yaml"
    spec.write_text(net('{op: conv2d, name: "a\\n", out: 4, kernel: 3}', "relu"))
    for command in ("lint", "verify", "export"):  # verify and export exited 3 (fx's IndentationError)
        result = cli(
            command, str(spec), *(["--to", "onnx", "-o", str(tmp_path / "a.onnx")] if command == "export" else [])
        )
        assert result.exit_code == 1, (command, result.output)
        assert "nl.yaml:3:24: error E004 a layer name `a\\n` is not a valid name" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["nl.yaml"]


# ---- item 18: batch norm's eps ------------------------------------------------------------------


@pytest.mark.parametrize("op", ["batchnorm1d", "batchnorm2d", "batchnorm3d"])
def test_batch_norm_eps_of_zero_is_refused(op: str):
    shape = {"batchnorm1d": "[3, 8]", "batchnorm2d": "[3, 8, 8]", "batchnorm3d": "[3, 4, 4, 4]"}[op]
    text = net(f"{{op: {op}, eps: 0}}", input=shape)
    d = only(analyze_text(text), "E004")
    assert (d.span.line, d.span.col) == where(text, "0}")
    assert d.message == f"`eps` of `{op}` must be a number in (0.0, inf]"
    assert (d.expected, d.found) == ("a number in (0.0, inf]", "0")
    assert not analyze_text(net(f"{{op: {op}, eps: 1.0e-300}}", input=shape)).errors


@pytest.mark.parametrize(
    "layer", ["{op: elu, alpha: 1.0e+39}", "{op: leaky_relu, negative_slope: 1.0e+300}", "{op: prelu, init: 1.0e+39}"]
)
def test_a_finite_float_beyond_float32_is_refused(layer: str):
    """torch raises "value cannot be converted to type float without overflow" in the forward."""
    text = net(layer)
    d = only(analyze_text(text), "E004")
    assert (d.span.line, d.span.col) == where(text, "1.0e+")
    assert d.expected == "a number of at most 3.4e38 in size, or infinite (torch keeps it as a float32)"
    assert not analyze_text(net(layer.replace("1.0e+39", "3.4e+38").replace("1.0e+300", ".inf"))).errors


def test_eps_of_zero_stays_valid_where_torch_accepts_it():
    """Layer, group and instance norm take eps = 0 in training (torch 2.13)."""
    for layer in ("{op: layer_norm, over: channels, eps: 0}", "{op: group_norm, groups: 3, eps: 0}"):
        assert not analyze_text(net(layer)).errors, layer
    assert not analyze_text(net("{op: instance_norm, eps: 0}")).errors


# ---- item 11: every exported file imports and is build()'s network ------------------------------


def test_python_literal_writes_source_that_reads_back():
    assert python_literal(float("inf")) == 'float("inf")'
    assert python_literal((float("-inf"), float("nan"))) == '(float("-inf"), float("nan"))'
    assert python_literal(1e300) == "1e+300" and python_literal(5e-324) == "5e-324"
    for text in ("a\nb", 'q"\\', "nul\x00cr\r", "\u2028", "caf\u00e9", "\ud800"):
        assert ast.literal_eval(python_literal(text)) == text
        assert "\n" not in python_literal(text) and "\r" not in python_literal(text)


def export_and_compare(text: str, folder: Path) -> str:
    """Write `text`, export it with the CLI, import the file from its path, load build()'s weights
    into its class (strict) and check both give the same outputs on a random input; return the
    exported source."""
    torch = pytest.importorskip("torch")
    from archscope import build
    from archscope.api import analyze
    from archscope.torch_backend.export import class_name

    spec, target = folder / "spec.yaml", folder / "exported.py"
    spec.write_text(text, encoding="utf-8")
    result = runner.invoke(app, ["export", str(spec), "--to", "pytorch", "-o", str(target), "--force"])
    no_traceback(result.output)
    assert result.exit_code == 0, result.output
    name = f"hostile_export_{next(_modules)}"
    loader_spec = importlib.util.spec_from_file_location(name, target)
    assert loader_spec is not None and loader_spec.loader is not None
    module = importlib.util.module_from_spec(loader_spec)
    loader_spec.loader.exec_module(module)
    analysis = analyze(spec)
    torch.manual_seed(0)
    built = build(analysis).eval()
    torch.manual_seed(1)
    exported = getattr(module, class_name(analysis.graph))().eval()
    exported.load_state_dict(built.state_dict(), strict=True)
    assert dict(exported.named_parameters()).keys() == dict(built.named_parameters()).keys()
    inputs = [torch.randn(2, *n.shape) for n in analysis.graph.inputs]
    with torch.no_grad():
        expected, got = built(*inputs), exported(*inputs)
    expected = expected if isinstance(expected, tuple) else (expected,)
    got = got if isinstance(got, tuple) else (got,)
    assert len(got) == len(expected)
    for a, b in zip(got, expected):
        torch.testing.assert_close(a, b, rtol=0, atol=0, equal_nan=True)  # infinite slopes give inf and nan
    return target.read_text(encoding="utf-8")


def test_a_layer_named_getattr_does_not_shadow_the_builtin(tmp_path: Path):
    """`getattr = self.getattr(x)` in the forward broke the next `getattr(self, "re-lu")`."""
    source = export_and_compare(
        net("{op: conv2d, name: getattr, out: 4, kernel: 3}", "{op: relu, name: re-lu}"), tmp_path
    )
    assert "getattr_ = self.getattr(x)" in source and 'getattr(self, "re-lu")(getattr_)' in source


def test_an_infinite_attribute_is_written_as_a_float(tmp_path: Path):
    source = export_and_compare(net("{op: leaky_relu, negative_slope: .inf}", "{op: elu, alpha: 3.4e+38}"), tmp_path)
    assert 'nn.LeakyReLU(negative_slope=float("inf"))' in source and "nn.ELU(alpha=3.4e+38)" in source


@pytest.mark.parametrize("title", ["Block", "Add", "None", "ValueError"])
def test_a_title_that_names_a_class_of_the_file(title: str, tmp_path: Path):
    """`class Block` after the copied `Block` made __init__ build itself (RecursionError); `class Add`
    replaced the residual module; `class None` did not compile."""
    text = f"title: {title}\n" + net(
        "{op: conv2d, name: c, out: 3, kernel: 1, n: 2}", "{op: add, in: [input, c]}", input="[3, 4, 4]"
    )
    source = export_and_compare(text, tmp_path)
    assert f"\nclass {title}_(nn.Module):\n" in source


def test_a_double_underscore_name_is_not_mangled(tmp_path: Path):
    """`self.__c = ...` inside the class is stored as `_Net__c`: build()'s state_dict did not load."""
    source = export_and_compare(net("{op: conv2d, name: __c, out: 4, kernel: 3}"), tmp_path)
    assert 'self.add_module("__c", nn.Conv2d(3, 4, 3))' in source


def test_inputs_and_layers_named_after_what_the_forward_uses(tmp_path: Path):
    """build()'s fx forward was `def forward(self, def, getattr, self)` (a SyntaxError), `self = self.self(x)`
    broke the next call, and the input `getattr` hid the builtin that reaches `b.0`."""
    for inputs, layer in (("def, getattr, self", "Self"), ("torch, getattr, x", "self")):
        a, b, c = inputs.split(", ")
        text = (
            f"inputs: {{{a}: [2, 4, 4], {b}: [2, 4, 4], {c}: [2, 4, 4]}}\n"
            "layers:\n"
            f"  - {{op: relu, name: {layer}, in: {a}}}\n"
            "  - {op: conv2d, name: b, out: 2, kernel: 1, n: 2}\n"
            f"  - {{op: add, in: [b, {b}, {c}]}}\n"
        )
        export_and_compare(text, tmp_path)


def test_unprintable_characters_in_the_title_and_metadata(tmp_path: Path):
    """A NUL byte in the docstring made the file fail to compile; a CR, a line separator and an escape
    sequence are written as escapes too."""
    text = 'title: "t\\0i\\rt\\u2028le \\"\\"\\" \\\\"\npaper: "p\\x1b[2J"\n' + net("relu")
    source = export_and_compare(text, tmp_path)
    # shown as escapes in the docstring itself (`help()` prints no control character either)
    assert "t\\\\x00i\\\\x0dt\\\\u2028le" in source and "\x00" not in source and "\x1b" not in source


# ---- the property: generated specs with hostile names, values and titles ------------------------

HOSTILE_NAMES = [  # layer, block and input names
    *("getattr", "setattr", "self", "x", "x_", "torch", "nn", "F", "forward", "super", "class", "def", "lambda"),
    *("None", "True", "Block", "Add", "Concat", "Network", "float", "print", "annotations", "__init__"),
    *("__foo", "__class__", "_modules", "training", "kind", "_get_name", "type", "match", "_", "re-lu", "a-"),
    *("getattr_", "N", "in_", "Tensor", "__foo__"),
]
TITLES = ["Block", "Add", "None", "ValueError", "x", 'a """quoted\\', "t\x00i\rt\x1b[2J", "LeNet-5 (torchvision)", ""]
FLOATS = st.sampled_from([0.0, 5e-324, 1e-300, 0.01, 1.0, 3.4e38, float("inf")])
POSITIVE = st.sampled_from([5e-324, 1e-300, 1e-5, 1.0, 3.4e38, float("inf")])


def _layer(draw: Any, channels: int) -> dict[str, Any]:
    """One layer that keeps the shape (channels, H, W), with hostile attribute values."""
    op = draw(st.sampled_from(["conv2d", "batchnorm2d", "leaky_relu", "elu", "softplus", "hardtanh", "lrn"]))
    values: dict[str, Any] = {"op": op}
    if op == "conv2d":
        values.update(out=channels, kernel=draw(st.sampled_from([1, 3])))
        values["padding"] = values["kernel"] // 2
    elif op == "batchnorm2d":
        values.update(eps=draw(POSITIVE), momentum=draw(st.sampled_from([0.0, 0.1, 1.0])))
    elif op == "leaky_relu":
        values["negative_slope"] = draw(FLOATS)
    elif op == "elu":
        values["alpha"] = draw(FLOATS)
    elif op == "softplus":
        values.update(beta=draw(POSITIVE), threshold=draw(FLOATS))
    elif op == "hardtanh":
        low = draw(st.sampled_from([-1e6, -1.0, 0.0]))
        values.update(min_val=low, max_val=draw(st.sampled_from([low / 2 + 1.0, 3.4e38, float("inf")])))
    else:
        values.update(size=draw(st.integers(1, 3)), alpha=draw(FLOATS), beta=draw(FLOATS), k=draw(POSITIVE))
    return values


@st.composite
def hostile_specs(draw: Any) -> str:
    channels = draw(st.integers(1, 3))
    names = iter(draw(st.lists(st.sampled_from(HOSTILE_NAMES), min_size=12, max_size=12, unique=True)))
    spec: dict[str, Any] = {}
    if draw(st.booleans()):
        spec["title"] = draw(st.sampled_from(TITLES))
    first, second = None, "input"
    if draw(st.booleans()):  # two named inputs: the first feeds the first layer, the second every `add`
        first, second = next(names), next(names)
        spec["inputs"] = {first: [channels, 4, 4], second: [channels, 4, 4]}
    else:
        spec["input"] = [channels, 4, 4]
    block = next(names)  # a block type, its instances (Block containers) and their layers
    spec["blocks"] = {block: {"layers": [{**_layer(draw, channels), "name": next(names)} for _ in range(2)]}}
    layers: list[dict[str, Any]] = []
    for _ in range(draw(st.integers(2, 5))):
        kind = draw(st.sampled_from(["layer", "repeated", "block", "add"]))
        entry = {"block": {"op": block}, "add": {"op": "add"}}.get(kind) or _layer(draw, channels)
        if kind == "repeated":
            entry["n"] = 2
        if kind == "add":
            earlier = [layer["name"] for layer in layers]
            entry["in"] = [draw(st.sampled_from(earlier)) if earlier else first or "input", second]
        elif first and not layers:
            entry["in"] = first
        layers.append({"name": next(names), **entry})
    spec["layers"] = layers
    if draw(st.booleans()):
        spec["outputs"] = [layers[-1]["name"], layers[0]["name"]]
    return yaml.safe_dump(spec, sort_keys=False, allow_unicode=True, width=1000)


@seed(20)
@settings(
    max_examples=30,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],  # no shrinking: the failing spec is printed whole
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
    database=None,
)
@given(text=hostile_specs())
def test_every_exported_file_imports_and_is_the_built_network(text: str):
    pytest.importorskip("torch")
    with tempfile.TemporaryDirectory() as folder:
        export_and_compare(text, Path(folder))
