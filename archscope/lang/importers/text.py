"""A network as spec text: repeated blocks folded, or one layer per line (it imports no analysis code:
:func:`archscope.analyze` passes itself in, so that analysing a module makes no import cycle)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from archscope.lang.importers.network import Network


def write_spec(net: Network, fold: bool, analyze: Callable[..., Any]) -> str:
    """The spec's YAML, with repeated blocks folded when ``fold`` (``analyze``, :func:`archscope.analyze`,
    checks the folded spec against the flat one)."""
    from archscope.lang.importers.write import flat_entries, spec_text

    if fold:
        from archscope.lang.importers.fold import fold_blocks

        layers, blocks = fold_blocks(net, analyze)
        return spec_text(net, layers, blocks)
    return spec_text(net, flat_entries(net.layers))
