"""The last steps every front end shares: write the network as spec text, analyse that text."""

from __future__ import annotations

from typing import Any

from .network import Network
from .result import Imported


def write_spec(net: Network, fold: bool) -> str:
    """The spec's YAML, with repeated blocks folded when ``fold``."""
    from .write import flat_entries, spec_text

    if fold:
        from .fold import fold_blocks

        layers, blocks = fold_blocks(net)
        return spec_text(net, layers, blocks)
    return spec_text(net, flat_entries(net.layers))


def checked(net: Network, text: str, stats: dict[str, Any]) -> Imported:
    """The written spec, analysed as any spec is: its diagnostics are the import's."""
    from ..api import analyze

    analysis = analyze(f"{net.name}.yaml", text=text)
    stats.update(layers=len(net.layers), lines=text.count("\n"), analysis=analysis)
    return Imported(net.name, net.source, text, tuple(analysis.diagnostics), stats)
