"""`archscope.build`: names, wiring, errors, and the PyTorch features the module must work with
(torch.fx, channels_last, bfloat16, torch.compile, CUDA). Expected values come from torch."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # builds and runs networks (or processes): not in the quick subset

torch = pytest.importorskip("torch")

import archscope  # noqa: E402
from archscope.torch_backend.lowering import layer_modules  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
SMALL = """name: small
input: [3, 16, 16]
blocks:
  res:
    args: {c: null}
    layers:
      - {op: conv2d, name: conv, out: c, kernel: 3, padding: 1, bias: false}
      - {op: batchnorm2d, name: bn}
      - {op: add, name: add, in: [bn, input]}
      - relu
layers:
  - {op: conv2d, name: stem, out: 8, kernel: 3, padding: 1}
  - {op: res, name: stage, n: 2, c: 8}
  - {op: maxpool2d, name: pool, kernel: 2}
  - global_avgpool
  - flatten
  - {op: linear, name: fc, out: 4}
"""


def small():
    torch.manual_seed(0)
    return archscope.build("small.yaml", text=SMALL).eval()


def test_submodules_follow_the_spec_names():
    net = small()
    names = dict(net.named_modules())
    assert isinstance(names["stage.0.conv"], torch.nn.Conv2d)
    assert isinstance(names["stage.1.bn"], torch.nn.BatchNorm2d) and net.stage[1].bn is names["stage.1.bn"]
    assert isinstance(names["fc"], torch.nn.Linear)
    assert "res(" in repr(net) and "repeat(" in repr(net)  # containers print as their block type
    analysis = archscope.analyze("small.yaml", text=SMALL)
    assert set(layer_modules(net)) == {row.name for row in analysis.report.layers}


def test_a_layer_named_like_a_module_attribute_is_renamed():
    text = "input: [2, 4, 4]\nlayers:\n  - {op: relu, name: forward}\n  - {op: tanh, name: training}\n"
    net = archscope.build("t.yaml", text=text)
    mapping = net.meta["archscope"]["modules"]
    assert mapping == {"forward": "forward_", "training": "training_"}
    x = torch.randn(1, 2, 4, 4)
    torch.testing.assert_close(net(x), torch.tanh(torch.relu(x)))
    assert isinstance(net.training, bool)


def test_spec_errors_raise_spec_error_with_diagnostics():
    text = "input: [3, 8, 8]\nlayers:\n  - {op: conv2d, out: 4, kernel: 9}\n"
    with pytest.raises(archscope.SpecError) as info:
        archscope.build("bad.yaml", text=text)
    assert info.value.diagnostics[0].code == "E102"


def test_unpool_needs_the_switches_of_a_pool():
    text = (
        "input: [2, 8, 8]\nlayers:\n  - {op: maxpool2d, name: pool, kernel: 2}\n"
        "  - {op: max_unpool2d, kernel: 2, in: [pool, pool]}\n"
    )
    with pytest.raises(archscope.SpecError) as info:
        archscope.build("t.yaml", text=text)
    d = info.value.diagnostics[0]
    assert d.code == "E107" and "return_indices" in d.message and d.span.line == 4


def test_generated_forward_calls_each_layer_once_in_order():
    net = small()
    analysis = archscope.analyze("small.yaml", text=SMALL)
    modules = net.meta["archscope"]["modules"]
    called = [n.target for n in net.graph.nodes if n.op == "call_module"]
    assert called == [modules[node.name] for node in analysis.graph.nodes]  # once each, in topological order
    calls = [line for line in net.code.splitlines() if "self." in line]
    assert len(calls) == len(called)  # one line of the generated code per layer
    assert "for " not in net.code  # straight-line code, no interpreter loop


def test_inplace_activations_keep_inputs_and_gradients():
    text = (
        "input: [3, 6, 6]\nlayers:\n  - {op: relu, name: r0}\n  - {op: conv2d, name: c, out: 4, kernel: 3}\n"
        "  - {op: relu, name: r1}\n  - {op: batchnorm2d, name: bn}\n  - {op: relu, name: r2}\n"
        "  - {op: relu6, name: r3, in: bn}\n  - {op: add, name: a1, in: [r2, r3]}\n"
        "  - {op: conv2d, name: c2, out: 4, kernel: 1}\n  - {op: add, name: a2, in: [c2, a1]}\n"
        "  - {op: relu, name: r4}\n"
    )
    fast = archscope.build("t.yaml", text=text)
    plain = archscope.build("t.yaml", text=text, inplace=False)
    plain.load_state_dict(fast.state_dict())
    modules = layer_modules(fast)
    # r0 reads the network input, bn feeds two layers, a1's first input is a relu's output (which
    # relu's backward needs): none of them may be overwritten; r1 follows a conv, a2 adds into c2
    flags = {name: modules[name].inplace for name in ("r0", "r1", "r2", "r3", "a1", "a2", "r4")}
    assert flags == {"r0": False, "r1": True, "r2": False, "r3": False, "a1": False, "a2": True, "r4": True}
    x = torch.randn(2, 3, 6, 6, requires_grad=True)
    kept = x.detach().clone()
    fast(x).square().sum().backward()
    torch.testing.assert_close(x.detach(), kept)
    grad_fast, x.grad = x.grad, None
    plain(x).square().sum().backward()
    torch.testing.assert_close(grad_fast, x.grad)
    for (name, p), (_, q) in zip(fast.named_parameters(), plain.named_parameters(), strict=True):
        torch.testing.assert_close(p.grad, q.grad, msg=name)


def test_a_broadcast_add_never_accumulates_into_its_smaller_input():
    # g (8, 1, 1) is a fresh conv output feeding only the add: in place it would have to hold (8, 6, 6)
    text = (
        "input: [3, 6, 6]\nlayers:\n  - {op: conv2d, name: c, out: 8, kernel: 1}\n  - {op: global_avgpool, name: p}\n"
        "  - {op: conv2d, name: g, out: 8, kernel: 1}\n  - {op: add, name: a, in: [g, c]}\n"
    )
    net = archscope.build("t.yaml", text=text).eval()
    assert layer_modules(net)["a"].inplace is False
    x = torch.randn(2, 3, 6, 6)
    with torch.no_grad():
        parts = {name: m for name, m in layer_modules(net).items()}
        c = parts["c"](x)
        expected = parts["g"](parts["p"](c)) + c
        torch.testing.assert_close(net(x), expected)
    assert tuple(net(x).shape[1:]) == archscope.analyze("t.yaml", text=text).report.output_shape


def test_fx_symbolic_trace_gives_the_same_function():
    net = small()
    traced = torch.fx.symbolic_trace(net)
    x = torch.randn(2, 3, 16, 16)
    torch.testing.assert_close(traced(x), net(x))
    assert {n.target for n in traced.graph.nodes if n.op == "call_module"} >= {"stem", "stage.1.conv", "fc"}


def test_channels_last_and_bfloat16():
    net = small()
    x = torch.randn(2, 3, 16, 16)
    want = net(x)
    cl = copy.deepcopy(net).to(memory_format=torch.channels_last)
    assert cl.stem.weight.is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(cl(x.contiguous(memory_format=torch.channels_last)), want, rtol=1e-4, atol=1e-4)
    bf = copy.deepcopy(net).to(torch.bfloat16)
    got = bf(x.to(torch.bfloat16))
    assert got.dtype == torch.bfloat16
    torch.testing.assert_close(got.float(), want, rtol=0.1, atol=0.1)


def test_torch_compile_captures_the_whole_graph():
    net = small()
    x = torch.randn(2, 3, 16, 16)
    explanation = torch._dynamo.explain(net)(x)
    assert explanation.graph_break_count == 0
    compiled = torch.compile(net, backend="eager", fullgraph=True)
    torch.testing.assert_close(compiled(x), net(x))


def test_state_dict_keys_are_the_layer_names():
    net = small()
    keys = set(net.state_dict())
    assert {"stem.weight", "stage.0.conv.weight", "stage.0.bn.running_mean", "fc.bias"} <= keys
    other = archscope.build("small.yaml", text=SMALL).eval()
    other.load_state_dict(net.state_dict())
    x = torch.randn(1, 3, 16, 16)
    torch.testing.assert_close(other(x), net(x))


def test_build_on_meta_allocates_nothing_and_counts_the_same():
    net = archscope.build("resnet18", device="meta")
    assert all(p.is_meta for p in net.parameters())
    assert sum(p.numel() for p in net.parameters()) == sum(p.numel() for p in archscope.build("resnet18").parameters())


def test_without_torch_the_cli_says_how_to_install_it():
    code = (
        "import sys; sys.modules['torch'] = None; sys.argv = ['archscope'] + sys.argv[1:]; "
        "from archscope.cli.app import main; main()"
    )
    for args in (["verify", "lenet5"], ["bench", "lenet5"], ["compare", "lenet5", "alexnet", "--bench"]):
        p = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=ROOT)
        assert p.returncode == 2, (args, p.stderr)
        assert "pip install 'archscope[torch]'" in p.stderr and "Traceback" not in p.stderr


def test_static_commands_do_not_import_torch():
    code = (
        "import sys; sys.argv = ['archscope'] + sys.argv[1:]\n"
        "from archscope.cli.app import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print('torch' in sys.modules)"
    )
    for args in (["compare", "lenet5", "alexnet"], ["summary", "lenet5"], ["verify", "--help"]):
        p = subprocess.run(
            [sys.executable, "-c", code, *args],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env={**os.environ, "COLUMNS": "200"},
        )
        assert p.stdout.strip().splitlines()[-1] == "False", args


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU")
def test_cuda_matches_cpu():
    net = small()
    x = torch.randn(2, 3, 16, 16)
    want = net(x)
    gpu = copy.deepcopy(net).to("cuda")
    torch.testing.assert_close(gpu(x.cuda()).cpu(), want, rtol=1e-3, atol=1e-3)
    half = copy.deepcopy(net).to("cuda", torch.float16).to(memory_format=torch.channels_last)
    got = half(x.cuda().half().contiguous(memory_format=torch.channels_last))
    torch.testing.assert_close(got.float().cpu(), want, rtol=0.05, atol=0.05)
