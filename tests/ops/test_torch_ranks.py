"""Every op accepts exactly the ranks its PyTorch module computes the same thing on.

Parametrized over ``archscope.ops.REGISTRY`` and input ranks 1..5 (without the batch; a spec's
``input`` stops at 4, but a rule must not rely on that): the op's shape rule either refuses the
rank with a rank error (E106), or accepts it, and then the module its lowering makes, run on a
batch of 2, gives the static output shape. A rule that accepts a rank its module handles
differently (an adaptive 2-D pool on a 5-D batch pools only the last two dims) fails here. An op
added to the registry is covered without touching this file, unless it has required attributes
(then ``test_every_op_with_required_attrs_has_values`` asks for them).
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow  # builds and runs networks (or processes): not in the quick subset

torch = pytest.importorskip("torch")

from shared import RANKS, REQUIRED, SIZES, attrs_of  # noqa: E402

import archscope  # noqa: E402
from archscope.diagnostics import ShapeError  # noqa: E402
from archscope.ops import REGISTRY  # noqa: E402
from archscope.ops.attrs import REQUIRED as NO_DEFAULT  # noqa: E402


def test_every_op_with_required_attrs_has_values():
    missing = sorted(
        n for n, op in REGISTRY.items() if any(a.default is NO_DEFAULT for a in op.attrs) and n not in REQUIRED
    )
    assert not missing, f"add required attribute values to tests/shared.py for: {', '.join(missing)}"


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize("rank", RANKS)
@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_static_rank_rule_agrees_with_torch(name: str, rank: int):
    op = REGISTRY[name]
    attrs = attrs_of(name)
    # several inputs: every size equal, so that a matrix product's inner sizes agree (only the rank varies)
    shapes = [SIZES[:rank]] if op.inputs[0] == 1 else [(SIZES[-1],) * rank] * op.inputs[0]
    try:
        static = op.shape(attrs, shapes)
    except ShapeError as exc:
        assert exc.code == "E106", f"rank {rank} refused with {exc.code}, not the rank error: {exc}"
        return
    torch.manual_seed(0)
    module = op.lower(attrs, shapes, static).eval()
    if op.reference.inputs is not None:
        xs = op.reference.inputs(attrs, shapes, 2)
    else:
        xs = [torch.randn(2, *s) for s in shapes]
    try:
        with torch.no_grad():
            out = module(*xs)
    except Exception as exc:  # noqa: BLE001 - torch refusing a rank archscope accepts is the failure
        pytest.fail(f"archscope accepts rank {rank} (gives {static}), torch refuses: {exc}")
    main = out[0] if op.extra_outputs(attrs) else out
    assert tuple(main.shape[1:]) == static, f"rank {rank}: torch gives {tuple(main.shape[1:])}, archscope {static}"


def test_a_refused_rank_is_reported_at_the_layer():
    text = "input: [4]\nlayers:\n  - {op: relu, name: act}\n  - {op: global_avgpool, name: pool}\n"
    (error,) = archscope.analyze("t.yaml", text=text).errors
    assert (error.code, error.span.line, error.layer) == ("E106", 4, "pool")
    assert error.message == (
        "`pool` (global_avgpool): `global_avgpool` needs a feature map (C, L), (C, H, W) or (C, T, H, W)"
    )
    assert (error.expected, error.found) == ("(C, L), (C, H, W) or (C, T, H, W)", "(4,)")


def test_global_avgpool_of_a_video_map_averages_time_and_space():
    """A video net's (C, T, H, W) map pools to C values: the mean over T, H and W, as torch computes it."""
    text = "input: [3, 4, 5, 6]\nlayers:\n  - {op: global_avgpool, name: pool}\n  - flatten\n"
    analysis = archscope.analyze("t.yaml", text=text)
    assert analysis.ok and analysis.report is not None
    assert analysis.report.output_shape == (3,)
    x = torch.randn(2, 3, 4, 5, 6)
    with torch.no_grad():
        out = archscope.build(analysis)(x)
    assert tuple(out.shape) == (2, 3)
    torch.testing.assert_close(out, x.mean((2, 3, 4)))
