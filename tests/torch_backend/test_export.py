"""`archscope export`: the standalone PyTorch file and the ONNX model are the network `build()` makes.

PyTorch: the exported file is imported (it needs only torch), `build()`'s state_dict is loaded
into it with strict=True, and the parameters and the outputs on a random input must be equal
(torch.equal: the same modules called in the same order). Specs: SUBSET, the smallest bundled
specs that together use every op any bundled spec uses (checked below, so a new spec with a new
op fails here until it is added), at resolution 64 where the network fits it; and one-layer
specs for every registered op of one input (most ops no bundled spec uses). bench/export_check.py
runs the same check on all the bundled specs.
ONNX: checked by onnx.checker, run with onnxruntime where it is installed, and compared with PyTorch.
"""

from __future__ import annotations

import ast
import importlib.util
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

pytestmark = pytest.mark.slow  # builds and runs networks (or processes): not in the quick subset

torch = pytest.importorskip("torch")

from shared import REQUIRED, SIZES, attrs_of  # noqa: E402

from archscope.api import analyze, list_specs  # noqa: E402
from archscope.cli.app import app  # noqa: E402
from archscope.diagnostics import ShapeError  # noqa: E402
from archscope.ops import REGISTRY  # noqa: E402
from archscope.ops.construct import Construct, python_literal  # noqa: E402
from archscope.torch_backend.export import class_name, pytorch_source  # noqa: E402
from archscope.torch_backend.lowering import lower_graph  # noqa: E402

# the smallest bundled specs (by params) that together use every op of the bundled specs
SUBSET = [
    "conv_depthwise_separable",
    "lenet5",
    "tcn1d",
    "inception_module",
    "deconvnet",  # max unpooling: a second input from the pooling layer's extra output
    "squeezenet1_1",
    "shufflenet_v2_x0_5",  # split: extra outputs
    "mnasnet0_5",
    "mobilenet_v3_small",
    "yolov8n",  # four outputs, a frozen backbone
    "lraspp_mobilenet_v3_large",
    "mobilenet_v2",
    "googlenet_paper",
    "convnext_tiny",
    "vit_b_16",  # tokens: class token, position embedding, attention, select
]
# small networks for the ONNX exporters: the TorchScript one (lenet5; yolov8n's four outputs;
# ConvNeXt's channel layer norm, whose first form it exported as an invalid Transpose), and the
# torch.export-based fallback where the TorchScript one cannot (channel shuffle, max unpooling)
ONNX_SPECS = {
    "lenet5": None,
    "yolov8n": None,
    "channel_norm": "input: [8, 6, 6]\nlayers:\n  - {op: layer_norm, over: channels, eps: 0.000001}\n",
    "shuffle": "input: [4, 6, 6]\nlayers:\n  - {op: conv2d, out: 4, kernel: 1}\n  - {op: channel_shuffle, groups: 2}\n",
    "unpool": (
        "input: [2, 8, 8]\nlayers:\n  - {op: maxpool2d, name: pool, kernel: 2, return_indices: true}\n"
        "  - {op: max_unpool2d, in: [pool, pool], kernel: 2}\n"
    ),
}

runner = CliRunner()


def at_64(name: str):
    """The spec at resolution 64, or at its own size where the network does not fit 64."""
    result = analyze(name, resolution=64)
    return analyze(name) if result.errors else result


def load_exported(source: str, folder: Path, name: str) -> Any:
    path = folder / f"{name}.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(f"exported_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def outputs(module: Any, inputs: list[Any]) -> tuple[Any, ...]:
    with torch.no_grad():
        out = module(*inputs)
    return out if isinstance(out, tuple) else (out,)


def assert_same_network(analysis: Any, tmp_path: Path, name: str) -> None:
    source = pytorch_source(analysis, name)
    imports = {
        alias.name.split(".")[0]
        for node in ast.walk(ast.parse(source))
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for alias in (node.names if isinstance(node, ast.Import) else [ast.alias(node.module or "")])
    }
    assert imports <= {"torch", "__future__"}, f"the file imports {imports}"
    module = load_exported(source, tmp_path, name)
    torch.manual_seed(0)
    built = lower_graph(analysis.graph).eval()
    torch.manual_seed(1)  # other initial weights: loading must replace every one
    net = getattr(module, class_name(analysis.graph))().eval()
    net.load_state_dict(built.state_dict(), strict=True)
    ours, theirs = dict(net.named_parameters()), dict(built.named_parameters())
    assert ours.keys() == theirs.keys()
    for key, value in ours.items():
        assert torch.equal(value, theirs[key]), key
        assert value.requires_grad == theirs[key].requires_grad, f"{key}: frozen in one of the two"
    inputs = [torch.randn(2, *n.shape) for n in analysis.graph.inputs]
    expected, got = outputs(built, inputs), outputs(net, inputs)
    assert len(got) == len(expected)
    for a, b in zip(got, expected):
        assert a.shape == b.shape and torch.equal(a, b)


def test_the_subset_uses_every_op_of_the_bundled_specs():
    used = {n.op for s in list_specs() for n in analyze(s.name).graph.nodes}
    covered = {n.op for name in SUBSET for n in analyze(name).graph.nodes}
    assert used - covered == set(), f"add a bundled spec that uses {sorted(used - covered)} to SUBSET"


@pytest.mark.parametrize("name", SUBSET)
def test_exported_file_is_the_built_network(name: str, tmp_path: Path):
    assert_same_network(at_64(name), tmp_path, name)


def single_layer_spec(name: str) -> Any:
    """A one-layer spec of op ``name`` on the first input rank it accepts (None: none does)."""
    fields = "".join(f", {k}: {v}" for k, v in REQUIRED.get(name, {}).items())  # ints and lists of ints
    for rank in (3, 2, 4, 1):
        text = f"name: one_{name}\ninput: {list(SIZES[:rank])}\nlayers:\n  - {{op: {name}, name: layer{fields}}}\n"
        result = analyze(f"one_{name}.yaml", text=text)
        if not result.errors:
            return result
    return None


@pytest.mark.parametrize("name", sorted(n for n, op in REGISTRY.items() if op.inputs == (1, 1)))
def test_every_op_of_one_input_exports(name: str, tmp_path: Path):
    analysis = single_layer_spec(name)
    assert analysis is not None, f"`{name}` accepts no input rank with the values of tests/ops/test_torch_ranks.py"
    assert_same_network(analysis, tmp_path, name)


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_op_writes_its_module_as_source(name: str):
    """The source each op's Construct writes makes the module its lowering builds."""
    op = REGISTRY[name]
    attrs = attrs_of(name)
    for rank in (3, 2, 4, 1):  # the first input rank the op accepts
        shapes = [SIZES[:rank]] * op.inputs[0]
        try:
            out = op.shape(attrs, shapes)
            break
        except ShapeError:
            continue
    else:
        pytest.fail(f"`{name}` accepts no input rank with the values of tests/ops/test_torch_ranks.py")
    construct = op.module(attrs, shapes, out)
    assert isinstance(construct, Construct)
    from archscope.ops import torch_modules

    namespace = {"nn": torch.nn, **{k: getattr(torch_modules, k) for k in dir(torch_modules)}}
    made = eval(construct.source(), namespace)  # noqa: S307 - our own generated constructor call
    built = op.lower(attrs, shapes, out)
    assert type(made) is type(built) and repr(made) == repr(built)
    assert {k: v.shape for k, v in made.state_dict().items()} == {k: v.shape for k, v in built.state_dict().items()}


def test_constructor_source_leaves_out_defaults():
    conv = REGISTRY["conv2d"].module(
        {"out": 64, "kernel": 7, "stride": 2, "padding": 3, "dilation": 1, "groups": 1, "bias": False},
        [(3, 8, 8)],
        None,
    )
    assert conv.source() == "nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False)"
    assert conv.with_kwargs(bias=True).source() == "nn.Conv2d(3, 64, 7, stride=2, padding=3)"
    add = REGISTRY["add"].module({}, [(3,), (3,)], (3,))
    assert add.source() == "Add()" and add.with_kwargs(inplace=True).source() == "Add(inplace=True)"
    assert python_literal(("a", 1.5, None, [True])) == '("a", 1.5, None, [True])'


def test_lenet5_source_reads_like_the_spec():
    source = pytorch_source(analyze("lenet5"), "lenet5")
    assert "class LeNet5(nn.Module):" in source
    assert "LeCun, Bottou, Bengio, Haffner" in source  # the citation, in the docstring
    assert '        self.c1 = Block("conv_tanh_pool")\n        self.c1.conv = nn.Conv2d(1, 6, 5)\n' in source
    assert "        c1_conv = self.c1.conv(x)  # (N, 6, 28, 28)\n" in source
    assert source.rstrip().endswith("return output")


def test_awkward_names_and_titles(tmp_path: Path):
    """Layer names that are keywords, nn.Module attributes or not identifiers, a repeated layer, and
    a title with quotes and a backslash still give a file that loads build()'s weights."""
    text = (
        'title: \'A """quoted\\ net\'\n'
        "input: [3, 8, 8]\n"
        "layers:\n"
        "  - {op: conv2d, name: lambda, out: 4, kernel: 3}\n"
        "  - {op: batchnorm2d, name: forward}\n"
        "  - {op: relu, name: re-lu}\n"
        "  - {op: conv2d, name: c, out: 4, kernel: 1, n: 2}\n"
        "  - {op: add, name: training, in: [re-lu, c]}\n"
    )
    analysis = analyze("awkward.yaml", text=text)
    assert not analysis.errors, analysis.errors
    source = pytorch_source(analysis, "awkward.yaml")
    assert "self.lambda_ = nn.Conv2d(3, 4, 3)" in source and "self.forward_ = nn.BatchNorm2d(4)" in source
    assert_same_network(analysis, tmp_path, "awkward")


def test_inplace_layers_are_written_in_place():
    source = pytorch_source(analyze("resnet18"), "resnet18")
    assert "self.relu = nn.ReLU(inplace=True)" in source
    assert "self.layer1[0].add = Add(inplace=True)" in source


# ---- the command ------------------------------------------------------------------------------


def test_cli_writes_pytorch_and_refuses_to_overwrite(tmp_path: Path):
    target = tmp_path / "lenet.py"
    result = runner.invoke(app, ["export", "lenet5", "--to", "pytorch", "-o", str(target)])
    assert result.exit_code == 0, result.output
    assert "wrote" in result.stderr and target.read_text().startswith('"""LeNet-5')
    before = target.read_text()
    result = runner.invoke(app, ["export", "lenet5", "--to", "pytorch", "-o", str(target), "-r", "64"])
    assert result.exit_code == 2 and "exists; pass --force" in result.stderr
    assert target.read_text() == before
    result = runner.invoke(app, ["export", "lenet5", "--to", "pytorch", "-o", str(target), "-r", "64", "--force"])
    assert result.exit_code == 0 and "(N, 6, 60, 60)" in target.read_text()


def test_cli_pytorch_to_stdout():
    result = runner.invoke(app, ["export", "lenet5", "--to", "pytorch"])
    assert result.exit_code == 0 and "class LeNet5(nn.Module):" in result.stdout


def test_cli_bad_input(tmp_path: Path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("input: [3, 8, 8]\nlayers:\n  - {op: conv2d, out: 4, kernel: 9}\n")
    target = tmp_path / "bad.py"
    result = runner.invoke(app, ["export", str(bad), "--to", "pytorch", "-o", str(target)])
    assert result.exit_code == 1 and "E102" in result.stderr and not target.exists()
    result = runner.invoke(app, ["export", "lenet5", "--to", "tflite", "-o", str(target)])
    assert result.exit_code == 2 and "tflite" in result.output and not target.exists()
    result = runner.invoke(app, ["export", "lenet5", "--to", "onnx"])
    assert result.exit_code == 2 and "-o FILE" in result.stderr
    result = runner.invoke(app, ["export", "lenet5", "--to", "pytorch", "-o", str(tmp_path / "no" / "x.py")])
    assert result.exit_code == 2 and "does not exist" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.yaml"]  # nothing half-written


def test_cli_names_the_extra_when_torch_or_onnx_is_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setitem(sys.modules, "onnx", None)  # `import onnx` raises ImportError
    result = runner.invoke(app, ["export", "lenet5", "--to", "onnx", "-o", str(tmp_path / "a.onnx")])
    assert result.exit_code == 2 and "pip install 'archscope[export]'" in result.stderr
    monkeypatch.setitem(sys.modules, "torch", None)
    result = runner.invoke(app, ["export", "lenet5", "--to", "pytorch", "-o", str(tmp_path / "a.py")])
    assert result.exit_code == 2 and "pip install 'archscope[torch]'" in result.stderr
    assert list(tmp_path.iterdir()) == []


# ---- onnx -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ONNX_SPECS)
def test_onnx_model_checks_and_runs_as_pytorch_does(name: str):
    onnx = pytest.importorskip("onnx")
    from archscope.torch_backend.export_onnx import onnx_model

    text = ONNX_SPECS[name]
    analysis = at_64(name) if text is None else analyze(f"{name}.yaml", text=text)
    assert not analysis.errors, analysis.errors
    torch.manual_seed(0)
    built = lower_graph(analysis.graph).eval()
    data = onnx_model(analysis, name, model=built)
    proto = onnx.load_from_string(data)
    onnx.checker.check_model(proto)
    meta = {p.key: p.value for p in proto.metadata_props}
    assert meta["archscope_spec"].startswith(name) and proto.doc_string
    onnx.shape_inference.infer_shapes(proto, check_type=True, strict_mode=True)
    assert [i.name for i in proto.graph.output] == analysis.graph.output_names
    ort = pytest.importorskip("onnxruntime")
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    inputs = [torch.randn(3, *n.shape) for n in analysis.graph.inputs]  # batch 3: the batch is dynamic
    got = session.run(None, {arg.name: x.numpy() for arg, x in zip(session.get_inputs(), inputs)})
    for a, b in zip(got, outputs(built, inputs)):
        assert a.shape == tuple(b.shape)
        assert torch.allclose(torch.from_numpy(a), b, rtol=1e-4, atol=1e-5)


def test_cli_writes_onnx(tmp_path: Path):
    pytest.importorskip("onnx")
    target = tmp_path / "lenet.onnx"
    result = runner.invoke(app, ["export", "lenet5", "--to", "onnx", "-o", str(target)])
    assert result.exit_code == 0, result.output
    assert target.stat().st_size > 61_706 * 4  # every float32 weight is in it
