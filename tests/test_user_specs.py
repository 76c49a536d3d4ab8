"""Hand-written user specs of the building blocks behind the bundled ShuffleNet V2 and ConvNeXt
specs, written inline as a user would (not the bundled files): their static shapes and params,
checked against formulas in the test, and (with torch) `verify` through the API and the CLI."""

from __future__ import annotations

import pytest
from conftest import analyze_text, layer

# ---- ShuffleNet V2: a stride-2 unit (both branches on the whole input) then a stride-1 unit
# (split, branch on one half, concat, channel shuffle) ----------------------------------------

SHUFFLENET_UNITS = """\
name: my_shufflenet_units
input: [24, 16, 16]
blocks:
  branch:
    args: {c: null, stride: 1}
    layers:
      - {op: conv2d, name: pw1, out: c, kernel: 1, bias: false}
      - {op: batchnorm2d, name: bn1}
      - relu
      - {op: conv2d, name: dw, out: c, kernel: 3, stride: stride, padding: 1, groups: c, bias: false}
      - {op: batchnorm2d, name: bn2}
      - {op: conv2d, name: pw2, out: c, kernel: 1, bias: false}
      - {op: batchnorm2d, name: bn3}
      - relu
layers:
  # stride 2: branch1 = depthwise 3x3/2 + BN, 1x1 + BN + ReLU; branch2 on the whole input too
  - {op: conv2d, name: b1_dw, out: 24, kernel: 3, stride: 2, padding: 1, groups: 24, bias: false}
  - {op: batchnorm2d, name: b1_bn1}
  - {op: conv2d, name: b1_pw, out: 32, kernel: 1, bias: false}
  - {op: batchnorm2d, name: b1_bn2}
  - {op: relu, name: b1_relu}
  - {op: branch, name: b2, in: input, c: 32, stride: 2}
  - {op: concat, name: cat1, in: [b1_relu, b2]}
  - {op: channel_shuffle, name: shuffle1, groups: 2}
  # stride 1: split the 64 channels in two, branch on the second half
  - {op: split, name: halves, sections: 2}
  - {op: branch, name: b3, in: halves.1, c: 32}
  - {op: concat, name: cat2, in: [halves, b3]}
  - {op: channel_shuffle, name: shuffle2, groups: 2}
expect:
  output: [64, 8, 8]
"""


def _bn(c: int) -> int:
    return 2 * c  # weight and bias (running stats are buffers)


def _branch_params(cin: int, c: int) -> int:
    return cin * c + _bn(c) + 9 * c + _bn(c) + c * c + _bn(c)


def test_shufflenet_units_shapes_and_params():
    a = analyze_text(SHUFFLENET_UNITS)
    assert not a.diagnostics, [f"{d.span}: {d.code} {d.message}" for d in a.diagnostics]
    assert layer(a, "b1_dw").output_shape == (24, 8, 8)
    assert layer(a, "b1_relu").output_shape == (32, 8, 8)
    assert layer(a, "b2.pw1").output_shape == (32, 16, 16)  # 1x1 on the whole 24-channel input
    assert layer(a, "b2.dw").output_shape == (32, 8, 8)
    assert layer(a, "cat1").output_shape == (64, 8, 8)
    assert layer(a, "halves").output_shape == (32, 8, 8)  # the first chunk
    assert layer(a, "b3.pw1").output_shape == (32, 8, 8)
    assert layer(a, "cat2").output_shape == (64, 8, 8)
    assert layer(a, "shuffle2").output_shape == (64, 8, 8)
    branch1 = 24 * 9 + _bn(24) + 24 * 32 + _bn(32)
    expected = branch1 + _branch_params(24, 32) + _branch_params(32, 32)
    assert expected == 5_896
    assert a.report.totals.params == expected
    assert sum(r.params for r in a.report.layers if r.name.startswith("b2.")) == _branch_params(24, 32)
    # MACs: the 1x1 and depthwise convs, per output position
    macs = (24 * 9 * 64) + (24 * 32 * 64)  # branch1 at 8x8
    macs += 24 * 32 * 256 + 32 * 9 * 64 + 32 * 32 * 64  # branch2: 1x1 at 16x16, then 8x8
    macs += 32 * 32 * 64 + 32 * 9 * 64 + 32 * 32 * 64  # stride-1 branch at 8x8
    assert a.report.totals.macs == macs


# ---- ConvNeXt: a downsampling layer (LayerNorm2d, 2x2/2 conv) then a CNBlock (7x7 depthwise,
# LayerNorm over channels, 1x1 to 4C, GELU, 1x1 to C, layer scale, drop path, + input) ------

CONVNEXT_BLOCK = """\
name: my_convnext_block
input: [32, 14, 14]
layers:
  - {op: layer_norm, name: down_norm, over: channels, eps: 1.0e-6}
  - {op: conv2d, name: down, out: 64, kernel: 2, stride: 2}
  - {op: conv2d, name: dw, out: 64, kernel: 7, padding: 3, groups: 64}
  - {op: layer_norm, name: norm, over: channels, eps: 1.0e-6}
  - {op: conv2d, name: pw1, out: 256, kernel: 1}      # the position-wise Linear(C, 4C)
  - {op: gelu, name: act}
  - {op: conv2d, name: pw2, out: 64, kernel: 1}       # Linear(4C, C)
  - {op: layer_scale, name: gamma, init: 1.0e-6}
  - {op: drop_path, name: sd, p: 0.1}
  - {op: add, name: residual, in: [sd, down]}
expect:
  output: [64, 7, 7]
"""


def test_convnext_block_shapes_and_params():
    a = analyze_text(CONVNEXT_BLOCK)
    assert not a.diagnostics, [f"{d.span}: {d.code} {d.message}" for d in a.diagnostics]
    cin, c, hw = 32, 64, 7 * 7
    assert layer(a, "down_norm").output_shape == (cin, 14, 14)
    assert layer(a, "down").output_shape == (c, 7, 7)
    assert layer(a, "dw").output_shape == (c, 7, 7)
    assert layer(a, "pw1").output_shape == (4 * c, 7, 7)
    assert layer(a, "pw2").output_shape == (c, 7, 7)
    assert layer(a, "residual").output_shape == (c, 7, 7)
    assert layer(a, "down_norm").params == 2 * cin  # LayerNorm2d: weight and bias per channel
    assert layer(a, "gamma").params == c  # one scale per channel
    assert layer(a, "sd").params == 0 and layer(a, "sd").macs == 0
    expected = (
        2 * cin  # down_norm
        + (cin * 4 * c + c)  # 2x2 conv with bias
        + (49 * c + c)  # 7x7 depthwise with bias
        + 2 * c  # norm
        + (c * 4 * c + 4 * c)  # Linear C -> 4C
        + (4 * c * c + c)  # Linear 4C -> C
        + c  # layer scale
    )
    assert expected == 44_800
    assert a.report.totals.params == expected
    assert a.report.totals.macs == (cin * 4 * c + 49 * c + c * 4 * c + 4 * c * c) * hw


# ---- torch: the built networks agree with the static analysis -------------------------------

USER_SPECS = {"shufflenet_units": SHUFFLENET_UNITS, "convnext_block": CONVNEXT_BLOCK}


@pytest.mark.parametrize("name", sorted(USER_SPECS))
def test_verify_api(name):
    pytest.importorskip("torch")
    pytest.importorskip("fvcore")
    import archscope

    report = archscope.verify(f"{name}.yaml", text=USER_SPECS[name])
    assert report.ok, [str(m) for m in report.mismatches]
    assert report.output_forward == analyze_text(USER_SPECS[name]).report.output_shape


@pytest.mark.parametrize("name", sorted(USER_SPECS))
def test_verify_cli(name, cli, tmp_path):
    pytest.importorskip("torch")
    pytest.importorskip("fvcore")
    path = tmp_path / f"{name}.yaml"
    path.write_text(USER_SPECS[name])
    result = cli("verify", str(path))
    assert result.exit_code == 0, result.output
    assert "all agree" in result.output


# ---- torch: the built networks compute what torchvision's modules compute --------------------


def _torchvision_channel_shuffle(x, groups):
    # torchvision.models.shufflenetv2.channel_shuffle
    n, c, h, w = x.size()
    return x.view(n, groups, c // groups, h, w).transpose(1, 2).contiguous().view(n, -1, h, w)


def test_shufflenet_units_compute_torchvisions_forward():
    torch = pytest.importorskip("torch")
    import archscope

    torch.manual_seed(0)
    model = archscope.build("u.yaml", text=SHUFFLENET_UNITS).eval()
    for m in model.modules():  # non-trivial BN statistics
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 1.5)
    x = torch.randn(2, 24, 16, 16)

    def branch2(scope, t):  # torchvision's branch2 Sequential, from the built layers' modules
        t = torch.relu(scope.bn1(scope.pw1(t)))
        return torch.relu(scope.bn3(scope.pw2(scope.bn2(scope.dw(t)))))

    with torch.no_grad():
        # stride 2: torch.cat((branch1(x), branch2(x)), 1), then channel_shuffle(out, 2)
        branch1 = torch.relu(model.b1_bn2(model.b1_pw(model.b1_bn1(model.b1_dw(x)))))
        y = _torchvision_channel_shuffle(torch.cat((branch1, branch2(model.b2, x)), 1), 2)
        # stride 1: x1, x2 = x.chunk(2, dim=1); torch.cat((x1, branch2(x2)), 1), then shuffle
        x1, x2 = y.chunk(2, dim=1)
        expected = _torchvision_channel_shuffle(torch.cat((x1, branch2(model.b3, x2)), 1), 2)
        torch.testing.assert_close(model(x), expected)


def test_convnext_block_computes_torchvisions_forward():
    torch = pytest.importorskip("torch")
    import torch.nn.functional as F

    import archscope

    torch.manual_seed(0)
    model = archscope.build("c.yaml", text=CONVNEXT_BLOCK).eval()
    with torch.no_grad():
        for p in model.parameters():  # layer scale and norms away from their 1e-6 / 1 / 0 inits
            p.uniform_(-0.5, 0.5)
    x = torch.randn(2, 32, 14, 14)

    def layer_norm_2d(t, norm):  # torchvision's LayerNorm2d: permute, F.layer_norm over C, permute back
        t = t.permute(0, 2, 3, 1)
        return F.layer_norm(t, (t.shape[-1],), norm.weight, norm.bias, 1e-6).permute(0, 3, 1, 2)

    with torch.no_grad():
        down = model.down(layer_norm_2d(x, model.down_norm))
        # CNBlock: dwconv, Permute, LayerNorm, Linear, GELU, Linear, Permute; gamma · block + input
        t = model.dw(down).permute(0, 2, 3, 1)
        t = F.layer_norm(t, (64,), model.norm.weight, model.norm.bias, 1e-6)
        t = F.linear(t, model.pw1.weight.flatten(1), model.pw1.bias)
        t = F.gelu(t)
        t = F.linear(t, model.pw2.weight.flatten(1), model.pw2.bias).permute(0, 3, 1, 2)
        gamma = next(p for n, p in model.named_parameters() if n.startswith("gamma."))
        expected = gamma.view(64, 1, 1) * t + down
        torch.testing.assert_close(model(x), expected)
