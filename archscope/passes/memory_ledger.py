"""The memory ledger: the bytes alive during a replay (:mod:`.memory`), by kind, and the largest total seen.

A :class:`Storage` is one allocation, counted while anything holds it (a view, a tensor kept
for backward, a later consumer); :class:`Ledger` adds what is alive to the fixed bytes (weights,
optimizer state) and remembers the moment the total was largest.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Breakdown:
    """The bytes alive at one moment, by kind."""

    weights: int
    gradients: int
    optimizer: int
    activations: int  # layer outputs and what backward keeps (the input batch included)
    temporaries: int  # activation gradients, optimizer step temporaries

    @property
    def total(self) -> int:
        return self.weights + self.gradients + self.optimizer + self.activations + self.temporaries


class Storage:
    """One allocation; freed when nobody holds it any more."""

    __slots__ = ("holders", "kind", "size")

    def __init__(self, size: int, kind: str):
        self.size = size
        self.kind = kind
        self.holders = 0


class Ledger:
    """The bytes alive, by kind, and the largest total seen (with where it was seen)."""

    def __init__(self, fixed: Breakdown):
        self.fixed = fixed
        self.live = {"activations": 0, "temporaries": 0, "gradients": 0}
        self.best = (-1, fixed, "", "")

    def hold(self, s: Storage) -> None:
        if s.holders == 0:
            self.live[s.kind] += s.size
        s.holders += 1

    def release(self, s: Storage) -> None:
        s.holders -= 1
        assert s.holders >= 0
        if s.holders == 0:
            self.live[s.kind] -= s.size

    def add(self, kind: str, size: int) -> None:
        self.live[kind] += size

    def now(self, extra_temporaries: int = 0) -> Breakdown:
        f = self.fixed
        return Breakdown(
            f.weights,
            f.gradients + self.live["gradients"],
            f.optimizer,
            self.live["activations"],
            self.live["temporaries"] + extra_temporaries,
        )

    def mark(self, layer: str, phase: str, extra_temporaries: int = 0) -> int:
        b = self.now(extra_temporaries)
        if b.total > self.best[0]:
            self.best = (b.total, b, layer, phase)
        return b.total
