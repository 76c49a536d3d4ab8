"""`archscope import` from PyTorch: hand-written modules (functional ops, several inputs and
outputs, a module called twice, control flow tracing cannot see), saved files, the library API.

Every number is checked against PyTorch itself: params against ``numel``, MACs against
``FlopCounterMode`` / 2 (through the written spec's ``expect:``, which lint checks), shapes against
the forward pass, outputs against the source module with its weights loaded (``--verify``).
"""

from __future__ import annotations

import sys
import textwrap

import pytest

torch = pytest.importorskip("torch", reason="pip install 'archscope[torch]'")
from torch import nn  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

import archscope  # noqa: E402
from archscope.lang.importers.run import import_module, import_network  # noqa: E402
from archscope.torch_backend.import_check import check_import  # noqa: E402

pytestmark = pytest.mark.slow


def reference(module: nn.Module, *shapes: tuple[int, ...]) -> tuple[int, int]:
    module.eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        module(*[torch.randn(1, *s) for s in shapes])
    return sum(p.numel() for p in module.parameters()), counter.get_total_flops() // 2


class Functional(nn.Module):
    """Functional ops in forward: add, cat, mul by a learned-free tensor, flatten, interpolate, chunk, mean."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 3, padding=1)
        self.a = nn.Conv2d(8, 8, 3, padding=1)
        self.b = nn.Conv2d(8, 8, 1)
        self.se = nn.Conv2d(16, 16, 1)
        self.head = nn.Linear(16, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.stem(x))
        left, right = x.chunk(2, dim=1)
        y = torch.cat([self.a(left) + left, self.b(right)], dim=1)
        s = torch.sigmoid(self.se(y.mean((2, 3), keepdim=True)))
        y = y * s
        y = nn.functional.interpolate(y, scale_factor=2.0, mode="nearest")
        y = nn.functional.adaptive_avg_pool2d(y, 1)
        return self.head(torch.flatten(y, 1))


class TwoInTwoOut(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.rgb = nn.Conv2d(3, 8, 3, padding=1)
        self.depth = nn.Conv2d(1, 8, 3, padding=1)
        self.fuse = nn.Conv2d(16, 4, 1)
        self.aux = nn.Conv2d(8, 2, 1)

    def forward(self, image: torch.Tensor, depth: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        a, b = self.rgb(image), self.depth(depth)
        return self.fuse(torch.cat([a, b], 1)), self.aux(a + b)


class SharedReLU(nn.Module):
    """One parameter-free module called three times, as torchvision's Bottleneck calls `self.relu`."""

    def __init__(self) -> None:
        super().__init__()
        self.c1, self.c2 = nn.Conv2d(3, 4, 3), nn.Conv2d(4, 4, 3)
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.c2(self.relu(self.c1(self.relu(x)))))


class SharedConv(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(4, 4, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(self.conv(x))


class DataDependent(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        if y.sum() > 0:  # depends on the values: torch.fx cannot trace it
            return y
        return -y


class Unknown(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)
        self.rnn = nn.GRU(8, 8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.fft.rfft2(self.conv(x)).real
        return torch.cumsum(y, dim=1) + torch.erf(y)


def imported(module: nn.Module, shapes, **kw):
    result = import_module(module, shapes, name="net", **kw)
    assert result.text is not None, [d.message for d in result.diagnostics]
    return result


def test_functional_ops_become_layers_with_edges_and_exact_counts() -> None:
    module = Functional()
    result = imported(module, (3, 16, 16), fold=False)
    analysis = result.stats["analysis"]
    assert analysis.errors == [] and analysis.warnings == []
    ops = [(n.name, n.op) for n in analysis.graph.nodes]
    assert ops[2] == ("chunk", "split") and ops[4] == ("add", "add")
    assert [op for _, op in ops] == [
        "conv2d", "relu", "split", "conv2d", "add", "conv2d", "concat", "global_avgpool", "conv2d",
        "sigmoid", "mul", "upsample", "global_avgpool", "flatten", "linear",
    ]  # fmt: skip
    params, macs = reference(Functional(), (3, 16, 16))
    assert (analysis.report.totals.params, analysis.report.totals.macs) == (params, macs)
    assert f"expect: {{params: {params}, macs: {macs}, output: [5]}}" in result.text
    check = check_import(analysis, module, result.stats["owner"], {"input": (3, 16, 16)})
    assert check.ok, check


def test_several_inputs_and_outputs() -> None:
    module = TwoInTwoOut()
    result = imported(module, {"image": (3, 8, 8), "depth": (1, 8, 8)})
    analysis = result.stats["analysis"]
    assert [n.name for n in analysis.graph.inputs] == ["image", "depth"]
    assert [tuple(n.shape) for n in analysis.graph.outputs] == [(4, 8, 8), (2, 8, 8)]
    assert "inputs:\n  image: [3, 8, 8]\n  depth: [1, 8, 8]\n" in result.text
    check = check_import(analysis, module, result.stats["owner"], {"image": (3, 8, 8), "depth": (1, 8, 8)})
    assert check.ok and len(check.outputs) == 2


def test_a_parameter_free_module_called_three_times_is_three_layers() -> None:
    result = imported(SharedReLU(), (3, 9, 9), fold=False)
    names = [n.name for n in result.stats["analysis"].graph.nodes if n.op == "relu"]
    assert names == ["relu", "relu_2", "relu_3"]


def test_a_module_with_weights_called_twice_is_refused_by_name() -> None:
    result = import_module(SharedConv(), (4, 8, 8), name="net")
    assert result.text is None
    [d] = result.errors
    assert d.code == "E301" and "`conv` (nn.Conv2d) is called 2 times" in d.message
    assert d.span is not None and d.span.file.endswith("test_import_torch.py")


def test_control_flow_on_tensor_values_is_a_located_error_not_a_wrong_graph() -> None:
    result = import_module(DataDependent(), (3, 8, 8), name="net")
    assert result.text is None
    [d] = result.errors
    assert d.code == "E302" and "torch.fx cannot trace" in d.message
    assert d.span.file.endswith("test_import_torch.py")
    source_line = open(d.span.file).read().splitlines()[d.span.line - 1]
    assert "if y.sum() > 0" in source_line


def test_every_part_without_an_op_is_listed_in_one_run() -> None:
    result = import_module(Unknown(), (3, 8, 8), name="net")
    assert result.text is None
    found = sorted(d.found for d in result.errors)
    assert found == ["Tensor.real", "torch._C._fft.fft_rfft2", "torch.cumsum", "torch.erf"]
    assert all(d.code == "E301" for d in result.errors)
    cumsum = next(d for d in result.errors if d.found == "torch.cumsum")
    line = open(cumsum.span.file).read().splitlines()[cumsum.span.line - 1]
    assert "torch.cumsum" in line


def test_an_unused_module_without_an_op_is_not_an_error() -> None:
    """`Unknown.rnn` is never called: only what forward runs is imported."""
    result = import_module(Unknown(), (3, 8, 8), name="net")
    assert not any("GRU" in d.message for d in result.diagnostics)


def test_analyze_and_summary_take_a_module_and_show_a_table() -> None:
    module = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.Flatten(), nn.Linear(512, 10)
    )
    analysis = archscope.summary(module, (3, 8, 8))
    params, macs = reference(module, (3, 8, 8))
    assert (analysis.report.totals.params, analysis.report.totals.macs) == (params, macs) == (5_370, 18_944)
    html = analysis._repr_html_()
    assert html.startswith('<table class="sortable"><caption>sequential</caption>') and ">batchnorm2d<" in html
    assert "18,944" in str(analysis)


def test_analyze_never_raises_on_what_it_cannot_take() -> None:
    assert [d.code for d in archscope.analyze(42).diagnostics] == ["E000"]
    missing = archscope.analyze(nn.Conv2d(3, 3, 1))
    assert [d.code for d in missing.diagnostics] == ["E000"] and "input_shape" in missing.diagnostics[0].message
    bad = archscope.analyze(SharedConv(), input_shape=(4, 8, 8))
    assert [d.code for d in bad.errors] == ["E301"]


def test_a_state_dict_has_no_architecture(tmp_path) -> None:
    path = tmp_path / "weights.pt"
    torch.save(nn.Conv2d(3, 4, 3).state_dict(), path)
    [d] = import_network(str(path), inputs=(3, 8, 8)).errors
    assert d.code == "E303" and "state_dict (2 tensors)" in d.message


def test_a_pickled_model_needs_trust_and_then_imports(tmp_path, monkeypatch) -> None:
    module_file = tmp_path / "mynet.py"
    module_file.write_text(
        textwrap.dedent(
            """
            from torch import nn

            class Net(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.conv = nn.Conv2d(3, 4, 3)

                def forward(self, x):
                    return self.conv(x).relu()
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    import mynet  # type: ignore[import-not-found]

    path = tmp_path / "model.pt"
    torch.save(mynet.Net(), path)
    [d] = import_network(str(path), inputs=(3, 8, 8)).errors
    assert d.code == "E304" and "runs code" in d.message
    trusted = import_network(str(path), inputs=(3, 8, 8), trust=True)
    assert trusted.errors == [] and "{op: relu, name: relu}" in trusted.text
    sys.modules.pop("mynet", None)


def test_a_torchscript_file_says_what_is_not_supported(tmp_path) -> None:
    path = tmp_path / "scripted.pt"
    torch.jit.save(torch.jit.script(nn.Sequential(nn.Conv2d(3, 4, 3))), path)
    [d] = import_network(str(path), inputs=(3, 8, 8)).errors
    assert d.code == "E303" and "TorchScript" in d.message


def test_py_source_errors_are_usage_errors() -> None:
    assert [d.code for d in import_network("py:no_such_module_xyz:f", inputs=(3, 8, 8)).errors] == ["E000"]
    assert [d.code for d in import_network("py:os:getcwd", inputs=(3, 8, 8)).errors] == ["E303"]
    assert [d.code for d in import_network("py:missing-colon", inputs=(3, 8, 8)).errors] == ["E000"]


class Views(nn.Module):
    """NFNet-style constant scaling, a skip-init gain and views between convs."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.gain = nn.Parameter(torch.tensor(0.5))
        self.head = nn.Linear(8, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x) * 1.7015
        y = (y / 2) * self.gain
        y = y.permute(0, 2, 3, 1)  # channels last
        y = self.head(y.reshape(y.shape[0], -1, 8).mean(1, keepdim=False)) if False else y
        return y.transpose(1, 2).reshape(x.shape[0], 8, 64)


def test_constant_scales_gains_and_views_become_their_ops() -> None:
    module = Views()
    result = imported(module, (3, 8, 8), fold=False)
    analysis = result.stats["analysis"]
    got = [(n.op, dict(n.attrs)) for n in analysis.graph.nodes][1:]
    assert [op for op, _ in got] == ["scale", "scale", "scalar_gain", "permute", "transpose", "reshape"]
    assert got[0][1]["value"] == 1.7015 and got[1][1]["value"] == 0.5 and list(got[3][1]["dims"]) == [1, 2, 0]
    assert (got[4][1]["dim0"], got[4][1]["dim1"]) == (0, 1) and list(got[5][1]["shape"]) == [8, 64]
    assert tuple(analysis.graph.outputs[0].shape) == (8, 64)
    check = check_import(analysis, module, result.stats["owner"], {"input": (3, 8, 8)})
    assert check.ok, check


class TimmStyle(nn.Module):
    """What timm's modules do in forward: F.layer_norm between permutes (LayerNorm2d), a reshaped
    per-channel gamma (ConvNeXt's layer scale), F.batch_norm with the module's statistics
    (BatchNormAct2d) and F.linear with its own weight (timm's Linear)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.norm = nn.LayerNorm(8, eps=1e-6)
        self.gamma = nn.Parameter(torch.full((8,), 0.5))
        self.bn = nn.BatchNorm2d(8)
        self.fc = nn.Linear(8, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x).permute(0, 2, 3, 1)
        y = nn.functional.layer_norm(y, self.norm.normalized_shape, self.norm.weight, self.norm.bias, 1e-6)
        y = y.permute(0, 3, 1, 2).mul(self.gamma.reshape(1, -1, 1, 1))
        b = self.bn
        y = nn.functional.batch_norm(y, b.running_mean, b.running_var, b.weight, b.bias, False, 0.1, b.eps)
        y = y.mean((2, 3), keepdim=True).flatten(1)
        return nn.functional.linear(y, self.fc.weight, self.fc.bias)


def test_timm_style_functional_calls_with_module_weights() -> None:
    module = TimmStyle()
    result = imported(module, (3, 8, 8), fold=False)
    analysis = result.stats["analysis"]
    assert [n.op for n in analysis.graph.nodes] == [
        "conv2d", "permute", "layer_norm", "permute", "layer_scale", "batchnorm2d", "global_avgpool", "flatten",
        "linear",
    ]  # fmt: skip
    assert analysis.graph.nodes[2].attrs["eps"] == 1e-6
    owner = result.stats["owner"]
    assert (owner["layer_norm"], owner["mul"], owner["batch_norm"], owner["linear"]) == (
        "norm",
        "param:gamma",
        "bn",
        "fc",
    )
    params, macs = reference(TimmStyle(), (3, 8, 8))
    assert (analysis.report.totals.params, analysis.report.totals.macs) == (params, macs)
    with torch.no_grad():
        module.bn.running_mean.uniform_(-1, 1)  # statistics that differ from a fresh layer's
    check = check_import(analysis, module, result.stats["owner"], {"input": (3, 8, 8)})
    assert check.ok, check
