"""Building blocks for the ``counted`` rules of the ops (what each peer tool counts, see
:class:`~archscope.ops.registry.Counted`). Names no op: each family file composes these.

Every rule is ``(attrs, input shapes, output shape) -> count``, batch 1. Where a tool's own
arithmetic is in floating point (thop's adaptive pooling, ptflops' interpolation by a scale),
the rule repeats it in Python floats, which are the same IEEE doubles, and returns the exact
value of the result as a Fraction; the convention's total is then truncated as the tool's is.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

from archscope.ops.registry import Attrs, Count, Counted, CountRule, Shape, numel


def zero(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Count:
    return 0


def per_output(k: int) -> CountRule:
    """``k`` per output element."""

    def rule(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Count:
        return k * numel(out)

    return rule


def per_input(k: int) -> CountRule:
    """``k`` per element of the first input."""

    def rule(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Count:
        return k * numel(inputs[0])

    return rule


NOTHING = Counted(fvcore=zero, ptflops=zero, thop=zero, torchinfo=zero, flop_counter=zero)


def only(**rules: CountRule) -> Counted:
    """Zero for every tool but the ones named."""
    return Counted(**{"fvcore": zero, "ptflops": zero, "thop": zero, "torchinfo": zero, "flop_counter": zero, **rules})


def thop_adaptive_avg(a: Attrs, inputs: Sequence[Shape], out: Shape) -> Count:
    """thop's ``count_adap_avgpool``: ``int((∏ in/out + 1) · numel(out))``, each ratio a float64
    division, multiplied in float64 (``torch.prod`` of a DoubleTensor)."""
    kernel = 1.0
    for size_in, size_out in zip(inputs[0][1:], out[1:]):
        kernel *= float(size_in) / float(size_out)
    return int((kernel + 1) * numel(out))


def exact(value: float) -> Fraction:
    return Fraction(value)
