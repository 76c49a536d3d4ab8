"""The one broadcasting rule the ops share (``add``/``mul`` at equal rank, ``matmul`` and
``scaled_dot_product_attention`` over their leading dims), against NumPy's own."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from archscope.ops.registry import broadcast

np = pytest.importorskip("numpy")

shapes = st.lists(st.integers(1, 3), min_size=0, max_size=4).map(tuple)


@given(st.lists(shapes, min_size=1, max_size=3))
def test_broadcast_is_numpys(given_shapes: list[tuple[int, ...]]) -> None:
    try:
        expected: tuple[int, ...] | None = tuple(np.broadcast_shapes(*given_shapes))
    except ValueError:
        expected = None
    assert broadcast(*given_shapes) == expected


def test_broadcast_examples() -> None:
    assert broadcast((8, 4, 4), (8, 1, 1)) == (8, 4, 4)  # squeeze-excitation's scale
    assert broadcast((2, 1, 5), (3, 1)) == (2, 3, 5)  # a missing leading dim counts as 1
    assert broadcast((2, 3), (4, 3)) is None
    assert broadcast((), ()) == ()
