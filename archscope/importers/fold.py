"""Repeated blocks (placeholder: flat)."""

from __future__ import annotations

from typing import Any

from .network import Network
from .write import flat_entries


def fold_blocks(net: Network) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    return flat_entries(net.layers), {}
