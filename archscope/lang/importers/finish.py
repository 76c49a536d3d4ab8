"""The last step every front end shares: analyse the written spec text (:func:`write_spec` writes it)."""

from __future__ import annotations

from typing import Any

from archscope.lang.importers.network import Network
from archscope.lang.importers.result import Imported


def checked(net: Network, text: str, stats: dict[str, Any]) -> Imported:
    """The written spec, analysed as any spec is: its diagnostics are the import's."""
    from archscope.api import analyze

    analysis = analyze(f"{net.name}.yaml", text=text)
    stats.update(network=net, lines=text.count("\n"), analysis=analysis)
    return Imported(net.name, net.source, text, tuple(analysis.diagnostics), stats)
