"""A network as spec text: repeated blocks folded, or one layer per line (no analysis here, so
:func:`archscope.analyze` of a module can use it without an import cycle)."""

from __future__ import annotations

from .network import Network


def write_spec(net: Network, fold: bool) -> str:
    """The spec's YAML, with repeated blocks folded when ``fold``."""
    from .write import flat_entries, spec_text

    if fold:
        from .fold import fold_blocks

        layers, blocks = fold_blocks(net)
        return spec_text(net, layers, blocks)
    return spec_text(net, flat_entries(net.layers))
