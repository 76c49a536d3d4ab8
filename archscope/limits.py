"""How much work one spec may ask for: the layer limit, and the YAML nodes a file may hold.

archscope lints untrusted pull requests, so every file under 1 MB must be accepted or refused
within 2 s of CPU and 300 MB here (``tests/safety/test_untrusted_specs.py``, ``bench/fuzz.py``). A graph costs
80–200 µs of CPU a layer to elaborate, shape-check, cost and report, and YAML ~5 µs a node to
read, so the default allows 10,000 layers (ResNet-1202, the deepest network in the bundled specs,
has 4,210) and 10 YAML nodes per allowed layer (the largest bundled file has 1,085 nodes).

A caller that needs more sets it for one analysis: ``analyze(..., max_layers=50_000)``, the
commands' ``--max-layers``, or ``max-layers`` in ``[tool.archscope]`` for ``lint``. The value
is held in a context variable, so the pipeline's modules read it where they check it, and
concurrent analyses (threads, asyncio tasks) do not see each other's.

"Did you mean" costs tens of microseconds a name compared, so one analysis runs at most
:data:`MAX_SUGGESTIONS` lookups (:func:`suggestion_budget`, :func:`take_suggestion`): a spec
with thousands of unknown names still gets every error, and the first 50 get a suggestion.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

DEFAULT_MAX_LAYERS = 10_000
CEILING = 1_000_000  # the most a caller may allow: beyond this an analysis takes minutes and gigabytes
NODES_PER_LAYER = 10  # YAML nodes a file may hold per allowed layer
MAX_SUGGESTIONS = 50  # "did you mean" lookups per analysis (archscope.names.Names: each compares at most 64 names)

_max_layers: ContextVar[int] = ContextVar("archscope_max_layers", default=DEFAULT_MAX_LAYERS)
_suggestions_left: ContextVar[list[int] | None] = ContextVar("archscope_suggestions_left", default=None)


def max_layers() -> int:
    """Layers one graph may have in the current analysis."""
    return _max_layers.get()


def max_yaml_nodes() -> int:
    """Distinct YAML nodes one file may hold in the current analysis."""
    return NODES_PER_LAYER * _max_layers.get()


def check_max_layers(value: int) -> int:
    """``value`` if it is a usable limit; a ``ValueError`` that says the range otherwise."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= CEILING:
        raise ValueError(f"the layer limit must be an integer in 1..{CEILING:,}, not {value!r}")
    return value


@contextmanager
def layer_limit(value: int | None) -> Iterator[None]:
    """Within the block, graphs may have ``value`` layers (None: the default, or an outer setting)."""
    if value is None:
        yield
        return
    token = _max_layers.set(check_max_layers(value))
    try:
        yield
    finally:
        _max_layers.reset(token)


@contextmanager
def suggestion_budget(lookups: int = MAX_SUGGESTIONS) -> Iterator[None]:
    """Within the block (one analysis), at most ``lookups`` "did you mean" lookups run."""
    token = _suggestions_left.set([lookups])
    try:
        yield
    finally:
        _suggestions_left.reset(token)


def take_suggestion() -> bool:
    """Whether one more "did you mean" lookup may run (and count it); outside an analysis, always."""
    left = _suggestions_left.get()
    if left is None:
        return True
    if left[0] <= 0:
        return False
    left[0] -= 1
    return True
