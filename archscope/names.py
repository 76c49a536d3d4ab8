"""The known name nearest a misspelt one (an unknown op, layer, key or code), for "did you mean"
hints, found at a bounded cost per lookup and in a bounded number of lookups per analysis.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable

from archscope.limits import take_suggestion

MAX_COMPARED = 64  # names one "did you mean" compares (difflib: 10–30 µs each)
MAX_NAME = 80  # longer names get no suggestion (difflib's time grows with the product of the lengths)


class Names:
    """The "did you mean" index of names looked up many times (a scope's layers): build it
    once, then ``near(name)`` per unknown name.

    A lookup compares ``name`` with at most :data:`MAX_COMPARED` names, as
    ``difflib.get_close_matches`` does (ratio ≥ 0.6, the best). With more names than that, those
    compared are ``name``'s neighbours in the names sorted as spelt and sorted by their spelling
    backwards, half each: the names that share the longest start or the longest end with it, which
    a typo (a letter changed, dropped, doubled or swapped) leaves intact on one side. The sorted
    lists are made on the first such lookup, once. An analysis runs at most
    :data:`archscope.limits.MAX_SUGGESTIONS` lookups (:func:`archscope.limits.take_suggestion`);
    after them, and for a name longer than :data:`MAX_NAME`, ``near`` answers None at no cost."""

    def __init__(self, *pools: Iterable[str]) -> None:
        self._pools = pools  # read on first use: an index that is never asked costs nothing
        self._all: dict[str, None] | None = None
        self._short: list[str] | None = None
        self._sorted: tuple[list[str], list[str]] | None = None

    def _names(self) -> dict[str, None]:
        if self._all is None:
            self._all = dict.fromkeys(n for pool in self._pools for n in pool)
        return self._all

    def __contains__(self, name: object) -> bool:
        return name in self._names()

    def near(self, name: str) -> str | None:
        if len(name) > MAX_NAME or not take_suggestion():
            return None
        import difflib  # only on the error path: keeps it (and heapq) out of every start-up

        matches = difflib.get_close_matches(name, self._compared(name), n=1, cutoff=0.6)
        return matches[0] if matches else None

    def _compared(self, name: str) -> list[str]:
        if self._short is None:  # a name 3× longer than MAX_NAME is never close enough (ratio < 0.6)
            self._short = [n for n in self._names() if len(n) <= 3 * MAX_NAME]
        if len(self._short) <= MAX_COMPARED:
            return self._short
        if self._sorted is None:
            self._sorted = sorted(self._short), sorted(n[::-1] for n in self._short)
        forward, backward = self._sorted
        return list(dict.fromkeys(_around(forward, name) + [n[::-1] for n in _around(backward, name[::-1])]))


def _around(ordered: list[str], name: str) -> list[str]:
    """The MAX_COMPARED / 2 names nearest ``name``'s place in ``ordered``."""
    half = MAX_COMPARED // 2
    start = min(max(bisect.bisect_left(ordered, name) - half // 2, 0), max(len(ordered) - half, 0))
    return ordered[start : start + half]


def suggest(name: str, *candidates: Iterable[str]) -> str | None:
    """The name in ``candidates`` (one or more collections) nearest ``name``, or None: a one-off
    lookup (:class:`Names`); the collections are read only when the lookup runs."""
    return Names(*candidates).near(name)
