"""A transformer encoder block on tokens (L, E), end to end: static numbers, `verify`, a hand-written
PyTorch block with the same weights, the importer's round trip, and what each peer tool counts.

The block is a ViT encoder block in small (torchvision's ``EncoderBlock``: LayerNorm → self-attention →
add; LayerNorm → Linear → GELU → Linear → add), 5 tokens of 8 features, 2 heads, an MLP of 16.
"""

from __future__ import annotations

import math

import pytest

pytestmark = pytest.mark.slow  # builds and runs networks (or processes): not in the quick subset

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

import archscope  # noqa: E402
from archscope.lang.importers.run import import_module  # noqa: E402
from archscope.lang.importers.torch_trace import composite_attention  # noqa: E402
from archscope.passes.conventions import count  # noqa: E402
from archscope.torch_backend.peers import MODULES, TOOLS, built, count_built, installed  # noqa: E402

L, E, HEADS, HIDDEN = 5, 8, 2, 16
BLOCK = f"""name: encoder_block
input: [{L}, {E}]
layers:
  - {{op: layer_norm, name: ln_1, eps: 0.000001}}
  - {{op: multihead_attention, name: self_attention, heads: {HEADS}}}
  - {{op: add, name: add_1, in: [self_attention, input]}}
  - {{op: layer_norm, name: ln_2, eps: 0.000001}}
  - {{op: linear, name: fc1, out: {HIDDEN}}}
  - {{op: gelu, name: gelu}}
  - {{op: linear, name: fc2, out: {E}}}
  - {{op: add, name: add_2, in: [fc2, add_1]}}
"""

ATTENTION_MACS = 3 * L * E * E + L * L * E + L * L * E + L * E * E  # in-proj, scores, weighted sum, out-proj
MLP_MACS = L * E * HIDDEN + L * HIDDEN * E
PARAMS = 2 * (2 * E) + (4 * E * E + 4 * E) + (E * HIDDEN + HIDDEN) + (HIDDEN * E + E)


class EncoderBlock(nn.Module):
    """Written by hand, with the attribute names of the spec's layers (and torchvision's)."""

    def __init__(self) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(E, eps=1e-6)
        self.self_attention = nn.MultiheadAttention(E, HEADS, batch_first=True)
        self.ln_2 = nn.LayerNorm(E, eps=1e-6)
        self.fc1 = nn.Linear(E, HIDDEN)
        self.gelu = nn.GELU()
        self.fc2 = nn.Linear(HIDDEN, E)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.ln_1(x)
        y, _ = self.self_attention(y, y, y, need_weights=False)
        x = x + y
        return x + self.fc2(self.gelu(self.fc1(self.ln_2(x))))


def attention_by_hand(x: torch.Tensor, m: nn.MultiheadAttention) -> torch.Tensor:
    """Vaswani et al. 2017: softmax(q·kᵀ/√d)·v per head, between the packed in- and the out-projection."""
    n, length, e = x.shape
    d = e // HEADS
    q, k, v = (x @ m.in_proj_weight.T + m.in_proj_bias).chunk(3, dim=-1)
    q, k, v = (t.reshape(n, length, HEADS, d).transpose(1, 2) for t in (q, k, v))
    out = ((q @ k.transpose(-2, -1)) / math.sqrt(d)).softmax(-1) @ v
    return out.transpose(1, 2).reshape(n, length, e) @ m.out_proj.weight.T + m.out_proj.bias


@pytest.fixture(scope="module")
def analysis() -> archscope.Analysis:
    result = archscope.analyze("block.yaml", text=BLOCK)
    assert result.ok, result.errors
    return result


def test_the_static_numbers(analysis: archscope.Analysis) -> None:
    totals = analysis.report.totals
    assert (totals.params, totals.macs) == (PARAMS, ATTENTION_MACS + MLP_MACS) == (600, 2960)
    assert analysis.report.output_shape == (L, E)


def test_verify_agrees_on_shapes_params_and_macs(analysis: archscope.Analysis) -> None:
    report = archscope.verify(analysis)
    assert report.ok, [str(m) for m in report.mismatches]
    attention = next(layer for layer in report.layers if layer.name == "self_attention")
    assert (attention.static_params, attention.module_params) == (4 * E * E + 4 * E,) * 2
    assert (attention.static_macs, attention.fvcore_macs) == (ATTENTION_MACS, ATTENTION_MACS)
    assert attention.meta_shape == attention.real_shape == (L, E)


def test_the_built_block_is_the_hand_written_one(analysis: archscope.Analysis) -> None:
    """The built block's state dict loads into nn.MultiheadAttention by name (torchvision's ViT
    weights load the same way), and both give the same output, equal to attention by hand."""
    net = archscope.build(analysis).eval()
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape))
    reference = EncoderBlock().eval()
    reference.load_state_dict(net.state_dict(), strict=True)
    assert sorted(k for k in net.state_dict() if k.startswith("self_attention.")) == [
        "self_attention.in_proj_bias",
        "self_attention.in_proj_weight",
        "self_attention.out_proj.bias",
        "self_attention.out_proj.weight",
    ]
    x = torch.randn(3, L, E)
    with torch.no_grad():
        got, want = net(x), reference(x)
        by_hand = attention_by_hand(reference.ln_1(x), reference.self_attention)
        attended = reference.self_attention(*(reference.ln_1(x),) * 3, need_weights=False)[0]
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(attended, by_hand, rtol=1e-5, atol=1e-5)


def test_flop_counter_counts_every_mac_on_the_composite_path(analysis: archscope.Analysis) -> None:
    """FlopCounterMode / 2 = archscope's MACs once attention runs PyTorch's composite path; on the
    fused kernels it counts only the MLP (the one path fvcore's handles and this counter see alike)."""
    net = archscope.build(analysis).eval()
    x = torch.randn(1, L, E)
    with torch.no_grad(), composite_attention(torch), FlopCounterMode(display=False) as composite:
        net(x)
    with torch.no_grad(), FlopCounterMode(display=False) as fused:
        net(x)
    assert composite.get_total_flops() // 2 == analysis.report.totals.macs
    assert fused.get_total_flops() // 2 == MLP_MACS


def test_the_importer_gives_back_the_spec() -> None:
    result = import_module(EncoderBlock(), (L, E), name="block", fold=False)
    assert result.text is not None, [d.message for d in result.diagnostics]
    assert f"- {{op: multihead_attention, name: self_attention, heads: {HEADS}}}" in result.text
    assert f"expect: {{params: {PARAMS}, macs: {ATTENTION_MACS + MLP_MACS}, output: [{L}, {E}]}}" in result.text


# what each tool counts for the block, measured (docs/counting.md shows these numbers)
PEERS = {
    "fvcore": 2 * 5 * L * E + MLP_MACS,  # two layer norms (5 per element); attention on the fast path: 0
    # layer norms 1 per element, the linear biases 1 per output element, GELU 2 per element
    "ptflops": 1 * L * E * 2 + MLP_MACS + L * HIDDEN + L * E + 2 * L * HIDDEN,
    "thop": 2 * 4 * L * E + MLP_MACS,  # layer norms 4 per element; no rule for attention
    "torchinfo": (E * HIDDEN + HIDDEN) + (HIDDEN * E + E) + 2 * 2 * E,  # parameters of leaf modules
    "flop_counter": 2 * MLP_MACS,
}


@pytest.mark.parametrize("tool", TOOLS)
def test_each_peer_tool_counts_what_the_ops_declare(analysis: archscope.Analysis, tool: str) -> None:
    pytest.importorskip(MODULES[tool], reason=f"{tool} is not installed")
    if not installed(tool):
        pytest.skip(f"{tool} does not import here")
    net, inputs = built(analysis)
    measured = count_built(net, inputs, tool)
    assert count(analysis.graph, tool).total == measured == PEERS[tool]


class Products(nn.Module):
    """Attention written out: ``torch.matmul``, ``@`` and ``F.scaled_dot_product_attention``."""

    def __init__(self) -> None:
        super().__init__()
        self.q = nn.Conv2d(2, 2, 1)
        self.k = nn.Conv2d(2, 2, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q, k = self.q(x), self.k(x)
        scores = torch.matmul(q, k.transpose(-2, -1))
        attended = nn.functional.scaled_dot_product_attention(q, k, x, is_causal=True, scale=0.5)
        return attended + scores @ x


def test_matrix_products_and_attention_import_from_pytorch() -> None:
    from archscope.torch_backend.import_check import check_import

    module = Products().eval()
    result = import_module(module, (2, 6, 6), name="products", fold=False)
    assert result.text is not None, [d.message for d in result.diagnostics]
    analysis = result.stats["analysis"]
    assert [(n.op, n.attrs) for n in analysis.graph.nodes if n.op in ("matmul", "scaled_dot_product_attention")] == [
        ("matmul", {}),
        ("scaled_dot_product_attention", {"causal": True, "scale": 0.5}),
        ("matmul", {}),
    ]
    # q·kᵀ and (q·kᵀ)·x: 2·6·6·6 each; attention: 2·6·6·(6 + 6); two 1×1 convs: 2·(2·2·36 + 0)
    assert analysis.report.totals.macs == 2 * (2 * 6 * 6 * 6) + 2 * 6 * 6 * 12 + 2 * (2 * 2 * 36)
    check = check_import(analysis, module, result.stats["owner"], {"input": (2, 6, 6)})
    assert check.ok, check


def test_a_product_of_one_tensor_with_itself_is_refused_with_the_reason() -> None:
    class Gram(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x @ x

    result = import_module(Gram(), (6, 6), name="gram", fold=False)
    assert result.text is None
    (diagnostic,) = result.diagnostics
    assert diagnostic.code == "E301" and "not a product of two tensors of the network" in diagnostic.message


def test_onnx_matmul_of_two_tensors_imports(tmp_path) -> None:
    onnx = pytest.importorskip("onnx", reason="needs the onnx package: pip install 'archscope[export]'")
    from onnx import TensorProto, helper

    from archscope.lang.importers.onnx import import_onnx

    nodes = [helper.make_node("Relu", ["x"], ["r"], name="relu"), helper.make_node("MatMul", ["x", "r"], ["y"])]
    graph = helper.make_graph(
        nodes,
        "m",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 2, 6, 6])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 2, 6, 6])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(tmp_path / "m.onnx"))
    result = import_onnx(tmp_path / "m.onnx")
    analysis = result.stats["analysis"]
    assert [n.op for n in analysis.graph.nodes] == ["relu", "matmul"]
    assert analysis.report.totals.macs == 2 * 6 * 6 * 6


TRAINING = {  # a training step on the meta device, where attention runs PyTorch's math path (bmm)
    "block": BLOCK,
    "odd-heads": "input: [5, 12]\nlayers:\n  - {op: linear, out: 12}\n  - {op: multihead_attention, heads: 3}\n",
    "frozen-attention": BLOCK,
    "products": (
        "input: [2, 16, 8]\nlayers:\n  - {op: conv2d, name: q, out: 4, kernel: 1}\n"
        "  - {op: conv2d, name: k, in: input, out: 4, kernel: 1}\n"
        "  - {op: conv2d, name: v, in: input, out: 4, kernel: 1}\n"
        "  - {op: scaled_dot_product_attention, name: a, in: [q, k, v]}\n"
        "  - {op: transpose, name: kt, in: k, dim0: 1, dim1: 2}\n  - {op: matmul, name: s, in: [q, kt]}\n"
        "  - {op: matmul, name: t, in: [s, a]}\n"
    ),
}


@pytest.mark.parametrize("case", list(TRAINING))
def test_a_training_step_costs_the_declared_backward_macs(case: str) -> None:
    """Forward + backward MACs (each op's declared ``backward``, passes/training.py) = FlopCounterMode / 2
    over a real forward and backward, with and without freezing the attention layer."""
    freeze = ["self_attention"] if case == "frozen-attention" else []
    analysis = archscope.analyze(f"{case}.yaml", text=TRAINING[case], freeze=freeze)
    assert analysis.ok, analysis.errors
    module = archscope.build(analysis, device="meta")
    x = torch.randn(2, *analysis.graph.input.shape, device="meta")
    with FlopCounterMode(display=False) as counter:
        module(x).sum().backward()
    training = analysis.passes["training"]
    assert counter.get_total_flops() // 2 // 2 == training.forward_macs + training.backward_macs
    if freeze:  # the frozen layer still passes its input's gradient back, through the attention
        frozen = training.layers["self_attention"]
        assert (frozen.backward_weight_macs, frozen.backward_input_macs) == (0, 4 * L * E * E + 4 * L * L * E)
